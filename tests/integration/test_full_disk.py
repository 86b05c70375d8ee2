"""A full filesystem under the state folder or the metrics folder: a clear result, never a traceback,
no partial file, and a re-run after space is freed completes. The filesystem is a real, small tmpfs
(the tests run as root) filled to the last byte."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from imgops_testing.platform import DemoPlatform


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs with 128 inodes, filled by ``fill`` and emptied by ``free``; always unmounted afterwards."""
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,nr_inodes=128,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(mount: Path) -> None:
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def use_every_inode(mount: Path) -> None:
    (mount / "inodes").mkdir()
    try:
        for i in range(1000):
            (mount / "inodes" / str(i)).touch()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC


def free(mount: Path) -> None:
    (mount / "filler").unlink()


def leftovers(mount: Path) -> list[str]:
    return sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.name.endswith(".tmp"))


def imgops(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(config), *args],
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip


def test_disk_check_with_its_state_and_metrics_on_a_full_filesystem(tmp_path: Path, full_fs: Path) -> None:
    config = tmp_path / "imgops.yml"
    config.write_text(json.dumps({
        "paths": {"state_dir": str(full_fs / "state")},
        "metrics": {"textfile_dir": str(full_fs / "textfile")},
        "disk": {"targets": [{"path": str(full_fs), "label": "full"}]},
    }), encoding="utf-8")  # fmt: skip
    fill(full_fs)

    nagios = imgops(config, "disk", "check", "--nagios")
    assert nagios.returncode == 2 and nagios.stdout.startswith("DISK CRITICAL - full "), nagios.stderr
    assert "Traceback" not in nagios.stderr
    as_json = imgops(config, "--json", "disk", "check")
    envelope = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and envelope["summary"]["severity"] == "critical"
    notices = " ".join(n["message"] for n in envelope["notices"])
    assert "disk history not saved" in notices and "No space left on device" in notices
    assert "metrics not written" in notices
    assert leftovers(full_fs) == []
    assert not (full_fs / "state" / "disk_history.json").exists()

    free(full_fs)
    again = imgops(config, "--json", "disk", "check")
    assert again.returncode == 0 and json.loads(again.stdout)["notices"] == []
    assert (full_fs / "state" / "disk_history.json").is_file()
    assert (full_fs / "textfile" / "imgops_disk.prom").is_file()
    assert (full_fs / "textfile" / "imgops_job_disk_success.prom").is_file()


def purge_config(platform: DemoPlatform, **overrides: object) -> Path:
    raw = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = platform.root / "imgops-test.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_purge_with_its_state_folder_full_removes_nothing_then_completes(
    sqlite_platform: DemoPlatform, full_fs: Path
) -> None:
    config = purge_config(sqlite_platform, paths={"state_dir": str(full_fs / "state")},
                          metrics={"textfile_dir": str(full_fs / "textfile")})  # fmt: skip
    job_1 = sqlite_platform.scraped_dir / "job_1"
    assert job_1.is_dir()
    (full_fs / "state").mkdir()
    fill(full_fs)

    for args in (("purge",), ("--json", "purge")):
        ran = imgops(config, *args)
        assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
        assert job_1.is_dir()  # the journal is written before any removal: nothing went
    envelope = json.loads(ran.stdout)
    assert [e["kind"] for e in envelope["errors"]] == ["scrape", "training"]  # one kind's failure skips no other
    assert all("No space left on device" in e["message"] and "journal" in e["message"] for e in envelope["errors"])
    assert leftovers(full_fs) == []

    free(full_fs)
    ran = imgops(config, "--json", "purge")
    assert ran.returncode == 0, ran.stdout
    assert not job_1.exists() and json.loads(ran.stdout)["summary"]["paths_removed"] >= 3


def test_one_purge_kind_failing_does_not_skip_the_other(sqlite_platform: DemoPlatform, tmp_path: Path) -> None:
    config = purge_config(sqlite_platform, paths={"state_dir": str(tmp_path / "state")})
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "purge-scrape.journal.json").write_text("{not json", encoding="utf-8")
    ran = imgops(config, "--json", "purge")
    envelope = json.loads(ran.stdout)
    assert ran.returncode == 1 and [e["kind"] for e in envelope["errors"]] == ["scrape"]
    assert "purge journal" in envelope["errors"][0]["message"]
    removed = [a["target"] for a in envelope["actions"] if a["kind"] == "remove"]
    assert removed and all("/training/" in path or "/checkpoints/" in path for path in removed)
    assert (sqlite_platform.scraped_dir / "job_1").is_dir()


def test_a_check_that_cannot_even_take_its_lock_is_unknown_naming_the_path(tmp_path: Path, full_fs: Path) -> None:
    config = tmp_path / "imgops.yml"
    state = full_fs / "state"
    config.write_text(json.dumps({"paths": {"state_dir": str(state)},
                                  "disk": {"targets": [{"path": str(tmp_path)}]}}), encoding="utf-8")  # fmt: skip
    use_every_inode(full_fs)
    nagios = imgops(config, "disk", "check", "--nagios")
    assert nagios.returncode == 3 and nagios.stdout.count("\n") == 1, nagios.stderr
    assert nagios.stdout.startswith(f"DISK UNKNOWN - No space left on device: {state}")
    as_json = imgops(config, "--json", "disk", "check")
    envelope = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and envelope["failed"] is True and envelope["errors"][0]["errno"] == "ENOSPC"
    assert "free space there and run again" in envelope["msg"] and "Traceback" not in as_json.stderr
    shutil.rmtree(full_fs / "inodes")
    assert imgops(config, "disk", "check", "--nagios").stdout.startswith("DISK ")
    assert (state / "disk_history.json").is_file()
