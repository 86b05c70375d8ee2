"""The generic view of any job's result: a headline, its actions, its summary figures, its problems."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def scalar_text(value: Any) -> str | None:
    """A summary figure as text; None for nested values, which a one-line view leaves out."""
    if value is None:
        return "-"
    if isinstance(value, bool | int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, bool | int | float | str) for v in value):
        return ",".join(map(str, value)) or "-"
    return None


def value_text(value: Any) -> str:
    """Any figure as text: scalars as ``scalar_text``, nested values as compact JSON."""
    text = scalar_text(value)
    return text if text is not None else json.dumps(value, default=str, separators=(",", ":"))


def headline(result: Mapping[str, Any]) -> str:
    """``changed``, ``ok`` or ``FAILED: <msg>``, marked when nothing was written."""
    if result.get("failed"):
        errors = result.get("errors") or []
        return f"FAILED: {result.get('msg') or '; '.join(e['message'] for e in errors) or 'see the task output'}"
    state = "changed" if result.get("changed") else "ok"
    return state + (" (dry run: nothing written)" if result.get("dry_run") else "")


def summary_line(job: str, result: Mapping[str, Any]) -> str:
    """One line: headline, number of actions and the scalar summary figures."""
    if result.get("failed"):
        return f"{job}: {headline(result)}"
    figures = [
        f"{key}={text}"
        for key, value in (result.get("summary") or {}).items()
        if (text := scalar_text(value)) is not None
    ]
    return f"{job}: {headline(result)}, {len(result.get('actions') or [])} action(s); " + " ".join(figures)


def render_result(result: Mapping[str, Any]) -> str:
    """The terminal view: headline, each action, each summary figure, then notices and errors."""
    dry_run = result.get("dry_run")
    lines = [f"imgops {result['job']}: {headline(result)}"]
    for action in result.get("actions") or []:
        detail = " ".join(f"{k}={value_text(v)}" for k, v in action["detail"].items())
        lines.append(f"  {'would ' if dry_run else ''}{action['kind']} {action['target']} {detail}".rstrip())
    if result.get("summary"):
        lines.append("summary:")
        lines.extend(f"  {key}: {value_text(value)}" for key, value in result["summary"].items())
    lines.extend(problem_lines(result))
    return "\n".join(lines)


def problem_lines(result: Mapping[str, Any]) -> list[str]:
    """``notice: ...`` and ``error: ...`` lines, each with its context."""
    lines = []
    for label, key in (("notice", "notices"), ("error", "errors")):
        for item in result.get(key) or []:
            context = " ".join(f"{k}={v}" for k, v in item.items() if k != "message")
            lines.append(f"{label}: {item['message']}" + (f" ({context})" if context else ""))
    return lines
