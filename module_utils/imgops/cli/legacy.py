"""``imgops legacy import [--mode hardlink|copy|symlink]``: import legacy images."""

from __future__ import annotations

import argparse

from ..config import Config
from ..fs import PLACE_MODES
from ..legacy import run_legacy_import
from ..result import JobResult


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "legacy", parents=[shared], help="import legacy images: collect, manifest, stage, albums, ingest"
    )
    parser.add_argument("action", choices=("import",), help="what to do (import)")
    parser.add_argument(
        "--mode", choices=PLACE_MODES, default=None, help="how to stage files (default: legacy.stage_mode, hardlink)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    return run_legacy_import(config, mode=args.mode, dry_run=args.dry_run)
