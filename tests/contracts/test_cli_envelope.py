"""Every ``imgops --json`` output is a result envelope: a failure and a usage error too, with the exit codes.

Each job runs through the installed ``imgops`` command on its failure paths: a missing configuration,
an unknown configuration key, a job failure (an unreachable database, or for the jobs without a
database the folder or disk they read), and an unknown option. stdout is validated with jsonschema
against shared/schema/result_envelope.json itself.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = Draft202012Validator(json.loads((ROOT / "shared/schema/result_envelope.json").read_text(encoding="utf-8")))
SECRET = "hunter2"
UNREACHABLE = f"postgresql://imgops:{SECRET}@127.0.0.1:1/nowhere"
ROOTS = ("sets_dir", "outputs_dir", "reference_packs_dir", "legacy_root", "thumbnails_dir", "scraped_dir",
         "training_dataset_dir", "checkpoint_dir")  # fmt: skip
JOBS: dict[str, list[str]] = {
    "sets": ["sets"],
    "legacy": ["legacy", "import"],
    "thumbnails": ["thumbnails"],
    "purge": ["purge"],
    "reconcile": ["reconcile"],
    "bugs": ["bugs", "purge"],
    "disk": ["disk", "check"],
    "db": ["db", "status"],
}


def run_json(venv_bin: Path, config: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    ran = subprocess.run([str(venv_bin / "imgops"), "--config", str(config), "--json", *argv],
                         capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert "Traceback" not in ran.stderr, ran.stderr
    assert SECRET not in ran.stdout + ran.stderr
    data = json.loads(ran.stdout)  # one JSON document, nothing else on stdout
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in ENVELOPE.iter_errors(data)]
    assert problems == [], ran.stdout
    return ran.returncode, data, ran.stderr


def assert_failure(data: dict[str, Any], job: str, words: str) -> None:
    assert data["job"] == job
    assert data["failed"] is True and data["changed"] is False and data["actions"] == []
    assert data["msg"] == "; ".join(e["message"] for e in data["errors"]) and words in data["msg"]


def write_config(path: Path, settings: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def job_failure_config(tmp_path: Path, job: str) -> tuple[Path, str]:
    """A configuration that loads but on which the job fails, and words its message carries."""
    paths = {"state_dir": str(tmp_path / "state"), "bug_reports_dir": str(tmp_path / "no-reports")}
    for key in ROOTS:
        (tmp_path / key).mkdir()
        paths[key] = str(tmp_path / key)
    (tmp_path / "sets_dir" / "config.yaml").write_text("{}\n", encoding="utf-8")
    settings: dict[str, Any] = {"database_url": UNREACHABLE, "paths": paths}
    words = "cannot connect"
    if job == "bugs":  # without a database the reports are files, and their folder is missing
        del settings["database_url"]
        words = "does not exist"
    elif job == "disk":
        settings["disk"] = {"targets": [{"path": str(tmp_path / "gone"), "label": "gone"}]}
        words = "cannot read"
    return write_config(tmp_path / "imgops.yml", settings), words


@pytest.mark.parametrize("job", JOBS)
def test_a_missing_configuration_is_a_usage_envelope(job: str, tmp_path: Path, venv_bin: Path) -> None:
    code, data, stderr = run_json(venv_bin, tmp_path / "absent.yml", *JOBS[job])
    assert code == 2
    assert_failure(data, job, "file not found")
    assert data["errors"][0]["file"] == str(tmp_path / "absent.yml")
    assert f"imgops {job}: error: config" in stderr


@pytest.mark.parametrize("job", JOBS)
def test_an_unknown_configuration_key_is_a_usage_envelope(job: str, tmp_path: Path, venv_bin: Path) -> None:
    config = write_config(tmp_path / "imgops.yml", {"retention": {"scrape_dayz": 3}})
    code, data, _ = run_json(venv_bin, config, *JOBS[job])
    assert code == 2
    assert_failure(data, job, "scrape_dayz")


@pytest.mark.parametrize("job", JOBS)
def test_a_job_failure_is_an_envelope_exiting_1(job: str, tmp_path: Path, venv_bin: Path) -> None:
    config, words = job_failure_config(tmp_path, job)
    code, data, _ = run_json(venv_bin, config, *JOBS[job])
    assert code == 1
    assert_failure(data, job, words)


@pytest.mark.parametrize("job", JOBS)
def test_an_unknown_option_is_a_usage_envelope(job: str, tmp_path: Path, venv_bin: Path) -> None:
    config = write_config(tmp_path / "imgops.yml", {"database_url": UNREACHABLE})
    code, data, stderr = run_json(venv_bin, config, *JOBS[job], "--frobnicate", "--dry-run")
    assert code == 2
    assert_failure(data, job, "unrecognized arguments: --frobnicate")
    assert data["dry_run"] is True and data["errors"][0]["usage"] is True
    assert stderr.startswith("usage: imgops")


def test_a_command_line_naming_no_job_is_a_usage_envelope(tmp_path: Path, venv_bin: Path) -> None:
    code, data, _ = run_json(venv_bin, tmp_path / "absent.yml", "frobnicate")
    assert code == 2
    assert_failure(data, "imgops", "invalid choice: 'frobnicate'")


def test_without_json_a_usage_error_prints_nothing_on_stdout(tmp_path: Path, venv_bin: Path) -> None:
    ran = subprocess.run([str(venv_bin / "imgops"), "thumbnails", "--limit", "-5"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert (ran.returncode, ran.stdout) == (2, "")
    assert "option limit must be at least 1, got -5" in ran.stderr
