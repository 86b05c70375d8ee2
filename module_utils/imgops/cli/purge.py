"""``imgops purge [scrape|training|all] [--orphans] [--purge-checkpoints]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult

PURGE_KINDS = ("all", "scrape", "training")  # mirrors imgops.purge.PURGE_KINDS without importing SQLAlchemy


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "purge",
        parents=[shared],
        help="purge stale scrape outputs and training artifacts inside their roots",
        description="Remove the output folders of old terminal scrape jobs and the dataset folders and logs of "
        "old terminal training runs, confined to their configured roots, then clear the rows' paths.",
    )
    parser.add_argument("kind", choices=PURGE_KINDS, nargs="?", default="all", help="what to purge (default: all)")
    parser.add_argument(
        "--orphans",
        action="store_true",
        default=None,
        help="also remove folders in the roots that no row names, older than the window (default: purge.orphans)",
    )
    parser.add_argument(
        "--purge-checkpoints",
        action="store_true",
        default=None,
        help="also remove old runs' trained weights (default: purge.purge_checkpoints; normally kept)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..purge import run_purge  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_purge(
        config, args.kind, orphans=args.orphans, purge_checkpoints=args.purge_checkpoints, dry_run=args.dry_run
    )
