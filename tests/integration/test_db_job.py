"""The db job on SQLite and PostgreSQL: platform tables, imgops migrations, and the server's history untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from sqlalchemy import create_engine, inspect, text

from imgops.config import load_config
from imgops.contracts import problems
from imgops.db.migrations import REVISIONS
from imgops.db.models import PlatformBase
from imgops.db_job import run_db


def config_for(tmp_path: Path, url: str):
    path = tmp_path / "imgops.yml"
    path.write_text(yaml.safe_dump({"database_url": url, "paths": {"state_dir": str(tmp_path / "state")}}))
    return load_config(path, environ={})


def test_init_creates_missing_tables_then_nothing_on_rerun(tmp_path: Path, database_url: str) -> None:
    config = config_for(tmp_path, database_url)
    planned = run_db(config, "init", dry_run=True)
    assert planned.changed and planned.dry_run
    assert inspect(create_engine(database_url)).get_table_names() == []

    first = run_db(config, "init")
    kinds = sorted((a.kind, a.target) for a in first.actions)
    assert ("apply_migration", "0001_queue") in kinds
    assert {t for k, t in kinds if k == "create_table"} == set(PlatformBase.metadata.tables)
    tables = set(inspect(create_engine(database_url)).get_table_names())
    assert set(PlatformBase.metadata.tables) | {"imgops_queue", "imgops_alembic_version"} <= tables
    assert problems(first.to_dict(), "db_result") == []

    second = run_db(config, "init")
    assert second.changed is False
    assert second.summary["imgops_revision"] == REVISIONS[-1].revision
    assert second.summary["pending_revisions"] == []


def test_upgrade_on_a_server_made_database_leaves_the_servers_alembic_history(
    tmp_path: Path, database_url: str
) -> None:
    engine = create_engine(database_url)
    PlatformBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('server_rev_42')"))
    result = run_db(config_for(tmp_path, database_url), "upgrade")
    assert [a.target for a in result.actions] == [rev.revision for rev in REVISIONS]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["server_rev_42"]
        versions = conn.execute(text("SELECT version_num FROM imgops_alembic_version")).scalars().all()
        assert versions == [REVISIONS[-1].revision]
    engine.dispose()


def test_upgrade_reports_missing_platform_tables_without_creating_them(tmp_path: Path, database_url: str) -> None:
    result = run_db(config_for(tmp_path, database_url), "upgrade")
    assert "images" in result.summary["missing_tables"]
    assert any("platform tables missing" in n["message"] for n in result.notices)
    assert "images" not in inspect(create_engine(database_url)).get_table_names()


def test_concurrent_upgrades_from_separate_state_dirs_apply_each_revision_once(
    tmp_path: Path, database_url: str, venv_bin: Path
) -> None:
    """No shared file lock (each run its own state_dir): the database's own lock must serialise them."""
    engine = create_engine(database_url)
    PlatformBase.metadata.create_all(engine)
    engine.dispose()
    runs = []
    for i in range(6):
        config = tmp_path / f"imgops-{i}.yml"
        state_dir = str(tmp_path / f"state-{i}")
        config.write_text(yaml.safe_dump({"database_url": database_url, "paths": {"state_dir": state_dir}}))
        runs.append(subprocess.Popen([venv_bin / "imgops", "--config", str(config), "db", "upgrade"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    errors = [run.communicate()[1] for run in runs]
    outcomes = [(run.returncode, error) for run, error in zip(runs, errors, strict=True)]
    assert [code for code, _ in outcomes] == [0] * 6, outcomes
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM imgops_alembic_version")).scalars().all() == [
            REVISIONS[-1].revision
        ]
    engine.dispose()
