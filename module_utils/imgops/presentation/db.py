"""The db job's terminal view: the generic one, then the generation's evidence and each job's verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .safe import printable
from .text import render_result


def render_db(result: Mapping[str, Any]) -> str:
    """The generic rendering, with the evidence and each job's verdict one per line instead of nested JSON."""
    summary = dict(result.get("summary") or {})
    evidence, jobs = summary.pop("evidence", []), summary.pop("jobs", {})
    lines = [render_result({**result, "summary": summary})]
    if evidence:
        lines.append("evidence:")
        lines += [
            f"  {'+' if e['present'] else '-'} {printable(e['name'])}: {printable(e['detail'])}" for e in evidence
        ]
    if jobs:
        lines.append("jobs:")
        for job, verdict in jobs.items():
            where = f" ({', '.join(verdict['tables']) or 'no server table'})"
            state = "can run" if verdict["runnable"] else f"cannot run, missing {', '.join(verdict['missing'])}"
            lines.append(printable(f"  {job}: {state}{where}"))
    return "\n".join(lines)
