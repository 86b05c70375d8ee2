"""``imgops legacy import [--mode hardlink|copy|symlink]``: import legacy images."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult

STAGE_MODES = ("hardlink", "copy", "symlink")  # mirrors imgops.fs.PLACE_MODES without importing the job


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "legacy",
        parents=[shared],
        help="import legacy images: collect, manifest, stage, albums, ingest",
        description="Import the images under outputs_dir and reference_packs_dir: stage them under legacy_root, "
        "write a manifest.yaml per staged folder, create albums, ingest images, labels and thumbnail jobs.",
    )
    parser.add_argument("action", choices=("import",), help="what to do (import)")
    parser.add_argument(
        "--mode", choices=STAGE_MODES, default=None, help="how to stage files (default: legacy.stage_mode, hardlink)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..legacy import run_legacy_import  # imported here: SQLAlchemy costs startup time other jobs need not pay

    return run_legacy_import(config, mode=args.mode, dry_run=args.dry_run)
