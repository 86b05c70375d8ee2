"""Refuse planned folders that hold a mount point or that a live process uses, before anything is measured or removed.

The mount table and the process table are each read once per plan. Removal
checks the mount table again, and its walk never enters another device
(``imgops.fs.remove``).
"""

from __future__ import annotations

from ..errors import SafetyError
from ..fs.busy import paths_in_use, refuse_busy
from ..fs.mounts import mount_table, refuse_mount_points
from .plan import PurgePlan


def refuse_mounted_and_busy(plan: PurgePlan) -> None:
    if not plan.items:
        return
    mounts, users = mount_table(), paths_in_use()
    for item in plan.items:
        for path in list(item.paths):
            try:
                refuse_mount_points(str(path.target.path), mounts)
                refuse_busy(str(path.target.path), users)
            except SafetyError as exc:
                plan.refuse(item, path, exc)
    plan.prune()
