"""The ``imgops`` command: ``imgops [--config FILE] [--json] [--dry-run] <job> ...``.

Each job's sub-command lives in its own module with ``add_parser``; the
handler it registers returns a JobResult, which is printed here. ``--json``
prints exactly what the matching Ansible module returns.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..config import load_config
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ImgopsError
from ..jsonlog import configure, log_event
from . import bugs, db, disk, legacy, purge, sets, thumbnails
from .render import render_result

JOB_MODULES = (sets, legacy, thumbnails, purge, bugs, disk, db)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgops",
        description="Operations toolkit for the image-generation platform.",
        epilog="Exit codes: 0 done, 1 the job failed, 2 usage or configuration error, 75 already running.",
    )
    parser.add_argument("--version", action="version", version=f"imgops {__version__}")
    _common_options(parser, suppress=False)
    shared = argparse.ArgumentParser(add_help=False)
    _common_options(shared, suppress=True)
    jobs = parser.add_subparsers(dest="job", metavar="<job>", required=True)
    for module in JOB_MODULES:
        module.add_parser(jobs, shared)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure()
    try:
        config = load_config(args.config)
        configure(getattr(logging, config.log_level.upper()))
        result = args.handler(args, config)
    except ImgopsError as exc:
        log_event("job_failed", logging.ERROR, job=args.job, error=exc.message)
        on_error = getattr(args, "on_error", None)  # a job may report errors its own way (disk --nagios)
        code = on_error(args, exc) if on_error else None
        if code is not None:
            return code
        if args.json:
            print(json.dumps({"job": args.job, "failed": True, "msg": exc.message, **_jsonable(exc.details)}))
        print(f"imgops {args.job}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        render = getattr(args, "render", None) or render_result
        print(render(result))
    exit_code = getattr(args, "exit_code", None)
    if exit_code is not None:
        return exit_code(result)
    return EXIT_FAILED if result.failed else EXIT_OK


def _jsonable(details: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(details, default=str))


def not_yet_implemented(job: str):
    """A handler for jobs whose issue has not landed yet."""

    def handler(_args: argparse.Namespace, _config: object) -> None:
        print(f"imgops {job}: not yet implemented", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    return handler
