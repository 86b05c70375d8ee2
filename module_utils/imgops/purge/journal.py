"""A host's purge journal: the paths of rows this host is about to remove, until their rows are updated.

Each entry is ``<table>/<id>:<what>`` (one path of a row); a bare ``<table>/<id>``,
as older journals hold, stands for every path of that row.

On a fleet sharing one database, a path missing at planning time is ambiguous:
removed here by a run that died before updating its row, or never here (it
lives on another host). The journal, kept in the host's own ``state_dir``,
tells the two apart: a row it names had its paths removed here, so the row is
cleared; any other row whose paths are all missing is left for the host that
holds them (unless ``purge.clear_missing`` says this host is the only one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError
from ..fs import atomic_write_text, fsync_dir


def journal_path(state_dir: Path, kind: str) -> Path:
    return state_dir / f"purge-{kind}.journal.json"


def read_journal(state_dir: Path, kind: str) -> set[str]:
    """The row paths an earlier run here was removing when it stopped; empty when it finished."""
    path = journal_path(state_dir, kind)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = f"purge journal {path} is unreadable ({exc}); move it aside to go on"
        raise InputError(message, path=str(path)) from None
    return {row for row in rows if isinstance(row, str)}


def write_journal(state_dir: Path, kind: str, rows: set[str]) -> None:
    """Record ``rows`` durably before their paths are removed; no rows removes the journal."""
    path = journal_path(state_dir, kind)
    if rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"rows": sorted(rows)}, indent=1) + "\n")
    elif os.path.lexists(path):
        path.unlink()
        fsync_dir(path.parent)
