"""Status changes of report files: rewritten atomically, every other field, number and the key order kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from . import jsontext
from .store import ReportFile

_INDENT = re.compile(r"^\{\s*\n([ \t]+)\"")


def utc_z(moment: datetime) -> str:
    """``2025-11-04T05:43:23.123456Z``: the UTC ISO form with ``Z`` the server writes for events and updates."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def changed_report(report: ReportFile, status: str, actor: str, note: str | None, now: datetime) -> dict[str, Any]:
    """The report with ``status`` set, a history entry appended and ``updated_at`` refreshed.

    Keys of every era (``screenshot_path``, ``resolution{}``, ...) are kept as they are.
    """
    data = dict(report.data or {})
    entry = {"from": data.get("status"), "to": status, "at": now.astimezone(UTC).isoformat(), "actor": actor}
    if note:
        entry["note"] = note
    data["status"] = status  # an existing key keeps its place in the dict, hence in the file
    data["status_history"] = [*(data.get("status_history") or []), entry]
    data["updated_at"] = utc_z(now)  # as the server's PATCH wrote it into interim files
    return data


def serialise_like(original: str, data: dict[str, Any]) -> bytes:
    """Dump ``data`` in the layout of ``original``: same indentation, non-ASCII style and number texts."""
    match = _INDENT.match(original)
    indent: int | str | None = None
    if match:
        whitespace = match.group(1)
        indent = len(whitespace) if set(whitespace) == {" "} else whitespace
    ensure_ascii = original.isascii()
    separators = (",", ": ") if indent is not None or ", " in original else (",", ":")
    dumped = jsontext.dumps(data, indent=indent, ensure_ascii=ensure_ascii, separators=separators)
    return (dumped + ("\n" if original.endswith("\n") else "")).encode("utf-8")
