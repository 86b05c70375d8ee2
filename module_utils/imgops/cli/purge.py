"""``imgops purge``: purge stale scrape outputs and training artifacts."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser("purge", parents=[shared], help="purge stale scrape outputs and training artifacts")
    parser.set_defaults(handler=not_yet_implemented("purge"))
