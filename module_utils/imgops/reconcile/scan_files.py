"""Stages 3 and 4: the thumbnails folder, and image files no row references.

Folders are listed with ``os.scandir``, never into a symlinked folder nor into a folder on another
filesystem than its root's. Per file the walk keeps two 64-bit hashes (its path, its device and
inode) and one byte (whether a row names its path), in walk order; ``FileIndex`` finds a path's
position. A file is referenced when a row names its path, or names another path to the same inode
(a hardlink, or the file a staging symlink points to).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import attrgetter
from pathlib import Path

from .findings import SAMPLES, FileIndex, Finding, IdSet
from .paths import IMAGE_SUFFIXES, OLD_IMGOPS_THUMBNAIL, server_thumbnail_id

_FLIP = bytes([1]) + bytes(255)
"""``bytes.translate`` table turning 0 into 1 and 1 into 0."""
CHUNK = 1 << 16
_NAME = attrgetter("name")


def orphan_thumbnails(
    thumbnails_dir: Path,
    present: IdSet,
    gone: IdSet | None,
    old_named: set[int],
    found: dict[str, Finding],
    remove: Callable[[str], bool] | None,
) -> None:
    """``<id>.webp`` whose image row is gone, and old imgops ``legacy-<sha>.jpg`` no row's thumbnail_path names.

    ``old_named`` holds the hashes of the normalised old-style paths rows name. ``remove`` (with fix)
    takes each orphan's name and says whether it went.
    """
    try:
        entries = os.scandir(thumbnails_dir)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            name = entry.name
            if (image_id := server_thumbnail_id(name)) is not None:
                orphan = image_id not in present or (gone is not None and image_id in gone)
            elif OLD_IMGOPS_THUMBNAIL.fullmatch(name):
                orphan = hash(os.path.normpath(entry.path)) not in old_named
            else:
                continue
            if orphan and entry.is_file(follow_symlinks=False):
                found["orphan_thumbnails"].add(path=entry.path)
                if remove is not None and remove(entry.name):
                    found["orphan_thumbnails"].fixed += 1


@dataclass(frozen=True)
class Thumbnails:
    """The thumbnails folder listed before the rows are read: a ``thumbnail_path`` naming the server's
    ``<id>.webp`` needs no stat, and a folder with nothing an orphan could be is not listed again."""

    folders: frozenset[str]
    """How a ``thumbnail_path`` names the thumbnails folder: relative to ``outputs_dir``, and absolute."""
    ids: IdSet
    """Ids whose ``<id>.webp`` has an entry (of any kind, as ``lexists`` sees it)."""
    others: bool = False
    """Whether any other name an orphan may have is there (a number with a leading zero, ``legacy-...``)."""

    @classmethod
    def list(cls, thumbnails_dir: Path | None, outputs_dir: Path | None) -> Thumbnails:
        """Only names as the server writes them count (ASCII digits, no leading zero); ``scan_images`` reads
        a ``thumbnail_path``'s name by the same rule and stats any other."""
        if thumbnails_dir is None:
            return cls(frozenset(), IdSet())
        folder = os.path.normpath(thumbnails_dir)
        folders = {folder}
        if outputs_dir is not None:
            relative = os.path.relpath(folder, os.path.normpath(outputs_dir))
            if relative != os.curdir and not relative.startswith(os.pardir + os.sep) and relative != os.pardir:
                folders.add(relative)
        ids, others, numbers = IdSet(), False, []
        try:
            entries = os.scandir(thumbnails_dir)
        except OSError:
            return cls(frozenset(folders), ids)
        with entries:
            for name in map(_NAME, entries):
                if name[-5:] == ".webp" and (digits := name[:-5]).isdigit() and digits.isascii():
                    if digits[0] != "0" or digits == "0":
                        numbers.append(int(digits))
                        if len(numbers) == CHUNK:
                            ids.add_all(numbers)
                            numbers = []
                        continue
                    others = True
                elif name.startswith("legacy-"):
                    others = True
        ids.add_all(numbers)
        return cls(frozenset(folders), ids, others)

    def may_hold_orphans(self, present: IdSet, gone: IdSet | None) -> bool:
        """Whether any entry listed may be an orphan: an id not present or being deleted, or another name."""
        return self.others or not self.ids.issubset(present) or (gone is not None and not self.ids.isdisjoint(gone))


