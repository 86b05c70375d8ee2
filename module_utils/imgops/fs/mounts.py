"""The mount table: which mount points lie inside a folder about to be removed.

Device numbers alone cannot tell: a bind mount of the same filesystem keeps
its ``st_dev``. ``/proc/self/mountinfo`` lists every mount this process sees,
bind mounts included, so the removal refuses a folder that holds any of them.
"""

from __future__ import annotations

import re

from ..errors import SafetyError
from .pathindex import PathIndex

MOUNTINFO = "/proc/self/mountinfo"
_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (``\\040``)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def mount_table(mountinfo: str = MOUNTINFO) -> PathIndex[str]:
    """Every mount point this process sees, filed under itself."""
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as table:
            points = [_unescape(line.split(" ", 5)[4]) for line in table if line.strip()]
    except (OSError, IndexError) as exc:
        raise SafetyError(
            f"cannot read the mount table {mountinfo} ({exc}); nothing is removed without it", reason="mount_point"
        ) from None
    return PathIndex((point, point) for point in points)


def refuse_mount_points(path: str, table: PathIndex[str] | None = None) -> None:
    """SafetyError (reason ``mount_point``) when ``path`` is a mount point or holds one."""
    found = (table if table is not None else mount_table()).within(path)
    if found:
        shown = ", ".join(sorted(found)[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise SafetyError(
            f"refused {path}: it holds the mount point {shown}; a purge never crosses into another filesystem",
            path=path,
            reason="mount_point",
        )
