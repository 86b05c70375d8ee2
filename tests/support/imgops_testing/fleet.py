"""A fleet of inventory hosts on this machine: each its own platform tree and config, one shared database."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from imgops_testing import REPO_ROOT
from imgops_testing.platform import DemoPlatform, build_platform


def build_fleet(base: Path, names: list[str], database_url: str) -> tuple[Path, dict[str, DemoPlatform]]:
    """Build one platform per host; the first seeds the shared database, the others only point at it."""
    platforms: dict[str, DemoPlatform] = {}
    for index, name in enumerate(names):
        url = database_url if index == 0 else None  # only the first host creates and seeds the tables
        platform = build_platform(base / name, seed=index + 1, database_url=url)
        if index:  # the seeded scrape jobs and training runs ran on the first host: only it holds their folders
            for root in (platform.scraped_dir, platform.training_dataset_dir, platform.checkpoint_dir):
                shutil.rmtree(root)
                root.mkdir()
        config = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
        config["database_url"] = database_url
        config["legacy"] = {"host": name}  # real hosts differ by hostname; these all run on this machine
        platform.imgops_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        platforms[name] = platform
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "imgops_config": str(platform.imgops_config),
        }
        for name, platform in platforms.items()
    }
    inventory = base / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"vars": {"imgops_report_dir": str(base / "reports")}, "hosts": hosts}}),
        encoding="utf-8",
    )
    return inventory, platforms


def run_playbook(env: dict[str, str], inventory: Path, playbook: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", playbook, "-i", str(inventory)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


def recaps(output: str) -> dict[str, dict[str, int]]:
    """Each host's PLAY RECAP figures."""
    return {
        host: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", figures)}
        for host, figures in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)
    }


def changed_tasks(output: str) -> list[str]:
    """``host: task`` for every task that reported a change."""
    found, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[6:].split("]")[0]
        found.extend(f"{host}: {task}" for host in re.findall(r"^changed: \[([^\]]+)\]", line))
    return found


def failures(done: subprocess.CompletedProcess[str]) -> str:
    """The task failures of a run, for assertion messages."""
    lines = done.stdout.splitlines()
    picked = [" ".join(lines[i : i + 6]) for i, line in enumerate(lines) if "fatal:" in line or "FAILED!" in line]
    return "\n".join(picked) or done.stdout[-3000:] + done.stderr[-2000:]
