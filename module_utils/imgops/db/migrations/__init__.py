"""imgops' own schema history: Alembic operations, versioned in ``imgops_alembic_version``.

Revisions are Python modules listed in ``REVISIONS`` (oldest first) rather
than files found by scanning a folder, because Ansible ships the core to
hosts as a zip of Python modules. The version table has Alembic's shape, in
a table of its own so the server's Alembic history is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, insert, inspect, select, text

from . import r0001_queue, r0002_assets, r0003_set_templates

VERSION_TABLE = "imgops_alembic_version"
REVISIONS: tuple[ModuleType, ...] = (r0001_queue, r0002_assets, r0003_set_templates)
_ADVISORY_LOCK_KEY = 0x696D676F7073  # "imgops": serialises migrations across hosts on PostgreSQL

_version_metadata = MetaData()
version_table = Table(
    VERSION_TABLE,
    _version_metadata,
    Column("version_num", String(32), primary_key=True, nullable=False),
)


@dataclass(frozen=True)
class MigrationPlan:
    current: str | None
    pending: tuple[str, ...]


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in ``imgops_alembic_version``, read without importing Alembic (a hot path)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = list(connection.execute(select(version_table.c.version_num)).scalars())
    if len(versions) > 1:
        raise RuntimeError(f"{VERSION_TABLE} holds several revisions {versions}; expected one")
    return versions[0] if versions else None


def _pending_after(current: str | None) -> list[ModuleType]:
    ids = [rev.revision for rev in REVISIONS]
    if current is None:
        return list(REVISIONS)
    if current not in ids:
        raise RuntimeError(f"{VERSION_TABLE} holds unknown revision {current!r}; this imgops knows {ids}")
    return list(REVISIONS[ids.index(current) + 1 :])


def plan(engine: Engine) -> MigrationPlan:
    """What ``upgrade`` would apply, without changing anything."""
    with engine.connect() as connection:
        current = current_revision(connection)
    return MigrationPlan(current, tuple(rev.revision for rev in _pending_after(current)))


def upgrade(engine: Engine) -> list[str]:
    """Apply every pending revision in one transaction; return the revisions applied.

    The revision is read under a lock held to the commit, so concurrent upgrades apply each revision
    once: an advisory lock on PostgreSQL; on SQLite the database's write lock, taken up front
    (``BEGIN IMMEDIATE``; the driver would otherwise start no transaction before DDL).
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        pending = _pending_after(current_revision(connection))
        if not pending:
            return []
        from alembic.operations import Operations  # only when there is something to apply
        from alembic.runtime.migration import MigrationContext

        operations = Operations(MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}))
        for revision in pending:
            revision.upgrade(operations)
        version_table.create(connection, checkfirst=True)
        connection.execute(delete(version_table))
        connection.execute(insert(version_table).values(version_num=pending[-1].revision))
        return [rev.revision for rev in pending]
