"""The ``bugs`` job's four actions, each returning a JobResult, on report files or ``bug_reports`` rows.

Where a database is configured and holds the server's ``bug_reports`` table (the current
generation, a seed database started under current code, or migrations/002), the rows are the
reports; otherwise the files under ``paths.bug_reports_dir`` are. Every summary names the backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..contracts import problems
from ..errors import ConfigError, InputError, SafetyError, reports_database_errors
from ..fs import atomic_write_bytes, confine, job_lock, remove_confined
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics
from ..result import JobResult
from . import jsontext
from .index import list_entries
from .query import ReportFilter, select
from .retention import (
    expires,
    remove_listed_temporaries,
    remove_screenshot_folder,
    retention_cutoff,
    stale_temporaries,
    write_archive,
)
from .status import changed_report, serialise_like
from .store import STATUSES, ReportFile, check_report_id, load_reports, read_report, report_path

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

JOB = "bugs"
FILES = "files"
DATABASE = "database"


def _folder(config: Config) -> Path:
    return config.path("bug_reports_dir")


@contextmanager
def _reports_table(config: Config) -> Iterator[tuple[Engine, Table] | None]:
    """The engine and reflected ``bug_reports`` table where the server keeps reports there, else None.

    SQLAlchemy is imported only when a database is configured, so file listings stay quick.
    """
    if not config.database_url:
        yield None
        return
    from ..db.engine import connected_engine
    from ..db.server_schema import read_server_schema

    with connected_engine(config) as engine:
        schema = read_server_schema(engine)
        if not schema.has("bug_reports"):
            yield None
            return
        schema.require(JOB)
        yield engine, schema.table("bug_reports")


def _notice_corrupt(result: JobResult, reports: Sequence[Any], backend: str) -> int:
    """One notice per corrupt report (a file by its path in the folder, a row by its id); how many."""
    corrupt = [r for r in reports if r.corrupt is not None]
    for report in corrupt:
        if backend == FILES:
            result.notice(f"corrupt report file {report.name}: {report.corrupt}", file=str(report.path))
        else:
            result.notice(f"bug report {report.report_id}: {report.corrupt}", report_id=report.report_id)
    return len(corrupt)


@reports_database_errors
def run_bugs_list(
    config: Config, wanted: ReportFilter | None = None, limit: int | None = None, offset: int = 0
) -> JobResult:
    """Reports matching ``wanted``, newest first; corrupt ones are always listed and flagged."""
    result = JobResult(job=JOB)
    with _reports_table(config) as database:
        if database is None:
            folder = _folder(config)
            reports: Sequence[Any] = list_entries(folder, config.state_dir)
            backend, where = FILES, str(folder)
        else:
            from .rows import list_rows

            engine, table = database
            with engine.connect() as connection:
                reports = list_rows(connection, table)
            backend, where = DATABASE, None
    page, matched = select(reports, wanted or ReportFilter(), limit, offset)
    corrupt = _notice_corrupt(result, reports, backend)
    for report in page:
        if getattr(report, "contract_problem", None):
            result.notice(f"report {report.report_id} does not match the bug report contract: "
                          f"{report.contract_problem}", file=str(report.path))  # fmt: skip
    result.summary = {
        "action": "list",
        "backend": backend,
        "folder": where,
        "total": len(reports),
        "matched": matched,
        "returned": len(page),
        "corrupt": corrupt,
        "by_status": dict(sorted(Counter(r.status or "-" for r in reports if r.corrupt is None).items())),
    }
    result.data = {"reports": [report.row() for report in page]}
    return result


@reports_database_errors
def run_bugs_show(config: Config, report_id: str) -> JobResult:
    """One whole report: the file as stored, or the row as the server's ``to_dict(include_context=True)``."""
    report_id = check_report_id(report_id)
    result = JobResult(job=JOB)
    with _reports_table(config) as database:
        if database is None:
            report = read_report(report_path(_folder(config), report_id))
            if report.corrupt is not None:
                raise InputError(f"bug report {report_id} is corrupt: {report.corrupt}", file=str(report.path))
            result.summary = {"action": "show", "backend": FILES, "report": report.report_id, "status": report.status}
            for problem in problems(report.data, "bug_report_file"):
                result.notice(f"does not match the bug report contract: {problem}", file=str(report.path))
            result.data = {"report": report.data}
            return result
        from .rows import fetch_row, server_dict

        engine, table = database
        with engine.connect() as connection:
            row = fetch_row(connection, table, report_id)
    shown, unrendered = server_dict(row, include_context=True)
    result.summary = {"action": "show", "backend": DATABASE, "report": report_id, "status": shown["status"]}
    for problem in unrendered:
        result.notice(f"bug report {report_id}: {problem}", report_id=report_id)
    result.data = {"report": shown}
    return result


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}", status=status)


