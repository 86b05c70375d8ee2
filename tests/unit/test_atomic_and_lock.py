"""Atomic writes survive crashes whole; job locks keep two runs apart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgops.errors import LockHeldError
from imgops.fs import PRIVATE_MODE, atomic_create_bytes, atomic_write_bytes, job_lock
from imgops.fs.stale import remove_stale_temporaries

OLD, NEW = b"o" * 4_000_000, b"n" * 4_000_000


def test_create_never_replaces_an_existing_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "7.webp"
    assert atomic_create_bytes(target, b"first") is True
    assert atomic_create_bytes(target, b"second") is False
    (tmp_path / "8.webp").symlink_to(tmp_path / "elsewhere")  # a dangling link is a name taken too
    assert atomic_create_bytes(tmp_path / "8.webp", b"x") is False
    assert target.read_bytes() == b"first" and sorted(p.name for p in tmp_path.iterdir()) == ["7.webp", "8.webp"]


def test_stale_temps_of_one_naming_only_are_removed(tmp_path: Path) -> None:
    for name in (".7.webp.a1_b2c3.tmp", ".12.webp.zz9.tmp", ".report.json.a1.tmp", "7.webp", ".7.webp.tmp"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".9.webp.link.tmp").symlink_to(tmp_path / "7.webp")
    removed = remove_stale_temporaries(tmp_path, re.compile(r"[0-9]+\.webp"))
    assert removed == [".12.webp.zz9.tmp", ".7.webp.a1_b2c3.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".7.webp.tmp", ".9.webp.link.tmp", ".report.json.a1.tmp",
                                                          "7.webp"]  # fmt: skip


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


@pytest.fixture(params=[0o077, 0o022], ids=["umask077", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_a_new_file_takes_the_umask_and_an_explicit_mode_wins(tmp_path: Path, umask: int) -> None:
    atomic_write_bytes(tmp_path / "index.json", b"{}")
    assert (tmp_path / "index.json").stat().st_mode & 0o777 == 0o666 & ~umask
    atomic_write_bytes(tmp_path / "personal.json", b"{}", mode=PRIVATE_MODE)
    assert (tmp_path / "personal.json").stat().st_mode & 0o777 == 0o600
    atomic_write_bytes(tmp_path / "imgops_disk.prom", b"", mode=0o644)  # node_exporter must read it
    assert (tmp_path / "imgops_disk.prom").stat().st_mode & 0o777 == 0o644
    atomic_write_bytes(tmp_path / "personal.json", b"{}")  # a rewrite keeps the file's mode
    assert (tmp_path / "personal.json").stat().st_mode & 0o777 == 0o600


def test_a_failure_mid_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(OLD)

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, NEW)
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


WRITER = textwrap.dedent("""
    import sys
    from imgops.fs import atomic_write_bytes
    target, i = sys.argv[1], 0
    while True:
        atomic_write_bytes(target, (b"n" if i % 2 else b"o") * 4_000_000)
        i += 1
""")


def test_kill_9_at_any_moment_leaves_one_whole_version(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(OLD)
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31, 0.37):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert target.read_bytes() in (OLD, NEW)
    # Killed writers may leave a temp file beside the target, never a torn target.
    assert all(p.name == "report.json" or p.name.startswith(".report.json.") for p in tmp_path.iterdir())


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from imgops.fs import job_lock
    with job_lock(Path(sys.argv[1]), "purge", timeout=0):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_a_second_run_waits_then_gives_up_naming_the_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(LockHeldError) as caught, job_lock(tmp_path, "purge", timeout=0.5):
            pass
        assert time.monotonic() - started >= 0.5
        assert "already running" in caught.value.message
        assert str(holder.pid) in caught.value.message
        with job_lock(tmp_path, "disk", timeout=0):  # another job's lock is independent
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_taken_once_the_holder_finishes(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "0.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with job_lock(tmp_path, "purge", timeout=10) as path:
        assert path.read_text(encoding="ascii").strip() == str(os.getpid())
    holder.wait()
