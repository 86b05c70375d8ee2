"""Thresholds per target and the severity they give a filesystem's usage."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..fs.usage import FilesystemUsage

SEVERITIES = ("ok", "warning", "critical", "unknown")  # index = Nagios exit code


@dataclass(frozen=True)
class Thresholds:
    """Percent thresholds for space and inodes, and an absolute floor of free bytes (critical below)."""

    warn_percent: float
    crit_percent: float
    inode_warn_percent: float
    inode_crit_percent: float
    min_free_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def thresholds_for(section: dict[str, Any], target: dict[str, Any]) -> Thresholds:
    """A target's own keys win over the ``disk`` section's; inode thresholds default to the space ones."""

    def pick(key: str, fallback: Any = None) -> Any:
        return target.get(key, section.get(key, fallback))

    warn, crit = pick("warn_percent"), pick("crit_percent")
    return Thresholds(
        warn_percent=warn,
        crit_percent=crit,
        inode_warn_percent=pick("inode_warn_percent", warn),
        inode_crit_percent=pick("inode_crit_percent", crit),
        min_free_bytes=pick("min_free_bytes"),
    )


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
