"""maintenance.yml across several hosts sharing one real PostgreSQL database, as operators run it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from imgops.contracts import problems
from imgops_testing.fleet import build_fleet, failures, recaps, run_playbook
from imgops_testing.pg_server import PostgresServer

HOSTS = ["gpu-01", "gpu-02", "storage-01"]


@pytest.mark.ansible
@pytest.mark.postgres
def test_fleet_converges_and_a_broken_host_fails_alone(
    tmp_path: Path, postgres_server: PostgresServer, ansible_env: dict[str, str]
) -> None:
    database = postgres_server.create_database()
    try:
        inventory, platforms = build_fleet(tmp_path, HOSTS, postgres_server.url(database))
        # gpu-02's legacy volume holds a copy of gpu-01's deck batch: the same bytes on two hosts.
        shutil.copytree(platforms["gpu-01"].outputs_dir / "card_deck_20251013_204136",
                        platforms["gpu-02"].outputs_dir / "card_deck_20251013_204136", dirs_exist_ok=True)  # fmt: skip
        first = run_playbook(ansible_env, inventory, "maintenance.yml")
        assert first.returncode == 0, failures(first)
        assert set(recaps(first.stdout)) == set(HOSTS)
        assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in recaps(first.stdout).values())
        second = run_playbook(ansible_env, inventory, "maintenance.yml")
        assert second.returncode == 0, failures(second)
        assert {host: r["changed"] for host, r in recaps(second.stdout).items()} == dict.fromkeys(HOSTS, 0)

        engine = create_engine(postgres_server.url(database))
        with engine.connect() as conn:
            images = conn.execute(text("SELECT count(*) FROM images")).scalar()
            contents = conn.execute(text("SELECT count(DISTINCT sha256) FROM imgops_assets")).scalar()
            hosts_per_hash = conn.execute(text("SELECT max(n) FROM (SELECT count(DISTINCT host) AS n "
                                               "FROM imgops_assets GROUP BY sha256) AS c")).scalar()  # fmt: skip
        engine.dispose()
        assert images == contents > 0  # one image per content, whichever hosts hold it
        assert hosts_per_hash == 2  # the shared deck was seen on both hosts

        report = json.loads(sorted((tmp_path / "reports").glob("maintenance-*.json"))[-1].read_text())
        assert problems(report, "fleet_report") == []
        assert [row["host"] for row in report["hosts"]] == HOSTS
        assert re.search(r"TOTAL\s+3/3", second.stdout)

        shutil.rmtree(platforms["storage-01"].bug_reports_dir)  # its volume is gone
        broken = run_playbook(ansible_env, inventory, "maintenance.yml")
        by_host = recaps(broken.stdout)
        assert broken.returncode != 0
        assert by_host["storage-01"]["failed"] == 1
        assert by_host["gpu-01"]["failed"] == 0 and by_host["gpu-02"]["failed"] == 0
        assert "bug report folder" in broken.stdout and "does not exist" in broken.stdout
        assert re.search(r"storage-01\s+failed", broken.stdout)
        assert re.search(r"TOTAL\s+2/3", broken.stdout)
    finally:
        postgres_server.drop_database(database)
