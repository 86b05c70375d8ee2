"""The generic view of any job's result: a headline, its actions, its summary figures, its problems.

Every value is printed through ``printable``: a name, a path or a message cannot forge a line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .safe import printable


def scalar_text(value: Any) -> str | None:
    """A summary figure as text; None for nested values, which a one-line view leaves out."""
    if value is None:
        return "-"
    if isinstance(value, bool | int | float | str):
        return printable(value)
    if isinstance(value, list) and all(isinstance(v, bool | int | float | str) for v in value):
        return ",".join(map(printable, value)) or "-"
    return None


def value_text(value: Any) -> str:
    """Any figure as text: scalars as ``scalar_text``, nested values as compact JSON."""
    text = scalar_text(value)
    return text if text is not None else printable(json.dumps(value, default=str, separators=(",", ":")))


def headline(result: Mapping[str, Any]) -> str:
    """``changed``, ``ok`` or ``FAILED: <msg>``, marked when nothing was written."""
    if result.get("failed"):
        errors = result.get("errors") or []
        return printable(
            f"FAILED: {result.get('msg') or '; '.join(e['message'] for e in errors) or 'see the task output'}"
        )
    state = "changed" if result.get("changed") else "ok"
    return state + (" (dry run: nothing written)" if result.get("dry_run") else "")


def summary_line(job: str, result: Mapping[str, Any]) -> str:
    """One line: headline, number of actions and the scalar summary figures."""
    if result.get("failed"):
        return f"{printable(job)}: {headline(result)}"
    figures = [
        f"{printable(key)}={text}"
        for key, value in (result.get("summary") or {}).items()
        if (text := scalar_text(value)) is not None
    ]
    return f"{printable(job)}: {headline(result)}, {len(result.get('actions') or [])} action(s); " + " ".join(figures)


def render_result(result: Mapping[str, Any]) -> str:
    """The terminal view: headline, each action, each summary figure, then notices and errors."""
    dry_run = result.get("dry_run")
    lines = [f"imgops {printable(result['job'])}: {headline(result)}"]
    for action in result.get("actions") or []:
        detail = " ".join(f"{printable(k)}={value_text(v)}" for k, v in action["detail"].items())
        kind, target = printable(action["kind"]), printable(action["target"])
        lines.append(f"  {'would ' if dry_run else ''}{kind} {target} {detail}".rstrip())
    if result.get("summary"):
        lines.append("summary:")
        lines.extend(f"  {printable(key)}: {value_text(value)}" for key, value in result["summary"].items())
    lines.extend(problem_lines(result))
    return "\n".join(lines)


def problem_lines(result: Mapping[str, Any]) -> list[str]:
    """``notice: ...`` and ``error: ...`` lines, each with its context."""
    lines = []
    for label, key in (("notice", "notices"), ("error", "errors")):
        for item in result.get(key) or []:
            context = " ".join(f"{printable(k)}={printable(v)}" for k, v in item.items() if k != "message")
            lines.append(f"{label}: {printable(item['message'])}" + (f" ({context})" if context else ""))
    return lines
