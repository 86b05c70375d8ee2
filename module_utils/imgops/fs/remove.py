"""Measuring and removing trees so that no step can be steered outside a root or onto another filesystem.

Every step opens the next folder relative to its parent's descriptor with
O_NOFOLLOW (and checks it is the folder just listed), so a folder swapped for
a symlink mid-run is refused, never followed. Symlinks inside a tree are
measured and removed as links; their targets stay. Removal measures as it
goes: one walk both frees the space and says how much.

No walk recurses: a tree of any depth is walked with an explicit stack, and
only the deepest folders keep a descriptor open; an ancestor whose descriptor
was closed is reopened through ``..`` and checked to be the very folder left.
A folder on another device is never entered (``mount_point``); the mount
table, which also sees bind mounts of the same filesystem, is checked before
anything is removed (``imgops.fs.mounts``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field

from ..errors import SafetyError
from .confine import ConfinedPath
from .mounts import refuse_mount_points

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FD_BUDGET = 64  # folder descriptors one walk keeps open at most (workers walk at once)


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
def _parent_fd(target: ConfinedPath) -> Iterator[int | None]:
    """A descriptor on the target's parent folder, reached without following any symlink (None: it is gone)."""
    fd = os.open(target.root, _DIR_FLAGS)
    try:
        for part in target.relative.parts[:-1]:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:  # an ancestor went (an enclosing folder removed first): nothing left here
                yield None
                return
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


def _refuse_other_device(name: str, st: os.stat_result, device: int) -> None:
    if st.st_dev != device:
        raise SafetyError(
            f"refused {name!r}: it is on another filesystem (a mount point); a purge never crosses into it",
            reason="mount_point",
        )


