"""The Ansible face: the module returns what the CLI prints, and the demo playbook converges to changed=0."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from imgops.contracts import problems
from imgops_testing.platform import DemoPlatform

ROOT = Path(__file__).resolve().parents[2]


def playbook(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def recap(output: str) -> dict[str, int]:
    match = re.search(r"localhost\s+:\s+(.*)", output)
    assert match, output
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def adhoc_module(env: dict[str, str], module: str, args: str) -> dict:
    """Run one module on localhost through ``ansible`` and return its result object."""
    env = {**env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", module, "-a", args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout.split(" => ", 1)[1])


@pytest.mark.ansible
def test_module_returns_exactly_what_the_cli_prints(
    sqlite_platform: DemoPlatform, ansible_env: dict[str, str], venv_bin: Path
) -> None:
    config = str(sqlite_platform.imgops_config)
    from_module = adhoc_module(ansible_env, "imgops_db", f"config={config} action=upgrade")
    cli = subprocess.run([venv_bin / "imgops", "--config", config, "--json", "db", "upgrade"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    from_cli = json.loads(cli.stdout)
    assert from_module["changed"] is True and from_cli["changed"] is False  # the module ran first
    keys = ("job", "dry_run", "summary", "errors", "notices")
    assert {k: from_module[k] for k in keys} == {k: from_cli[k] for k in keys}


@pytest.mark.ansible
def test_check_mode_writes_nothing(sqlite_platform: DemoPlatform, ansible_env: dict[str, str]) -> None:
    config = f"imgops_config={sqlite_platform.imgops_config} imgops_report_dir={sqlite_platform.root / 'reports'}"
    ran = playbook(ansible_env, "maintenance.yml", "--check", "--diff", "-e", config)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert recap(ran.stdout)["changed"] >= 1
    again = playbook(ansible_env, "maintenance.yml", "--check", "-e", config)
    assert recap(again.stdout)["changed"] == recap(ran.stdout)["changed"]  # nothing was applied


@pytest.mark.ansible
def test_the_demo_playbook_converges(sqlite_platform: DemoPlatform, ansible_env: dict[str, str]) -> None:
    reports = sqlite_platform.root / "reports"
    config = f"imgops_config={sqlite_platform.imgops_config} imgops_report_dir={reports}"
    first = playbook(ansible_env, "maintenance.yml", "-e", config)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["changed"] >= 1
    assert "db: changed" in first.stdout
    second = playbook(ansible_env, "maintenance.yml", "-e", config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["changed"] == 0
    assert recap(second.stdout)["failed"] == 0
    written = sorted(reports.glob("maintenance-*.json"))
    assert written, "the summary play writes a JSON report per run"
    report = json.loads(written[-1].read_text(encoding="utf-8"))
    assert problems(report, "fleet_report") == []
    assert [row["host"] for row in report["hosts"]] == ["localhost"]
    assert report["totals"]["failed_hosts"] == 0
    assert re.search(r"TOTAL\s+1/1\s+freed", second.stdout)
