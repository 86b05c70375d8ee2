"""``imgops sets [--prune] [--created-by NAME]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "sets",
        parents=[shared],
        help="import the CSV + YAML sets as set-template albums",
        description="Bring one set-template album per set of <sets_dir>/config.yaml in step with its files.",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        default=None,
        help="turn albums of sets no longer in the config into ordinary albums (default: sets.prune)",
    )
    parser.add_argument("--created-by", help="created_by of new albums (default: sets.created_by)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..sets import run_sets  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_sets(config, prune=args.prune, created_by=args.created_by, dry_run=args.dry_run)
