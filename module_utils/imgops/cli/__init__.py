"""The ``imgops`` command: ``imgops [--config FILE] [--json] [--dry-run] <job> ...``.

Each job's sub-command lives in its own module with ``add_parser``; the
handler it registers returns a JobResult, which is printed here through the
job's view (``presentation``). ``--json`` prints exactly what the matching
Ansible module returns, the result envelope, for a failure and a usage error too.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from .. import __version__
from ..config import load_config
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ImgopsError, from_os_error
from ..jsonlog import configure, log_event
from ..masking import mask
from ..result import JobResult
from . import bugs, db, disk, legacy, purge, reconcile, sets, thumbnails
from .view import PLAIN, View

JOB_MODULES = (sets, legacy, thumbnails, purge, reconcile, bugs, disk, db)
NO_JOB = "imgops"
"""The ``job`` of a usage error's envelope when the command line names no job."""


class UsageProblem(Exception):
    """A command line argparse refused; carries the parser so the usage names the right sub-command."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors reach ``main``, so ``--json`` can report them as an envelope."""

    job_names: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(self, message)


def _common_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="configuration file (default: $IMGOPS_CONFIG or /etc/imgops/imgops.yml)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print the result object as JSON on stdout",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="compute and report every action, write nothing",
    )


def build_parser() -> Parser:
    parser = Parser(
        prog="imgops",
        description="Operations toolkit for the image-generation platform.",
        epilog="Exit codes: 0 done, 1 the job failed, 2 usage or configuration error, 75 already running.",
    )
    parser.add_argument("--version", action="version", version=f"imgops {__version__}")
    _common_options(parser, suppress=False)
    shared = Parser(add_help=False)
    _common_options(shared, suppress=True)
    jobs = parser.add_subparsers(dest="job", metavar="<job>", required=True)
    for module in JOB_MODULES:
        module.add_parser(jobs, shared)
    parser.job_names = tuple(jobs.choices)
    parser.set_defaults(view=PLAIN)
    return parser


def _print_json(data: Mapping[str, Any]) -> None:
    print(json.dumps(data, indent=2, default=str))


def _usage_error(parser: Parser, problem: UsageProblem, argv: list[str]) -> int:
    """argparse's message and usage on stderr; with ``--json`` also the envelope on stdout."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    if "--json" in options:
        job = next((word for word in options if word in parser.job_names), NO_JOB)
        _print_json(JobResult.from_error(job, problem.message, {"usage": True}, "--dry-run" in options).to_output())
    problem.parser.print_usage(sys.stderr)
    print(f"{problem.parser.prog}: error: {problem.message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageProblem as problem:
        return _usage_error(parser, problem, argv)
    view: View = args.view
    configure()
    try:
        config = load_config(args.config)
        configure(getattr(logging, config.log_level.upper()))
        result = args.handler(args, config)
    except (ImgopsError, OSError) as caught:
        exc = caught if isinstance(caught, ImgopsError) else from_os_error(caught)
        message = mask(exc.message)
        log_event("job_failed", logging.ERROR, job=args.job, error=message)
        if args.json:
            _print_json(JobResult.from_error(args.job, message, exc.details, dry_run=args.dry_run).to_output())
        if view.render_error and not args.json:
            print(view.render_error(message))
        else:
            print(f"imgops {args.job}: error: {message}", file=sys.stderr)
        return exc.exit_code if view.error_exit_code is None else view.error_exit_code
    output = result.to_output()
    if args.json:
        _print_json(output)
    else:
        print(view.render(output))
    if view.exit_code is not None:
        return view.exit_code(output)
    return EXIT_FAILED if result.failed else EXIT_OK
