"""Filtering, ordering and paging of report listings (files and rows alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar


class Listed(Protocol):
    """What a listing filters on: a report file's entry or a row's."""

    @property
    def report_id(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def submitted_by(self) -> str | None: ...
    @property
    def description(self) -> str: ...
    @property
    def corrupt(self) -> str | None: ...


_Entry = TypeVar("_Entry", bound=Listed)


@dataclass(frozen=True)
class ReportFilter:
    """What ``bugs list`` selects; None means no restriction."""

    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    submitter: str | None = None
    grep: str | None = None

    def matches(self, report: Listed) -> bool:
        if report.corrupt is not None:
            return True  # corrupt files appear in every listing
        if self.statuses and report.status not in self.statuses:
            return False
        if self.since and report.submitted_at < self.since:
            return False
        if self.until and report.submitted_at > self.until:
            return False
        if self.submitter and (report.submitted_by or "").lower() != self.submitter.lower():
            return False
        return not (self.grep and self.grep.lower() not in report.description.lower())


def select(reports: Sequence[_Entry], wanted: ReportFilter, limit: int | None, offset: int) -> tuple[list[_Entry], int]:
    """The requested page of matching reports, newest first, and how many matched in all."""
    matched = sorted((r for r in reports if wanted.matches(r)), key=lambda r: (r.submitted_at, r.report_id))
    matched.reverse()
    end = None if limit is None else offset + limit
    return matched[offset:end], len(matched)
