"""``imgops legacy``: import legacy images: collect, manifest, stage, albums, ingest."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser(
        "legacy", parents=[shared], help="import legacy images: collect, manifest, stage, albums, ingest"
    )
    parser.set_defaults(handler=not_yet_implemented("legacy"))