def _open_listed(where: str, name: str, parent: int, listed: os.stat_result) -> int:
    """Open a folder just listed in ``parent``: never through a symlink, and only the very folder listed."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    if not os.path.samestat(listed, os.fstat(fd)):
        os.close(fd)
        raise SafetyError(f"refused {where!r}: the folder was replaced while it was walked", reason="swapped")
    return fd


def _reopen_parent(child: int, listed: os.stat_result) -> int:
    """The parent of the open folder ``child`` through ``..``, only if it is still the folder walked down from."""
    fd = os.open("..", _DIR_FLAGS, dir_fd=child)
    if not os.path.samestat(listed, os.fstat(fd)):
        os.close(fd)
        raise SafetyError("refused: a folder was moved while it was walked", reason="swapped")
    return fd


def _entries(fd: int, stat_files: bool) -> list[tuple[str, os.stat_result | None]]:
    """A folder's entries with their own (not their targets') status; entries gone meanwhile are left out.

    Without ``stat_files`` only folders are stat'ed (the entry type comes from the listing).
    """
    found: list[tuple[str, os.stat_result | None]] = []
    with os.scandir(fd) as scan:
        for entry in scan:
            try:
                wanted = stat_files or entry.is_dir(follow_symlinks=False)
                found.append((entry.name, entry.stat(follow_symlinks=False) if wanted else None))
            except FileNotFoundError:
                continue
    return found


@dataclass
class _Folder:
    name: str
    listed: os.stat_result
    fd: int | None
    entries: list[tuple[str, os.stat_result | None]]
    position: int = 0


def _walk(
    top: int, top_listed: os.stat_result, *, stat_files: bool = True
) -> Iterator[tuple[int, str, os.stat_result | None, bool]]:
    """Everything below the open folder ``top``, depth first: (parent fd, name, status, is_folder).

    A folder comes after everything in it, so a consumer may remove it then. The
    parent fd is valid until the next item is asked for. Never recurses, never
    follows a symlink, never enters another device; ``top`` itself stays open
    and is not reported. Close the generator (``contextlib.closing``) to release
    descriptors when the consumer stops early.
    """
    device = top_listed.st_dev
    stack = [_Folder("", top_listed, top, _entries(top, stat_files))]
    try:
        while stack:
            folder = stack[-1]
            assert folder.fd is not None
            if folder.position < len(folder.entries):
                name, st = folder.entries[folder.position]
                folder.position += 1
                if st is None or not stat.S_ISDIR(st.st_mode):
                    yield folder.fd, name, st, False
                    continue
                where = "/".join([*(f.name for f in stack[1:]), name])
                _refuse_other_device(where, st, device)
                try:
                    fd = _open_listed(where, name, folder.fd, st)
                except FileNotFoundError:  # removed meanwhile by another run (two purges, one volume)
                    continue
                stack.append(_Folder(name, st, fd, []))
                stack[-1].entries = _entries(fd, stat_files)
                if len(stack) > FD_BUDGET + 1 and (evicted := stack[-FD_BUDGET - 1]).fd is not None:
                    os.close(evicted.fd)
                    evicted.fd = None
                continue
            stack.pop()
            if not stack:
                return
            parent = stack[-1]
            try:
                if parent.fd is None:
                    parent.fd = _reopen_parent(folder.fd, parent.listed)
            finally:
                os.close(folder.fd)
                folder.fd = None
            yield parent.fd, folder.name, folder.listed, True
    finally:
        for folder in stack[1:]:
            if folder.fd is not None:
                os.close(folder.fd)


def _walk_target(target: ConfinedPath, walk: Callable[[int, str, os.stat_result, _Tally], None]) -> TreeUsage:
    """Apply ``walk`` to the target below its confined parent; a file or link is one entry."""
    name = target.relative.name
    tally = _Tally()
    with _parent_fd(target) as parent:
        if parent is None:
            return tally.usage()
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return tally.usage()
        if stat.S_ISDIR(st.st_mode):
            _refuse_other_device(str(target.path), st, os.fstat(parent).st_dev)
        walk(parent, name, st, tally)
    return tally.usage()


@contextmanager
def _open_folder(name: str, parent: int, listed: os.stat_result) -> Iterator[int]:
    fd = _open_listed(name, name, parent, listed)
    try:
        yield fd
    finally:
        os.close(fd)


def _gone_meanwhile() -> suppress:
    """An entry listed, then removed by another run, is already gone."""
    return suppress(FileNotFoundError)


def tree_usage(target: ConfinedPath, *, deep: bool = True) -> TreeUsage:
    """What removing ``target`` would free, without following symlinks (``deep=False``: the top entry only).

    A folder on another device inside it is refused (``mount_point``); the mount
    table is the caller's to check (once for many targets).
    """

    def measure(parent: int, name: str, st: os.stat_result, tally: _Tally) -> None:
        tally.add(st)
        if deep and stat.S_ISDIR(st.st_mode):
            with _open_folder(name, parent, st) as fd, closing(_walk(fd, st)) as entries:
                for _, _, found, _ in entries:
                    assert found is not None
                    tally.add(found)

    return _walk_target(target, measure)


def remove_confined(target: ConfinedPath) -> TreeUsage:
    """Remove ``target`` (file, symlink or folder tree) and return what went (no entries: it was already gone).

    Before anything goes, the mount table and a walk over the tree's folders
    make sure no mount point lies inside; the removal walk checks devices again.
    """
    refuse_mount_points(str(target.path))

    def remove(parent: int, name: str, st: os.stat_result, tally: _Tally) -> None:
        # An entry gone meanwhile was removed by another run (two purges sharing a volume): not an error.
        with _gone_meanwhile():
            if stat.S_ISDIR(st.st_mode):
                with _open_folder(name, parent, st) as fd:
                    with closing(_walk(fd, st, stat_files=False)) as survey:
                        for _ in survey:
                            pass
                    with closing(_walk(fd, st)) as entries:
                        for at, entry, found, is_folder in entries:
                            assert found is not None
                            with _gone_meanwhile():
                                if is_folder:
                                    os.rmdir(entry, dir_fd=at)
                                else:
                                    os.unlink(entry, dir_fd=at)
                                tally.add(found)
                os.rmdir(name, dir_fd=parent)
            else:
                os.unlink(name, dir_fd=parent)
            tally.add(st)
        os.fsync(parent)

    return _walk_target(target, remove)
