"""Stages 3 and 4: the thumbnails folder, and image files no row references.

Folders are listed with ``os.scandir`` without following symlinked folders. A file is referenced
when a row names its path, or names another path to the same inode (a hardlink, or the file a
staging symlink points to).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .findings import SAMPLES, Finding, HashSet, IdSet
from .paths import IMAGE_SUFFIXES, OLD_IMGOPS_THUMBNAIL, SERVER_THUMBNAIL


def orphan_thumbnails(
    thumbnails_dir: Path,
    present: IdSet,
    gone: IdSet | None,
    thumbnail_paths: HashSet,
    found: dict[str, Finding],
    remove: Callable[[str], bool] | None,
) -> None:
    """``<id>.webp`` whose image row is gone, and old imgops ``legacy-<sha>.jpg`` no row's thumbnail_path names.

    ``remove`` (with fix) takes each orphan's name and says whether it went.
    """
    try:
        entries = os.scandir(thumbnails_dir)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            server = SERVER_THUMBNAIL.fullmatch(entry.name)
            if server:
                image_id = int(server.group(1))
                orphan = image_id not in present or (gone is not None and image_id in gone)
            elif OLD_IMGOPS_THUMBNAIL.fullmatch(entry.name):
                orphan = os.path.normpath(entry.path) not in thumbnail_paths
            else:
                continue
            if orphan:
                found["orphan_thumbnails"].add(path=entry.path)
                if remove is not None and remove(entry.name):
                    found["orphan_thumbnails"].fixed += 1


def _image_files(root: Path, skip: set[str]) -> Iterator[os.DirEntry[str]]:
    """Image files (and symlinks to files) under ``root``, depth first, never into a symlinked folder."""
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skip:
                        stack.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                    yield entry


def _outermost(roots: list[Path]) -> list[str]:
    """The roots that lie in no other root, so a nested root's files are counted once."""
    normal = list(dict.fromkeys(os.path.normpath(root) for root in roots))
    return [r for r in normal if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in normal)]


@dataclass
class Walk:
    """The image files under the roots: each one's path hash and (device, inode) hash, in walk order."""

    roots: list[str]
    skip: set[str]
    paths: array = field(default_factory=lambda: array("q"))
    inodes: array = field(default_factory=lambda: array("q"))
    path_set: HashSet = field(default_factory=HashSet)

    def covers(self, path: str) -> bool:
        """Whether the walk listed ``path``'s folder, so its absence from the walk means the file is missing."""
        return path.startswith(self._inside) and not path.startswith(self._skipped)

    def __post_init__(self) -> None:
        self._inside = tuple(root.rstrip(os.sep) + os.sep for root in self.roots)
        self._skipped = tuple(path.rstrip(os.sep) + os.sep for path in self.skip)

    def entries(self) -> Iterator[os.DirEntry[str]]:
        for root in self.roots:
            yield from _image_files(Path(root), self.skip)


def walk_roots(roots: list[Path], skip: list[Path]) -> Walk:
    """List the roots once. A file's inode comes free with the listing; only a symlink is followed by stat."""
    walk = Walk(_outermost(roots), {os.path.normpath(path) for path in skip})
    for root in walk.roots:
        device = os.stat(root).st_dev
        for entry in _image_files(Path(root), walk.skip):
            key = hash(entry.path)
            if entry.is_symlink():
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError:
                    continue
                inode = hash((st.st_dev, st.st_ino))
            else:
                inode = hash((device, entry.inode()))
            walk.paths.append(key)
            walk.inodes.append(inode)
            walk.path_set.add_hash(key)
    walk.path_set.seal()
    return walk


def unreferenced_files(walk: Walk, referenced: HashSet, found: dict[str, Finding]) -> None:
    """Image files no images row references by path, nor by inode (a hardlink, a staging symlink's target).

    Counted from the hashes; the samples come from a second listing that stops at the twentieth.
    """
    by_path = bytearray(len(walk.paths))  # 1: a row names this file's path
    referenced_inodes = HashSet()
    for at, (key, inode) in enumerate(zip(walk.paths, walk.inodes, strict=True)):
        if referenced.has_hash(key):
            by_path[at] = 1
            referenced_inodes.add_hash(inode)
    referenced_inodes.seal()
    finding = found["unreferenced_files"]
    wanted = sum(1 for at, inode in enumerate(walk.inodes) if not by_path[at] and not referenced_inodes.has_hash(inode))
    if not wanted:
        return
    for entry in walk.entries():
        if entry.path in referenced:
            continue
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in referenced_inodes:
            finding.add(path=entry.path)
            if len(finding.samples) == SAMPLES:
                break
    finding.count = wanted
