"""Retention: which reports expire, a durable archive written before anything is deleted, screenshot folders.

The archive holds personal data (submitters' e-mail addresses, logs), so it and its folder are
private to the owner (0600/0700) whatever the umask.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import tarfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from ..errors import SafetyError
from ..fs import atomic_write_bytes, confine, remove_confined
from ..fs.stale import is_imgops_temporary
from .store import REPORT_ID

ARCHIVE_MODE = 0o600


def expires(corrupt: str | None, status: str | None, submitted_at: datetime, cutoff: datetime,
            statuses: Iterable[str]) -> bool:  # fmt: skip
    """Corrupt reports never expire; others when old enough and in an expiring status (``*`` = any)."""
    if corrupt is not None:
        return False
    statuses = set(statuses)
    return submitted_at < cutoff and ("*" in statuses or status in statuses)


def retention_cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def write_archive(archive_dir: Path, members: list[tuple[str, bytes, datetime]], now: datetime) -> Path:
    """A gzip tar of ``(name, bytes, mtime)`` members, written atomically and synced before anyone deletes them."""
    archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f"bug-reports-{now:%Y%m%dT%H%M%S%fZ}"
    target = archive_dir / f"{stem}.tar.gz"
    for n in itertools.count(1):  # never replace an archive: it may hold reports already deleted
        if not os.path.lexists(target):
            break
        target = archive_dir / f"{stem}-{n}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload, mtime in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = int(mtime.timestamp())
            info.mode = ARCHIVE_MODE
            tar.addfile(info, io.BytesIO(payload))
    atomic_write_bytes(target, buffer.getvalue(), mode=ARCHIVE_MODE)
    return target


def screenshot_folder(root: Path, folder: Path) -> Path | None:
    """``folder`` (a report's ``<report_id>/``) when it exists as a plain folder inside ``root``.

    Raises SafetyError when it is a symlink or leaves the root; None when there is nothing to remove.
    """
    if not REPORT_ID.match(folder.name) or not os.path.isdir(root):
        return None
    if not os.path.lexists(folder):
        return None
    return confine(folder, root).path


def remove_screenshot_folder(root: Path, folder: Path) -> int:
    """Remove a report's screenshot folder (confined to ``root``, never through a symlink); entries removed."""
    target = screenshot_folder(root, folder)
    if target is None:
        return 0
    if not target.is_dir():
        raise SafetyError(f"refused {folder}: not a folder", path=str(folder), reason="not_a_folder")
    return remove_confined(confine(target, root)).entries


_WRITTEN_NAMES = re.compile(r"bug_.+\.json|bug-reports-.+\.tar\.gz|bug_reports_index\.json")
"""The files this job writes atomically: reports, archives, the index (their temporaries are ``fs.stale``'s)."""
STALE_AFTER = timedelta(hours=1)


def stale_temporaries(folder: Path, now: datetime, *, recursive: bool) -> list[Path]:
    """Temporaries of this job's atomic writes that a killed run left in ``folder``, older than an hour
    (a younger one may belong to a write in progress elsewhere). Regular files only, symlinks never."""
    found: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:
            continue
        for entry in entries:
            if recursive and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                pending.append(Path(entry.path))
            elif is_imgops_temporary(entry.name, _WRITTEN_NAMES) and entry.is_file(follow_symlinks=False):
                try:
                    mtime = datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, now.tzinfo)
                except FileNotFoundError:
                    continue
                if now - mtime > STALE_AFTER:
                    found.append(Path(entry.path))
    return sorted(found)


def remove_listed_temporaries(root: Path, stale: list[Path]) -> int:
    """Remove ``stale`` (each confined to ``root``); how many went."""
    removed = 0
    for path in stale:
        removed += bool(remove_confined(confine(path, root)).entries)
    return removed
