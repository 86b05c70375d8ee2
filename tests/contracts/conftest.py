"""Fixtures for the contract tests of the Ansible modules."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import ansible.module_utils
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_library_module(name: str) -> ModuleType:
    """``library/<name>.py`` imported as AnsiballZ would find its imports: the repository's
    ``module_utils`` added to ``ansible.module_utils``. Only its definitions run (main() is guarded)."""
    if str(ROOT / "module_utils") not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
    spec = importlib.util.spec_from_file_location(f"imgops_library_{name}", ROOT / "library" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def library_module() -> Callable[[str], ModuleType]:
    return _load_library_module
