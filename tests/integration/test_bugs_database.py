"""Bug reports as rows of the server's bug_reports table, on every shape that has it (SERVER_FACTS 3.1, 3.3):
list filters, show as the server's to_dict(include_context=True), status with note, actor and event, purge
removing rows and screenshot folders after a synced archive, and hostile rows."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, Table, create_engine, insert, select, text

from imgops.bugs import run_bugs_list, run_bugs_purge, run_bugs_show, run_bugs_status
from imgops.bugs.query import ReportFilter
from imgops.config import load_config
from imgops.contracts import problems
from imgops.errors import DatabaseError, InputError
from imgops_testing.server_ddl import create_server_schema

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
SHAPES = [  # (backend, variant): the shapes that hold bug_reports
    ("sqlite", "current"),
    ("sqlite", "seed+current-code"),
    ("sqlite", "seed+separation+001+002"),
    ("sqlite", "current+002"),
    ("postgresql", "current"),
]
CASES = [  # (suffix, status, age in days, submitter, description)
    ("aaaa00000001", "open", 1, "admin@example.com", "Gallery fails to load"),
    ("aaaa00000002", "open", 40, "ops@example.com", "Thumbnail grid is empty"),
    ("aaaa00000003", "in_progress", 10, "admin@example.com", "Training stuck at 0%"),
    ("aaaa00000004", "resolved", 45, "ops@example.com", "Gallery slow, very slow"),
    ("aaaa00000005", "resolved", 3, "admin@example.com", "Upload button missing"),
    ("aaaa00000006", "closed", 90, "ops@example.com", "Old crash in gallery"),  # imported from an old file
]
FILTERS = [
    (ReportFilter(), ["01", "05", "03", "02", "04", "06"]),
    (ReportFilter(statuses=("open",)), ["01", "02"]),
    (ReportFilter(statuses=("resolved", "closed")), ["05", "04", "06"]),
    (ReportFilter(since=NOW - timedelta(days=11)), ["01", "05", "03"]),
    (ReportFilter(until=NOW - timedelta(days=41)), ["04", "06"]),
    (ReportFilter(submitter="OPS@example.com"), ["02", "04", "06"]),
    (ReportFilter(grep="GALLERY"), ["01", "04", "06"]),
]


def report_id(suffix: str, age: float) -> str:
    return f"bug_{NOW - timedelta(days=age):%Y%m%d_%H%M%S}_{suffix}"


def row_values(suffix: str, status: str, age: float, submitter: str, description: str, storage: Path) -> dict:
    """A row as the server's submission writes it (SERVER_FACTS 4.6, 5.6): naive UTC times, JSON text."""
    rid = report_id(suffix, age)
    when = (NOW - timedelta(days=age)).replace(tzinfo=None)
    submitted = {"event_type": "submitted", "event_data": {"source": "frontend_submission"},
                 "actor_id": submitter, "actor_type": "user", "timestamp": when.isoformat() + "Z"}  # fmt: skip
    return {
        "report_id": rid, "trace_id": f"{suffix}-1111", "submitted_by": submitter, "submitted_at": when,
        "description": description, "expected_behavior": "it works", "actual_behavior": None,
        "steps_to_reproduce": json.dumps(["open the gallery", "wait"]) if suffix.endswith("1") else None,
        "status": status, "automation_attempts": 0,
        "environment": json.dumps({"mode": "production", "appVersion": "2.4.0"}),
        "client_meta": json.dumps({"locationHref": "https://x/gallery", "viewport": {"width": 1280, "height": 800}}),
        "app_state": json.dumps({}),
        "recent_logs": json.dumps([{"level": "error", "message": "boom", "args": [], "ratio": 0.25}]),
        "network_events": None,
        "screenshot_path": str(storage / rid / "screenshot.png"), "screenshot_error": None,
        "resolution_notes": None, "resolution_commit_sha": None, "resolution_actor_id": None,
        "events": json.dumps([submitted]), "created_at": when, "updated_at": when,
    }  # fmt: skip


