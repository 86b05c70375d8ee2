"""Add the set-template columns to databases that predate them, through Alembic's operations API."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Connection, Text, false, inspect

from ..db.models import SET_TEMPLATE_COLUMNS


def missing_set_template_columns(connection: Connection) -> list[str]:
    present = {column["name"] for column in inspect(connection).get_columns("albums")}
    return [name for name in SET_TEMPLATE_COLUMNS if name not in present]


def add_set_template_columns(connection: Connection, names: list[str]) -> None:
    """``ALTER TABLE albums ADD COLUMN`` for each name, as the server's model defines it."""
    from alembic.operations import Operations  # only needed once per database: keep it off the hot path
    from alembic.runtime.migration import MigrationContext

    operations = Operations(MigrationContext.configure(connection))
    for name in names:
        if name == "is_set_template":
            operations.add_column("albums", Column(name, Boolean, nullable=True, server_default=false()))
        else:
            operations.add_column("albums", Column(name, Text, nullable=True))
