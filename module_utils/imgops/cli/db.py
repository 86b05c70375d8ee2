"""``imgops db status|init|upgrade``."""

from __future__ import annotations

import argparse

from ..config import Config
from ..db.job import DB_ACTIONS, run_db
from ..result import JobResult


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "db",
        parents=[shared],
        help="database schema: status, init (platform tables, demos/tests), upgrade (imgops tables)",
    )
    parser.add_argument("action", choices=DB_ACTIONS, nargs="?", default="status")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    return run_db(config, args.action, dry_run=args.dry_run)
