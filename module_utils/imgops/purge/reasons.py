"""The closed list of reasons a purge refuses a path; every refusal carries one, and the summary counts each."""

from __future__ import annotations

REFUSAL_REASONS: dict[str, str] = {
    "invalid": "the row names an empty path or one with a NUL byte",
    "outside_root": "the path lies outside its root (also through '..')",
    "is_root": "the path is the root itself",
    "root_missing": "the path's root is not configured or does not exist here",
    "symlink": "a symlink lies on the way (the last component included); symlinks are never followed",
    "swapped": "a folder on the way was replaced or moved between planning and removal",
    "mount_point": "the folder is, or holds, a mount point (another filesystem or a bind mount)",
    "claimed": "another row that is not expiring names the same path, one inside it or one containing it",
    "busy": "a live process has an open file or its working directory in the folder",
    "referenced": "images rows point at files in the folder (purge.referenced_images: keep, the default)",
}


def reason_counts(reasons: list[str]) -> dict[str, int]:
    """Every reason of the closed list with how often it occurred (zero included, so the keys never vary)."""
    return {reason: reasons.count(reason) for reason in REFUSAL_REASONS}
