"""Filter imgops_summary_lines: one readable line per job result registered in a play."""

from __future__ import annotations

from typing import Any

DOCUMENTATION = """
name: imgops_summary_lines
short_description: Render imgops job results as one line per job
positional: _input
options:
  _input:
    description: Mapping of job name to the registered result of its imgops module.
    type: dict
    required: true
"""


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool | int | float | str) or value is None:
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ",".join(map(str, value)) or "-"
    return None


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    for job, result in sorted(results.items()):
        if not isinstance(result, dict) or result.get("skipped"):
            continue
        if result.get("failed"):
            lines.append(f"{job}: FAILED: {result.get('msg', 'see the task output')}")
            continue
        state = "changed" if result.get("changed") else "ok"
        mode = " (check mode)" if result.get("dry_run") else ""
        figures = [
            f"{key}={text}"
            for key, value in (result.get("summary") or {}).items()
            if (text := _scalar(value)) is not None
        ]
        actions = len(result.get("actions") or [])
        lines.append(f"{job}: {state}{mode}, {actions} action(s); " + " ".join(figures))
    return lines or ["no imgops job ran on this host"]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"imgops_summary_lines": summary_lines}
