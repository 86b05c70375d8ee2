"""Reading bug report files: every broken file becomes a corrupt entry saying why, never an exception."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgops.bugs.store import ReportEntry, load_reports, parse_timestamp, read_report, report_path, report_paths
from imgops.errors import InputError


def receipt(report_id: str, **fields: object) -> dict[str, object]:
    return {
        "report_id": report_id,
        "trace_id": "0a1b2c3d-0000-4000-8000-000000000000",
        "submitted_at": "2025-11-01T10:00:00+00:00",
        "submitted_by": "admin@example.com",
        "user_role": "admin",
        "status": "open",
        "description": "Gallery fails to load",
        **fields,
    }


def test_each_kind_of_broken_file_is_corrupt_with_its_reason(tmp_path: Path) -> None:
    cases = {
        "bug_empty.json": b"",
        "bug_blank.json": b"  \n",
        "bug_truncated.json": b'{"report_id": "bug_trunc',
        "bug_latin1.json": '{"description": "caf\xe9"}'.encode("latin-1"),
        "bug_list.json": b"[1, 2]",
    }
    cases["bug_deep.json"] = b"[" * 100_000 + b"]" * 100_000
    cases["bug_inf.json"] = b'{"ratio": 1e999}'
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "bug_fifo.json")  # opened without blocking, never read
    (tmp_path / "bug_link.json").symlink_to(tmp_path / "bug_list.json")
    corrupt = {report.path.name: report.corrupt for report in load_reports(tmp_path)}
    assert corrupt == {
        "bug_blank.json": "empty file",
        "bug_deep.json": "invalid JSON: nested too deeply",
        "bug_empty.json": "empty file",
        "bug_fifo.json": "is a FIFO, not a regular file",
        "bug_inf.json": "invalid JSON: a number is out of range (not finite as a float)",
        "bug_latin1.json": "not UTF-8 (byte 20)",
        "bug_link.json": "is a symlink; symlinks are never followed",
        "bug_list.json": "not a JSON object (list)",
        "bug_truncated.json": "invalid JSON: Unterminated string starting at: line 1 column 15 (char 14)",
    }


def test_a_good_report_is_read_with_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "bug_20251101_100000_0a1b2c3d.json"
    path.write_text(json.dumps(receipt("bug_20251101_100000_0a1b2c3d")), encoding="utf-8")
    report = read_report(path)
    assert report.corrupt is None and report.size == path.stat().st_size
    assert (report.report_id, report.status) == ("bug_20251101_100000_0a1b2c3d", "open")
    assert report.submitted_at == datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    entry = ReportEntry.from_file(report)
    assert entry.contract_problem is None
    assert entry.row() == {
        "id": "bug_20251101_100000_0a1b2c3d",
        "status": "open",
        "submitted_at": "2025-11-01T10:00:00+00:00",
        "submitted_by": "admin@example.com",
        "size": report.size,
        "description": "Gallery fails to load",
    }


def test_a_report_without_a_usable_time_is_dated_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "bug_undated.json"
    path.write_text(json.dumps(receipt("bug_undated", submitted_at="last tuesday")), encoding="utf-8")
    stamp = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    assert read_report(path).submitted_at == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_a_listing_row_shortens_the_description_and_marks_what_is_off_contract(tmp_path: Path) -> None:
    (tmp_path / "bug_long.json").write_text(
        json.dumps(receipt("bug_long", description="x" * 100, status="lost")), encoding="utf-8"
    )
    (tmp_path / "bug_odd.json").write_text(json.dumps(receipt("bug_odd", trace_id=7)), encoding="utf-8")
    (tmp_path / "bug_broken.json").write_bytes(b"{")
    entries = {entry.report_id: entry for entry in map(ReportEntry.from_file, load_reports(tmp_path))}
    long_row = entries["bug_long"].row()
    assert long_row["description"] == "x" * 59 + "…" and long_row["status"] == "lost"
    assert entries["bug_long"].contract_problem is None  # any status a report holds is read as it is
    assert entries["bug_odd"].contract_problem is not None and "trace_id" in entries["bug_odd"].contract_problem
    broken_row = entries["bug_broken"].row()
    assert broken_row["status"] == "corrupt" and broken_row["corrupt"].startswith("invalid JSON")


def test_report_files_are_found_by_the_servers_pattern_in_sub_folders(tmp_path: Path) -> None:
    for name in ("bug_b.json", "bug_a.json", ".bug_c.json.tmp", ".bug_d.json", "notes.txt", "other.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    (tmp_path / "archive.json").mkdir()
    (tmp_path / "2025" / "11").mkdir(parents=True)
    (tmp_path / "2025" / "11" / "bug_e.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "bug_f.json").write_text("{}", encoding="utf-8")
    (tmp_path / "linked").symlink_to(tmp_path / "2025", target_is_directory=True)  # never entered
    (tmp_path / "bug_link.json").symlink_to(tmp_path / "bug_a.json")  # listed, then read as a problem
    found = [p.relative_to(tmp_path).as_posix() for p in report_paths(tmp_path)]
    assert found == ["2025/11/bug_e.json", "bug_a.json", "bug_b.json", "bug_link.json"]
    assert report_path(tmp_path, "bug_e") == tmp_path / "2025" / "11" / "bug_e.json"
    with pytest.raises(InputError, match="does not exist"):
        report_paths(tmp_path / "absent")


def test_a_report_id_cannot_name_a_file_outside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "bug_a.json").write_text("{}", encoding="utf-8")
    assert report_path(tmp_path, "bug_a") == report_path(tmp_path, "bug_a.json") == tmp_path / "bug_a.json"
    for bad in ("../etc/passwd", "/etc/passwd", ".hidden", ""):
        with pytest.raises(InputError, match="invalid report id"):
            report_path(tmp_path, bad)
    with pytest.raises(InputError, match="no bug report 'bug_z'"):
        report_path(tmp_path, "bug_z")


def test_timestamps_are_utc_whatever_their_form() -> None:
    assert parse_timestamp("2025-11-01T10:00:00Z") == datetime(2025, 11, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2025-11-01T12:00:00+02:00") == datetime(2025, 11, 1, 10, tzinfo=UTC)
    assert parse_timestamp("2025-11-01T10:00:00") == datetime(2025, 11, 1, 10, tzinfo=UTC)  # naive means UTC
    assert parse_timestamp("yesterday") is None and parse_timestamp(1730455200) is None
