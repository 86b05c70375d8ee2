"""Stage: where each source goes under ``legacy_root``, its content hash, and placing it there."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..fs import place_file
from .collect import SourceFile

STAGED_FOLDERS = {
    "singles": "singles",
    "decks": "decks",
    "zodiac": "zodiac",
    "lora": "lora-experiments",
    "packs": "reference-packs",
}
_SERVER_TIMESTAMP = re.compile(r"(\d{4})(\d\d)\d\d[_-]\d{6}")
SERVER_FILENAME_MAX = 255
_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_CHUNK = 1 << 20


def _ascii_lower(text: str) -> str:
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: ``"Art Nouveau Posters"`` -> ``art-nouveau-posters``."""
    return _UNSAFE.sub("-", _ascii_lower(text).replace("_", "-")).strip("-.") or "unnamed"


def staged_name(relative: str) -> str:
    """A deterministic, shell-safe file name: folders joined by ``--``, stem sanitised, extension lower-cased."""
    *folders, name = relative.split("/")
    stem, suffix = os.path.splitext(name)
    clean = _UNSAFE.sub("-", _ascii_lower(stem)).strip("-.") or "unnamed"
    return "--".join([*(slug(part) for part in folders), clean]) + suffix.lower()


def staged_folder(source: SourceFile, created_at: datetime) -> PurePosixPath:
    """``singles/<YYYY-MM>``, ``decks/<slug>``, ``zodiac/<slug>``, ``lora-experiments/<slug>`` ..."""
    top = STAGED_FOLDERS[source.category]
    if source.category == "singles":
        return PurePosixPath(top, f"{created_at:%Y-%m}")
    return PurePosixPath(top, slug(source.group))


def server_month(stem: str) -> str | None:
    """``YYYY-MM`` of the first ``YYYYMMDD[_-]HHMMSS`` in a file stem, as the server's collector reads it."""
    match = _SERVER_TIMESTAMP.search(stem)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return f"{match.group(1)}-{match.group(2)}"


def server_destination(source: SourceFile) -> PurePosixPath | None:
    """Where the server's ``import_legacy_media.py`` stages this file under its staging root (SERVER_FACTS 8).

    None for reference packs, which the server does not collect.
    """
    if source.category == "singles":
        month = server_month(os.path.splitext(source.name)[0]) or "unknown"
        return PurePosixPath("singles", month, source.name)
    if source.category in ("decks", "zodiac"):
        return PurePosixPath(source.category, source.group, source.relative)
    if source.category == "lora":
        return PurePosixPath("lora-experiments", "lora-tests", source.group, source.relative)
    return None


def server_filename(destination: PurePosixPath) -> str:
    """The ``images.filename`` the server's importer gives a staged file: its path joined by ``__``."""
    text = os.fsencode(str(destination)).decode("utf-8", "backslashreplace")  # as shown: the column is text
    return text.replace("/", "__")[-SERVER_FILENAME_MAX:]


def unique_names(sources: list[SourceFile]) -> dict[str, str]:
    """Staged names for one folder's files, by file name; names that would collide get a short hash of the original."""
    names = {source.name: staged_name(source.relative) for source in sources}
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    for source in sources:
        name = names[source.name]
        if seen[name] > 1:
            digest = hashlib.sha1(os.fsencode(source.relative), usedforsecurity=False).hexdigest()[:8]
            stem, suffix = os.path.splitext(name)
            names[source.name] = f"{stem}-{digest}{suffix}"
    return names


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB chunks through a bare descriptor.

    ``os.read`` allocates only what the file holds: a 1 KiB image costs one 1 KiB read, where
    ``hashlib.file_digest`` zero-fills its whole buffer per file and a buffered ``open`` adds an
    object layer (10 against 40-60 microseconds a small file, the same for large ones).
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(descriptor, _CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class StageOutcome:
    """``placed`` (with the mode used), ``present`` (already there, same content) or ``conflict``."""

    state: str
    mode: str | None = None


def stage_file(source: Path, target: Path, sha256: str, mode: str, dry_run: bool) -> StageOutcome:
    """Place ``source`` at ``target`` unless the same content is already there; never overwrite.

    The folder is not fsynced here: the caller syncs each folder of a batch once before the
    batch's rows are committed. A hardlink is first tried directly, the one system call a new file
    needs: ``link()`` never overwrites, so an existing target is found by its failure; any other
    failure (no folder yet, another filesystem) takes the general path below.
    """
    if mode == "hardlink" and not dry_run:
        try:
            os.link(source, target, follow_symlinks=False)
            return StageOutcome("placed", mode)
        except FileExistsError:
            return StageOutcome("present") if _same_content(source, target, sha256) else StageOutcome("conflict")
        except OSError:
            pass
    if _lexists(target):
        return StageOutcome("present") if _same_content(source, target, sha256) else StageOutcome("conflict")
    if dry_run:
        return StageOutcome("placed", mode)
    try:
        return StageOutcome("placed", place_file(source, target, mode, sync_folder=False))
    except FileExistsError:
        return StageOutcome("present") if _same_content(source, target, sha256) else StageOutcome("conflict")


def _same_content(source: Path, target: Path, sha256: str) -> bool:
    try:
        if os.path.islink(target):
            return os.readlink(target) == os.fspath(source)
        if os.path.samefile(source, target):
            return True
        return os.path.getsize(target) == os.path.getsize(source) and sha256_file(target) == sha256
    except OSError:
        return False


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


class StagedNames:
    """Whether a staged path is there, from one listing per staged folder instead of an lstat per file.

    The quick check of a re-run asks it for every unchanged file; files come folder by folder, so a
    few listings are held at a time (the largest folder bounds the memory, as the collector's does).
    """

    def __init__(self, legacy_root: Path, folders_held: int = 16) -> None:
        self._root = os.fspath(legacy_root)
        self._held: dict[str, frozenset[str]] = {}
        self._folders_held = folders_held

    def holds(self, staged_path: str) -> bool:
        folder, _, name = staged_path.rpartition("/")
        names = self._held.get(folder)
        if names is None:
            names = self._list(folder)
            if len(self._held) >= self._folders_held:
                del self._held[next(iter(self._held))]  # the folder listed first: the walk has left it
            self._held[folder] = names
        return name in names

    def _list(self, folder: str) -> frozenset[str]:
        try:
            with os.scandir(os.path.join(self._root, folder)) as entries:
                return frozenset(entry.name for entry in entries)
        except OSError:  # missing, not a folder, unreadable: nothing staged there to rely on
            return frozenset()
