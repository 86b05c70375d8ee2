"""Human-readable rendering of a JobResult for the terminal."""

from __future__ import annotations

from typing import Any

from ..result import JobResult


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "-"
    if value is None:
        return "-"
    return str(value)


def render_result(result: JobResult) -> str:
    mode = " (dry run: nothing written)" if result.dry_run else ""
    state = "changed" if result.changed else "ok, nothing to do"
    lines = [f"imgops {result.job}: {state}{mode}"]
    for action in result.actions:
        detail = " ".join(f"{k}={_scalar(v)}" for k, v in action.detail.items())
        lines.append(f"  {'would ' if result.dry_run else ''}{action.kind} {action.target} {detail}".rstrip())
    if result.summary:
        lines.append("summary:")
        lines.extend(f"  {key}: {_scalar(value)}" for key, value in result.summary.items())
    for label, items in (("notice", result.notices), ("error", result.errors)):
        for item in items:
            context = " ".join(f"{k}={v}" for k, v in item.items() if k != "message")
            lines.append(f"{label}: {item['message']}" + (f" ({context})" if context else ""))
    return "\n".join(lines)
