"""A PostgreSQL database that cannot be reached: exit 1, the password never printed.

Not a unit test: the driver (psycopg) has to be there to try the connection.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_unreachable_database_exits_1_without_printing_the_password(tmp_path: Path) -> None:
    config = tmp_path / "imgops.yml"
    config.write_text("database_url: postgresql://imgops:hunter2@127.0.0.1:1/nowhere\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(config), "db", "status"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.returncode == 1
    assert "cannot connect" in out.stderr
    assert "hunter2" not in out.stderr + out.stdout


def test_a_sqlite_url_naming_no_file_is_a_configuration_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "mnt" / "imagineer.db"  # a volume not mounted: its folder is there, the file is not
    missing.parent.mkdir()
    config = tmp_path / "imgops.yml"
    config.write_text(f"database_url: sqlite:///{missing}\npaths: {{state_dir: {tmp_path / 'state'}}}\n",
                      encoding="utf-8")  # fmt: skip
    for job in (["db", "status"], ["reconcile"], ["db", "init", "--dry-run"]):
        out = subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(config), *job],
                             capture_output=True, text=True, check=False)  # fmt: skip
        assert out.returncode == 2, (job, out.stderr)
        assert f"the SQLite database {missing} does not exist" in out.stderr and "Traceback" not in out.stderr
        assert not missing.exists(), job
    created = subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(config), "db", "init"],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert missing.is_file()
