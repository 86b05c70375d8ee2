"""Carry out a purge plan: each path removed first, then its row updated in a transaction of its own.

The order makes a crash harmless: a folder gone with its row not yet updated is
found again by the next run as a missing folder, and the row just gets updated.
Every path is confined again right before removal, so a folder swapped for a
symlink since planning is refused, and removal itself never follows a symlink.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, update

from ..db import transaction
from ..db.models import ScrapeJob, TrainingRun
from ..errors import SafetyError
from ..fs import TreeUsage, confine, remove_confined
from ..fs.usage import mount_point
from ..jsonlog import log_event
from ..result import JobResult
from .plan import PurgeItem, PurgePath, Refusal

_MODELS: dict[str, type[ScrapeJob] | type[TrainingRun]] = {"scrape": ScrapeJob, "training": TrainingRun}


def report_refusal(result: JobResult, refusal: Refusal) -> None:
    """A refusal is a notice, not an error: the row stays as it is and the other rows go on."""
    result.notice(refusal.message, row=refusal.row, what=refusal.what, path=refusal.path, reason=refusal.reason)
    log_event("purge_refused", logging.WARNING, row=refusal.row, path=refusal.path, reason=refusal.reason)


def _remove(item: PurgeItem, path: PurgePath) -> Refusal | TreeUsage:
    """Remove one planned path; what it freed, or why it was refused."""
    try:
        target = confine(path.named, path.root, allow_missing=True)
        if target != path.target:
            raise SafetyError(
                f"refused {path.named}: it resolves to {target.path} now, not {path.target.path} as planned",
                reason="swapped",
            )
        return remove_confined(target)
    except SafetyError as exc:
        return Refusal(item.row, path.what, path.named, str(exc.details.get("reason", "refused")), exc.message)


def _update_row(engine: Engine, item: PurgeItem) -> bool:
    """Set the row's columns, only if they still hold what the plan saw; False when the row moved on."""
    model = _MODELS[item.kind]
    guards = [
        getattr(model, column).is_(None) if value is None else getattr(model, column) == value
        for column, value in item.row_before.items()
    ]
    with transaction(engine) as session:
        updated = session.execute(update(model).where(model.id == item.row_id, *guards).values(**item.row_after))
        return updated.rowcount == 1


@dataclass(frozen=True)
class _Removal:
    """What happened to one item's paths: "removed" (all of them), "refused" or "failed" part way."""

    status: str
    removed: list[tuple[PurgePath, TreeUsage]]
    refusal: Refusal | None = None
    error: str | None = None


def _remove_paths(item: PurgeItem) -> _Removal:
    """Remove the item's paths in order, stopping at the first refusal or failure (runs in a worker thread)."""
    removed: list[tuple[PurgePath, TreeUsage]] = []
    for path in item.paths:
        try:
            outcome = _remove(item, path)
        except OSError as exc:
            return _Removal("failed", removed, error=f"cannot remove {path.target.path}: {exc.strerror}")
        if isinstance(outcome, Refusal):
            return _Removal("refused", removed, refusal=outcome)
        removed.append((path, outcome))
    return _Removal("removed", removed)


def _record(
    engine: Engine, item: PurgeItem, removal: _Removal, result: JobResult, freed: Counter[Path], dry_run: bool
) -> str:
    """Report what was removed, then update the row (only when every path went): the item's status."""
    for path, usage in removal.removed:
        freed[mount_point(path.root)] += usage.allocated_bytes
        result.act(
            "remove",
            str(path.target.path),
            row=item.row,
            what=path.what,
            bytes=usage.allocated_bytes,
            files=usage.entries,
            reason=item.why,
        )
        log_event("purge_remove", row=item.row, path=str(path.target.path), bytes=usage.allocated_bytes,
                  dry_run=dry_run)  # fmt: skip
    if removal.refusal is not None:
        report_refusal(result, removal.refusal)
        return "refused"
    if removal.error is not None:
        result.error(removal.error, row=item.row)
        log_event("purge_failed", logging.ERROR, row=item.row, error=removal.error)
        return "failed"
    if item.row is None or item.row_after == item.row_before:
        return "done"
    if not dry_run and not _update_row(engine, item):
        result.notice(f"{item.row} changed while it was purged; its row was left as it is now", row=item.row)
        return "done"
    result.act("update_row", item.row, before=item.row_before, after=item.row_after, reason=item.why)
    return "done"


def execute_plan(
    engine: Engine, items: list[PurgeItem], result: JobResult, freed: Counter[Path], *, dry_run: bool, workers: int
) -> list[str]:
    """Carry out ``items``: "done", "refused" or "failed" for each, in order.

    Removal (kernel-bound unlinks) runs in ``workers`` threads, folder by folder;
    each row is updated in this thread, in plan order, once its own paths are gone.
    In a dry run nothing is removed and every planned path is reported.
    """
    if dry_run:
        return [
            _record(engine, item, _Removal("removed", [(path, path.usage) for path in item.paths]), result, freed, True)
            for item in items
        ]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="imgops-purge") as pool:
        return [
            _record(engine, item, removal, result, freed, False)
            for item, removal in zip(items, pool.map(_remove_paths, items), strict=True)
        ]
