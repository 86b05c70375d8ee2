"""Bug reports on real files: filters, status history, atomic rewrites, retention with and without archive."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from imgops.bugs import run_bugs_list, run_bugs_purge, run_bugs_show, run_bugs_status
from imgops.bugs.query import ReportFilter
from imgops.config import load_config
from imgops.contracts import problems
from imgops.errors import InputError

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
CASES = [  # (trace, status, age in days, submitter, description)
    ("aaaa0001", "open", 1, "admin@example.com", "Gallery fails to load"),
    ("aaaa0002", "open", 40, "ops@example.com", "Thumbnail grid is empty"),
    ("aaaa0003", "in_progress", 10, "admin@example.com", "Training stuck at 0%"),
    ("aaaa0004", "resolved", 45, "ops@example.com", "Gallery slow, very slow"),
    ("aaaa0005", "resolved", 3, "admin@example.com", "Upload button missing"),
    ("aaaa0006", "closed", 90, "ops@example.com", "Old crash in gallery"),
]


def write_report(folder: Path, trace: str, status: str, age: float, submitter: str, description: str) -> Path:
    when = NOW - timedelta(days=age)
    report_id = f"bug_{when:%Y%m%d_%H%M%S}_{trace}"
    data = {
        "report_id": report_id, "trace_id": f"{trace}-1111", "submitted_at": when.isoformat(),
        "submitted_by": submitter, "user_role": "admin", "status": status, "description": description,
        "environment": {"mode": "production"}, "clientMeta": {"locationHref": "https://x/gallery"},
        "appState": {"zeta": 1, "alpha": 2}, "recentLogs": [{"message": f"line {n}"} for n in range(30)],
        "networkEvents": [],
    }  # fmt: skip
    path = folder / f"{report_id}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "bug_reports"
    folder.mkdir()
    for case in CASES:
        write_report(folder, *case)
    (folder / "bug_20251119_000000_deadbeef.json").write_text('{"report_id": "bug_trunc', encoding="utf-8")
    (folder / "bug_20251119_000001_00000000.json").write_bytes(b"")
    (folder / "bug_20251119_000002_latin111.json").write_bytes('{"description": "caf\xe9"}'.encode("latin-1"))
    return folder


def make_config(tmp_path: Path, folder: Path, **bugs: object):
    path = tmp_path / "imgops.yml"
    settings = {"paths": {"bug_reports_dir": str(folder), "state_dir": str(tmp_path / "state")}}
    if bugs:
        settings["bugs"] = bugs
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return load_config(path, environ={})


def ids(result) -> list[str]:
    return [row["id"][-8:] for row in result.data["reports"]]


CORRUPT = ["deadbeef", "00000000", "latin111"]


@pytest.mark.parametrize(("wanted", "expected"), [
    (ReportFilter(), ["aaaa0001", "aaaa0005", "aaaa0003", "aaaa0002", "aaaa0004", "aaaa0006"]),
    (ReportFilter(statuses=("open",)), ["aaaa0001", "aaaa0002"]),
    (ReportFilter(statuses=("resolved", "closed")), ["aaaa0005", "aaaa0004", "aaaa0006"]),
    (ReportFilter(since=NOW - timedelta(days=11)), ["aaaa0001", "aaaa0005", "aaaa0003"]),
    (ReportFilter(until=NOW - timedelta(days=41)), ["aaaa0004", "aaaa0006"]),
    (ReportFilter(submitter="OPS@example.com"), ["aaaa0002", "aaaa0004", "aaaa0006"]),
    (ReportFilter(grep="GALLERY"), ["aaaa0001", "aaaa0004", "aaaa0006"]),
])  # fmt: skip
def test_filters_newest_first_with_corrupt_files_always_listed(
    tmp_path: Path, reports: Path, wanted: ReportFilter, expected: list[str]
) -> None:
    result = run_bugs_list(make_config(tmp_path, reports), wanted)
    listed = ids(result)
    assert [i for i in listed if i not in CORRUPT] == expected
    assert sorted(i for i in listed if i in CORRUPT) == sorted(CORRUPT)
    assert result.summary["corrupt"] == 3 and result.changed is False
    assert problems(result.to_dict(), "bugs_result") == []
    assert len([n for n in result.notices if "corrupt report file" in n["message"]]) == 3


def test_limit_and_offset_page_through_the_listing(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    everything = ids(run_bugs_list(config, ReportFilter(statuses=("open", "resolved"))))
    page = run_bugs_list(config, ReportFilter(statuses=("open", "resolved")), limit=2, offset=1)
    assert ids(page) == everything[1:3]
    assert page.summary["matched"] == len(everything) and page.summary["returned"] == 2


def test_status_change_appends_history_and_keeps_everything_else(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    path = next(reports.glob("*aaaa0001.json"))
    before = json.loads(path.read_text(encoding="utf-8"))
    result = run_bugs_status(config, path.stem, "in_progress", note="looking", actor="dana", now=NOW)
    assert result.changed and result.diff == {
        "before": {"status": "open", "history_entries": 0},
        "after": {"status": "in_progress", "history_entries": 1},
    }
    result = run_bugs_status(config, path.stem, "resolved", actor="dana", now=NOW + timedelta(hours=1))
    after = json.loads(path.read_text(encoding="utf-8"))
    assert list(after)[: len(before)] == list(before)  # key order kept, new keys at the end
    assert list(after)[len(before) :] == ["status_history", "updated_at"]
    assert {k: v for k, v in after.items() if k not in ("status", "status_history", "updated_at")} == {
        k: v for k, v in before.items() if k != "status"
    }
    assert after["status"] == "resolved"
    assert after["status_history"] == [
        {"from": "open", "to": "in_progress", "at": NOW.isoformat(), "actor": "dana", "note": "looking"},
        {"from": "in_progress", "to": "resolved", "at": (NOW + timedelta(hours=1)).isoformat(), "actor": "dana"},
    ]
    assert after["updated_at"] == "2025-11-20T13:00:00Z"  # UTC with Z, as the server's PATCH wrote it
    assert path.read_text(encoding="utf-8").startswith('{\n  "report_id"')  # same indentation
    assert problems(after, "bug_report_file") == []


def test_same_status_again_writes_nothing(tmp_path: Path, reports: Path) -> None:
    path = next(reports.glob("*aaaa0003.json"))
    stat_before, bytes_before = path.stat(), path.read_bytes()
    result = run_bugs_status(make_config(tmp_path, reports), path.stem, "in_progress")
    assert result.changed is False and result.actions == []
    assert path.read_bytes() == bytes_before and path.stat().st_mtime_ns == stat_before.st_mtime_ns


def test_dry_run_plans_the_change_and_writes_nothing(tmp_path: Path, reports: Path) -> None:
    path = next(reports.glob("*aaaa0002.json"))
    original = path.read_bytes()
    result = run_bugs_status(make_config(tmp_path, reports), path.stem, "resolved", dry_run=True)
    assert result.changed and result.dry_run and result.diff["after"]["status"] == "resolved"
    assert path.read_bytes() == original


def test_compact_files_stay_compact(tmp_path: Path, reports: Path) -> None:
    path = reports / "bug_20251101_000000_cccccccc.json"
    path.write_text('{"report_id":"bug_20251101_000000_cccccccc","status":"open","description":"é",'
                    '"submitted_at":"2025-11-01T00:00:00+00:00"}', encoding="utf-8")  # fmt: skip
    run_bugs_status(make_config(tmp_path, reports), path.stem, "resolved", actor="a", now=NOW)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{"report_id":"bug_20251101_000000_cccccccc","status":"resolved","description":"é",')
    assert "\n" not in text


def test_a_failure_during_the_rewrite_leaves_the_old_file_whole(
    tmp_path: Path, reports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = next(reports.glob("*aaaa0001.json"))
    original = path.read_bytes()

    def crash(*_args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="Input/output error"):
        run_bugs_status(make_config(tmp_path, reports), path.stem, "resolved")
    assert path.read_bytes() == original
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]


FLIPPER = textwrap.dedent("""
    import sys
    from imgops.bugs import run_bugs_status
    from imgops.config import load_config
    config, report, i = load_config(sys.argv[1], environ={}), sys.argv[2], 0
    while True:
        run_bugs_status(config, report, ("open", "resolved")[i % 2], note="x" * 5000)
        i += 1
