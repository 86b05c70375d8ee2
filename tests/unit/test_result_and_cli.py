"""The result envelope and the command line: jobs listed, errors mapped to exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imgops.contracts import problems
from imgops.result import JobResult

JOBS = ("sets", "legacy", "thumbnails", "purge", "reconcile", "bugs", "disk", "db")


def imgops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgops.cli", *args], capture_output=True, text=True, check=False)


def test_changed_is_derived_from_actions() -> None:
    result = JobResult(job="db")
    assert result.to_dict()["changed"] is False
    result.act("apply_migration", "0001_queue")
    data = result.to_dict()
    assert data["changed"] is True
    assert problems(data, "result_envelope") == []


def test_envelope_schema_rejects_a_missing_field_and_a_wrong_type() -> None:
    data = JobResult(job="db").to_dict()
    del data["actions"]
    assert any("'actions' is a required property" in p for p in problems(data, "result_envelope"))
    data = JobResult(job="db").to_dict()
    data["changed"] = "no"
    assert any(p.startswith("changed:") for p in problems(data, "result_envelope"))


def test_help_lists_every_job() -> None:
    out = imgops("--help")
    assert out.returncode == 0
    for job in JOBS:
        assert f"    {job} " in out.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "imgops.yml"
    config.write_text("retention:\n  scrape_dayz: 3\n", encoding="utf-8")
    out = imgops("--config", str(config), "db", "status")
    assert out.returncode == 2
    assert "scrape_dayz" in out.stderr and str(config) in out.stderr
    out = imgops("--config", str(config), "--json", "db", "status")
    assert json.loads(out.stdout)["failed"] is True
