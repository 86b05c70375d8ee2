"""A hostile or broken configuration through the real CLI: exit 2 naming the key or the file, never a
traceback or a hang, and never a number that silently turns a check off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def imgops(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgops.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("disk:\n  warn_percent: .nan\n", "disk.warn_percent"),
        ("disk:\n  crit_percent: .inf\n", "disk.crit_percent"),
        ("disk:\n  targets:\n    - path: /\n      inode_warn_percent: -.inf\n", "disk.targets[0].inode_warn_percent"),
        ("disk:\n  forecast_window_days: .nan\n", "disk.forecast_window_days"),
        ("disk:\n  forecast_window_days: 1.0e+400\n", "disk.forecast_window_days"),
        ("lock_timeout_seconds: .nan\n", "lock_timeout_seconds"),
        ("lock_timeout_seconds: 1e400\n", "lock_timeout_seconds"),  # YAML 1.1: a string, not a number
        ("retention:\n  scrape_days: 1000000000000\n", "retention.scrape_days"),
        ("retention:\n  training_days: -1\n", "retention.training_days"),
        ("disk:\n  min_free_bytes: 1" + "0" * 40 + "\n", "disk.min_free_bytes"),
        ("thumbnails:\n  size: 100000000\n", "thumbnails.size"),
    ],
)
def test_a_number_that_is_not_a_usable_number_is_exit_2_naming_the_key(
    tmp_path: Path, yaml_text: str, key: str
) -> None:
    config = tmp_path / "imgops.yml"
    config.write_text(f"paths:\n  state_dir: {tmp_path / 'state'}\n" + yaml_text, encoding="utf-8")
    text = imgops(config, "disk", "check")
    assert text.returncode == 2, text.stderr
    assert key in text.stderr and "Traceback" not in text.stderr
    as_json = imgops(config, "--json", "disk", "check")
    assert as_json.returncode == 2
    envelope = json.loads(as_json.stdout)
    assert envelope["failed"] is True and key in envelope["msg"]
    assert not (tmp_path / "state" / "disk_history.json").exists()


def test_enormous_retention_never_reaches_the_purge(tmp_path: Path) -> None:
    """10**12 days would overflow ``timedelta`` in the purge; the schema's bound refuses it first."""
    config = tmp_path / "imgops.yml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'db.sqlite'}\npaths:\n  scraped_dir: {tmp_path}\n"
        "retention:\n  scrape_days: 1000000000000\n",
        encoding="utf-8",
    )
    ran = imgops(config, "purge", "scrape")
    assert ran.returncode == 2 and "retention.scrape_days" in ran.stderr and "Traceback" not in ran.stderr


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: os.mkfifo(path), "is a FIFO, not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "is a character device"),
        (lambda path: path.mkdir(), "is a directory"),
        (lambda path: path.write_text(alias_bomb(), encoding="utf-8"), "expands to more than"),
        (lambda path: path.write_text("a: " + "[" * 100_000 + "]" * 100_000, encoding="utf-8"), "nested"),
        (lambda path: path.write_text("a: " + "{b: " * 70 + "1" + "}" * 70, encoding="utf-8"), "nested deeper"),
        (lambda path: path.write_bytes(b"# " + b"x" * (2 * 1024 * 1024)), "byte limit"),
    ],
    ids=["fifo", "device", "directory", "alias-bomb", "deep-flow", "deep-mapping", "oversized"],
)
def test_a_config_file_that_is_not_a_plain_small_yaml_file_is_exit_2(tmp_path: Path, make, expected: str) -> None:
    config = tmp_path / "imgops.yml"
    make(config)
    ran = imgops(config, "disk", "check")
    assert ran.returncode == 2, ran.stderr
    assert expected in ran.stderr and str(config) in ran.stderr and "Traceback" not in ran.stderr


def test_the_platform_config_and_the_database_url_file_are_read_the_same_way(tmp_path: Path) -> None:
    platform = tmp_path / "config.yaml"
    os.mkfifo(platform)
    config = tmp_path / "imgops.yml"
    config.write_text("platform_config: config.yaml\n", encoding="utf-8")
    ran = imgops(config, "disk", "check")
    assert ran.returncode == 2 and "platform_config" in ran.stderr and "is a FIFO" in ran.stderr
    platform.unlink()
    platform.write_text(alias_bomb(), encoding="utf-8")
    ran = imgops(config, "disk", "check")
    assert ran.returncode == 2 and "expands to more than" in ran.stderr
    secret = tmp_path / "database_url"
    os.mkfifo(secret)
    config.write_text("database_url_file: database_url\n", encoding="utf-8")
    ran = imgops(config, "db", "status")
    assert ran.returncode == 2 and "database_url_file" in ran.stderr and "is a FIFO" in ran.stderr
