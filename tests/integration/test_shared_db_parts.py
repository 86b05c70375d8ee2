"""The shared database parts on both backends: the engine context and the ``migration_history`` writer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from imgops.config import Config, build_config
from imgops.db.engine import connected_engine, transaction
from imgops.db.history import ensure_record, has_run
from imgops.db.models import MigrationHistory
from imgops.errors import ConfigError, DatabaseError


def _config(url: str, tmp_path: Path) -> Config:
    return build_config({"database_url": url, "paths": {"state_dir": str(tmp_path / "state")}}, None, {})


def test_ensure_record_inserts_once_then_updates_details_and_timestamp_only_when_asked(
    database_url: str, tmp_path: Path
) -> None:
    table = MigrationHistory.__table__
    with connected_engine(_config(database_url, tmp_path)) as engine:
        table.create(engine)
        with transaction(engine) as session:
            assert not has_run(session, "job")
            ensure_record(session, "job", '{"n": 1}')
        with engine.connect() as connection:
            first = connection.execute(select(table)).one()
        assert first.details == '{"n": 1}' and first.applied_at == first.last_run_at

        with transaction(engine) as session:  # same details, no refresh: nothing changes
            ensure_record(session, "job", '{"n": 1}')
            ensure_record(session, "job")  # no details passed: the old ones stay
        with engine.connect() as connection:
            assert connection.execute(select(table)).one() == first

        with transaction(engine) as session:
            ensure_record(session, "job", '{"n": 2}', refresh_timestamp=True)
            assert has_run(session, "job")
        with engine.connect() as connection:
            after = connection.execute(select(table)).one()
        assert (after.id, after.applied_at, after.details) == (first.id, first.applied_at, '{"n": 2}')
        assert after.last_run_at >= first.last_run_at


def test_connected_engine_fails_before_any_work_when_the_database_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "imagineer.db").mkdir()  # there, but a folder: SQLite cannot open it
    url = f"sqlite:///{tmp_path / 'imagineer.db'}"
    with pytest.raises(DatabaseError, match="cannot connect to database"), connected_engine(_config(url, tmp_path)):
        raise AssertionError("the body must not run")
    missing = f"sqlite:///{tmp_path / 'missing' / 'imagineer.db'}"
    with pytest.raises(ConfigError, match="does not exist"), connected_engine(_config(missing, tmp_path)):
        raise AssertionError("the body must not run")
    assert not (tmp_path / "missing").exists()
