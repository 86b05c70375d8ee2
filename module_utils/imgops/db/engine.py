"""Engines and sessions from a URL; the URL is never printed with its password."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..errors import ConfigError, DatabaseError

if TYPE_CHECKING:
    from ..config import Config


def redact_url(url: str) -> str:
    """The URL as it may be shown to people: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a busy timeout for concurrent runs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL {redact_url(url)} is not a valid SQLAlchemy URL", key="database_url") from None
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
        raise ConfigError(f"database URL {redact_url(url)}: {exc}", key="database_url") from None
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
        raise DatabaseError(
            f"cannot connect to database {redact_url(str(engine.url))}: {exc.__class__.__name__}: "
            f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip().splitlines()[0]}"
        ) from None


@contextmanager
def connected_engine(config: Config) -> Iterator[Engine]:
    """The configured database's engine, reachable (checked before any work), disposed afterwards."""
    engine = make_engine(config.require_database_url())
    try:
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
