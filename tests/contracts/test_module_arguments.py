"""Each module's documented options are its argument_spec, as ansible-test's validate-modules checks.

The documentation is read as ``ansible-doc --json`` renders it (doc fragments included); the
argument_spec is the module's ``ARGUMENT_SPEC`` (the ``library_module`` fixture imports it).
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "library").glob("imgops_*.py"))
COMPARED = ("type", "default", "choices", "required", "elements")


@functools.cache
def _rendered_options(env: tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    names = [path.stem for path in MODULES]
    rendered = subprocess.run(["ansible-doc", "-M", str(ROOT / "library"), "--json", *names], env=dict(env),
                              capture_output=True, text=True, check=True)  # fmt: skip
    return {name: entry["doc"].get("options", {}) for name, entry in json.loads(rendered.stdout).items()}


@pytest.fixture
def documented(ansible_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every module's options as ansible-doc renders them (one ansible-doc run for the whole file)."""
    return _rendered_options(tuple(sorted(ansible_env.items())))


def normalised(option: dict[str, Any]) -> dict[str, Any]:
    """The fields validate-modules compares, with Ansible's defaults filled in."""
    out = {"type": option.get("type", "str"), "default": option.get("default"),
           "choices": list(option["choices"]) if "choices" in option else None,
           "required": bool(option.get("required", False)), "elements": option.get("elements")}  # fmt: skip
    return {key: out[key] for key in COMPARED}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_documented_options_are_the_argument_spec(
    path: Path, documented: dict[str, dict[str, Any]], library_module: Callable[[str], ModuleType]
) -> None:
    spec = library_module(path.stem).ARGUMENT_SPEC
    docs = documented[path.stem]
    assert set(docs) == set(spec), f"documented only {set(docs) - set(spec)}, in the spec only {set(spec) - set(docs)}"
    for name, option in spec.items():
        assert normalised(docs[name]) == normalised(option), f"{path.stem} option {name!r}"
        assert docs[name].get("description"), f"{path.stem} option {name!r} has no description"


def test_a_secret_option_is_never_logged(library_module: Callable[[str], ModuleType]) -> None:
    for path in MODULES:
        assert library_module(path.stem).ARGUMENT_SPEC["database_url"].get("no_log") is True, path.stem


def test_the_comparison_sees_a_drifted_default(
    documented: dict[str, dict[str, Any]], library_module: Callable[[str], ModuleType]
) -> None:
    """The check itself can fail: a spec whose default differs from the documentation is caught."""
    spec = dict(library_module("imgops_purge").ARGUMENT_SPEC)
    spec["kind"] = {**spec["kind"], "default": "scrape"}
    assert normalised(documented["imgops_purge"]["kind"]) != normalised(spec["kind"])


def test_an_old_name_takes_exactly_the_options_of_the_new(library_module: Callable[[str], ModuleType]) -> None:
    for old, new in (("imgops_legacy_import", "imgops_legacy"), ("imgops_bug_reports", "imgops_bugs")):
        assert library_module(old).ARGUMENT_SPEC == library_module(new).ARGUMENT_SPEC
