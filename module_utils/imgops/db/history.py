"""The platform's ``migration_history`` table, written the way the server's ``ensure_record`` writes it.

SERVER_FACTS 2.7: a missing name is inserted; an existing row gets ``details`` when a different
value is passed and a new ``last_run_at`` when ``refresh_timestamp`` is true; the caller commits.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from .engine import utcnow
from .models import MigrationHistory

_HISTORY = MigrationHistory.__table__


def ensure_record(
    connection: Connection | Session, name: str, details: str | None = None, *, refresh_timestamp: bool = False
) -> None:
    """Record ``name`` once; on a later call update ``details`` and, if asked, ``last_run_at``."""
    row = connection.execute(select(_HISTORY.c.id, _HISTORY.c.details).where(_HISTORY.c.name == name)).first()
    now = utcnow()
    if row is None:
        connection.execute(insert(_HISTORY).values(name=name, applied_at=now, last_run_at=now, details=details))
        return
    values: dict[str, object] = {}
    if details is not None and details != row.details:
        values["details"] = details
    if refresh_timestamp:
        values["last_run_at"] = now
    if values:
        connection.execute(update(_HISTORY).where(_HISTORY.c.id == row.id).values(**values))


def has_run(connection: Connection | Session, name: str) -> bool:
    """Whether a ``migration_history`` row named ``name`` exists."""
    return connection.execute(select(_HISTORY.c.id).where(_HISTORY.c.name == name)).first() is not None
