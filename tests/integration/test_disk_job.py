"""The disk check on a small real filesystem (a tmpfs of 4 MiB and 200 inodes mounted by the test)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgops.config import load_config
from imgops.contracts import problems
from imgops.disk import run_disk_check
from imgops.fs.usage import measure

MIB = 1024 * 1024


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB, 200-inode tmpfs, unmounted at teardown."""
    mount = tmp_path / "fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=200,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def write_config(tmp_path: Path, disk: dict[str, Any]) -> Path:
    path = tmp_path / "imgops.yml"
    path.write_text(yaml.safe_dump({
        "paths": {"state_dir": str(tmp_path / "state")},
        "lock_timeout_seconds": 5,
        "disk": {"textfile_dir": str(tmp_path / "metrics"), **disk},
    }), encoding="utf-8")  # fmt: skip
    return path


def fill(folder: Path, mib: float, name: str = "fill.bin") -> None:
    (folder / name).write_bytes(b"\0" * int(mib * MIB))


def cli(venv_bin: Path, config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([venv_bin / "imgops", "--config", str(config), *args], capture_output=True, text=True,
                          check=False, env=env)  # fmt: skip


def test_space_thresholds_nagios_exit_codes_journald_priorities_and_textfile(
    tmp_path: Path, small_fs: Path, venv_bin: Path
) -> None:
    config = write_config(tmp_path, {"warn_percent": 50, "crit_percent": 80,
                                     "targets": [{"path": str(small_fs), "label": "scratch"}]})  # fmt: skip
    journald = {**os.environ, "JOURNAL_STREAM": "8:12345"}
    expected = [(0.0, "ok", 0, "<6>"), (2.5, "warning", 1, "<4>"), (3.5, "critical", 2, "<2>")]
    for total_mib, severity, code, priority in expected:
        if total_mib:
            fill(small_fs, total_mib)
        ran = cli(venv_bin, config, "disk", "check", "--nagios", env=journald)
        assert ran.returncode == code, ran.stdout + ran.stderr
        assert ran.stdout.startswith(f"DISK {severity.upper()} - scratch")
        assert "'scratch'=" in ran.stdout and ";50;80;0;100" in ran.stdout  # perfdata with thresholds
        [line] = [ln for ln in ran.stderr.splitlines() if '"disk_usage"' in ln]
        assert line.startswith(priority)
        logged = json.loads(line[len(priority) :])
        assert (logged["target"], logged["severity"], logged["mount"]) == ("scratch", severity, str(small_fs))

        as_json = cli(venv_bin, config, "--json", "disk", "check")
        assert as_json.returncode == 0
        data = json.loads(as_json.stdout)
        assert problems(data, "disk_result") == [] and data["changed"] is False
        [target] = data["summary"]["targets"]
        assert target["severity"] == severity
        assert target["used_percent"] == pytest.approx(measure(small_fs).used_percent, abs=0.01)
    prom = (tmp_path / "metrics" / "imgops_disk.prom").read_text(encoding="utf-8")
    assert "# HELP imgops_disk_severity" in prom and "# TYPE imgops_disk_severity gauge" in prom
    assert f'imgops_disk_severity{{mountpoint="{small_fs}"}} 2' in prom
    assert f'imgops_disk_warning_ratio{{mountpoint="{small_fs}",resource="space"}} 0.5' in prom
    assert "imgops_disk_size_bytes" not in prom  # node_exporter's node_filesystem_size_bytes says it
    written = sorted(os.listdir(tmp_path / "metrics"))  # no temp file left
    assert written == ["imgops_disk.prom", "imgops_job_disk.prom", "imgops_job_disk_success.prom"]


def test_inode_thresholds_default_to_space_thresholds_and_targets_override(tmp_path: Path, small_fs: Path) -> None:
    for i in range(150):
        (small_fs / f"f{i:03d}").touch()
    config = load_config(write_config(tmp_path, {"warn_percent": 70, "crit_percent": 90, "targets": [
        {"path": str(small_fs), "label": "inherits"},
        {"path": str(small_fs), "label": "overrides", "inode_crit_percent": 74},
        {"path": str(small_fs), "label": "floor", "warn_percent": 99, "crit_percent": 100, "inode_warn_percent": 99,
         "inode_crit_percent": 100, "min_free_bytes": 8 * MIB},
    ]}), environ={})  # fmt: skip
    result = run_disk_check(config)
    by_label = {t["target"]: t for t in result.summary["targets"]}
    inherits = by_label["inherits"]
    assert inherits["inodes_total"] == 200 and inherits["inode_used_percent"] >= 75
    assert inherits["severity"] == "warning" and inherits["reasons"][0].startswith("inodes ")
    assert inherits["thresholds"]["inode_warn_percent"] == 70
    assert by_label["overrides"]["severity"] == "critical"
    assert by_label["floor"]["severity"] == "critical" and "floor" in by_label["floor"]["reasons"][0]
    assert result.summary["severity"] == "critical" and result.summary["critical"] == 2
    assert result.summary["alerts"] == 3
    for i in range(150, 185):
        (small_fs / f"f{i:03d}").touch()
    assert run_disk_check(config).summary["targets"][0]["severity"] == "critical"  # >= 90% of inodes


def test_forecast_from_history_and_dry_run_writes_nothing(tmp_path: Path, small_fs: Path) -> None:
    config = load_config(write_config(tmp_path, {"targets": [{"path": str(small_fs), "label": "scratch"}]}), {})
    now = datetime(2026, 1, 10, tzinfo=UTC)
    planned = run_disk_check(config, dry_run=True, now=now)
    assert planned.summary["history"] is None and planned.summary["textfile"] is None
    assert not (tmp_path / "state" / "disk_history.json").exists() and not (tmp_path / "metrics").exists()

    day = timedelta(days=1)
    fill(small_fs, 0.5, "day0.bin")
    assert run_disk_check(config, now=now - 2 * day).summary["targets"][0]["days_until_full"] is None
    fill(small_fs, 0.5, "day1.bin")
    run_disk_check(config, now=now - day)
    fill(small_fs, 0.5, "day2.bin")
    [target] = run_disk_check(config, now=now).summary["targets"]
    assert target["growth_bytes_per_day"] == pytest.approx(0.5 * MIB, rel=0.05)
    assert target["days_until_full"] == pytest.approx(target["free_bytes"] / (0.5 * MIB), rel=0.05)
    history = json.loads((tmp_path / "state" / "disk_history.json").read_text(encoding="utf-8"))
    assert len(history["filesystems"][str(small_fs)]) == 3
    prom = (tmp_path / "metrics" / "imgops_disk.prom").read_text(encoding="utf-8")
    [full_in] = [line for line in prom.splitlines() if line.startswith("imgops_disk_full_in_seconds{")]
    assert float(full_in.split()[-1]) == pytest.approx(target["days_until_full"] * 86400, rel=0.01)

    later = run_disk_check(config, now=now + 30 * day)  # the window (7 days) dropped the old samples
    assert later.summary["targets"][0]["days_until_full"] is None
    assert later.changed is False and later.actions == []


def test_a_missing_target_is_unknown_and_fails(tmp_path: Path, venv_bin: Path) -> None:
    config = write_config(tmp_path, {"targets": [{"path": str(tmp_path / "absent"), "label": "gone"}]})
    ran = cli(venv_bin, config, "disk", "check", "--nagios")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert ran.stdout.startswith("DISK UNKNOWN - gone cannot read")
    plain = cli(venv_bin, config, "disk", "check")
    assert plain.returncode == 1


def test_a_broken_configuration_is_unknown_to_monitoring_and_a_usage_error_otherwise(
    tmp_path: Path, venv_bin: Path
) -> None:
    config = write_config(tmp_path, {"targets": [{"path": str(tmp_path), "label": "x", "inode_warn_percent": 99}]})
    ran = cli(venv_bin, config, "disk", "check", "--nagios")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert (
        ran.stdout == f"DISK UNKNOWN - config {config}: key 'disk.targets[0].inode_warn_percent' (99) is above "
        "inode_crit_percent (95)\n"
    )
    plain = cli(venv_bin, config, "disk", "check")
    assert plain.returncode == 2 and plain.stdout == ""


def test_filesystems_of_configured_roots_are_checked_once_each(tmp_path: Path, small_fs: Path) -> None:
    (small_fs / "scraped").mkdir()
    (small_fs / "checkpoints").mkdir()
    path = write_config(tmp_path, {"targets": [{"path": str(tmp_path), "label": "home"}]})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["paths"].update(scraped_dir=str(small_fs / "scraped"), checkpoint_dir=str(small_fs / "checkpoints"))
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    targets = run_disk_check(load_config(path, environ={})).summary["targets"]
    assert [(t["target"], t["mount"]) for t in targets] == [
        ("home", str(measure(tmp_path).mount)),
        ("scraped_dir", str(small_fs)),  # checkpoint_dir is on the same filesystem: not repeated
    ]


def test_a_path_with_control_characters_is_printed_escaped(tmp_path: Path, venv_bin: Path) -> None:
    forged = tmp_path / "gone\x1b[32m\nDISK OK - all fine | 'x'=1%"
    config = tmp_path / "imgops.yml"
    config.write_text(json.dumps({"paths": {"state_dir": str(tmp_path / "state")},
                                  "disk": {"targets": [{"path": str(forged)}]}}), encoding="utf-8")  # fmt: skip
    nagios = cli(venv_bin, config, "disk", "check", "--nagios")
    assert nagios.returncode == 3 and nagios.stdout.count("\n") == 1 and "\x1b" not in nagios.stdout
    assert nagios.stdout.startswith("DISK UNKNOWN - ") and "\\x1b[32m\\nDISK OK - all fine / " in nagios.stdout
    plain = cli(venv_bin, config, "disk", "check")
    assert "\x1b" not in plain.stdout and not any(line.startswith("DISK OK") for line in plain.stdout.splitlines())
    as_json = cli(venv_bin, config, "--json", "disk", "check")
    assert json.loads(as_json.stdout)["summary"]["targets"][0]["path"] == str(forged)
