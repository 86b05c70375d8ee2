"""``imgops thumbnails``: work the thumbnail queue."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser("thumbnails", parents=[shared], help="work the thumbnail queue")
    parser.set_defaults(handler=not_yet_implemented("thumbnails"))
