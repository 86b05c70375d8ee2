"""Removal that cannot be steered outside a root.

Every step opens the next folder relative to its parent's descriptor with
O_NOFOLLOW, and the tree itself goes through shutil.rmtree's descriptor-based
walk, so a folder swapped for a symlink mid-run is refused, never followed.
Symlinks inside a removed tree are removed as links; their targets stay.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import SafetyError
from .confine import ConfinedPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class TreeUsage:
    """Disk space a tree holds: bytes allocated (st_blocks) and apparent bytes, files counted."""

    allocated_bytes: int
    apparent_bytes: int
    entries: int


@contextmanager
def _parent_fd(target: ConfinedPath) -> Iterator[int]:
    """A descriptor on the target's parent folder, reached without following any symlink."""
    fd = os.open(target.root, _DIR_FLAGS)
    try:
        for part in target.relative.parts[:-1]:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise SafetyError(
                    f"refused {target.path}: component {part!r} is no longer a plain folder ({exc.strerror})",
                    path=str(target.path),
                    reason="swapped",
                ) from None
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def tree_usage(target: ConfinedPath) -> TreeUsage:
    """Measure what removing ``target`` would free, without following symlinks."""
    name = target.relative.name
    with _parent_fd(target) as parent:
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return TreeUsage(0, 0, 0)
        if not stat.S_ISDIR(st.st_mode):
            return TreeUsage(st.st_blocks * 512, st.st_size, 1)
        allocated, apparent, entries = st.st_blocks * 512, st.st_size, 1
        seen: set[tuple[int, int]] = set()
        for _dirpath, dirnames, filenames, dir_fd in os.fwalk(name, dir_fd=parent, follow_symlinks=False):
            for entry in (*dirnames, *filenames):
                try:
                    est = os.lstat(entry, dir_fd=dir_fd)
                except FileNotFoundError:
                    continue
                entries += 1
                if (est.st_dev, est.st_ino) in seen:
                    continue
                seen.add((est.st_dev, est.st_ino))
                allocated += est.st_blocks * 512
                apparent += est.st_size
        return TreeUsage(allocated, apparent, entries)


def remove_confined(target: ConfinedPath) -> bool:
    """Remove ``target`` (file, symlink or folder tree). False when it was already gone."""
    name = target.relative.name
    with _parent_fd(target) as parent:
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)
        os.fsync(parent)
        return True
