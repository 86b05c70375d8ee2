"""The Ansible face of the legacy import and thumbnails: modules, check mode, CLI parity, contracts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imgops.contracts import problems
from imgops_testing.platform import DemoPlatform

ROOT = Path(__file__).resolve().parents[2]
COMPARED = ("job", "dry_run", "summary", "errors", "notices")


def adhoc(env: dict[str, str], module: str, args: str, *extra: str) -> dict:
    env = {**env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", module, "-a", args, *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout.split(" => ", 1)[1])


def cli(venv_bin: Path, config: Path, *args: str) -> dict:
    ran = subprocess.run([venv_bin / "imgops", "--config", str(config), "--json", *args],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return json.loads(ran.stdout)


@pytest.mark.ansible
def test_check_mode_and_dry_run_agree_then_the_module_imports(
    sqlite_platform: DemoPlatform, ansible_env: dict[str, str], venv_bin: Path
) -> None:
    config = sqlite_platform.imgops_config
    checked = adhoc(ansible_env, "imgops_legacy", f"config={config}", "--check")
    dry = cli(venv_bin, config, "--dry-run", "legacy", "import")
    assert {k: checked[k] for k in COMPARED} == {k: dry[k] for k in COMPARED}
    assert checked["changed"] is True and checked["summary"]["ingested"] == 48

    done = adhoc(ansible_env, "imgops_legacy", f"config={config}")
    assert done["changed"] is True and done["summary"]["staged"] == 49
    assert problems({k: v for k, v in done.items() if k in (*COMPARED, "changed", "actions")}, "legacy_result") == []
    again = cli(venv_bin, config, "legacy", "import")
    assert again["changed"] is False and again["summary"]["unchanged"] == 49
    assert problems(again, "legacy_result") == []

    thumbs = adhoc(ansible_env, "imgops_thumbnails", f"config={config} limit=20")
    assert thumbs["changed"] is True and thumbs["summary"]["written"] == 20
    rest = cli(venv_bin, config, "thumbnails")
    assert rest["summary"]["written"] == 28 and problems(rest, "thumbnails_result") == []
    assert len(list((sqlite_platform.outputs_dir / "thumbnails").glob("*.webp"))) == 48


def test_cli_refuses_an_unknown_mode(sqlite_platform: DemoPlatform, venv_bin: Path) -> None:
    ran = subprocess.run([venv_bin / "imgops", "--config", str(sqlite_platform.imgops_config), "legacy", "import",
                          "--mode", "move"], capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 2 and "invalid choice: 'move'" in ran.stderr


@pytest.mark.ansible
@pytest.mark.parametrize("limit", ["-5", "0"])
def test_module_and_cli_refuse_the_same_limit_with_one_message(
    sqlite_platform: DemoPlatform, ansible_env: dict[str, str], venv_bin: Path, limit: str
) -> None:
    config = sqlite_platform.imgops_config
    message = f"option limit must be at least 1, got {limit}"
    env = {**ansible_env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    ran = subprocess.run(["ansible", "localhost", "-m", "imgops_thumbnails", "-a", f"config={config} limit={limit}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 2, ran.stdout + ran.stderr  # ansible's code for a failed host
    assert "localhost | FAILED! => " in ran.stdout
    failed = json.loads(ran.stdout.split(" => ", 1)[1])
    assert failed["msg"] == message
    assert failed["errors"] == [{"message": message, "option": "limit"}] and failed["changed"] is False
    cli_ran = subprocess.run([venv_bin / "imgops", "--config", str(config), "thumbnails", "--limit", limit],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert cli_ran.returncode == 2 and f"argument --limit: {message}" in cli_ran.stderr
    assert not list((sqlite_platform.outputs_dir / "thumbnails").glob("*.webp"))
