"""``imgops db status|init|upgrade``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..presentation.db import render_db
from .view import View

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
    parser.set_defaults(handler=handle, view=View(render_db))


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..db_job import run_db  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_db(config, args.action, dry_run=args.dry_run)