@reports_database_errors
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
    """Move a report to ``status`` (the server's vocabulary); the same status again changes nothing."""
    _check_status(status)
    report_id = check_report_id(report_id)
    now = now or datetime.now(UTC)
    result = JobResult(job=JOB, dry_run=dry_run)
    with _reports_table(config) as database, job_lock(config.state_dir, JOB, config.lock_timeout_seconds):
        if database is None:
            _file_status(config, result, report_id, status, note, actor, dry_run, now)
        else:
            _row_status(database, result, report_id, status, note, actor, dry_run, now)
    return result


def _file_status(config: Config, result: JobResult, report_id: str, status: str, note: str | None, actor: str,
                 dry_run: bool, now: datetime) -> None:  # fmt: skip
    path = report_path(_folder(config), report_id)
    report = read_report(path)
    if report.corrupt is not None:
        raise InputError(f"bug report {report_id} is corrupt ({report.corrupt}); left as it is", file=str(path))
    result.summary = {"action": "status", "backend": FILES, "report": report.report_id, "before": report.status,
                      "after": status}  # fmt: skip
    if report.status == status:
        return
    data = changed_report(report, status, actor, note, now)
    result.act("set_status", report.report_id, **{"from": report.status, "to": status, "actor": actor})
    result.diff = {
        "before": {"status": report.status, "history_entries": len(report.data.get("status_history") or [])},
        "after": {"status": status, "history_entries": len(data["status_history"])},
    }
    if not dry_run:
        atomic_write_bytes(path, serialise_like(report.text, data))
        log_event("bug_report_status", report=report.report_id, before=report.status, after=status, actor=actor)


def _row_status(database: tuple[Engine, Table], result: JobResult, report_id: str, status: str, note: str | None,
                actor: str, dry_run: bool, now: datetime) -> None:  # fmt: skip
    from .rows import fetch_row, set_status

    engine, table = database
    with engine.begin() as connection:
        row = fetch_row(connection, table, report_id, for_update=True)
        before = row.get("status")
        result.summary = {"action": "status", "backend": DATABASE, "report": report_id, "before": before,
                          "after": status}  # fmt: skip
        if before == status:
            return
        result.act("set_status", report_id, **{"from": before, "to": status, "actor": actor})
        notes = row.get("resolution_notes")
        result.diff = {"before": {"status": before, "resolution_notes": notes},
                       "after": {"status": status, "resolution_notes": note or notes}}  # fmt: skip
        if not dry_run:
            set_status(connection, table, row, status, actor, note, now)
    if not dry_run:
        log_event("bug_report_status", report=report_id, before=before, after=status, actor=actor)


@records_metrics(JOB)
@reports_database_errors
def run_bugs_purge(config: Config, *, dry_run: bool = False, now: datetime | None = None) -> JobResult:
    """Delete reports past retention in an expiring status with their screenshot folders, archiving
    them first when configured."""
    days = config.retention.bug_reports_days
    statuses = list(config.bugs.expire_statuses)
    result = JobResult(job=JOB, dry_run=dry_run)
    result.summary = {"action": "purge", "backend": FILES, "folder": None, "retention_days": days,
                      "expire_statuses": statuses, "examined": 0, "expired": 0, "expired_bytes": 0, "kept": 0,
                      "corrupt": 0, "screenshot_folders_removed": 0, "stale_temporaries": 0,
                      "archive": None}  # fmt: skip
    now = now or datetime.now(UTC)
    with _reports_table(config) as database:
        if days == 0:
            result.summary["backend"] = FILES if database is None else DATABASE
            result.notice("bug report retention is disabled (retention.bug_reports_days is 0)")
            return result
        with job_lock(config.state_dir, JOB, config.lock_timeout_seconds):
            if database is None:
                still_open, expired = _purge_files(config, result, statuses, now, dry_run)
            else:
                still_open, expired = _purge_rows(config, database, result, statuses, now, dry_run)
            _clean_temporaries(config, result, now, dry_run, report_files=database is None)
    result.metrics["imgops_bugs"] = _metrics(still_open, expired)
    return result


def _clean_temporaries(config: Config, result: JobResult, now: datetime, dry_run: bool, *,
                       report_files: bool) -> None:  # fmt: skip
    """Remove what a killed run of this job left: temporaries of report rewrites, archives and the index."""
    places = [(config.state_dir, False)]
    if config.bugs.archive_dir:
        places.append((config.bugs.archive_dir, False))
    if report_files:
        places.append((_folder(config), True))
    for root, recursive in places:
        stale = stale_temporaries(root, now, recursive=recursive)
        for path in stale:
            result.act("remove_temporary", str(path))
        result.summary["stale_temporaries"] += len(stale)
        if stale and not dry_run:
            remove_listed_temporaries(root, stale)