def expected_dict(values: dict[str, Any]) -> dict[str, Any]:
    """BugReport.to_dict(include_context=True) as SERVER_FACTS 7.6 lists it, from the values inserted."""

    def parsed(name: str, default: Any) -> Any:
        return json.loads(values[name]) if values[name] else default

    return {
        "report_id": values["report_id"], "trace_id": values["trace_id"], "submitted_by": values["submitted_by"],
        "submitted_at": values["submitted_at"].isoformat(), "description": values["description"],
        "expected_behavior": values["expected_behavior"], "actual_behavior": values["actual_behavior"],
        "steps_to_reproduce": parsed("steps_to_reproduce", []), "status": values["status"],
        "automation_attempts": values["automation_attempts"] or 0, "screenshot_path": values["screenshot_path"],
        "screenshot_error": values["screenshot_error"], "resolution_notes": values["resolution_notes"],
        "resolution_commit_sha": values["resolution_commit_sha"],
        "resolution_actor_id": values["resolution_actor_id"], "created_at": values["created_at"].isoformat(),
        "updated_at": values["updated_at"].isoformat(), "environment": parsed("environment", {}),
        "client_meta": parsed("client_meta", {}), "app_state": parsed("app_state", {}),
        "has_recent_logs": bool(parsed("recent_logs", [])), "has_network_events": bool(parsed("network_events", [])),
        "has_events": bool(parsed("events", [])), "recent_logs": parsed("recent_logs", []),
        "network_events": parsed("network_events", []), "events": parsed("events", []),
    }  # fmt: skip


@pytest.fixture(params=SHAPES, ids=["-".join(shape) for shape in SHAPES])
def server_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend, variant = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'imagineer.db'}"
        create_server_schema(url, variant)
        yield url
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        url = server.url(name)
        create_server_schema(url, variant)
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'imagineer.db'}"
    create_server_schema(url, "current")
    return url


def seed_rows(url: str, storage: Path, extra: list[dict[str, Any]] = ()) -> dict[str, dict[str, Any]]:
    """The CASES as rows, each resolved/closed one with its screenshot folder, plus ``extra`` rows."""
    rows = {case[0][-2:]: row_values(*case, storage) for case in CASES}
    engine = create_engine(url)
    table = Table("bug_reports", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        for values in [*rows.values(), *extra]:
            connection.execute(insert(table).values(**values))
    engine.dispose()
    for values in rows.values():
        folder = storage / values["report_id"]
        folder.mkdir(parents=True)
        (folder / "screenshot.png").write_bytes(b"\x89PNG fake")
    return rows


def make_config(tmp_path: Path, url: str, **bugs: object):
    path = tmp_path / "imgops.yml"
    settings: dict[str, Any] = {"database_url": url, "paths": {
        "bug_reports_dir": str(tmp_path / "bug_reports"), "state_dir": str(tmp_path / "state")}}  # fmt: skip
    if bugs:
        settings["bugs"] = bugs
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return load_config(path, environ={})


def stored(url: str, rid: str) -> dict[str, Any] | None:
    engine = create_engine(url)
    table = Table("bug_reports", MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.report_id == rid)).first()
    engine.dispose()
    return dict(row._mapping) if row else None


