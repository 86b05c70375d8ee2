"""Shared fixtures: a real PostgreSQL server for the session, databases on both backends, the demo platform.

The PostgreSQL helper (and with it psycopg) is imported inside the fixture that starts the server, so
collecting and running the unit tests needs neither psycopg nor a PostgreSQL installation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from imgops_testing import REPO_ROOT
from imgops_testing.platform import DemoPlatform, build_platform

if TYPE_CHECKING:
    from imgops_testing.pg_server import PostgresServer

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session. Missing binaries fail the tests, never skip them."""
    from imgops_testing.pg_server import start_server

    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "imagineer.db").touch()  # an empty file is an empty SQLite database; imgops creates none
        yield f"sqlite:///{tmp_path / 'imagineer.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def demo_platform(tmp_path: Path, database_url: str) -> DemoPlatform:
    """The demo platform (older server schema, seeded rows and folders) on each backend."""
    return build_platform(tmp_path / "platform", database_url=database_url)


@pytest.fixture
def sqlite_platform(tmp_path: Path) -> DemoPlatform:
    """The demo platform on its embedded SQLite database only (for tests about files, not SQL)."""
    return build_platform(tmp_path / "platform")


@pytest.fixture
def venv_bin() -> Path:
    """The folder holding the imgops and ansible-playbook commands of the interpreter running the tests."""
    return Path(sys.executable).parent


@pytest.fixture
def ansible_env(venv_bin: Path) -> dict[str, str]:
    """Environment for running ansible-playbook from the repository root."""
    env = dict(os.environ)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(REPO_ROOT / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("IMGOPS_DATABASE_URL", None)
    return env
