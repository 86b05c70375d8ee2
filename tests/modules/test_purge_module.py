"""The purge module: check mode lists the plan and writes nothing; a real run returns what the CLI reports."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from imgops.contracts import problems
from imgops_testing.platform import DemoPlatform

ROOT = Path(__file__).resolve().parents[2]


def run_module(env: dict[str, str], args: str, *extra: str) -> dict:
    env = {**env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", "imgops_purge", "-a", args, *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout.split(" => ", 1)[1])


@pytest.mark.ansible
def test_check_mode_then_run_then_nothing(sqlite_platform: DemoPlatform, ansible_env: dict[str, str]) -> None:
    args = f"config={sqlite_platform.imgops_config} kind=scrape"
    scraped = sqlite_platform.scraped_dir
    planned = run_module(ansible_env, args, "--check")
    assert planned["changed"] is True and planned["dry_run"] is True
    assert sorted(os.listdir(scraped)) == ["job_1", "job_2", "job_3", "job_4", "job_5"]
    listed = sorted(a["target"] for a in planned["actions"] if a["kind"] == "remove")
    assert listed == [str(scraped / f"job_{i}") for i in (1, 2, 5)]
    assert problems({k: planned[k] for k in ("job", "changed", "dry_run", "summary", "actions", "errors", "notices")},
                    "purge_result") == []  # fmt: skip

    done = run_module(ansible_env, args)
    assert done["changed"] is True and done["summary"]["paths_removed"] == 3
    assert sorted(os.listdir(scraped)) == ["job_3", "job_4"]
    assert [n["reason"] for n in done["notices"]] == ["outside_root"]
    updated = [a for a in done["actions"] if a["kind"] == "update_row"]
    assert [(a["target"], a["detail"]["after"]) for a in updated] == [
        ("scrape_jobs/1", {"output_directory": ""}),
        ("scrape_jobs/2", {"output_directory": ""}),
    ]
    with sqlite3.connect(sqlite_platform.database) as db:
        cleared = db.execute("SELECT id FROM scrape_jobs WHERE output_directory = '' ORDER BY id").fetchall()
    assert cleared == [(1,), (2,), (5,)]

    again = run_module(ansible_env, args)
    assert again["changed"] is False
