"""Temporaries a killed run left behind: only names imgops itself makes, only in folders it writes.

An atomic write's temporary is ``.<target name>.<random>.tmp`` (``fs.atomic``) and a copy's is
``.<target name>.imgops-partial`` (``fs.place``). A kill -9 between creating one and renaming it
leaves it; the next run that writes the folder removes them, under its job lock, so no live
writer of the same job can own them. Symlinks and anything not a regular file are left alone.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .place import PARTIAL_SUFFIX

_ATOMIC_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def is_imgops_temporary(name: str, targets: tuple[str, ...] | None = None) -> bool:
    """Whether ``name`` is a temporary imgops makes; with ``targets``, only one for those target names."""
    if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
        return targets is None or name[1 : -len(PARTIAL_SUFFIX)] in targets
    if _ATOMIC_TEMPORARY.match(name):
        target = name[1:].rsplit(".", 2)[0]
        return targets is None or target in targets
    return False


def remove_stale_temporaries(folder: str | os.PathLike[str], targets: tuple[str, ...] | None = None) -> list[str]:
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
    return sorted(removed)


def stale_temporaries_in(folder: Path) -> list[str]:
    """The temporaries ``remove_stale_temporaries`` would remove (for a dry run)."""
    try:
        with os.scandir(folder) as scan:
            return sorted(e.name for e in scan if is_imgops_temporary(e.name) and e.is_file(follow_symlinks=False))
    except (FileNotFoundError, NotADirectoryError):
        return []
