"""Inspect and bring up the schema: platform tables (demo/test only) and imgops' own tables."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from ..config import Config
from ..fs import job_lock
from . import migrations
from .models import PlatformBase


def missing_platform_tables(engine: Engine) -> list[str]:
    existing = set(inspect(engine).get_table_names())
    return [name for name in PlatformBase.metadata.tables if name not in existing]


def create_platform_tables(engine: Engine, names: list[str]) -> None:
    tables = [PlatformBase.metadata.tables[name] for name in names]
    PlatformBase.metadata.create_all(engine, tables=tables, checkfirst=True)


def ensure_imgops_schema(engine: Engine, config: Config) -> list[str]:
    """Apply pending imgops migrations (called before a job needs its tables).

    The file lock keeps two jobs on one host from racing on SQLite; on
    PostgreSQL the migration itself also holds an advisory lock.
    """
    if not migrations.plan(engine).pending:
        return []
    with job_lock(config.state_dir, "db-migrate", config.lock_timeout_seconds):
        return migrations.upgrade(engine)