def _plan(result: JobResult, reports: Sequence[Any], statuses: list[str], now: datetime) -> list[Any]:
    cutoff = retention_cutoff(now, result.summary["retention_days"])
    expiring = [r for r in reports if expires(r.corrupt, r.status, r.submitted_at, cutoff, statuses)]
    for report in expiring:
        result.act("expire", report.report_id, status=report.status,
                   submitted_at=report.submitted_at.isoformat(), size=report.size)  # fmt: skip
    result.summary.update(examined=len(reports), expired=len(expiring), expired_bytes=sum(r.size for r in expiring),
                          kept=len(reports) - len(expiring))  # fmt: skip
    return expiring


def _remove_folder(result: JobResult, root: Path, folder: Path, report_id: str) -> bool:
    """Remove a report's screenshot folder; False (an error of that report, which is kept) when refused."""
    try:
        if remove_screenshot_folder(root, folder):
            result.summary["screenshot_folders_removed"] += 1
    except (SafetyError, OSError) as exc:
        reason = exc.message if isinstance(exc, SafetyError) else exc.strerror
        result.error(f"bug report {report_id} kept: its screenshot folder was not removed: {reason}",
                     report_id=report_id, path=str(folder))  # fmt: skip
        return False
    return True


def _purge_files(config: Config, result: JobResult, statuses: list[str], now: datetime,
                 dry_run: bool) -> tuple[int, int]:  # fmt: skip
    folder = _folder(config)
    result.summary["folder"] = str(folder)
    reports = load_reports(folder)
    result.summary["corrupt"] = _notice_corrupt(result, reports, FILES)
    expiring: list[ReportFile] = _plan(result, reports, statuses, now)
    archive_dir = config.bugs.archive_dir
    if expiring and archive_dir:
        result.act("archive", str(archive_dir), reports=len(expiring))
    removed: set[Path] = set()
    if expiring and not dry_run:
        if archive_dir:
            members = [(r.path.relative_to(folder).as_posix(), r.text.encode("utf-8"), r.mtime) for r in expiring]
            result.summary["archive"] = str(write_archive(archive_dir, members, now))
        for report in expiring:  # the screenshot folder first: a crash between leaves the report to finish
            if _remove_folder(result, folder, report.screenshot_folder, report.report_id):
                remove_confined(confine(report.path, folder))
                removed.add(report.path)
        log_event("bug_reports_expired", count=len(removed), folder=str(folder), backend=FILES)
    gone = removed if not dry_run else {r.path for r in expiring}
    still_open = sum(r.status == "open" for r in reports if r.corrupt is None and r.path not in gone)
    return still_open, len(removed)


def _purge_rows(config: Config, database: tuple[Engine, Table], result: JobResult, statuses: list[str],
                now: datetime, dry_run: bool) -> tuple[int, int]:  # fmt: skip
    from .rows import delete_rows, fetch_rows, list_rows, server_dict

    engine, table = database
    result.summary["backend"] = DATABASE
    with engine.connect() as connection:
        rows = list_rows(connection, table)
    result.summary["corrupt"] = _notice_corrupt(result, rows, DATABASE)
    expiring = _plan(result, rows, statuses, now)
    root = config.paths.bug_reports_dir
    if expiring and root is None:
        raise ConfigError(
            "key 'paths.bug_reports_dir' (the server's bug_reports.storage_path) is required to remove the "
            "screenshot folders of expired bug reports",
            key="paths.bug_reports_dir",
        )
    result.summary["folder"] = str(root) if root else None
    archive_dir = config.bugs.archive_dir
    if expiring and archive_dir:
        result.act("archive", str(archive_dir), reports=len(expiring))
    deleted = 0
    if expiring and not dry_run:
        with engine.connect() as connection:
            whole = fetch_rows(connection, table, [r.report_id for r in expiring])
        if archive_dir:
            members = []
            for row in whole:
                shown, _ = server_dict(row, include_context=True)
                text = jsontext.dumps(shown, indent=2, ensure_ascii=False) + "\n"
                members.append((f"{row['report_id']}.json", text.encode("utf-8"), now))
            result.summary["archive"] = str(write_archive(archive_dir, members, now))
        assert root is not None
        removable = [r for r in expiring if _remove_folder(result, root, root / r.report_id, r.report_id)]
        with engine.begin() as connection:  # the rows last: a crash before leaves them for the next run
            deleted = delete_rows(connection, table, {r.report_id: r.status for r in removable})
        log_event("bug_reports_expired", count=deleted, backend=DATABASE)
    gone = {r.report_id for r in expiring}
    still_open = sum(r.status == "open" for r in rows if r.corrupt is None and r.report_id not in gone)
    return still_open, deleted


def _metrics(still_open: int, expired: int) -> list[Metric]:
    reports_open = Metric("imgops_bugs_reports_open", "Bug reports in status open after the last purge.")
    reports_open.add(still_open)
    reports_expired = Metric("imgops_bugs_reports_expired", "Bug reports the last purge expired (deleted).")
    reports_expired.add(expired)
    return [reports_open, reports_expired]
