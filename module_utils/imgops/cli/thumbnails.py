"""``imgops thumbnails [--limit N]``: work the thumbnail queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..options import at_least

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def _limit(text: str) -> int:
    """The core's own check (``options.at_least``), run while parsing."""
    try:
        return at_least("limit", int(text), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser("thumbnails", parents=[shared], help="work the thumbnail queue")
    parser.add_argument("--limit", type=_limit, default=None, metavar="N", help="render at most N thumbnails")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..thumbnails import run_thumbnails  # imported here: Pillow and SQLAlchemy cost startup time

    return run_thumbnails(config, limit=args.limit, dry_run=args.dry_run)
