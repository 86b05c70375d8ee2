"""Carry out a purge plan: each path removed first, then its row updated in a transaction of its own.

The order makes a crash harmless: a folder gone with its row not yet updated is
found again by the next run as a missing folder, and the row just gets updated.
Every path is confined again right before removal, so a folder swapped for a
symlink since planning is refused, and removal itself never follows a symlink.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, update

from ..db import transaction
from ..db.models import ScrapeJob, TrainingRun
from ..disk.usage import mount_point
from ..errors import SafetyError
from ..fs import confine, remove_confined
from ..jsonlog import log_event
from ..result import JobResult
from .plan import PurgeItem, PurgePath, Refusal

_MODELS: dict[str, type[ScrapeJob] | type[TrainingRun]] = {"scrape": ScrapeJob, "training": TrainingRun}


def report_refusal(result: JobResult, refusal: Refusal) -> None:
    """A refusal is a notice, not an error: the row stays as it is and the other rows go on."""
    result.notice(refusal.message, row=refusal.row, what=refusal.what, path=refusal.path, reason=refusal.reason)
    log_event("purge_refused", logging.WARNING, row=refusal.row, path=refusal.path, reason=refusal.reason)


def _remove(item: PurgeItem, path: PurgePath) -> Refusal | None:
    try:
        target = confine(path.named, path.root, allow_missing=True)
        if target != path.target:
            raise SafetyError(
                f"refused {path.named}: it resolves to {target.path} now, not {path.target.path} as planned",
                reason="swapped",
            )
        remove_confined(target)
    except SafetyError as exc:
        return Refusal(item.row, path.what, path.named, str(exc.details.get("reason", "refused")), exc.message)
    return None


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


def execute_item(engine: Engine, item: PurgeItem, result: JobResult, freed: Counter[Path], *, dry_run: bool) -> str:
    """Remove the item's paths, then update its row: "done", "refused" or "failed" (row left alone)."""
    for path in item.paths:
        if not dry_run:
            try:
                refusal = _remove(item, path)
            except OSError as exc:
                result.error(f"cannot remove {path.target.path}: {exc.strerror}", row=item.row, path=path.named)
                log_event("purge_failed", logging.ERROR, row=item.row, path=path.named, error=exc.strerror)
                return "failed"
            if refusal is not None:
                report_refusal(result, refusal)
                return "refused"
        freed[mount_point(path.root)] += path.usage.allocated_bytes
        result.act(
            "remove",
            str(path.target.path),
            row=item.row,
            what=path.what,
            bytes=path.usage.allocated_bytes,
            files=path.usage.entries,
            reason=item.why,
        )
        log_event("purge_removed", row=item.row, path=str(path.target.path), bytes=path.usage.allocated_bytes,
                  dry_run=dry_run)  # fmt: skip
    if item.row is None or item.row_after == item.row_before:
        return "done"
    if not dry_run and not _update_row(engine, item):
        result.notice(f"{item.row} changed while it was purged; its row was left as it is now", row=item.row)
        return "done"
    result.act("update_row", item.row, before=item.row_before, after=item.row_after, reason=item.why)
    return "done"
