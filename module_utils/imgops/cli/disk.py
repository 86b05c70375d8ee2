"""``imgops disk check [--nagios]``."""

from __future__ import annotations

import argparse

from ..config import Config
from ..disk import nagios_exit, nagios_line, render_text, run_disk_check
from ..errors import ImgopsError
from ..result import JobResult

NAGIOS_UNKNOWN = 3


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
        action="store_true",
        help="print one monitoring-plugin status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
    )
    parser.set_defaults(handler=handle, on_error=on_error)


def handle(args: argparse.Namespace, config: Config) -> JobResult:
    # read by the CLI after the handler returns
    args.render, args.exit_code = (nagios_line, nagios_exit) if args.nagios else (render_text, None)
    return run_disk_check(config, dry_run=args.dry_run)


def on_error(args: argparse.Namespace, exc: ImgopsError) -> int | None:
    """With ``--nagios`` an error (bad configuration, lock held) is UNKNOWN, as monitoring plugins report it."""
    if not args.nagios:
        return None
    print(f"DISK UNKNOWN - {exc.message}")
    return NAGIOS_UNKNOWN
