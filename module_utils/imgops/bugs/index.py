"""A quick-check index of report files so listings re-parse only what changed.

Each file's listing entry is kept in ``<state_dir>/bug_reports_index.json``
under its path in the folder and its (size, mtime_ns, inode), as rsync's quick
check does: an atomic rewrite changes the inode, any write changes the mtime,
so an entry is reused only for the very file it was made from. The index is a
cache: when it is missing, stale or unreadable, the files are parsed. It holds
submitters' e-mail addresses, so it is written 0600 whatever the umask.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError
from ..fs import atomic_write_text
from ..fs.read import MiB, read_regular
from ..jsonlog import log_event
from .store import ReportEntry, read_report, report_paths

INDEX_NAME = "bug_reports_index.json"
INDEX_VERSION = 3
INDEX_MODE = 0o600
INDEX_LIMIT = 512 * MiB


def _load(index_path: Path, folder: Path) -> dict[str, list]:
    try:
        data = json.loads(read_regular(index_path, "bug report index", limit=INDEX_LIMIT))
    except (InputError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or data.get("folder") != str(folder):
        return {}
    return data.get("entries") or {}


def _from_cache(folder: Path, cached: list) -> ReportEntry | None:
    try:
        return ReportEntry.from_cache(folder, cached[1])
    except (TypeError, KeyError, ValueError, IndexError):  # an entry from another imgops version: parse again
        return None


def list_entries(folder: Path, state_dir: Path) -> list[ReportEntry]:
    """Every report file's listing entry, parsing only files the index does not know as they are now."""
    index_path = state_dir / INDEX_NAME
    known = _load(index_path, folder)
    fresh: dict[str, list] = {}
    entries: list[ReportEntry] = []
    parsed = 0
    for path in report_paths(folder):
        name = path.relative_to(folder).as_posix()
        try:
            stat = os.lstat(path)
        except FileNotFoundError:  # removed since the folder was listed
            continue
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        cached = known.get(name)
        entry = _from_cache(folder, cached) if cached and cached[0] == key else None
        if entry is not None:
            entries.append(entry)
            fresh[name] = cached
        else:
            entry = ReportEntry.from_file(read_report(path), folder)
            entries.append(entry)
            fresh[name] = [key, entry.cacheable()]
            parsed += 1
    if parsed or fresh.keys() != known.keys():
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                index_path,
                json.dumps({"version": INDEX_VERSION, "folder": str(folder), "entries": fresh}),
                mode=INDEX_MODE,
            )
        except OSError as exc:  # a cache that cannot be written costs speed, not correctness
            log_event("bug_index_not_written", path=str(index_path), error=exc.strerror)
    return entries
