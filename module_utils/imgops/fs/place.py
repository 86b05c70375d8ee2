"""Place a file into a tree by hardlink, copy or symlink, never overwriting a different file.

Every mode publishes with an operation that fails when the target exists
(``link``/``symlink``), so a file appears whole under its final name or not
at all; a copy is written to a deterministic partial name first and fsynced.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .atomic import fsync_dir

PLACE_MODES = ("hardlink", "copy", "symlink")
PARTIAL_SUFFIX = ".imgops-partial"


def partial_name(target: Path) -> Path:
    """Where a copy is written before it is published (left behind only by a killed run)."""
    return target.with_name(f".{target.name}{PARTIAL_SUFFIX}")


def place_file(source: Path, target: Path, mode: str, sync_folder: bool = True) -> str:
    """Create ``target`` from ``source``; return the mode used (a hardlink across filesystems copies).

    Raises FileExistsError when ``target`` already exists: the caller decides
    whether the existing file is the same content. A caller placing many
    files in one folder may pass ``sync_folder=False`` and ``fsync_dir`` it once.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "symlink":
        os.symlink(source, target)
    elif mode == "hardlink":
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            _copy(source, target)
            mode = "copy"
    else:
        _copy(source, target)
    if sync_folder:
        fsync_dir(target.parent)
    return mode


def _copy(source: Path, target: Path) -> None:
    partial = partial_name(target)
    partial.unlink(missing_ok=True)
    try:
        with open(source, "rb") as reader, open(partial, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(source, partial)
        os.link(partial, target)
    finally:
        partial.unlink(missing_ok=True)
