"""Measuring and removing trees so that no step can be steered outside a root.

Every step opens the next folder relative to its parent's descriptor with
O_NOFOLLOW (and checks it is the folder just listed), so a folder swapped for
a symlink mid-run is refused, never followed. Symlinks inside a tree are
measured and removed as links; their targets stay. Removal measures as it
goes: one walk both frees the space and says how much.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import SafetyError
from .confine import ConfinedPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class TreeUsage:
    """Disk space a tree holds: bytes allocated (st_blocks) and apparent bytes, files counted."""

    allocated_bytes: int
    apparent_bytes: int
    entries: int


@dataclass
class _Tally:
    """Running totals of a walk; a file with several links inside the tree counts once."""

    allocated: int = 0
    apparent: int = 0
    entries: int = 0
    linked: set[tuple[int, int]] = field(default_factory=set)

    def add(self, st: os.stat_result) -> None:
        self.entries += 1
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in self.linked:
                return
            self.linked.add((st.st_dev, st.st_ino))
        self.allocated += st.st_blocks * 512
        self.apparent += st.st_size

    def usage(self) -> TreeUsage:
        return TreeUsage(self.allocated, self.apparent, self.entries)


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


@contextmanager
def _open_folder(name: str, parent: int, listed: os.stat_result) -> Iterator[int]:
    """Open a folder just listed in ``parent``: never through a symlink, and only the very folder listed."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        if not os.path.samestat(listed, os.fstat(fd)):
            raise SafetyError(f"refused {name!r}: the folder was replaced while it was walked", reason="swapped")
        yield fd
    finally:
        os.close(fd)


def _entries(fd: int) -> list[tuple[str, os.stat_result]]:
    """A folder's entries with their own (not their targets') status; entries gone meanwhile are left out."""
    found = []
    with os.scandir(fd) as scan:
        for entry in scan:
            try:
                found.append((entry.name, entry.stat(follow_symlinks=False)))
            except FileNotFoundError:
                continue
    return found


def _tally_tree(fd: int, tally: _Tally) -> None:
    for name, st in _entries(fd):
        tally.add(st)
        if stat.S_ISDIR(st.st_mode):
            with _open_folder(name, fd, st) as sub:
                _tally_tree(sub, tally)


def _remove_tree(fd: int, tally: _Tally) -> None:
    """Empty the open folder ``fd``: files and links unlinked, folders emptied then removed."""
    for name, st in _entries(fd):
        if stat.S_ISDIR(st.st_mode):
            with _open_folder(name, fd, st) as sub:
                _remove_tree(sub, tally)
            os.rmdir(name, dir_fd=fd)
        else:
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                continue
        tally.add(st)


def _walk_target(target: ConfinedPath, walk: Callable[[int, str, os.stat_result, _Tally], None]) -> TreeUsage:
    """Apply ``walk`` to the target below its confined parent; a file or link is one entry."""
    name = target.relative.name
    tally = _Tally()
    with _parent_fd(target) as parent:
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return tally.usage()
        walk(parent, name, st, tally)
    return tally.usage()


def tree_usage(target: ConfinedPath, *, deep: bool = True) -> TreeUsage:
    """What removing ``target`` would free, without following symlinks (``deep=False``: the top entry only)."""

    def measure(parent: int, name: str, st: os.stat_result, tally: _Tally) -> None:
        tally.add(st)
        if deep and stat.S_ISDIR(st.st_mode):
            with _open_folder(name, parent, st) as fd:
                _tally_tree(fd, tally)

    return _walk_target(target, measure)


def remove_confined(target: ConfinedPath) -> TreeUsage:
    """Remove ``target`` (file, symlink or folder tree) and return what went (no entries: it was already gone)."""

    def remove(parent: int, name: str, st: os.stat_result, tally: _Tally) -> None:
        if stat.S_ISDIR(st.st_mode):
            with _open_folder(name, parent, st) as fd:
                _remove_tree(fd, tally)
            os.rmdir(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)
        tally.add(st)
        os.fsync(parent)

    return _walk_target(target, remove)
