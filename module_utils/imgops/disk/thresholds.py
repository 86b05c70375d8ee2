"""The severity a filesystem's usage has under its thresholds (``config.Thresholds``, set per target)."""

from __future__ import annotations

from ..config import SEVERITIES, Thresholds
from ..fs.usage import FilesystemUsage


def worst(severities: list[str]) -> str:
    return max(severities, key=SEVERITIES.index, default="ok")


def evaluate(usage: FilesystemUsage, limits: Thresholds) -> tuple[str, list[str]]:
    """The severity of ``usage`` under ``limits``, with a reason for every threshold crossed."""
    found: list[tuple[str, str]] = []

    def check(what: str, percent: float | None, warn: float, crit: float) -> None:
        if percent is None:
            return
        if percent >= crit:
            found.append(("critical", f"{what} {percent:.1f}% used >= critical {crit:g}%"))
        elif percent >= warn:
            found.append(("warning", f"{what} {percent:.1f}% used >= warning {warn:g}%"))

    check("space", usage.used_percent, limits.warn_percent, limits.crit_percent)
    check("inodes", usage.inode_used_percent, limits.inode_warn_percent, limits.inode_crit_percent)
    if limits.min_free_bytes is not None and usage.free_bytes < limits.min_free_bytes:
        found.append(("critical", f"{usage.free_bytes} bytes free < floor {limits.min_free_bytes}"))
    return worst([severity for severity, _ in found]), [reason for _, reason in found]
