"""Engines and sessions from a URL; the URL is never printed with its credentials (``masking``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import ConfigError, DatabaseError
from ..masking import mask, redact_url, remember_url

if TYPE_CHECKING:
    from ..config import Config


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a busy timeout for concurrent runs."""
    remember_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        # Never echoed, not even masked: where its parts are cannot be trusted in a URL that does not parse.
        reason = "its port is not a number" if isinstance(exc, ValueError) else "it cannot be parsed"
        raise ConfigError(
            f"key 'database_url': the database URL is not a valid SQLAlchemy URL ({reason}; not shown, "
            "it may hold a password)",
            key="database_url",
        ) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, object] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"database URL {redact_url(url)}: {mask(str(exc))}", key="database_url") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def check_connection(engine: Engine) -> None:
    """Fail early, with the masked URL, when the database cannot be reached."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = (str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines() or [""])[0]
        shown = engine.url.render_as_string(hide_password=False)
        raise DatabaseError(
            f"cannot connect to database {redact_url(shown)}: {exc.__class__.__name__}: {mask(reason)}"
        ) from None


def refuse_missing_sqlite_file(engine: Engine) -> None:
    """A SQLite URL naming no file: a configuration error, before the driver creates an empty database there.

    The server creates its database; a wrong path (a typo, a volume not mounted) must not leave an
    empty file that later runs would take for the real one.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or engine.url.query.get("uri"):
        return
    if not os.path.lexists(database):
        raise ConfigError(
            f"key 'database_url': the SQLite database {database} does not exist (imgops never creates the "
            "server's database; `imgops db init` does, for demos and tests)",
            key="database_url",
        )


@contextmanager
def connected_engine(config: Config, *, create: bool = False) -> Iterator[Engine]:
    """The configured database's engine, reachable (checked before any work), disposed afterwards.

    Only ``create`` (``imgops db init``) lets a SQLite URL name a file that does not exist yet.
    """
    engine = make_engine(config.require_database_url())
    try:
        if not create:
            refuse_missing_sqlite_file(engine)
        check_connection(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def transaction(engine: Engine, *, dry_run: bool = False) -> Iterator[Session]:
    """One explicit transaction: committed on success, rolled back on error or in a dry run."""
    session = Session(engine, expire_on_commit=False)
    try:
        session.begin()
        yield session
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow() -> datetime:
    """Naive UTC, the way the platform stores timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)
