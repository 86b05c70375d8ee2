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