def is_image_name(name: str) -> bool:
    """Whether ``os.path.splitext(name)[1].lower()`` is an image suffix (a leading dot starts no suffix)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES and (name[0] != "." or name[:dot].strip(".") != "")


def _folders(root: str, skip: set[str]) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Each folder under ``root`` read whole, with its image files (and symlinks to files), depth first;
    never into a symlinked folder nor onto another filesystem."""
    device = os.stat(root).st_dev
    stack = [root]
    while stack:
        folder = stack.pop()
        files: list[os.DirEntry[str]] = []
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                dot = name.rfind(".")
                if dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES and (name[0] != "." or name[:dot].strip(".")):
                    if entry.is_file(follow_symlinks=False) or not entry.is_dir(follow_symlinks=False):
                        files.append(entry)
                        continue
                elif not entry.is_dir(follow_symlinks=False):
                    continue
                if entry.path not in skip and _same_device(entry, device):
                    stack.append(entry.path)
        yield folder, files


def _same_device(entry: os.DirEntry[str], device: int) -> bool:
    try:
        return entry.stat(follow_symlinks=False).st_dev == device
    except OSError:
        return False


def _outermost(roots: list[Path]) -> list[str]:
    """The roots that lie in no other root, so a nested root's files are counted once."""
    normal = list(dict.fromkeys(os.path.normpath(root) for root in roots))
    return [r for r in normal if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in normal)]


@dataclass
class Walk:
    """The image files under the roots, in walk order: path hash, (device, inode) hash, named by a row."""

    roots: list[str]
    skip: set[str]
    inodes: array = field(default_factory=lambda: array("q"))
    folders: set[str] = field(default_factory=set)
    """Folders listed whole: a missing image file in one of them is missing without a ``stat``."""
    index: FileIndex = field(default_factory=lambda: FileIndex(array("q")))
    named: bytearray = field(default_factory=bytearray)
    """1 where a row names the file's path (set by the images scan)."""

    def listed(self, path: str) -> bool:
        """Whether the walk would have listed ``path`` had it existed (its folder was read, its suffix fits)."""
        folder, _, name = path.rpartition(os.sep)
        return folder in self.folders and is_image_name(name)

    def entries(self) -> Iterator[os.DirEntry[str]]:
        for root in self.roots:
            for _, files in _folders(root, self.skip):
                yield from files


def walk_roots(roots: list[Path], skip: list[Path]) -> Walk:
    """List the roots once. A file's inode comes free with the listing; only a symlink is followed by stat.

    The inode key is the inode number mixed with a hash of its device (one XOR, no tuple per file).
    """
    walk = Walk(_outermost(roots), {os.path.normpath(path) for path in skip})
    paths, inodes = array("q"), walk.inodes
    add_path, add_inode = paths.append, inodes.append
    for root in walk.roots:
        salt = hash(os.stat(root).st_dev)
        for folder, files in _folders(root, walk.skip):
            walk.folders.add(folder)
            for entry in files:
                if entry.is_symlink():
                    try:
                        st = entry.stat(follow_symlinks=True)
                    except OSError:
                        continue
                    add_inode(st.st_ino ^ hash(st.st_dev))
                else:
                    add_inode(entry.inode() ^ salt)
                add_path(hash(entry.path))
    walk.index = FileIndex(paths)
    walk.named = bytearray(len(paths))
    return walk


def unreferenced_files(walk: Walk, found: dict[str, Finding]) -> None:
    """Image files no images row references by path, nor by inode (a hardlink, a staging symlink's target).

    Counted from the hashes, the files no row names taken ``CHUNK`` at a time against the inodes of
    the files rows name; the samples come from a second listing that stops at the twentieth.
    """
    inodes, named = walk.inodes, walk.named
    unnamed = compress(range(len(named)), named.translate(_FLIP))
    samples: set[int] = set()
    count = 0
    while chunk := list(islice(unnamed, CHUNK)):
        shared = {inodes[at] for at in chunk}.intersection(compress(inodes, named))
        for at in chunk:
            if inodes[at] not in shared:
                count += 1
                if len(samples) < SAMPLES:
                    samples.add(at)
    finding = found["unreferenced_files"]
    if not count:
        return
    for entry in walk.entries():
        if walk.index.find(hash(entry.path)) in samples:
            finding.add(path=entry.path)
            if len(finding.samples) == len(samples):
                break
    finding.count = count
