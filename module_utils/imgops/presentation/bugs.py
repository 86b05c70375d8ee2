"""Bug reports for people: the listing as a table, one report as its JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .text import problem_lines


def render_table(result: Mapping[str, Any]) -> str:
    """``bugs list``: one row per report, newest first, then the counts."""
    header = ("ID", "STATUS", "SUBMITTED", "BY", "SIZE", "DESCRIPTION")
    cells = [
        (r["id"], r["status"], r["submitted_at"][:19], r["submitted_by"] or "-", str(r["size"]),
         r.get("corrupt") or r["description"])
        for r in result["reports"]
    ]  # fmt: skip
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header) - 1)]
    lines = ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(widths))) + "  " + c[-1] for c in [header, *cells]]
    summary = result["summary"]
    lines.append(f"{summary['returned']} of {summary['matched']} matching ({summary['total_files']} files, "
                 f"{summary['corrupt']} corrupt)")  # fmt: skip
    return "\n".join(lines)


def render_report(result: Mapping[str, Any]) -> str:
    """``bugs show``: the whole report, then its notices."""
    return "\n".join([json.dumps(result["report"], indent=2, ensure_ascii=False), *problem_lines(result)])
