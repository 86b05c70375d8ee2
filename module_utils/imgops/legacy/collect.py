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
from pathlib import Path

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
NOT_SOURCES = ("thumbnails", "uploads", "scraped")
PACK_MANIFEST = "manifest.json"
CATEGORIES = ("singles", "decks", "zodiac", "lora", "packs")


def shown(path: str | os.PathLike[str]) -> str:
    """A path as text for JSON, YAML and the database, even when its name is not UTF-8."""
    path = os.fspath(path)
    if isinstance(path, str) and path.isascii():  # the common case, and CPython knows it without a scan
        return path
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One image to import, with the stat the quick check compares.

    Paths stay text (``os.scandir``'s strings) until a file needs work: a
    no-op run over a large tree never builds a ``Path`` per file.
    """

    folder: str
    name: str
    category: str
    group: str
    subfolder: str  # the folder below the group's own, POSIX text, '' at its top
    size: int
    mtime_ns: int
    inode: int
    sidecar_name: str | None

    @property
    def path(self) -> Path:
        return Path(self.folder, self.name)

    @property
    def text(self) -> str:
        """The source path as shown in results, rows and manifests."""
        return shown(os.path.join(self.folder, self.name))

    @property
    def relative(self) -> str:
        """The path below the group's folder: ``sub dir/plate 01.png``."""
        return f"{self.subfolder}/{self.name}" if self.subfolder else self.name

    @property
    def sidecar(self) -> Path | None:
        return None if self.sidecar_name is None else Path(self.folder, self.sidecar_name)

    @property
    def group_folder(self) -> Path:
        """The deck, zodiac, experiment or pack folder (the source folder itself for singles)."""
        return group_folder(self.folder, self.subfolder)


def group_folder(folder: str, subfolder: str) -> Path:
    """The group's own folder, ``subfolder`` levels above ``folder``."""
    depth = len(subfolder.split("/")) if subfolder else 0
    return Path(folder).parents[depth - 1] if depth else Path(folder)


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
        if not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
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
    _classify(outputs_dir, "singles", "", "", roots, root_listing, recurse=None)
    yield root_listing
    for path, category, group in folders:
        yield from _tree(path, category, group, roots)


def _tree(base: Path, category: str, group: str, roots: tuple[str, ...]) -> Iterator[Listing]:
    pending = [(base, "")]
    while pending:
        folder, subfolder = pending.pop(0)
        listing = Listing(folder)
        subfolders: list[tuple[Path, str]] = []
        _classify(folder, category, group, subfolder, roots, listing, recurse=subfolders)
        if category == "packs" and not subfolder:
            listing.orphans = [p for p in listing.orphans if p.name != PACK_MANIFEST]
        pending[:0] = subfolders
        yield listing


def _classify(
    folder: Path,
    category: str,
    group: str,
    subfolder: str,
    roots: tuple[str, ...],
    listing: Listing,
    recurse: list[tuple[Path, str]] | None,
) -> None:
    images: list[tuple[str, str, os.stat_result]] = []
    sidecars: dict[str, str] = {}
    for entry in _entries(folder):
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if recurse is not None:
                recurse.append((Path(entry.path), f"{subfolder}/{name}" if subfolder else name))
            continue
        stem, suffix = os.path.splitext(name)
        suffix = suffix.lower()
        if suffix == ".json":
            sidecars[stem] = name
            continue
        if suffix not in IMAGE_EXTENSIONS:
            listing.skipped.append((Path(entry.path), "not_an_image"))
            continue
        reason, st = _usable(entry, roots)
        if reason:
            listing.skipped.append((Path(entry.path), reason))
            continue
        images.append((name, stem, st))
    text = os.fspath(folder)
    stems = set()
    for name, stem, st in images:
        stems.add(stem)
        sidecar = sidecars.get(stem)
        listing.files.append(
            SourceFile(text, name, category, group, subfolder, st.st_size, st.st_mtime_ns, st.st_ino, sidecar)
        )
    listing.orphans.extend(Path(folder, name) for stem, name in sidecars.items() if stem not in stems)


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
