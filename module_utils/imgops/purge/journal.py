"""A host's purge journal: the paths of rows this host is about to remove, until their rows are updated.

Each entry is ``<table>/<id>:<what>`` (one path of a row); a bare ``<table>/<id>``,
as older journals hold, stands for every path of that row.

On a fleet sharing one database, a path missing at planning time is ambiguous:
removed here by a run that died before updating its row, or never here (it
lives on another host). The journal, kept in the host's own ``state_dir``,
tells the two apart: a row it names had its paths removed here, so the row is
cleared; any other row whose paths are all missing is left for the host that
holds them (unless ``purge.clear_missing`` says this host is the only one).

With ``purge.referenced_images: delete`` the journal also holds, per folder, the
ids of the images rows to delete once the folder is gone (``images``): a run
that died between removing the folder and deleting those rows leaves them here,
and the next run deletes them first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fs import atomic_write_text, fsync_dir


def journal_path(state_dir: Path, kind: str) -> Path:
    return state_dir / f"purge-{kind}.journal.json"


def _load(state_dir: Path, kind: str) -> dict[str, Any]:
    path = journal_path(state_dir, kind)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data["rows"], list):
            raise TypeError("not an object with a list of rows")
        if not isinstance(data.get("images", {}), dict):
            raise TypeError("images is not an object")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"purge journal {path} is unreadable ({exc}); move it aside to go on"
        raise InputError(message, path=str(path)) from None
    return data


def read_journal(state_dir: Path, kind: str) -> set[str]:
    """The row paths an earlier run here was removing when it stopped; empty when it finished."""
    return {row for row in _load(state_dir, kind).get("rows", []) if isinstance(row, str)}


def read_journal_images(state_dir: Path, kind: str) -> dict[str, list[int]]:
    """Per folder, the images rows an earlier run here was to delete once the folder was gone."""
    images = _load(state_dir, kind).get("images", {})
    return {
        folder: [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        for folder, ids in images.items()
        if isinstance(ids, list)
    }


def write_journal(state_dir: Path, kind: str, rows: set[str], images: dict[str, list[int]] | None = None) -> None:
    """Record ``rows`` (and the images rows of each folder) durably before their paths are removed;
    nothing to record removes the journal."""
    path = journal_path(state_dir, kind)
    if rows or images:
        path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"rows": sorted(rows)}
        if images:
            data["images"] = {folder: sorted(ids) for folder, ids in sorted(images.items())}
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    elif os.path.lexists(path):
        path.unlink()
        fsync_dir(path.parent)
