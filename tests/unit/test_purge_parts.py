"""The purge's parts on their own: the path index, the mount table, the server's log rule, the walk's guards."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgops.errors import SafetyError
from imgops.fs import confine, remove_confined, tree_usage
from imgops.fs import remove as remove_module
from imgops.fs.mounts import mount_table, refuse_mount_points
from imgops.fs.pathindex import PathIndex
from imgops.server_paths import training_log_path


def test_the_path_index_compares_whole_components() -> None:
    index = PathIndex([("/a/b", "ab"), ("/a/b/c/d", "abcd"), ("/a/bc", "abc"), ("/a/b/../x", "ax"), ("/", "root")])
    assert sorted(index.within("/a/b")) == ["ab", "abcd"]
    assert index.within("/a/b/") == index.within("/a/b")
    assert sorted(index.above("/a/b/c")) == ["ab", "root"]
    assert sorted(index.overlapping("/a/b/c")) == ["ab", "abcd", "root"]
    assert index.within("/a/x") == ["ax"] and index.within("/a/b/e") == []


def test_the_mount_table_reads_escaped_mount_points(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "42 27 254:0 /src /srv/my\\040jobs/job_1/mnt rw,relatime - ext4 /dev/vda rw\n",
        encoding="utf-8",
    )
    mounts = mount_table(str(table))
    assert mounts.within("/srv/my jobs") == ["/srv/my jobs/job_1/mnt"]
    with pytest.raises(SafetyError) as refused:
        refuse_mount_points("/srv/my jobs/job_1", mounts)
    assert refused.value.details["reason"] == "mount_point"
    refuse_mount_points("/srv/my jobs/job_2", mounts)
    with pytest.raises(SafetyError, match="cannot read the mount table"):
        mount_table(str(tmp_path / "absent"))


def test_the_log_follows_the_servers_rule() -> None:
    lora = Path("/m/lora")
    assert training_log_path(7, "/m/lora/trained_7", lora) == "/m/lora/logs/training_7.log"
    assert training_log_path(7, "/out/trained/model.safetensors", lora) == "/out/trained/logs/training_7.log"
    assert training_log_path(7, "", lora) == "/m/lora/logs/training_7.log"
    assert training_log_path(7, "", None) is None


def _deep(top: Path, levels: int) -> None:
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(levels):
        os.mkdir("d", dir_fd=fd)
        next_fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = next_fd
    os.close(fd)


@pytest.fixture
def few_descriptors() -> Iterator[None]:
    """At most 200 open files, as a tight service limit allows: a walk holding one fd per level would fail."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_deep_walk_keeps_few_descriptors_open(tmp_path: Path, few_descriptors: None) -> None:
    (tmp_path / "job").mkdir()
    _deep(tmp_path / "job", 1_000)
    target = confine("job", tmp_path)
    assert tree_usage(target).entries == 1_001
    assert remove_confined(target).entries == 1_001
    assert os.listdir(tmp_path) == []


def test_the_walk_refuses_a_folder_moved_away_from_under_it(tmp_path: Path) -> None:
    """An ancestor reopened through '..' must be the folder walked down from; a moved one is refused."""
    (tmp_path / "job").mkdir()
    _deep(tmp_path / "job", remove_module.FD_BUDGET + 5)
    target = confine("job", tmp_path)
    original = remove_module._reopen_parent
    moved = []

    def move_once(child: int, listed: os.stat_result) -> int:
        if not moved:  # the first ascent past the descriptor budget: move the open folder to another parent
            moved.append(True)
            os.rename(os.readlink(f"/proc/self/fd/{child}"), tmp_path / "moved")
        return original(child, listed)

    remove_module._reopen_parent = move_once
    try:
        with pytest.raises(SafetyError) as refused:
            tree_usage(target)
    finally:
        remove_module._reopen_parent = original
    assert refused.value.details["reason"] == "swapped"


@pytest.fixture
def tmpfs_inside(tmp_path: Path) -> Iterator[Path]:
    """A folder ``job`` holding a tmpfs at ``job/cache`` with one file; unmounted afterwards."""
    cache = tmp_path / "job" / "cache"
    cache.mkdir(parents=True)
    (tmp_path / "job" / "a.bin").write_bytes(b"a" * 10)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(cache)], check=True)
    try:
        (cache / "keep.bin").write_bytes(b"k" * 10)
        yield tmp_path / "job"
    finally:
        subprocess.run(["umount", "-l", str(cache)], check=True)


def test_the_walk_never_enters_another_device(tmpfs_inside: Path) -> None:
    target = confine("job", tmpfs_inside.parent)
    with pytest.raises(SafetyError) as refused:
        tree_usage(target)
    assert refused.value.details["reason"] == "mount_point"


def test_removal_refuses_another_device_even_when_the_mount_table_misses_it(
    tmpfs_inside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second guard: with the table check switched off, the device check refuses before anything goes."""
    monkeypatch.setattr(remove_module, "refuse_mount_points", lambda path: None)
    with pytest.raises(SafetyError) as refused:
        remove_confined(confine("job", tmpfs_inside.parent))
    assert refused.value.details["reason"] == "mount_point"
    assert (tmpfs_inside / "a.bin").exists() and (tmpfs_inside / "cache" / "keep.bin").exists()
