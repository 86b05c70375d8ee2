"""Files in use: a folder where a live process has an open file or its working directory is not removed.

Like tmpwatch's ``--fuser``: the process table is read once (psutil) and each
folder is checked against it, so a trainer still writing its log or a shell
sitting in a scrape folder is never cut. Processes this user may not inspect
are passed over, as fuser does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

from ..errors import SafetyError
from .pathindex import PathIndex


@dataclass(frozen=True)
class PathUser:
    """A process using a path: as an open file or as its working directory."""

    pid: int
    name: str
    how: str  # "open file" or "working directory"
    path: str

    def __str__(self) -> str:
        return f"process {self.pid} ({self.name}) has its {self.how} {self.path}"


def paths_in_use() -> PathIndex[PathUser]:
    """Every open regular file and working directory of every process that can be inspected."""
    users: list[tuple[str, PathUser]] = []
    me = os.getpid()
    for process in psutil.process_iter(["pid", "name"]):
        pid, name = process.info["pid"], process.info["name"] or "?"
        if pid == me:  # this job's own descriptors are the walk itself
            continue
        try:
            cwd = process.cwd()
            users.append((cwd, PathUser(pid, name, "working directory", cwd)))
            users.extend((f.path, PathUser(pid, name, "open file", f.path)) for f in process.open_files())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, FileNotFoundError):
            continue
    return PathIndex((path, user) for path, user in users if path.startswith("/"))


def refuse_busy(path: str, users: PathIndex[PathUser]) -> None:
    """SafetyError (reason ``busy``) when a process uses ``path`` or anything below it."""
    found = users.within(path)
    if found:
        raise SafetyError(f"refused {path}: in use, {found[0]}", path=path, reason="busy")
