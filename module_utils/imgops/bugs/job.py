"""The ``bugs`` job's four actions, each returning a JobResult."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from ..config import Config
from ..contracts import problems
from ..errors import InputError
from ..fs import atomic_write_bytes, confine, job_lock, remove_confined
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics
from ..result import JobResult
from .index import list_entries
from .query import ReportFilter, select
from .retention import expires, retention_cutoff, write_archive
from .status import changed_report, serialise_like
from .store import STATUSES, ReportEntry, ReportFile, load_reports, read_report, report_path

JOB = "bugs"


def _folder(config: Config) -> Path:
    return config.path("bug_reports_dir")


def _report_corrupt_files(
    result: JobResult, reports: list[ReportFile] | list[ReportEntry]
) -> list[ReportFile] | list[ReportEntry]:
    corrupt = [r for r in reports if r.corrupt is not None]
    for report in corrupt:
        result.notice(f"corrupt report file {report.path.name}: {report.corrupt}", file=str(report.path))
    return corrupt


def run_bugs_list(
    config: Config, wanted: ReportFilter | None = None, limit: int | None = None, offset: int = 0
) -> JobResult:
    """Reports matching ``wanted``, newest first; corrupt files are always listed and flagged."""
    result = JobResult(job=JOB)
    reports = list_entries(_folder(config), config.state_dir)
    page, matched = select(reports, wanted or ReportFilter(), limit, offset)
    corrupt = _report_corrupt_files(result, reports)
    for report in page:
        if report.contract_problem:
            result.notice(
                f"report {report.report_id} does not match the bug report contract: {report.contract_problem}",
                file=str(report.path),
            )
    result.summary = {
        "action": "list",
        "folder": str(_folder(config)),
        "total_files": len(reports),
        "matched": matched,
        "returned": len(page),
        "corrupt": len(corrupt),
        "by_status": dict(sorted(Counter(r.status for r in reports if r.corrupt is None).items(), key=str)),
    }
    result.data = {"reports": [report.row() for report in page]}
    return result


def run_bugs_show(config: Config, report_id: str) -> JobResult:
    """One whole report."""
    report = read_report(report_path(_folder(config), report_id))
    if report.corrupt is not None:
        raise InputError(f"bug report {report_id} is corrupt: {report.corrupt}", file=str(report.path))
    result = JobResult(job=JOB)
    result.summary = {"action": "show", "report": report.report_id, "status": report.status}
    for problem in problems(report.data, "bug_report_file"):
        result.notice(f"does not match the bug report contract: {problem}", file=str(report.path))
    result.data = {"report": report.data}
    return result


def run_bugs_status(
    config: Config,
    report_id: str,
    status: str,
    *,
    note: str | None = None,
    actor: str = "imgops",
    dry_run: bool = False,
    now: datetime | None = None,
) -> JobResult:
    """Move a report to ``status``, appending to its history; the same status again changes nothing."""
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}", status=status)
    folder = _folder(config)
    result = JobResult(job=JOB, dry_run=dry_run)
    with job_lock(config.state_dir, JOB, config.lock_timeout_seconds):
        path = report_path(folder, report_id)
        report = read_report(path)
        if report.corrupt is not None:
            raise InputError(f"bug report {report_id} is corrupt ({report.corrupt}); left as it is", file=str(path))
        result.summary = {"action": "status", "report": report.report_id, "before": report.status, "after": status}
        if report.status == status:
            return result
        data = changed_report(report, status, actor, note, now or datetime.now(UTC))
        result.act("set_status", report.report_id, **{"from": report.status, "to": status, "actor": actor})
        result.diff = {
            "before": {"status": report.status, "history_entries": len(report.data.get("status_history") or [])},
            "after": {"status": status, "history_entries": len(data["status_history"])},
        }
        if not dry_run:
            atomic_write_bytes(path, serialise_like(path.read_bytes(), data))
            log_event("bug_report_status", report=report.report_id, before=report.status, after=status, actor=actor)
    return result


@records_metrics(JOB)
def run_bugs_purge(config: Config, *, dry_run: bool = False, now: datetime | None = None) -> JobResult:
    """Delete reports past retention in an expiring status, archiving them first when configured."""
    folder = _folder(config)
    days = config.retention.bug_reports_days
    statuses = list(config.bugs.expire_statuses)
    archive_dir = config.bugs.archive_dir
    result = JobResult(job=JOB, dry_run=dry_run)
    result.summary = {
        "action": "purge",
        "folder": str(folder),
        "retention_days": days,
        "expire_statuses": statuses,
        "examined": 0,
        "expired": 0,
        "expired_bytes": 0,
        "kept": 0,
        "corrupt": 0,
        "archive": None,
    }
    if days == 0:
        result.notice("bug report retention is disabled (retention.bug_reports_days is 0)")
        return result
    now = now or datetime.now(UTC)
    with job_lock(config.state_dir, JOB, config.lock_timeout_seconds):
        reports = load_reports(folder)
        corrupt = _report_corrupt_files(result, reports)
        cutoff = retention_cutoff(now, days)
        expiring = [r for r in reports if expires(r, cutoff, statuses)]
        for report in expiring:
            result.act("expire", report.report_id, status=report.status,
                       submitted_at=report.submitted_at.isoformat(), size=report.size)  # fmt: skip
        if expiring and archive_dir:
            result.act("archive", str(archive_dir), reports=len(expiring))
        if expiring and not dry_run:
            if archive_dir:
                result.summary["archive"] = str(write_archive(archive_dir, expiring, now))
            for report in expiring:
                remove_confined(confine(report.path, folder))
            log_event("bug_reports_expired", count=len(expiring), folder=str(folder))
        result.summary.update(
            examined=len(reports),
            expired=len(expiring),
            expired_bytes=sum(r.size for r in expiring),
            kept=len(reports) - len(expiring),
            corrupt=len(corrupt),
        )
    expired = {r.path for r in expiring}
    still_open = sum(r.status == "open" for r in reports if r.corrupt is None and r.path not in expired)
    result.metrics["imgops_bugs"] = _metrics(still_open, len(expiring))
    return result


def _metrics(still_open: int, expired: int) -> list[Metric]:
    reports_open = Metric("imgops_bugs_reports_open", "Bug reports in status open after the last purge.")
    reports_open.add(still_open)
    reports_expired = Metric("imgops_bugs_reports_expired", "Bug reports the last purge expired (deleted).")
    reports_expired.add(expired)
    return [reports_open, reports_expired]
