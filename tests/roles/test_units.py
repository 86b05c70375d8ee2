"""Every unit the roles install, rendered with each inventory and checked by ``systemd-analyze verify``.

The units are rendered by real ansible-playbook runs (``render_units.yml``) with the inventories'
own variables and a server config.yaml shaped as the shipped one (SERVER_FACTS 1), except that its
scrape root has a space. Each host's units are verified inside a root of their own holding this
machine's system units and a stub imgops command, so ExecStart= resolves; any line systemd prints
(a warning included) fails the test.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_UNITS = Path("/lib/systemd/system")
SERVER_CONFIG = """\
model: {cache_dir: /mnt/speedy/imagineer/models}
outputs: {base_dir: /mnt/speedy/imagineer/outputs, scraped_dir: /mnt/storage/image scrapes}
output: {directory: /mnt/speedy/imagineer/outputs}
sets: {directory: /mnt/speedy/imagineer/sets}
training: {checkpoint_dir: /mnt/speedy/imagineer/checkpoints}
dataset: {data_dir: /mnt/speedy/imagineer/data/training}
bug_reports: {storage_path: /mnt/storage/imagineer/bug_reports, retention_days: 30}
"""
INVENTORIES = {
    "local": ["localhost"],
    "staging": ["gpu-staging-01", "storage-staging-01"],
    "production": ["gpu-01", "gpu-02", "storage-01"],
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each inventory rendered once per module (an ansible-playbook run takes about 20 s here)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}  # fmt: skip
    done: dict[str, Path] = {}

    def get(inventory: str) -> Path:
        if inventory not in done:
            done[inventory] = render(inventory, tmp_path_factory.mktemp(inventory), env)
        return done[inventory]

    return get


def render(inventory: str, base: Path, env: dict[str, str]) -> Path:
    server = base / "srv" / "imagineer" / "config.yaml"
    server.parent.mkdir(parents=True, exist_ok=True)
    server.write_text(SERVER_CONFIG, encoding="utf-8")
    out = base / "hosts"
    run = subprocess.run(
        ["ansible-playbook", "tests/roles/render_units.yml", "-i", f"inventories/{inventory}",
         "-e", f"render_root={out}", "-e", f"render_platform_config={server}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return out


def verify(host_root: Path) -> str:
    """systemd-analyze verify of every imgops unit under ``host_root``; its whole output."""
    shutil.copytree(SYSTEM_UNITS, host_root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    stub = host_root / "opt" / "imgops" / "bin" / "imgops"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\n", encoding="utf-8")
    stub.chmod(0o755)
    units = sorted(str(p) for p in (host_root / "etc" / "systemd" / "system").glob("imgops-*"))
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={host_root}", *units],
                         capture_output=True, text=True, check=False)  # fmt: skip
    return f"rc={run.returncode}\n{run.stdout}{run.stderr}"


def directive(unit: Path, name: str) -> list[str]:
    return [
        line.split("=", 1)[1] for line in unit.read_text(encoding="utf-8").splitlines() if line.startswith(f"{name}=")
    ]


def writable(unit: Path) -> list[str]:
    """ReadWritePaths= as systemd reads it: quoted words, each without its '-' prefix."""
    (value,) = directive(unit, "ReadWritePaths")
    return [word.removeprefix("-") for word in shlex.split(value)]


@pytest.mark.ansible
@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_unit_of_every_host_verifies_without_a_warning(
    inventory: str, rendered: Callable[[str], Path], tmp_path: Path
) -> None:
    hosts = rendered(inventory)
    assert sorted(p.name for p in hosts.iterdir()) == sorted(INVENTORIES[inventory])
    for host in INVENTORIES[inventory]:
        units = sorted(p.name for p in (hosts / host / "etc" / "systemd" / "system").iterdir())
        assert {"imgops-purge.service", "imgops-disk.timer", "imgops-thumbnails.timer"} <= set(units), units
        host_root = tmp_path / host
        shutil.copytree(hosts / host, host_root)
        assert verify(host_root) == "rc=0\n", host


@pytest.mark.ansible
def test_production_units_write_where_the_effective_configuration_points(rendered: Callable[[str], Path]) -> None:
    hosts = rendered("production")
    server_dir = hosts.parent / "srv" / "imagineer"
    units = {host: hosts / host / "etc" / "systemd" / "system" for host in INVENTORIES["production"]}
    gpu02 = units["gpu-02"]
    # gpu-02 sets no paths: every root comes from the server's config.yaml, the space kept whole.
    assert writable(gpu02 / "imgops-purge.service") == [
        "/var/lib/imgops", "/var/lib/prometheus/node-exporter", "/mnt/storage/image scrapes",
        "/mnt/speedy/imagineer/data/training", "/mnt/speedy/imagineer/checkpoints",
        "/mnt/speedy/imagineer/models/lora", str(server_dir / "instance"),
    ]  # fmt: skip
    assert "/mnt/speedy/imagineer/outputs/thumbnails" in writable(gpu02 / "imgops-thumbnails.service")
    assert writable(gpu02 / "imgops-disk.service") == ["/var/lib/imgops", "/var/lib/prometheus/node-exporter"]
    assert directive(gpu02 / "imgops-disk.service", "SuccessExitStatus") == ["75"]
    assert directive(gpu02 / "imgops-purge.service", "SupplementaryGroups") == ["prometheus"]
    # storage-01's own scrape root wins over the server's.
    assert "/mnt/storage/imagineer/scraped" in writable(units["storage-01"] / "imgops-purge.service")
    assert "/mnt/storage/image scrapes" not in writable(units["storage-01"] / "imgops-purge.service")
    # gpu-01 overrides one schedule and switches legacy on, the other jobs keep the defaults.
    assert directive(units["gpu-01"] / "imgops-purge.timer", "OnCalendar") == ["*-*-* 14:15:00"]
    assert directive(gpu02 / "imgops-purge.timer", "OnCalendar") == ["*-*-* 03:15:00"]
    assert directive(units["gpu-01"] / "imgops-thumbnails.timer", "OnCalendar") == ["*:0/30"]
    assert (units["gpu-01"] / "imgops-legacy.service").exists() and not (gpu02 / "imgops-legacy.service").exists()
    assert writable(units["gpu-01"] / "imgops-legacy.service")[2:3] == ["/mnt/speedy/imagineer/data/legacy"]
    # The timers and the playbook read one file; its disk section holds the host's targets.
    config = (hosts / "gpu-01" / "etc" / "imgops" / "imgops.yml").read_text(encoding="utf-8")
    assert "textfile_dir: /var/lib/prometheus/node-exporter" in config and "label: nvme-speedy" in config
    for unit in units["gpu-01"].glob("*.service"):
        assert directive(unit, "ExecStart")[0].startswith('/opt/imgops/bin/imgops --config "/etc/imgops/imgops.yml" ')
    paths = json.loads((hosts / "gpu-01" / "effective_paths.json").read_text(encoding="utf-8"))
    assert paths["reference_packs_dir"] == "/mnt/speedy/image packs"


@pytest.mark.ansible
def test_staging_runs_every_timer_as_a_dry_run_with_its_retention(rendered: Callable[[str], Path]) -> None:
    hosts = rendered("staging")
    for host in INVENTORIES["staging"]:
        folder = hosts / host / "etc" / "systemd" / "system"
        for unit in folder.glob("imgops-*.service"):
            if unit.name != "imgops-disk.service":
                assert " --dry-run " in directive(unit, "ExecStart")[0], unit
        config = (hosts / host / "etc" / "imgops" / "imgops.yml").read_text(encoding="utf-8")
        assert "scrape_days: 14" in config
