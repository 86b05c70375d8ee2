"""``imgops db status|init|upgrade``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

from .render import render_result

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult

ACTIONS = ("status", "init", "upgrade")  # mirrors imgops.db_job.DB_ACTIONS without importing SQLAlchemy


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "db",
        parents=[shared],
        help="database schema: status, init (platform tables, demos/tests), upgrade (imgops tables)",
    )
    parser.add_argument("action", choices=ACTIONS, nargs="?", default="status")
    parser.set_defaults(handler=handle, render=render)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..db_job import run_db  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_db(config, args.action, dry_run=args.dry_run)


def render(result: JobResult) -> str:
    """The generic rendering, with the generation's evidence and each job's verdict one per line."""
    summary = dict(result.summary)
    evidence, jobs = summary.pop("evidence", []), summary.pop("jobs", {})
    lines = [render_result(replace(result, summary=summary))]
    if evidence:
        lines.append("evidence:")
        lines += [f"  {'+' if e['present'] else '-'} {e['name']}: {e['detail']}" for e in evidence]
    if jobs:
        lines.append("jobs:")
        for job, verdict in jobs.items():
            where = f" ({', '.join(verdict['tables']) or 'no server table'})"
            state = "can run" if verdict["runnable"] else f"cannot run, missing {', '.join(verdict['missing'])}"
            lines.append(f"  {job}: {state}{where}")
    return "\n".join(lines)
