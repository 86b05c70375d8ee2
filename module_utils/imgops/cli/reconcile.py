"""``imgops reconcile [--fix]``: what the database and the files disagree on."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "reconcile",
        parents=[shared],
        help="find (and with --fix repair) rows and files that disagree",
        description="Count, with up to 20 samples each, images rows whose file is missing, orphan thumbnails, "
        "thumbnail paths naming nothing, dangling album links and labels, images in purged folders, image files "
        "no row references and queue jobs for vanished images. --fix removes orphan thumbnails and dangling rows "
        "and clears dangling thumbnail paths; images rows are deleted only with reconcile.delete_missing_images.",
    )
    parser.add_argument("--fix", action="store_true", help="repair what can be repaired (with --dry-run: the plan)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..reconcile import run_reconcile  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_reconcile(config, fix=args.fix, dry_run=args.dry_run)
