"""Status changes: the file is rewritten atomically, every other field and the key order kept."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .store import ReportFile

_INDENT = re.compile(r"^\{\s*\n([ \t]+)\"")


def changed_report(report: ReportFile, status: str, actor: str, note: str | None, now: datetime) -> dict[str, Any]:
    """The report with ``status`` set, a history entry appended and ``updated_at`` refreshed."""
    data = dict(report.data or {})
    entry = {"from": data.get("status"), "to": status, "at": now.astimezone(UTC).isoformat(), "actor": actor}
    if note:
        entry["note"] = note
    data["status"] = status  # an existing key keeps its place in the dict, hence in the file
    data["status_history"] = [*(data.get("status_history") or []), entry]
    data["updated_at"] = entry["at"]
    return data


def serialise_like(original: bytes, data: dict[str, Any]) -> bytes:
    """Dump ``data`` in the layout of ``original``: same indentation, same non-ASCII style."""
    text = original.decode("utf-8")
    match = _INDENT.match(text)
    indent: int | str | None = None
    if match:
        whitespace = match.group(1)
        indent = len(whitespace) if set(whitespace) == {" "} else whitespace
    ensure_ascii = text.isascii()
    separators = (",", ": ") if indent is not None or ", " in text else (",", ":")
    dumped = json.dumps(data, indent=indent, ensure_ascii=ensure_ascii, separators=separators)
    return (dumped + ("\n" if text.endswith("\n") else "")).encode("utf-8")
