"""``imgops bugs list|show|status|purge``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..bugs.store import STATUSES
from ..presentation.bugs import render_escaped, render_report, render_table
from .view import View

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def _moment(text: str) -> datetime:
    """A date (``2025-10-31``) or an ISO timestamp; naive values are UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO timestamp: {text!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _status_word(text: str) -> str:
    """A status to filter on: the server's, or any other word an older report may hold."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a status cannot be empty")
    return text


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser("bugs", parents=[shared], help="list, triage, resolve and expire bug reports")
    actions = parser.add_subparsers(dest="bugs_action", metavar="<action>", required=True)

    listing = actions.add_parser("list", parents=[shared], help="reports, newest first")
    listing.add_argument("--status", action="append", type=_status_word,
                         help=f"{', '.join(STATUSES)} or any status a report holds; repeat for several")  # fmt: skip
    listing.add_argument("--since", type=_moment, help="submitted at or after (date or ISO time)")
    listing.add_argument("--until", type=_moment, help="submitted at or before (date or ISO time)")
    listing.add_argument("--submitter", help="submitted_by, case-insensitive")
    listing.add_argument("--grep", help="text in the description, case-insensitive")
    listing.add_argument("--limit", type=int)
    listing.add_argument("--offset", type=int, default=0)
    listing.set_defaults(handler=_list, view=View(render_table))

    show = actions.add_parser("show", parents=[shared], help="one whole report")
    show.add_argument("report_id")
    show.set_defaults(handler=_show, view=View(render_report))

    status = actions.add_parser("status", parents=[shared], help="change a report's status")
    status.add_argument("report_id")
    status.add_argument("status", choices=STATUSES)
    status.add_argument("--note")
    status.add_argument("--actor", default="imgops")
    status.set_defaults(handler=_status, view=View(render_escaped))

    purge = actions.add_parser("purge", parents=[shared], help="expire old reports (retention.bug_reports_days)")
    purge.set_defaults(handler=_purge, view=View(render_escaped))


def _list(args: argparse.Namespace, config: Config) -> JobResult:
    from ..bugs import run_bugs_list
    from ..bugs.query import ReportFilter

    wanted = ReportFilter(tuple(args.status or ()), args.since, args.until, args.submitter, args.grep)
    return run_bugs_list(config, wanted, args.limit, args.offset)


def _show(args: argparse.Namespace, config: Config) -> JobResult:
    from ..bugs import run_bugs_show

    return run_bugs_show(config, args.report_id)


def _status(args: argparse.Namespace, config: Config) -> JobResult:
    from ..bugs import run_bugs_status

    return run_bugs_status(config, args.report_id, args.status, note=args.note, actor=args.actor, dry_run=args.dry_run)


def _purge(args: argparse.Namespace, config: Config) -> JobResult:
    from ..bugs import run_bugs_purge

    return run_bugs_purge(config, dry_run=args.dry_run)
