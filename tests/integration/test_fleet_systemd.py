"""The fleet as operators run it: three real systemd hosts, bootstrap.yml, then maintenance.yml twice.

Each host is a Debian bookworm root booted with systemd-nspawn (imgops_testing.systemd_host), with its
own platform tree; all three reach one PostgreSQL server over loopback TCP.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from imgops_testing import systemd_host
from imgops_testing.fleet import changed_tasks, failures, recaps, run_playbook
from imgops_testing.pg_server import start_server
from imgops_testing.platform import build_platform

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["gpu-01", "gpu-02", "storage-01"]


@pytest.mark.ansible
@pytest.mark.postgres
def test_three_systemd_hosts_bootstrap_and_converge(tmp_path: Path, ansible_env: dict[str, str]) -> None:
    server = start_server(port=systemd_host.free_port(), listen="127.0.0.1")
    workdir = tmp_path / "hosts"
    # The same absolute path on every host, so the paths in each platform's files and rows hold inside it.
    platform_path = Path(f"/var/tmp/imgops-fleet-{uuid.uuid4().hex[:8]}")
    try:
        database = server.create_database()
        url = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{database}"
        hosts = {}
        for index, name in enumerate(HOSTS):
            connection = systemd_host.up(name, workdir)
            platform = build_platform(platform_path, seed=index + 1, database_url=url if index == 0 else None)
            if index:  # the seeded scrape jobs and training runs ran on the first host
                for root in (platform.scraped_dir, platform.training_dataset_dir, platform.checkpoint_dir):
                    shutil.rmtree(root)
                    root.mkdir()
            config = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
            config.update(database_url=url, legacy={"host": name})
            platform.imgops_config.write_text(yaml.safe_dump(config), encoding="utf-8")
            target = workdir / name / "root" / platform_path.relative_to("/")
            shutil.copytree(platform_path, target, symlinks=True)
            shutil.rmtree(platform_path)
            hosts[name] = {
                "ansible_host": connection["address"], "ansible_port": connection["port"], "ansible_user": "root",
                "ansible_ssh_private_key_file": connection["identity_file"],
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "imgops_config": str(platform_path / "imgops.yml"),
            }  # fmt: skip
        inventory = tmp_path / "hosts.yml"
        shared = {
            "ansible_python_interpreter": "/opt/imgops/bin/python",
            "imgops_report_dir": str(tmp_path / "reports"),
            "imgops_runtime_source_dir": str(ROOT),
            "imgops_runtime_wheelhouse": str(ROOT / ".cache" / "wheelhouse"),
            # Timers stay off here: a timer firing mid-test would race the runs being measured.
            "maintenance_timers_jobs": {"purge": {"command": "purge", "on_calendar": "daily",
                                                         "enabled": False}},
            "disk_alerts_enabled": False,
        }  # fmt: skip
        inventory.write_text(yaml.safe_dump({"all": {"vars": shared, "hosts": hosts}}), encoding="utf-8")

        boot = run_playbook(ansible_env, inventory, "playbooks/bootstrap.yml")
        assert boot.returncode == 0, failures(boot)
        first = run_playbook(ansible_env, inventory, "maintenance.yml")
        assert first.returncode == 0, failures(first)
        second = run_playbook(ansible_env, inventory, "maintenance.yml")
        assert second.returncode == 0, failures(second)
        changed = {host: r["changed"] for host, r in recaps(second.stdout).items()}
        assert changed == dict.fromkeys(HOSTS, 0), changed_tasks(second.stdout)
        engine = create_engine(url)
        with engine.connect() as conn:
            images = conn.execute(text("SELECT count(*) FROM images")).scalar()
            contents = conn.execute(text("SELECT count(DISTINCT sha256) FROM imgops_assets")).scalar()
        engine.dispose()
        assert images == contents > 0

        shutil.rmtree(workdir / "storage-01" / "root" / platform_path.relative_to("/") / "mnt" / "storage"
                      / "imagineer" / "bug_reports")  # fmt: skip
        broken = run_playbook(ansible_env, inventory, "maintenance.yml")
        by_host = recaps(broken.stdout)
        assert broken.returncode != 0
        assert by_host["storage-01"]["failed"] == 1
        assert by_host["gpu-01"]["failed"] == 0 and by_host["gpu-02"]["failed"] == 0
        assert "does not exist" in broken.stdout
    finally:
        for name in HOSTS:
            systemd_host.down(name, workdir)
        shutil.rmtree(platform_path, ignore_errors=True)
        server.stop()
