"""``imgops thumbnails [--limit N]``: work the thumbnail queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser("thumbnails", parents=[shared], help="work the thumbnail queue")
    parser.add_argument("--limit", type=_positive, default=None, metavar="N", help="render at most N thumbnails")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..thumbnails import run_thumbnails  # imported here: Pillow and SQLAlchemy cost startup time

    return run_thumbnails(config, limit=args.limit, dry_run=args.dry_run)