def exists(url: str, rid: str) -> bool:
    """Whether the row is there, read as raw SQL (its timestamps may be no timestamps)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM bug_reports WHERE report_id = :r"), {"r": rid}).first()
    engine.dispose()
    return found is not None


def test_every_action_works_on_the_rows(tmp_path: Path, server_url: str) -> None:
    storage = tmp_path / "bug_reports"
    rows = seed_rows(server_url, storage)
    archive = tmp_path / "archive"
    config = make_config(tmp_path, server_url, archive_dir=str(archive))

    for wanted, expected in FILTERS:
        listed = run_bugs_list(config, wanted)
        assert [row["id"][-2:] for row in listed.data["reports"]] == expected, wanted
        assert listed.summary["backend"] == "database" and listed.summary["total"] == 6
        assert problems(listed.to_dict(), "bugs_result") == []
    assert run_bugs_list(config).summary["by_status"] == {"closed": 1, "in_progress": 1, "open": 2, "resolved": 2}

    shown = run_bugs_show(config, rows["01"]["report_id"])
    assert shown.data["report"] == expected_dict(rows["01"])
    assert list(shown.data["report"]) == list(expected_dict(rows["01"]))  # the server's key order
    assert shown.notices == [] and problems(shown.to_dict(), "bugs_result") == []

    rid = rows["06"]["report_id"]  # a status the server does not write is read, and moved on
    changed = run_bugs_status(config, rid, "in_progress", note="reproduced", actor="dana@example.com", now=NOW)
    assert changed.changed and changed.summary == {"action": "status", "backend": "database", "report": rid,
                                                   "before": "closed", "after": "in_progress"}  # fmt: skip
    row = stored(server_url, rid)
    assert row["status"] == "in_progress" and row["resolution_notes"] == "reproduced"
    assert row["resolution_actor_id"] == "dana@example.com"
    assert row["updated_at"] == NOW.replace(tzinfo=None)  # naive UTC, as the server stores it
    events = json.loads(row["events"])
    assert events[0]["event_type"] == "submitted" and events[1] == {
        "event_type": "status_changed", "event_data": {"from": "closed", "to": "in_progress", "notes": "reproduced"},
        "actor_id": "dana@example.com", "actor_type": "user", "timestamp": "2025-11-20T12:00:00Z",
    }  # fmt: skip
    assert run_bugs_status(config, rid, "in_progress", now=NOW).changed is False
    planned = run_bugs_status(config, rid, "resolved", dry_run=True, now=NOW)
    assert planned.changed and stored(server_url, rid)["status"] == "in_progress"
    with pytest.raises(InputError, match="unknown status 'closed'"):
        run_bugs_status(config, rid, "closed")

    purged = run_bugs_purge(config, now=NOW)  # default: resolved only, older than 30 days: report 04
    gone = rows["04"]["report_id"]
    assert [a.target for a in purged.actions if a.kind == "expire"] == [gone]
    assert stored(server_url, gone) is None and not (storage / gone).exists()
    assert all(stored(server_url, rows[k]["report_id"]) for k in ("01", "02", "03", "05", "06"))
    assert sorted(p.name for p in storage.iterdir()) == sorted(rows[k]["report_id"] for k in ("01", "02", "03",
                                                                                               "05", "06"))  # fmt: skip
    assert purged.summary["screenshot_folders_removed"] == 1 and purged.summary["backend"] == "database"
    assert problems(purged.to_dict(), "bugs_result") == []
    [tarball] = archive.glob("*.tar.gz")
    with tarfile.open(tarball) as tar:
        members = {m.name: json.loads(tar.extractfile(m).read()) for m in tar.getmembers()}
    assert members == {f"{gone}.json": expected_dict(rows["04"])}
    assert list(members[f"{gone}.json"]) == list(expected_dict(rows["04"]))
    assert run_bugs_purge(config, now=NOW).changed is False


def test_a_crash_between_archive_and_deletion_is_finished_by_the_next_run(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = tmp_path / "bug_reports"
    rows = seed_rows(sqlite_url, storage)
    archive = tmp_path / "archive"
    config = make_config(tmp_path, sqlite_url, archive_dir=str(archive), expire_statuses=["resolved", "closed"])
    import imgops.bugs.rows as bug_rows

    def crash(*_args: object) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(bug_rows, "delete_rows", crash)
    with pytest.raises(OSError):
        run_bugs_purge(config, now=NOW)
    [first] = archive.glob("*.tar.gz")
    with tarfile.open(first) as tar:  # the archive was whole and on disk before any row went
        assert sorted(m.name for m in tar.getmembers()) == sorted(f"{rows[k]['report_id']}.json" for k in ("04", "06"))
    assert stored(sqlite_url, rows["04"]["report_id"]) is not None
    monkeypatch.undo()
    finished = run_bugs_purge(config, now=NOW)
    assert finished.summary["expired"] == 2
    assert stored(sqlite_url, rows["04"]["report_id"]) is None and stored(sqlite_url, rows["06"]["report_id"]) is None
    assert len(list(archive.glob("*.tar.gz"))) == 2


def test_archive_and_index_are_private_whatever_the_umask(tmp_path: Path, sqlite_url: str) -> None:
    seed_rows(sqlite_url, tmp_path / "bug_reports")
    config = make_config(tmp_path, sqlite_url, archive_dir=str(tmp_path / "archive"))
    old = os.umask(0)
    try:
        run_bugs_purge(config, now=NOW)
    finally:
        os.umask(old)
    [tarball] = (tmp_path / "archive").glob("*.tar.gz")
    assert stat.S_IMODE(tarball.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "archive").stat().st_mode) == 0o700


def test_hostile_rows_are_problems_of_their_own(tmp_path: Path, sqlite_url: str) -> None:
    storage = tmp_path / "bug_reports"
    deep = "[" * 100_000 + "]" * 100_000
    bad = row_values("bbbb00000001", "open", 2, "x@example.com", "deep app state", storage)
    bad.update(app_state=deep, events="{not json", network_events='[{"size": 1e999}]')
    rows = seed_rows(sqlite_url, storage, [bad])
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:  # rows as raw SQL and other writers leave them (SERVER_FACTS 0.3)
        connection.execute(text("UPDATE bug_reports SET submitted_at = 'garbage' WHERE report_id = :r"),
                           {"r": rows["04"]["report_id"]})  # fmt: skip
        connection.execute(text("UPDATE bug_reports SET created_at = '2025-11-01 10:00:00+00:00' WHERE report_id = :r"),
                           {"r": rows["05"]["report_id"]})  # fmt: skip
    engine.dispose()
    config = make_config(tmp_path, sqlite_url, expire_statuses=["*"])

    listed = run_bugs_list(config)
    assert listed.summary["total"] == 7 and listed.summary["corrupt"] == 1
    corrupt = [r for r in listed.data["reports"] if r["status"] == "corrupt"]
    assert [r["id"] for r in corrupt] == [rows["04"]["report_id"]] and corrupt[0]["submitted_at"] is None

    shown = run_bugs_show(config, bad["report_id"]).data["report"]
    assert shown["app_state"] == deep and shown["events"] == "{not json"  # kept as stored, never a traceback
    assert shown["network_events"] == '[{"size": 1e999}]'
    assert run_bugs_show(config, rows["05"]["report_id"]).data["report"]["created_at"] == "2025-11-01T10:00:00+00:00"
    with pytest.raises(InputError, match=r"events of bug report .* invalid JSON"):
        run_bugs_status(config, bad["report_id"], "resolved")
    assert stored(sqlite_url, bad["report_id"])["status"] == "open"

    purged = run_bugs_purge(config, now=NOW)  # every status expires, but never the row without a date
    assert exists(sqlite_url, rows["04"]["report_id"])
    assert sorted(a.target[-2:] for a in purged.actions) == ["02", "06"]


def test_a_symlinked_screenshot_folder_keeps_its_report(tmp_path: Path, sqlite_url: str) -> None:
    storage = tmp_path / "bug_reports"
    rows = seed_rows(sqlite_url, storage)
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", encoding="utf-8")
    gone = rows["04"]["report_id"]
    for child in (storage / gone).iterdir():
        child.unlink()
    (storage / gone).rmdir()
    (storage / gone).symlink_to(outside)
    result = run_bugs_purge(make_config(tmp_path, sqlite_url), now=NOW)
    assert result.failed and "symlink" in result.errors[0]["message"]
    assert (outside / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert stored(sqlite_url, gone) is not None


def test_which_backend(tmp_path: Path) -> None:
    seed = f"sqlite:///{tmp_path / 'seed.db'}"
    create_server_schema(seed, "seed")
    (tmp_path / "bug_reports").mkdir()
    assert run_bugs_list(make_config(tmp_path, seed)).summary["backend"] == "files"
    broken = f"sqlite:///{tmp_path / 'broken.db'}"
    create_server_schema(broken, "current")
    engine = create_engine(broken)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE bug_reports DROP COLUMN events"))
    engine.dispose()
    with pytest.raises(DatabaseError, match=r"bug_reports\.events"):
        run_bugs_list(make_config(tmp_path, broken))


def test_cli_text_escapes_what_reports_hold_and_json_conforms(tmp_path: Path, sqlite_url: str) -> None:
    storage = tmp_path / "bug_reports"
    forged = row_values("cccc00000001", "open", 1, "evil\x1b[2J@example.com",
                        "line\nbug_x  resolved  forged row \x1b[31mred\u202e", storage)  # fmt: skip
    seed_rows(sqlite_url, storage, [forged])
    config = make_config(tmp_path, sqlite_url)
    imgops = [sys.executable, "-m", "imgops.cli", "--config", str(config.source)]
    table = subprocess.run([*imgops, "bugs", "list"], capture_output=True, text=True, check=True).stdout
    assert "\x1b" not in table and "\u202e" not in table
    assert len(table.splitlines()) == 1 + 7 + 1  # header, seven reports, counts: no forged row
    assert "line\\nbug_x" in table and "\\x1b[31mred\\u202e" in table
    shown = subprocess.run([*imgops, "bugs", "show", forged["report_id"]], capture_output=True, text=True, check=True)
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    data = json.loads(subprocess.run([*imgops, "--json", "bugs", "list"], capture_output=True, text=True,
                                     check=True).stdout)  # fmt: skip
    assert problems(data, "bugs_result") == []
    assert any(r["description"].startswith("line\nbug_x") for r in data["reports"])  # JSON keeps the text as is
