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
        help="import the CSV + YAML sets as batch templates (current server) or set-template albums (seed)",
        description="Bring one template per set of <sets_dir>/config.yaml in step with its files: a batch template "
        "where the database has batch_templates, else a set-template album.",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        default=None,
        help="retire the templates of sets no longer in the config: albums become ordinary albums, batch "
        "templates are deleted unless generation runs refer to them (default: sets.prune)",
    )
    parser.add_argument("--created-by", help="created_by of new templates (default: sets.created_by)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..sets import run_sets  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_sets(config, prune=args.prune, created_by=args.created_by, dry_run=args.dry_run)
