"""Stages 3 and 4: the thumbnails folder, and image files no row references.

Folders are listed with ``os.scandir`` without following symlinked folders. A file is referenced
when a row names its path, or names another path to the same inode (a hardlink, or the file a
staging symlink points to).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from .findings import Finding, HashSet, IdSet
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
                    if os.path.normpath(entry.path) not in skip:
                        stack.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                    yield entry


def _outermost(roots: list[Path]) -> list[str]:
    """The roots that lie in no other root, so a nested root's files are counted once."""
    normal = list(dict.fromkeys(os.path.normpath(root) for root in roots))
    return [r for r in normal if not any(r != o and r.startswith(o.rstrip(os.sep) + os.sep) for o in normal)]


def unreferenced_files(roots: list[Path], skip: list[Path], referenced: HashSet, found: dict[str, Finding]) -> None:
    """Image files under the roots that no images row references (reported only)."""
    skipped = {os.path.normpath(path) for path in skip}
    for root in _outermost(roots):
        for entry in _image_files(Path(root), skipped):
            path = os.path.normpath(entry.path)
            if path in referenced:
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in referenced:
                found["unreferenced_files"].add(path=entry.path)
