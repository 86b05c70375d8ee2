"""Bug reports as rows of the server's ``bug_reports`` table (SERVER_FACTS 3.1, 3.3, 4.6, 7.6).

Columns are selected and written by name through the reflected table. Timestamps are read as
text where the driver gives text (SQLite), so a row stored in another format (``+00:00`` from raw
SQL, ``CURRENT_TIMESTAMP`` without a fraction, or garbage) is one problem of that row, never the
end of a listing. JSON columns are parsed with ``jsontext`` (bounded, numbers kept as written).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, Text, delete, func, select, type_coerce, update

from ..errors import InputError
from . import jsontext
from .status import utc_z
from .store import listing_row, parse_timestamp

TABLE = "bug_reports"
TIMESTAMPS = ("submitted_at", "created_at", "updated_at")
COLUMNS = (
    "report_id", "trace_id", "submitted_by", "submitted_at", "description", "expected_behavior", "actual_behavior",
    "steps_to_reproduce", "status", "automation_attempts", "environment", "client_meta", "app_state", "recent_logs",
    "network_events", "screenshot_path", "screenshot_error", "resolution_notes", "resolution_commit_sha",
    "resolution_actor_id", "events", "created_at", "updated_at",
)  # fmt: skip
"""The server's columns but ``id`` (SERVER_FACTS 3.1), all present once ``ServerSchema.require("bugs")`` passed."""
TEXT_COLUMNS = (
    "report_id", "trace_id", "submitted_by", "description", "expected_behavior", "actual_behavior",
    "steps_to_reproduce", "status", "environment", "client_meta", "app_state", "recent_logs", "network_events",
    "screenshot_path", "screenshot_error", "resolution_notes", "resolution_commit_sha", "resolution_actor_id",
    "events",
)  # fmt: skip
STATUS_EVENT = "status_changed"
"""imgops' own event type for a status change: the server's PATCH appends no event (SERVER_FACTS 4.6)."""


def _column(table: Table, name: str) -> Any:
    """A column to select: timestamps as the stored text (SQLite) or the driver's datetime (PostgreSQL)."""
    return type_coerce(table.c[name], Text).label(name) if name in TIMESTAMPS else table.c[name]


def _text(value: Any) -> str | None:
    """A TEXT column's value as text (SQLite stores whatever it is given)."""
    return value if value is None or isinstance(value, str) else str(value)


@dataclass(frozen=True)
class RowEntry:
    """What a listing needs of one row; ``corrupt`` when its ``submitted_at`` is no timestamp."""

    report_id: str
    status: str | None
    submitted_at: datetime
    submitted_by: str | None
    description: str
    size: int
    corrupt: str | None = None
    contract_problem: str | None = None

    def row(self) -> dict[str, Any]:
        when = None if self.corrupt else self.submitted_at
        return listing_row(self.report_id, self.status, when, self.submitted_by, self.size, self.description,
                           self.corrupt)  # fmt: skip


def stored_moment(value: Any) -> datetime | None:
    """A stored timestamp as aware UTC: naive values are UTC (SERVER_FACTS 0.3)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return parse_timestamp(value)


def list_rows(connection: Connection, table: Table) -> list[RowEntry]:
    """Every row's listing fields; the size is the characters of its text columns."""
    size = sum((func.coalesce(func.length(table.c[name]), 0) for name in TEXT_COLUMNS[1:]),
               func.length(table.c.report_id))  # fmt: skip
    names = ("report_id", "status", "submitted_at", "submitted_by", "description")
    query = select(*(_column(table, name) for name in names), size.label("size"))
    entries = []
    for row in connection.execute(query):
        report_id = _text(row.report_id) or ""
        when = stored_moment(row.submitted_at)
        corrupt = None if when is not None else "submitted_at is not a timestamp"
        entries.append(RowEntry(
            report_id=report_id, status=_text(row.status), submitted_at=when or datetime.min.replace(tzinfo=UTC),
            submitted_by=_text(row.submitted_by), description=_text(row.description) or "", size=int(row.size or 0),
            corrupt=corrupt,
        ))  # fmt: skip
    return entries


