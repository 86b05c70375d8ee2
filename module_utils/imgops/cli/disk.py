"""``imgops disk check [--nagios]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..presentation.disk import NAGIOS_UNKNOWN, nagios_error, nagios_exit, nagios_line, render_disk
from .view import View

if TYPE_CHECKING:
    from ..config import Config
    from ..result import JobResult


def add_parser(jobs: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    parser = jobs.add_parser(
        "disk",
        parents=[shared],
        help="disk usage and inodes against thresholds, Prometheus textfile metrics, fill forecast",
        description="Check every disk.targets entry and the filesystems holding the configured roots. "
        "It changes nothing; it writes imgops_disk.prom (when disk.textfile_dir is set) and its history.",
    )
    parser.add_argument("action", choices=("check",), nargs="?", default="check")
    parser.add_argument(
        "--nagios",
        dest="view",
        action="store_const",
        # an error (bad configuration, lock held) is UNKNOWN, as monitoring plugins report it
        const=View(nagios_line, nagios_exit, nagios_error, NAGIOS_UNKNOWN),
        default=View(render_disk),
        help="print one monitoring-plugin status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    from ..disk import run_disk_check

    return run_disk_check(config, dry_run=args.dry_run)
