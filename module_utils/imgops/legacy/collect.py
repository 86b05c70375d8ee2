"""Collect: walk the legacy sources one folder at a time and classify what is there.

Sources are ``outputs_dir`` (root singles, ``card_deck_*``/``tarot_deck_*``,
``zodiac_*``, ``lora_tests/<experiment>/``) and ``reference_packs_dir/<pack>/``.
Each folder yields one ``Listing``, so memory follows the largest folder,
not the tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
NOT_SOURCES = ("thumbnails", "uploads", "scraped")
PACK_MANIFEST = "manifest.json"
CATEGORIES = ("singles", "decks", "zodiac", "lora", "packs")


def shown(path: str | os.PathLike[str]) -> str:
    """A path as text for JSON, YAML and the database, even when its name is not UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One image to import, with the stat the quick check compares."""

    path: Path
    category: str
    group: str
    relative: PurePosixPath
    size: int
    mtime_ns: int
    inode: int
    sidecar: Path | None


@dataclass
class Listing:
    """What one source folder holds."""

    folder: Path
    files: list[SourceFile] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def collect(outputs_dir: Path | None, packs_dir: Path | None) -> Iterator[Listing]:
    """Every source folder's listing, in a deterministic order."""
    roots = tuple(os.path.realpath(root) for root in (outputs_dir, packs_dir) if root and root.is_dir())
    if outputs_dir and outputs_dir.is_dir():
        yield from _outputs(outputs_dir, roots)
    if packs_dir and packs_dir.is_dir():
        for entry in _entries(packs_dir):
            if entry.is_dir(follow_symlinks=False):
                yield from _tree(Path(entry.path), "packs", entry.name, roots)


def _outputs(outputs_dir: Path, roots: tuple[str, ...]) -> Iterator[Listing]:
    root_listing = Listing(outputs_dir)
    folders: list[tuple[Path, str, str]] = []
    for entry in _entries(outputs_dir):
        path = Path(entry.path)
        if not entry.is_dir(follow_symlinks=False):
            continue
        name = entry.name
        if name in NOT_SOURCES:
            continue
        if name.startswith(("card_deck_", "tarot_deck_")):
            folders.append((path, "decks", name))
        elif name.startswith("zodiac_"):
            folders.append((path, "zodiac", name))
        elif name == "lora_tests":
            for experiment in _entries(path):
                if experiment.is_dir(follow_symlinks=False):
                    folders.append((Path(experiment.path), "lora", experiment.name))
                else:
                    root_listing.skipped.append((Path(experiment.path), "not_in_an_experiment_folder"))
        else:
            root_listing.skipped.append((path, "not_a_source_folder"))
    _classify(outputs_dir, "singles", "", PurePosixPath(), roots, root_listing, recurse=None)
    yield root_listing
    for path, category, group in folders:
        yield from _tree(path, category, group, roots)


def _tree(base: Path, category: str, group: str, roots: tuple[str, ...]) -> Iterator[Listing]:
    pending = [(base, PurePosixPath())]
    while pending:
        folder, relative = pending.pop(0)
        listing = Listing(folder)
        subfolders: list[tuple[Path, PurePosixPath]] = []
        _classify(folder, category, group, relative, roots, listing, recurse=subfolders)
        if category == "packs" and relative == PurePosixPath():
            listing.orphans = [p for p in listing.orphans if p.name != PACK_MANIFEST]
        pending[:0] = subfolders
        yield listing


def _classify(
    folder: Path,
    category: str,
    group: str,
    relative: PurePosixPath,
    roots: tuple[str, ...],
    listing: Listing,
    recurse: list[tuple[Path, PurePosixPath]] | None,
) -> None:
    images: list[tuple[os.DirEntry[str], os.stat_result]] = []
    sidecars: dict[str, Path] = {}
    for entry in _entries(folder):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if recurse is not None:
                recurse.append((path, relative / entry.name))
            continue
        suffix = os.path.splitext(entry.name)[1].lower()
        if suffix == ".json":
            sidecars[os.path.splitext(entry.name)[0]] = path
            continue
        if suffix not in IMAGE_EXTENSIONS:
            listing.skipped.append((path, "not_an_image"))
            continue
        reason, st = _usable(entry, roots)
        if reason:
            listing.skipped.append((path, reason))
            continue
        images.append((entry, st))
    stems = set()
    for entry, st in images:
        stem = os.path.splitext(entry.name)[0]
        stems.add(stem)
        listing.files.append(
            SourceFile(
                path=Path(entry.path),
                category=category,
                group=group,
                relative=relative / entry.name,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                inode=st.st_ino,
                sidecar=sidecars.get(stem),
            )
        )
    listing.orphans.extend(path for stem, path in sidecars.items() if stem not in stems)


def _usable(entry: os.DirEntry[str], roots: tuple[str, ...]) -> tuple[str | None, os.stat_result]:
    """Why an image entry cannot be imported (or None), and its stat (the target's, for a symlink)."""
    if entry.is_symlink():
        real = os.path.realpath(entry.path)
        if not any(real.startswith(root + os.sep) for root in roots):
            return "symlink_outside_roots", os.lstat(entry.path)
        try:
            st = os.stat(real)
        except OSError:
            return "broken_symlink", os.lstat(entry.path)
    else:
        st = entry.stat(follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        return "not_a_regular_file", st
    return None, st


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as scan:
        return sorted(scan, key=lambda entry: entry.name)
