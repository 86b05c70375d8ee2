"""Bug reports for people: the listing as a table, one report as its JSON, status and purge results.

Reports are written by whoever files them, so descriptions, submitters, ids and file names may hold
control characters: an ESC sequence could recolour or move the cursor, a newline could forge a row.
Every text view here escapes them (``\\x1b``, ``\\n``, ``\\u202e``); JSON output (``--json``) is left
to the JSON encoder, which escapes what JSON requires.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .text import problem_lines, render_result

# C0 and C1 controls, DEL, and the Unicode line separators and bidirectional overrides a terminal obeys.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every control character written as a visible escape, on one line."""
    return _UNSAFE.sub(_escape_char, text)


def _escaped(value: Any) -> Any:
    """A result with every string (keys too) made terminal-safe."""
    if isinstance(value, str):
        return terminal_safe(value)
    if isinstance(value, Mapping):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def render_escaped(result: Mapping[str, Any]) -> str:
    """``bugs status`` and ``bugs purge``: the generic view, with report-supplied text escaped."""
    return render_result(_escaped(result))


def render_table(result: Mapping[str, Any]) -> str:
    """``bugs list``: one row per report, newest first, then the counts."""
    header = ("ID", "STATUS", "SUBMITTED", "BY", "SIZE", "DESCRIPTION")
    cells = [
        tuple(terminal_safe(str(c)) for c in (
            r["id"], r["status"], (r["submitted_at"] or "-")[:19], r["submitted_by"] or "-", r["size"],
            r.get("corrupt") or r["description"],
        ))
        for r in result["reports"]
    ]  # fmt: skip
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header) - 1)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(widths))) + "  " + c[-1] for c in [header, *cells]]
    summary = result["summary"]
    source = "rows" if summary.get("backend") == "database" else "files"
    lines.append(f"{summary['returned']} of {summary['matched']} matching ({summary['total']} {source}, "
                 f"{summary['corrupt']} corrupt)")  # fmt: skip
    return "\n".join(lines)


def render_report(result: Mapping[str, Any]) -> str:
    """``bugs show``: the whole report as indented JSON, then its notices, every control character escaped."""
    body = json.dumps(result["report"], indent=2, ensure_ascii=False)  # escapes C0 controls inside strings
    return "\n".join([*map(terminal_safe, body.split("\n")), *problem_lines(_escaped(result))])
