"""``imgops sets``: import the CSV + YAML sets as set-template albums."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser("sets", parents=[shared], help="import the CSV + YAML sets as set-template albums")
    parser.set_defaults(handler=not_yet_implemented("sets"))
