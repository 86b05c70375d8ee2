"""``imgops bugs``: list, triage, resolve and expire bug reports."""

from __future__ import annotations

import argparse


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    from . import not_yet_implemented

    parser = jobs.add_parser("bugs", parents=[shared], help="list, triage, resolve and expire bug reports")
    parser.set_defaults(handler=not_yet_implemented("bugs"))
