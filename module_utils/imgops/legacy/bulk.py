"""Bulk inserts through the driver's ``executemany``: the statement written once, the rows plain tuples.

SQLAlchemy's ``executemany`` builds and processes a parameter mapping per row, which for the
import's six rows a file was most of its database CPU. Here each value is bound by the very
bind processor SQLAlchemy would use for its column (a datetime as SQLite's
``YYYY-MM-DD HH:MM:SS.ffffff`` text, a boolean as SQLite's 0/1; nothing on PostgreSQL, whose
driver binds them natively), so the stored values are the same; only the columns whose type
has a processor are touched per row, and a value repeated down a column (the batch's ``now``)
is converted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


def insert_many(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    skip_conflicts_on: Sequence[str] = (),
    update_conflicts_on: Sequence[str] = (),
    keep_on_update: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (values in ``columns`` order) in one ``executemany``.

    ``skip_conflicts_on``: ``ON CONFLICT (key) DO NOTHING``; ``update_conflicts_on``: an upsert
    setting every column but the key and ``keep_on_update`` from the new row.
    """
    rows = list(rows)
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    sql = insert_sql(dialect, table, columns, skip_conflicts_on, update_conflicts_on, keep_on_update)
    connection.exec_driver_sql(sql, bound_rows(dialect, table, columns, rows))


def parameter_marker(dialect: Dialect) -> str:
    """A positional parameter in the driver's own SQL: SQLite's ``?``, psycopg's ``%s``."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def insert_sql(
    dialect: Dialect,
    table: Table,
    columns: Sequence[str],
    skip_conflicts_on: Sequence[str] = (),
    update_conflicts_on: Sequence[str] = (),
    keep_on_update: Sequence[str] = (),
) -> str:
    """``INSERT INTO t (a, b) VALUES (?, ?) [ON CONFLICT ...]`` in the driver's parameter style."""
    quote = dialect.identifier_preparer.quote
    marker = parameter_marker(dialect)
    names = ", ".join(quote(name) for name in columns)
    markers = ", ".join([marker] * len(columns))
    sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({markers})"
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in skip_conflicts_on)}) DO NOTHING"
    elif update_conflicts_on:
        keep = {*update_conflicts_on, *keep_on_update}
        updates = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in columns if name not in keep)
        sql += f" ON CONFLICT ({', '.join(quote(name) for name in update_conflicts_on)}) DO UPDATE SET {updates}"
    return sql


def bound_rows(dialect: Dialect, table: Table, columns: Sequence[str], rows: list[tuple]) -> list[tuple]:
    """``rows`` (tuples, as the driver takes them) with each value bound as SQLAlchemy binds it on ``dialect``."""
    processors: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process, {}))
    if not processors:
        return rows
    bound = []
    for row in rows:
        values = list(row)
        for index, process, seen in processors:
            value = values[index]
            try:
                values[index] = seen[value]
            except KeyError:
                values[index] = seen[value] = process(value)
            except TypeError:  # not hashable: bound as it is
                values[index] = process(value)
        bound.append(tuple(values))
    return bound
