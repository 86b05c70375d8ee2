"""Credentials in the database URL never reach any output: not the CLI's text or JSON, not its log
lines, not an Ansible module's result, whatever part of the URL carries them and however it fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from imgops.db import make_engine, redact_url
from imgops.errors import ConfigError, DatabaseError, reports_database_errors
from imgops.masking import mask, remember_url

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("Hunter2-user", "Hunter2-query", "Hunter2-ssl")


def imgops(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(config), *args],
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip


def config_with(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "imgops.yml"
    config.write_text(f"database_url: '{url}'\npaths:\n  state_dir: {tmp_path / 'state'}\n", encoding="utf-8")
    return config


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output, output
        assert "Traceback" not in output, output


UNREACHABLE = [
    "postgresql://imgops:Hunter2-user@127.0.0.1:1/imagineer",
    "postgresql://imgops@127.0.0.1:1/imagineer?password=Hunter2-query&sslpassword=Hunter2-ssl",
    "postgresql://imgops:Hunter2-user@127.0.0.1:1/imagineer?sslpassword=Hunter2-ssl&connect_timeout=2",
]


@pytest.mark.parametrize("url", UNREACHABLE, ids=["userinfo", "query", "both"])
def test_an_unreachable_database_fails_without_its_credentials(tmp_path: Path, url: str) -> None:
    config = config_with(tmp_path, url)
    plain = imgops(config, "db", "status")
    assert plain.returncode == 1 and "cannot connect to database" in plain.stderr
    assert "127.0.0.1:1/imagineer" in plain.stderr  # the URL is still named, masked
    assert ": OperationalError: connection failed" in plain.stderr
    as_json = imgops(config, "--json", "db", "status")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["failed"] is True
    assert_no_secret(plain.stdout, plain.stderr, as_json.stdout, as_json.stderr)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://imgops:Hunter2-user@db.example:notaport/imagineer",
        "postgresql://imgops:Hunter2-user@db.example:notaport/imagineer?password=Hunter2-query",
        "not a url at all Hunter2-user",
    ],
    ids=["bad-port", "bad-port-query", "garbage"],
)
def test_a_malformed_url_is_a_configuration_error_that_never_echoes_it(tmp_path: Path, url: str) -> None:
    config = config_with(tmp_path, url)
    plain = imgops(config, "db", "status")
    assert plain.returncode == 2 and "key 'database_url': the database URL is not a valid" in plain.stderr
    as_json = imgops(config, "--json", "db", "status")
    assert as_json.returncode == 2
    assert_no_secret(plain.stdout, plain.stderr, as_json.stdout, as_json.stderr)


def test_a_working_database_reports_its_url_masked(tmp_path: Path) -> None:
    (tmp_path / "imagineer.db").touch()
    url = f"sqlite:///{tmp_path / 'imagineer.db'}?password=Hunter2-query"
    as_json = imgops(config_with(tmp_path, url), "--json", "db", "status")
    assert as_json.returncode in (0, 1), as_json.stderr
    assert json.loads(as_json.stdout)["summary"]["database"].endswith("?password=***")
    assert_no_secret(as_json.stdout, as_json.stderr)


@pytest.mark.ansible
@pytest.mark.parametrize("url", [UNREACHABLE[1], "postgresql://imgops:Hunter2-user@db.example:notaport/x"])
def test_an_ansible_module_never_returns_the_credentials(tmp_path: Path, ansible_env: dict[str, str], url: str) -> None:
    config = config_with(tmp_path, url)
    env = {**ansible_env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", "imgops_db", "-a", f"config={config} action=status"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
    assert ran.returncode != 0 and "FAILED" in ran.stdout
    result = json.loads(ran.stdout.split(" => ", 1)[1])
    assert result["errors"] and result["msg"] == result["errors"][0]["message"]
    assert_no_secret(ran.stdout, ran.stderr)


def test_a_driver_error_quoting_the_connection_string_is_masked(tmp_path: Path) -> None:
    """A driver may quote its DSN in an error; whatever it says, a known credential is masked."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}?password=Hunter2-query"
    engine = make_engine(url)

    @reports_database_errors
    def job() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            raise OperationalError("connect", {}, Exception(f"bad dsn 'host=x password=Hunter2-query' in {url}"))

    with pytest.raises(DatabaseError) as caught:
        job()
    assert "Hunter2" not in caught.value.message and "password=***" in caught.value.message


def test_redact_url_masks_every_credential_the_url_can_carry() -> None:
    url = "postgresql://me:p%40ss-Hunter2-user@h:5432/db?sslmode=require&password=Hunter2-query&sslpassword=Hunter2-ssl"
    shown = redact_url(url)
    assert shown == "postgresql://me:***@h:5432/db?sslmode=require&password=***&sslpassword=***"
    assert redact_url("postgresql://me:Hunter2-user@h:notaport/db") == "postgresql://me:***@h:notaport/db"
    remember_url("postgresql://me@h/db?password=Hunter2-query")
    assert mask("FATAL: Hunter2-query rejected; conninfo password='a b' user=me") == (
        "FATAL: *** rejected; conninfo password=*** user=me"
    )
    with pytest.raises(ConfigError) as caught:
        make_engine("postgresql://me:Hunter2-user@h:notaport/db")
    assert "Hunter2" not in caught.value.message and caught.value.exit_code == 2
