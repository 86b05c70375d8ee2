"""imgops' own queue rows serialised for their contract (``thumbnail_job``).

The server's responses (``album_detail``, ``queue_job``, ``training_status``, ``bug_report_receipt``)
are described by their schemas only: imgops reads the server's tables but never serves them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from .contracts.types import ThumbnailJob


def _iso(moment: datetime | None) -> str | None:
    """UTC ISO with ``Z``: imgops stores naive UTC (``db.utcnow``)."""
    return moment.isoformat() + ("Z" if moment and moment.tzinfo is None else "") if moment else None


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def thumbnail_job(row: Row[Any]) -> ThumbnailJob:
    """A thumbnail row of imgops_queue (selected with all its columns)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "dedupe_key": row.dedupe_key,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "payload": _json(row.payload, {}),
        "last_error": row.last_error,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }
