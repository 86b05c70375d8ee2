"""Listing bug reports read from real files: filtered by status, time, submitter and text, newest first, paged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imgops.bugs.query import ReportFilter, select
from imgops.bugs.store import ReportEntry, load_reports

REPORTS = [
    # report id, status, submitted_at, submitted_by, description
    ("bug_1", "open", "2025-10-01T09:00:00+00:00", "admin@example.com", "Gallery fails to load"),
    ("bug_2", "resolved", "2025-10-05T09:00:00+00:00", "ops@example.com", "Thumbnail grid is empty"),
    ("bug_3", "open", "2025-10-10T09:00:00+00:00", "Ops@Example.com", "Training stuck at 0%"),
    ("bug_4", "in_progress", "2025-10-15T09:00:00+00:00", "admin@example.com", "gallery paging skips a page"),
    ("bug_5", "closed", "2025-10-20T09:00:00+00:00", "admin@example.com", "Upload rejects WEBP"),
]


@pytest.fixture
def entries(tmp_path: Path) -> list[ReportEntry]:
    for report_id, status, submitted_at, submitted_by, description in REPORTS:
        report = {"report_id": report_id, "status": status, "submitted_at": submitted_at,
                  "submitted_by": submitted_by, "description": description}  # fmt: skip
        (tmp_path / f"{report_id}.json").write_text(json.dumps(report), encoding="utf-8")
    (tmp_path / "bug_0_truncated.json").write_text('{"status": "open', encoding="utf-8")
    return [ReportEntry.from_file(report) for report in load_reports(tmp_path)]


def ids(page: list[ReportEntry]) -> list[str]:
    return [entry.report_id for entry in page if entry.corrupt is None]


def test_everything_is_listed_newest_first_with_corrupt_files_included(entries: list[ReportEntry]) -> None:
    page, total = select(entries, ReportFilter(), limit=None, offset=0)
    assert ids(page) == ["bug_5", "bug_4", "bug_3", "bug_2", "bug_1"]
    assert total == 6 and [e.report_id for e in page if e.corrupt] == ["bug_0_truncated"]


def test_each_filter_selects_what_it_says(entries: list[ReportEntry]) -> None:
    def matching(wanted: ReportFilter) -> list[str]:
        return ids(select(entries, wanted, limit=None, offset=0)[0])

    assert matching(ReportFilter(statuses=("open", "in_progress"))) == ["bug_4", "bug_3", "bug_1"]
    assert matching(ReportFilter(since=datetime(2025, 10, 10, 9, tzinfo=UTC))) == ["bug_5", "bug_4", "bug_3"]
    assert matching(ReportFilter(until=datetime(2025, 10, 5, 9, tzinfo=UTC))) == ["bug_2", "bug_1"]
    assert matching(ReportFilter(submitter="OPS@example.com")) == ["bug_3", "bug_2"]  # case does not matter
    assert matching(ReportFilter(grep="GALLERY")) == ["bug_4", "bug_1"]
    assert matching(ReportFilter(statuses=("open",), submitter="admin@example.com", grep="gallery")) == ["bug_1"]


def test_a_corrupt_file_is_in_every_listing_so_it_is_never_overlooked(entries: list[ReportEntry]) -> None:
    page, total = select(entries, ReportFilter(statuses=("closed",), grep="nothing matches this"), None, 0)
    assert [e.report_id for e in page] == ["bug_0_truncated"] and total == 1


def test_pages_count_every_match_and_return_only_their_slice(entries: list[ReportEntry]) -> None:
    wanted = ReportFilter(statuses=("open", "in_progress", "resolved", "closed"))
    first, total = select(entries, wanted, limit=2, offset=0)
    second, _ = select(entries, wanted, limit=2, offset=2)
    beyond, total_beyond = select(entries, wanted, limit=2, offset=10)
    # The corrupt file is dated by its file's time (just now), so it leads.
    assert [e.report_id for e in first] == ["bug_0_truncated", "bug_5"]
    assert [e.report_id for e in second] == ["bug_4", "bug_3"]
    assert total == total_beyond == 6 and beyond == []