def fetch_rows(connection: Connection, table: Table, report_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The whole rows of ``report_ids`` (every server column but ``id``), by column name."""
    wanted = list(report_ids)
    if not wanted:
        return []
    query = select(*(_column(table, name) for name in COLUMNS)).where(table.c.report_id.in_(wanted))
    return [dict(row._mapping) for row in connection.execute(query.order_by(table.c.report_id))]


def fetch_row(connection: Connection, table: Table, report_id: str, *, for_update: bool = False) -> dict[str, Any]:
    """One whole row, or an InputError naming the report."""
    query = select(*(_column(table, name) for name in COLUMNS)).where(table.c.report_id == report_id)
    row = connection.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise InputError(f"no bug report {report_id!r} in table {TABLE}", report_id=report_id)
    return dict(row._mapping)


def _iso(value: Any, column: str, problems: list[str]) -> Any:
    """``isoformat()`` of the stored value, as the server's model gives it (naive stays naive)."""
    if value is None or isinstance(value, datetime):
        return value.isoformat() if value is not None else None
    try:
        return datetime.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(f"{column} is not a timestamp; kept as stored")
        return value


def _parsed(value: Any, column: str, default: Any, problems: list[str]) -> Any:
    """A JSON column parsed (``default`` when empty); text that is no bounded JSON is kept as stored."""
    if value is None or value == "":
        return default
    try:
        return jsontext.loads(str(value), column)
    except InputError as exc:
        problems.append(f"{exc.message}; kept as stored text")
        return value


def server_dict(row: dict[str, Any], *, include_context: bool) -> tuple[dict[str, Any], list[str]]:
    """The server's ``BugReport.to_dict(include_context)`` (SERVER_FACTS 7.6) of a row, key for key,
    and the columns that could not be rendered that way (kept as stored)."""
    problems: list[str] = []
    parsed = {name: _parsed(row.get(name), name, [], problems) for name in ("recent_logs", "network_events", "events")}
    attempts = row.get("automation_attempts")
    out: dict[str, Any] = {
        "report_id": row.get("report_id"),
        "trace_id": row.get("trace_id"),
        "submitted_by": row.get("submitted_by"),
        "submitted_at": _iso(row.get("submitted_at"), "submitted_at", problems),
        "description": row.get("description"),
        "expected_behavior": row.get("expected_behavior"),
        "actual_behavior": row.get("actual_behavior"),
        "steps_to_reproduce": _parsed(row.get("steps_to_reproduce"), "steps_to_reproduce", [], problems),
        "status": row.get("status"),
        "automation_attempts": int(attempts or 0) if isinstance(attempts, int | None) else attempts,
        "screenshot_path": row.get("screenshot_path"),
        "screenshot_error": row.get("screenshot_error"),
        "resolution_notes": row.get("resolution_notes"),
        "resolution_commit_sha": row.get("resolution_commit_sha"),
        "resolution_actor_id": row.get("resolution_actor_id"),
        "created_at": _iso(row.get("created_at"), "created_at", problems),
        "updated_at": _iso(row.get("updated_at"), "updated_at", problems),
        "environment": _parsed(row.get("environment"), "environment", {}, problems),
        "client_meta": _parsed(row.get("client_meta"), "client_meta", {}, problems),
        "app_state": _parsed(row.get("app_state"), "app_state", {}, problems),
        "has_recent_logs": bool(parsed["recent_logs"]),
        "has_network_events": bool(parsed["network_events"]),
        "has_events": bool(parsed["events"]),
    }
    if include_context:
        out.update(parsed)
    return out, problems


def status_event(before: str | None, status: str, actor: str, note: str | None, now: datetime) -> dict[str, Any]:
    """The event appended to ``events`` in the server's format (SERVER_FACTS 4.6)."""
    data: dict[str, Any] = {"from": before, "to": status}
    if note:
        data["notes"] = note
    return {"event_type": STATUS_EVENT, "event_data": data, "actor_id": actor, "actor_type": "user",
            "timestamp": utc_z(now)}  # fmt: skip


def events_with(row: dict[str, Any], event: dict[str, Any]) -> str:
    """The row's ``events`` with ``event`` appended, as JSON text; a column holding no JSON list is refused."""
    stored = row.get("events")
    events: Any = []
    if stored not in (None, ""):
        events = jsontext.loads(str(stored), f"events of bug report {row.get('report_id')}")
    if not isinstance(events, list):
        raise InputError(f"events of bug report {row.get('report_id')} is not a JSON list; left as it is",
                         report_id=row.get("report_id"))  # fmt: skip
    return jsontext.dumps([*events, event])


def set_status(
    connection: Connection, table: Table, row: dict[str, Any], status: str, actor: str, note: str | None,
    now: datetime,
) -> None:  # fmt: skip
    """Write the new status, the note and actor where the server's PATCH puts them, and the event."""
    values: dict[str, Any] = {
        "status": status,
        "resolution_actor_id": actor,
        "events": events_with(row, status_event(row.get("status"), status, actor, note, now)),
        "updated_at": now.astimezone(UTC).replace(tzinfo=None),  # naive UTC, as the server stores it
    }
    if note:
        values["resolution_notes"] = note
    connection.execute(update(table).where(table.c.report_id == row["report_id"]).values(**values))


def delete_rows(connection: Connection, table: Table, expected: dict[str, str | None]) -> int:
    """Delete each row of ``expected`` (report id: the status it was planned in) still in that status;
    a report someone moved on meanwhile stays. How many went."""
    deleted = 0
    for report_id, status in expected.items():
        same_status = table.c.status.is_(None) if status is None else table.c.status == status
        deleted += connection.execute(delete(table).where(table.c.report_id == report_id, same_status)).rowcount
    return deleted
