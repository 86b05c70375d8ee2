"""The two faces accept the same options: each module option is a CLI option with the same choices.

Ranges are not compared here: they are checked once, in the core (``imgops.options``), and both faces
are tested with the same bad value (tests/modules/test_legacy_modules.py, limit -5).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from types import ModuleType

import pytest

from imgops.cli import build_parser

JOBS = ("sets", "legacy", "thumbnails", "purge", "reconcile", "bugs", "disk", "db")
COMMON = {"config", "database_url"}
MODULE_ONLY = {("bugs", "action")}  # the CLI's sub-commands (bugs status, bugs purge) are the module's action


def cli_options(parser: argparse.ArgumentParser) -> dict[str, set[str] | None]:
    """Every option and positional of ``parser`` and its sub-commands: dest -> choices (None: free)."""
    found: dict[str, set[str] | None] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(cli_options(sub))
        elif action.dest not in ("help", argparse.SUPPRESS):
            found[action.dest] = set(action.choices) if action.choices else None
    return found


@pytest.mark.parametrize("job", JOBS)
def test_each_module_option_is_a_cli_option_with_the_same_choices(
    job: str, library_module: Callable[[str], ModuleType]
) -> None:
    jobs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    cli = cli_options(jobs[job])
    for name, option in library_module(f"imgops_{job}").ARGUMENT_SPEC.items():
        if name in COMMON or (job, name) in MODULE_ONLY:
            continue
        assert name in cli, f"imgops_{job} takes {name!r}, imgops {job} does not"
        choices = set(option["choices"]) if "choices" in option else None
        assert cli[name] == choices, f"{job} {name}: module {choices}, CLI {cli[name]}"
