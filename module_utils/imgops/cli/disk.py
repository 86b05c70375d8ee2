"""``imgops disk``: disk usage, thresholds, metrics and forecast."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser("disk", parents=[shared], help="disk usage, thresholds, metrics and forecast")
    parser.set_defaults(handler=not_yet_implemented("disk"))
