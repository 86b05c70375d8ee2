"""What a filesystem holds: space and inodes from ``os.statvfs``, and the mount point of a path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FilesystemUsage:
    """Space and inodes of the filesystem holding a path, figured the way ``df`` does.

    ``free_bytes`` is what an unprivileged writer can still use (f_bavail); used
    percent is used / (used + available), so the root-reserved blocks count as used.
    """

    mount: Path
    size_bytes: int
    used_bytes: int
    free_bytes: int
    inodes_total: int
    inodes_free: int

    @property
    def used_percent(self) -> float:
        usable = self.used_bytes + self.free_bytes
        return 100.0 * self.used_bytes / usable if usable else 0.0

    @property
    def inodes_used(self) -> int:
        return self.inodes_total - self.inodes_free

    @property
    def inode_used_percent(self) -> float | None:
        """None on filesystems without a fixed inode table (btrfs, some network mounts report 0)."""
        return 100.0 * self.inodes_used / self.inodes_total if self.inodes_total else None


def mount_point(path: str | os.PathLike[str]) -> Path:
    """The mount point of the filesystem holding ``path`` (its nearest existing ancestor if missing)."""
    current = Path(os.path.realpath(path))
    while not current.exists():
        current = current.parent
    while not os.path.ismount(current):
        current = current.parent
    return current


def measure(path: str | os.PathLike[str]) -> FilesystemUsage:
    """Usage of the filesystem holding ``path`` (which must exist)."""
    st = os.statvfs(path)
    return FilesystemUsage(
        mount=mount_point(path),
        size_bytes=st.f_blocks * st.f_frsize,
        used_bytes=(st.f_blocks - st.f_bfree) * st.f_frsize,
        free_bytes=st.f_bavail * st.f_frsize,
        inodes_total=st.f_files,
        inodes_free=st.f_favail,
    )
