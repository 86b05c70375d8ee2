"""Relieve a filling volume: when a volume holding a purge root is above ``high_percent`` used, rows younger
than their retention (but older than ``min_age_hours``) are removed too, oldest first, until the volume is
estimated below ``low_percent``.

The candidates are planned like any aged row, through every check (claims,
mounts, busy, referenced, confinement); only then are they chosen, from the
sizes measured, so a pressure removal never goes past a rule a retention
removal obeys. What retention removes on the volume counts first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import PressureSection
from ..fs.usage import measure, mount_point
from .plan import PurgeItem, PurgePlan


@dataclass
class VolumePressure:
    """One volume above its high mark: how many bytes bring it below the low mark, and what was chosen."""

    mount: Path
    used_percent: float
    high_percent: float
    low_percent: float
    needed_bytes: int  # to free for the low mark (what retention frees on it counts)
    used_bytes: int
    usable_bytes: int
    planned_bytes: int = 0  # chosen by the pressure rule, as measured
    freed_bytes: int = 0  # freed by the pressure rule (a dry run: as planned)
    used_percent_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mount": str(self.mount),
            "used_percent": round(self.used_percent, 2),
            "high_percent": self.high_percent,
            "low_percent": self.low_percent,
            "needed_bytes": self.needed_bytes,
            "planned_bytes": self.planned_bytes,
            "freed_bytes": self.freed_bytes,
            "used_percent_after": None if self.used_percent_after is None else round(self.used_percent_after, 2),
        }


def volumes_under_pressure(roots: Iterable[Path], settings: PressureSection) -> dict[Path, VolumePressure]:
    """The volumes holding ``roots`` that are above ``high_percent`` used (none when the mark is off)."""
    high = settings.high_percent
    found: dict[Path, VolumePressure] = {}
    if high is None:
        return found
    for root in roots:
        if not root.exists():
            continue
        usage = measure(root)
        if usage.mount in found or usage.used_percent <= high:
            continue
        usable = usage.used_bytes + usage.free_bytes
        target = int(usable * settings.low_percent / 100)
        found[usage.mount] = VolumePressure(
            usage.mount,
            usage.used_percent,
            high,
            settings.low_percent,
            max(0, usage.used_bytes - target),
            usage.used_bytes,
            usable,
        )
    return found


def _bytes_by_volume(item: PurgeItem, mounts: dict[Path, Path]) -> dict[Path, int]:
    found: dict[Path, int] = {}
    for path in item.paths:
        mount = mounts.setdefault(path.root, mount_point(path.root))
        found[mount] = found.get(mount, 0) + (path.usage.allocated_bytes if path.usage else 0)
    return found


def choose_for_pressure(plan: PurgePlan, volumes: dict[Path, VolumePressure]) -> None:
    """Keep every retention item; keep pressure items, oldest first, while a volume they free still needs bytes.

    Pressure candidates not chosen leave the plan with their refusals and missing
    notes: they were never due. Every path of a chosen row goes, wherever it lies.
    """
    mounts: dict[Path, Path] = {}
    for item in plan.items:
        if item.rule == "retention":
            for mount, size in _bytes_by_volume(item, mounts).items():
                if mount in volumes:
                    volumes[mount].needed_bytes = max(0, volumes[mount].needed_bytes - size)
    candidates = sorted((i for i in plan.items if i.rule == "pressure"), key=lambda i: (i.aged_at or datetime.min,
                                                                                       i.row_id or 0))  # fmt: skip
    chosen: set[int] = set()
    for item in candidates:
        sizes = _bytes_by_volume(item, mounts)
        if not any(volumes[m].planned_bytes < volumes[m].needed_bytes and size for m, size in sizes.items()
                   if m in volumes):  # fmt: skip
            continue
        chosen.add(id(item))
        for mount, size in sizes.items():
            if mount in volumes:
                volumes[mount].planned_bytes += size
    drop_candidates(plan, plan.pressure_rows - {i.row for i in plan.items if id(i) in chosen})


def drop_candidates(plan: PurgePlan, rows: set[str]) -> None:
    """Forget pressure candidates that were not chosen: their refusals and missing notes too."""
    plan.items = [i for i in plan.items if i.row not in rows]
    plan.refusals = [r for r in plan.refusals if r.row not in rows]
    plan.missing = [row for row in plan.missing if row not in rows]
    plan.expiring -= {row for row in rows if row}


def settle(volumes: dict[Path, VolumePressure], actions: Iterable[Any], *, dry_run: bool) -> None:
    """After the run: what the pressure rule freed per volume, and its used percent now (a dry run: estimated)."""
    freed_all: dict[Path, int] = {}
    for action in actions:
        if action.kind != "remove":
            continue
        mount = mount_point(os.path.dirname(action.target))
        if mount not in volumes:
            continue
        size = int(action.detail.get("bytes", 0))
        freed_all[mount] = freed_all.get(mount, 0) + size
        if action.detail.get("rule") == "pressure":
            volumes[mount].freed_bytes += size
    for mount, volume in volumes.items():
        if dry_run:
            left = volume.used_bytes - freed_all.get(mount, 0)
            volume.used_percent_after = 100.0 * left / volume.usable_bytes if volume.usable_bytes else 0.0
        else:
            volume.used_percent_after = measure(mount).used_percent
