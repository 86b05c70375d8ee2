"""The disk module on the demo: never changed, same summary as the CLI, check mode writes nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imgops.contracts import problems
from imgops_testing.platform import DemoPlatform

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = ("job", "changed", "dry_run", "summary", "actions", "errors", "notices")


def run_module(env: dict[str, str], args: str, *extra: str) -> dict:
    env = {**env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", "imgops_disk", "-a", args, *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout.split(" => ", 1)[1])


@pytest.mark.ansible
def test_disk_module_reports_and_writes_only_monitoring_output(
    sqlite_platform: DemoPlatform, ansible_env: dict[str, str], venv_bin: Path
) -> None:
    args = f"config={sqlite_platform.imgops_config}"
    metrics = sqlite_platform.root / "metrics" / "imgops_disk.prom"
    checked = run_module(ansible_env, args, "--check")
    assert checked["changed"] is False and checked["dry_run"] is True and not metrics.exists()

    done = run_module(ansible_env, args)
    assert done["changed"] is False and problems({k: done[k] for k in ENVELOPE}, "disk_result") == []
    assert [t["target"] for t in done["summary"]["targets"]] == ["speedy", "storage"]
    assert metrics.exists() and 'imgops_disk_severity{mountpoint="' in metrics.read_text(encoding="utf-8")
    assert (metrics.parent / "imgops_job_disk_success.prom").exists()  # the module runs the job's metrics too

    cli = subprocess.run([venv_bin / "imgops", "--config", str(sqlite_platform.imgops_config), "--json", "disk"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    from_cli = json.loads(cli.stdout)
    assert [t["target"] for t in from_cli["summary"]["targets"]] == ["speedy", "storage"]
    assert {k: from_cli[k] for k in ("job", "changed", "dry_run", "actions", "errors")} == {
        k: done[k] for k in ("job", "changed", "dry_run", "actions", "errors")
    }
