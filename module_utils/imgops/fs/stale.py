"""Temporaries a killed run left behind: only names imgops itself makes, only in folders it writes.

An atomic write's temporary is ``.<target name>.<random>.tmp`` (``fs.atomic``) and a copy's is
``.<target name>.imgops-partial`` (``fs.place``). A kill -9 between creating one and renaming it
leaves it; the next run that writes the folder removes them, under its job lock, so no live
writer of the same job can own them. Symlinks and anything not a regular file are left alone.
This is the one test of that naming every job uses.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .atomic import TEMP_SUFFIX, fsync_dir
from .place import PARTIAL_SUFFIX

_ATOMIC_TEMPORARY = re.compile(rf"^\.(?P<target>.+)\.[A-Za-z0-9_]{{8}}{re.escape(TEMP_SUFFIX)}$")
"""Exactly ``fs.atomic.temporary_name``'s shape: what a folder-wide clean-up may take."""
_NAMED_ATOMIC_TEMPORARY = re.compile(rf"^\.(?P<target>.+)\.[A-Za-z0-9_]+{re.escape(TEMP_SUFFIX)}$")
"""Any random part: safe only when the target name must also match a job's own names."""


def is_imgops_temporary(name: str, targets: re.Pattern[str] | None = None) -> bool:
    """Whether ``name`` is a temporary imgops makes; with ``targets``, one whose target name matches it."""
    if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
        return targets is None or targets.fullmatch(name[1 : -len(PARTIAL_SUFFIX)]) is not None
    match = (_ATOMIC_TEMPORARY if targets is None else _NAMED_ATOMIC_TEMPORARY).match(name)
    return match is not None and (targets is None or targets.fullmatch(match["target"]) is not None)


def remove_stale_temporaries(folder: str | os.PathLike[str], targets: re.Pattern[str] | None = None) -> list[str]:
    """Remove imgops' temporaries in ``folder`` (optionally only those for ``targets``); the names removed."""
    removed: list[str] = []
    try:
        scan = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return removed
    with scan:
        for entry in scan:
            if not is_imgops_temporary(entry.name, targets):
                continue
            try:
                if not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:  # removed meanwhile: what was wanted
                continue
            removed.append(entry.name)
    if removed:
        fsync_dir(folder)
    return sorted(removed)


def stale_temporaries_in(folder: Path, targets: re.Pattern[str] | None = None) -> list[str]:
    """The temporaries ``remove_stale_temporaries`` would remove (for a dry run)."""
    try:
        with os.scandir(folder) as scan:
            return sorted(
                e.name for e in scan if is_imgops_temporary(e.name, targets) and e.is_file(follow_symlinks=False)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