""")


@pytest.mark.serial  # fixed delays: a second busy worker can keep the child from its first rewrite
def test_kill_9_during_rewrites_never_tears_the_file(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    path = next(reports.glob("*aaaa0001.json"))
    for delay in (0.0, 0.05, 0.15, 0.3):
        child = subprocess.Popen([sys.executable, "-c", FLIPPER, str(config.source), path.stem])
        before, deadline = path.stat().st_ino, time.monotonic() + 60
        while path.stat().st_ino == before and time.monotonic() < deadline:  # rewriting has begun, however busy
            time.sleep(0.01)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["status"] in ("open", "resolved")
        assert problems(data, "bug_report_file") == []
    assert len(data["status_history"]) >= 1
    # what killed rewrites leave is cleaned by the next purge once it is an hour old; anything else stays
    young = reports / f".{path.name}.young123.tmp"
    foreign = reports / ".someone_elses.tmp"
    for made in (reports / f".{path.name}.abcd1234.tmp", young, foreign):
        made.write_text("{", encoding="utf-8")
    old = time.time() - 7200
    for leftover in reports.glob(".*.tmp"):
        if leftover != young:
            os.utime(leftover, (old, old))
    purged = run_bugs_purge(config, now=datetime.now(UTC))
    assert purged.summary["stale_temporaries"] >= 1
    assert sorted(p.name for p in reports.glob(".*")) == sorted([young.name, foreign.name])


def test_ids_cannot_leave_the_folder(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    (tmp_path / "secret.json").write_text('{"status": "open"}', encoding="utf-8")
    for bad in ("../secret", "/etc/passwd", "bug_missing_00000000"):
        with pytest.raises(InputError):
            run_bugs_status(config, bad, "resolved")
    with pytest.raises(InputError, match="corrupt"):
        run_bugs_show(config, "bug_20251119_000000_deadbeef")


def remaining(folder: Path) -> list[str]:
    return sorted(p.name[-13:-5] for p in folder.glob("*.json"))


def test_retention_expires_old_resolved_reports_only_by_default(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    planned = run_bugs_purge(config, dry_run=True, now=NOW)
    assert [a.target[-8:] for a in planned.actions] == ["aaaa0004"]  # the old "closed" report is not the server's
    assert len(remaining(reports)) == 9
    done = run_bugs_purge(config, now=NOW)
    assert remaining(reports) == sorted(["aaaa0001", "aaaa0002", "aaaa0003", "aaaa0005", "aaaa0006", *CORRUPT])
    assert done.summary["expired"] == 1 and done.summary["corrupt"] == 3 and done.summary["backend"] == "files"
    assert problems(done.to_dict(), "bugs_result") == []
    assert run_bugs_purge(config, now=NOW).changed is False
    configured = make_config(tmp_path, reports, expire_statuses=["resolved", "closed"])
    assert [a.target[-8:] for a in run_bugs_purge(configured, now=NOW).actions] == ["aaaa0006"]


def test_retention_of_every_status_archives_before_deleting(tmp_path: Path, reports: Path) -> None:
    archive = tmp_path / "archive"
    config = make_config(tmp_path, reports, expire_statuses=["*"], archive_dir=str(archive))
    expected = {
        p.name: p.read_bytes() for p in reports.glob("*.json") if p.name[-13:-5] in ("aaaa0002", "aaaa0004", "aaaa0006")
    }
    result = run_bugs_purge(config, now=NOW)
    assert remaining(reports) == sorted(["aaaa0001", "aaaa0003", "aaaa0005", *CORRUPT])
    [tarball] = archive.glob("*.tar.gz")
    assert result.summary["archive"] == str(tarball)
    with tarfile.open(tarball) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == expected


def test_file_time_dates_reports_without_submitted_at_and_zero_days_disables(tmp_path: Path, reports: Path) -> None:
    undated = reports / "bug_manual_11111111.json"
    undated.write_text('{"status": "resolved", "description": "no date"}', encoding="utf-8")
    old = (NOW - timedelta(days=100)).timestamp()
    os.utime(undated, (old, old))
    config = make_config(tmp_path, reports)
    assert "bug_manual_11111111" in [a.target for a in run_bugs_purge(config, dry_run=True, now=NOW).actions]
    listed = run_bugs_list(config, ReportFilter(statuses=("resolved",)))
    assert any("does not match the bug report contract" in n["message"] for n in listed.notices)
    config = replace(config, retention=replace(config.retention, bug_reports_days=0))
    disabled = run_bugs_purge(config, now=NOW)
    assert disabled.changed is False and "disabled" in disabled.notices[0]["message"]


def test_cli_json_and_module_return_the_contract(tmp_path: Path, reports: Path, ansible_env: dict[str, str]) -> None:
    config = make_config(tmp_path, reports)
    imgops = [sys.executable, "-m", "imgops.cli", "--config", str(config.source), "--json"]
    listed = subprocess.run([*imgops, "bugs", "list", "--status", "open"], capture_output=True, text=True, check=True)
    data = json.loads(listed.stdout)
    assert problems(data, "bugs_result") == [] and len(data["reports"]) == 5
    target = next(reports.glob("*aaaa0001.json")).stem
    args = f"config={config.source} action=status report_id={target} status=resolved note=done actor=ci"
    root = Path(__file__).resolve().parents[2]
    env = {**ansible_env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    checked = subprocess.run(["ansible", "localhost", "-m", "imgops_bugs", "-a", args, "--check", "--diff"],
                             cwd=root, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads((reports / f"{target}.json").read_text())["status"] == "open"  # check mode wrote nothing
    ran = subprocess.run(["ansible", "localhost", "-m", "imgops_bugs", "-a", args],
                         cwd=root, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    result = json.loads(ran.stdout.split(" => ", 1)[1])
    assert result["changed"] is True and problems(result, "bugs_result") == []
    assert json.loads((reports / f"{target}.json").read_text())["status"] == "resolved"
    shown = subprocess.run([*imgops, "bugs", "show", target], capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout)["report"]["status_history"][-1]["actor"] == "ci"
    bad = subprocess.run([*imgops, "bugs", "status", "../etc", "resolved"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "invalid report id" in bad.stdout


def test_the_listing_index_never_serves_a_stale_entry(tmp_path: Path, reports: Path) -> None:
    config = make_config(tmp_path, reports)
    assert "aaaa0002" in ids(run_bugs_list(config, ReportFilter(statuses=("open",))))
    index = tmp_path / "state" / "bug_reports_index.json"
    assert index.is_file()
    changed = next(reports.glob("*aaaa0002.json"))
    run_bugs_status(config, changed.stem, "resolved")  # rewritten atomically: new inode, new mtime
    next(reports.glob("*aaaa0001.json")).unlink()
    data = json.loads(next(reports.glob("*aaaa0005.json")).read_text())
    data["status"] = "open"  # the server edits a file in place
    next(reports.glob("*aaaa0005.json")).write_text(json.dumps(data), encoding="utf-8")
    listed = run_bugs_list(config, ReportFilter(statuses=("open",)))
    assert [i for i in ids(listed) if i not in CORRUPT] == ["aaaa0005"]
    index.write_text("{not json", encoding="utf-8")  # a broken cache costs time, not answers
    assert [i for i in ids(run_bugs_list(config, ReportFilter(statuses=("open",)))) if i not in CORRUPT] == ["aaaa0005"]


def test_reports_of_every_era_in_sub_folders_go_with_their_screenshot_folders(tmp_path: Path, reports: Path) -> None:
    nested_dir = reports / "2025" / "10"
    nested_dir.mkdir(parents=True)
    nested = write_report(nested_dir, "nest0001", "resolved", 50, "ops@example.com", "Nested and old")
    (nested_dir / nested.stem).mkdir()
    (nested_dir / nested.stem / "screenshot.png").write_bytes(b"png")
    interim = {}
    for trace, status, age in (("intr0001", "resolved", 60), ("intr0002", "open", 5)):
        when = NOW - timedelta(days=age)
        rid = f"bug_{when:%Y%m%d_%H%M%S}_{trace}"
        (reports / rid).mkdir()
        (reports / rid / "screenshot.png").write_bytes(b"png")
        interim[trace] = reports / f"{rid}.json"
        interim[trace].write_text(json.dumps({
            "report_id": rid, "trace_id": trace, "submitted_at": when.isoformat(), "submitted_by": "a@example.com",
            "user_role": "admin", "status": status, "description": "interim", "environment": {}, "clientMeta": {},
            "appState": {}, "recentLogs": [], "networkEvents": [],
            "screenshot_path": str(reports / rid / "screenshot.png"), "screenshot_error": None,
            "updated_at": "2025-11-02T10:00:00.000001Z",
            "resolution": {"notes": "server side", "commit_sha": "abc123"},
        }, indent=2) + "\n", encoding="utf-8")  # fmt: skip
    config = make_config(tmp_path, reports)
    listed = {row["id"][-8:] for row in run_bugs_list(config).data["reports"]}
    assert {"nest0001", "intr0001", "intr0002"} <= listed

    run_bugs_status(config, interim["intr0002"].stem, "in_progress", note="on it", actor="dana", now=NOW)
    after = json.loads(interim["intr0002"].read_text(encoding="utf-8"))
    assert after["resolution"] == {"notes": "server side", "commit_sha": "abc123"}
    assert after["screenshot_path"].endswith("screenshot.png") and after["status"] == "in_progress"
    assert run_bugs_status(config, nested.stem, "open", now=NOW).changed  # found in its sub-folder
    run_bugs_status(config, nested.stem, "resolved", now=NOW)

    purged = run_bugs_purge(config, now=NOW)
    assert sorted(a.target[-8:] for a in purged.actions) == ["aaaa0004", "intr0001", "nest0001"]
    assert purged.summary["screenshot_folders_removed"] == 2
    assert not nested.exists() and not (nested_dir / nested.stem).exists()
    assert not interim["intr0001"].exists() and not (reports / interim["intr0001"].stem).exists()
    assert (reports / interim["intr0002"].stem / "screenshot.png").is_file()  # a kept report keeps its folder


HOSTILE = {  # name: (bytes, what the problem says)
    "bug_deep_00000001.json": (b"[" * 1_000_000 + b"]" * 1_000_000, "nested"),
    "bug_bigint_0000001.json": (b'{"n": 1' + b"0" * 10_000 + b"}", "too many digits"),
    "bug_inf_000000001.json": (b'{"status": "open", "description": "x", "ratio": 1e999}', "out of range"),
    "bug_nan_000000001.json": (b'{"status": "open", "ratio": NaN}', "NaN"),
    "bug_dupe_00000001.json": (b'{"status": "open", "status": "resolved"}', "duplicate key"),
}


def test_hostile_files_are_one_problem_each_and_never_a_hang(tmp_path: Path, reports: Path) -> None:
    for name, (payload, _) in HOSTILE.items():
        (reports / name).write_bytes(payload)
    os.mkfifo(reports / "bug_fifo_00000001.json")
    (reports / "bug_link_00000001.json").symlink_to(next(reports.glob("*aaaa0001.json")))
    config = make_config(tmp_path, reports)
    imgops = [sys.executable, "-m", "imgops.cli", "--config", str(config.source), "--json", "bugs", "list"]
    listed = json.loads(subprocess.run(imgops, capture_output=True, text=True, check=True, timeout=60).stdout)
    assert problems(listed, "bugs_result") == []
    corrupt = {row["id"]: row["corrupt"] for row in listed["reports"] if row["status"] == "corrupt"}
    for name, (_, reason) in HOSTILE.items():
        assert reason in corrupt[name.removesuffix(".json")], name
    assert "FIFO" in corrupt["bug_fifo_00000001"] and "symlink" in corrupt["bug_link_00000001"]
    assert len([r for r in listed["reports"] if r["status"] != "corrupt"]) == 6  # the others still list
    with pytest.raises(InputError, match="corrupt"):
        run_bugs_show(config, "bug_fifo_00000001")
    with pytest.raises(InputError, match="out of range"):
        run_bugs_status(config, "bug_inf_000000001", "resolved")
    run_bugs_purge(make_config(tmp_path, reports, expire_statuses=["*"]), now=NOW + timedelta(days=999))
    assert sorted(p.name for p in reports.iterdir()) == sorted([*HOSTILE, "bug_fifo_00000001.json",
                                                                 "bug_link_00000001.json", *CORRUPT_NAMES])  # fmt: skip


CORRUPT_NAMES = ["bug_20251119_000000_deadbeef.json", "bug_20251119_000001_00000000.json",
                 "bug_20251119_000002_latin111.json"]  # fmt: skip


def test_rewrites_keep_numbers_exactly_as_written(tmp_path: Path, reports: Path) -> None:
    path = reports / "bug_20251101_000000_numbers1.json"
    original = ('{\n  "report_id": "bug_20251101_000000_numbers1",\n  "status": "open",\n  "description": "n",\n'
                '  "submitted_at": "2025-11-01T00:00:00+00:00",\n  "metrics": {"a": 1e5, "b": 0.10, "c": 1.5E-7, '
                '"d": -0.0, "e": 12345678901234567890123, "f": 2.50e+3, "g": [1.0, 100]}\n}\n')  # fmt: skip
    path.write_text(original, encoding="utf-8")
    run_bugs_status(make_config(tmp_path, reports), path.stem, "resolved", actor="a", now=NOW)
    text = path.read_text(encoding="utf-8")
    for number in ("1e5", "0.10", "1.5E-7", "-0.0", "12345678901234567890123", "2.50e+3", "1.0", "100"):
        assert f" {number}" in text or f"[{number}" in text, number
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text)["status"] == "resolved"


def test_text_views_escape_control_characters_and_files_with_personal_data_are_private(
    tmp_path: Path, reports: Path
) -> None:
    from imgops.presentation.bugs import render_escaped, render_table

    evil = reports / "bug_20251118_000000_\x1b[2Jevil.json"
    hostile = {
        "report_id": "x",
        "status": "resolved",
        "submitted_at": "2025-09-01T00:00:00+00:00",
        "submitted_by": "a\x1b]0;pwned\x07@example.com",
        "description": "ok\nbug_fake  open  forged\x1b[31m\u202e",
    }
    evil.write_text(json.dumps(hostile), encoding="utf-8")  # fmt: skip
    config = make_config(tmp_path, reports)
    old = os.umask(0)
    try:
        listed = run_bugs_list(config)
        purged = run_bugs_purge(replace(config, bugs=replace(config.bugs, archive_dir=tmp_path / "archive")), now=NOW)
    finally:
        os.umask(old)
    table = render_table(listed.to_output())
    assert "\x1b" not in table and "\x07" not in table and "\u202e" not in table
    assert len(table.splitlines()) == 1 + 10 + 1  # header, ten reports, counts: no forged row
    assert "ok\\nbug_fake" in table and "\\x1b[2Jevil" in table
    purge_text = render_escaped(purged.to_output())
    assert "\x1b" not in purge_text and "\\x1b[2Jevil" in purge_text
    assert any(r["description"].startswith("ok\nbug_fake") for r in listed.data["reports"])  # JSON: the text as is
    assert stat.S_IMODE((tmp_path / "state" / "bug_reports_index.json").stat().st_mode) == 0o600
    [archive] = (tmp_path / "archive").glob("*.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
