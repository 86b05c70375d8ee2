"""How a sub-command shows its outcome without ``--json``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..presentation import render_result


@dataclass(frozen=True)
class View:
    """How a sub-command shows its outcome without ``--json``; chosen by its options, never set by a handler."""

    render: Callable[[Mapping[str, Any]], str] = render_result
    exit_code: Callable[[Mapping[str, Any]], int] | None = None
    """The exit code from the result, for protocols with their own codes (monitoring plugins)."""
    render_error: Callable[[str], str] | None = None
    """The text of an error on stdout instead of the ``error:`` line on stderr."""
    error_exit_code: int | None = None


PLAIN = View()
