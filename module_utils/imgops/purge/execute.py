"""Carry out a purge plan: each path removed first, then its row updated in a transaction of its own.

The order makes a crash harmless: a folder gone with its row not yet updated is
found again by the next run as a missing folder, and the row just gets updated.
Every path is confined again right before removal, so a folder swapped for a
symlink since planning is refused, and removal itself never follows a symlink
nor crosses into another filesystem. Each path of a row is decided on its own:
the row's columns are set for the paths that went, the others keep theirs.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, update

from ..db import transaction
from ..db.server_schema import ServerSchema
from ..errors import SafetyError
from ..fs import TreeUsage, confine, remove_confined
from ..fs.pathindex import PathIndex
from ..fs.usage import mount_point
from ..jsonlog import log_event
from ..result import JobResult
from .plan import PurgeItem, PurgePath, Refusal, refusal_from
from .references import ImageRows, References

_ROW_TABLES = {"scrape": "scrape_jobs", "training": "training_runs"}


def report_refusal(result: JobResult, refusal: Refusal) -> None:
    """A refusal is a notice, not an error: the path and the columns it would change stay, the rest goes on."""
    result.notice(
        refusal.message, row=refusal.row, what=refusal.what, path=refusal.path, reason=refusal.reason, **refusal.detail
    )
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
        return refusal_from(item.row, path.what, path.named, exc)


def _update_row(
    engine: Engine, schema: ServerSchema, item: PurgeItem, before: dict[str, object], after: dict[str, object]
) -> bool:
    """Set the row's columns, only if they still hold what the plan saw; False when the row moved on."""
    table = schema.table(_ROW_TABLES[item.kind])
    guards = [
        table.c[column].is_(None) if value is None else table.c[column] == value for column, value in before.items()
    ]
    with transaction(engine) as session:
        updated = session.execute(update(table).where(table.c.id == item.row_id, *guards).values(**after))
        return updated.rowcount == 1


@dataclass(frozen=True)
class _Outcome:
    """What happened to one path: what it freed (it is gone), why it was refused, or the error."""

    path: PurgePath
    usage: TreeUsage | None = None
    refusal: Refusal | None = None
    error: str | None = None


def _remove_paths(item: PurgeItem) -> list[_Outcome]:
    """Remove each of the item's paths on its own (runs in a worker thread)."""
    outcomes: list[_Outcome] = []
    for path in item.paths:
        try:
            found = _remove(item, path)
        except OSError as exc:
            outcomes.append(_Outcome(path, error=f"cannot remove {path.target.path}: {exc.strerror}"))
            continue
        outcomes.append(_Outcome(path, refusal=found) if isinstance(found, Refusal) else _Outcome(path, usage=found))
    return outcomes


def report_deleted_rows(result: JobResult, folder: str, row: str | None, found: References) -> None:
    """The images rows (labels, memberships, emptied albums) that went, or would go, with ``folder``."""
    if not found.images:
        return
    result.act("delete_rows", folder, row=row, reason="purge.referenced_images: delete", **found.counts())
    log_event("purge_delete_rows", row=row, path=folder, **found.counts())


def _delete_references(engine: Engine, item: PurgeItem, path: PurgePath, result: JobResult, dry_run: bool,
                       rows: ImageRows | None) -> None:  # fmt: skip
    """After the folder went: its images rows, in one transaction (a dry run reports what the plan counted)."""
    if path.references is None or rows is None or (dry_run and path.covered):
        return
    folder = rows.folder(path)
    found = path.references if dry_run else rows.delete(engine, folder, path.references.images)
    report_deleted_rows(result, folder, item.row, found)


def _record(
    engine: Engine,
    schema: ServerSchema,
    item: PurgeItem,
    outcomes: list[_Outcome],
    result: JobResult,
    freed: Counter[Path],
    dry_run: bool,
    rows: ImageRows | None = None,
) -> str:
    """Report each path and delete the images rows pointing into it, then set the row's columns for the
    paths that are gone: the item's status."""
    gone: list[PurgePath] = []
    for outcome in outcomes:
        path = outcome.path
        if outcome.refusal is not None:
            report_refusal(result, outcome.refusal)
            continue
        if outcome.error is not None:
            result.error(outcome.error, row=item.row, what=path.what)
            log_event("purge_failed", logging.ERROR, row=item.row, error=outcome.error)
            continue
        gone.append(path)
        usage = outcome.usage
        if usage is None or usage.entries == 0:  # already gone: only its columns are set
            continue
        freed[mount_point(path.root)] += usage.allocated_bytes
        result.act(
            "remove",
            str(path.target.path),
            row=item.row,
            what=path.what,
            bytes=usage.allocated_bytes,
            files=usage.entries,
            reason=item.why,
            rule=item.rule,
        )
        log_event("purge_remove", row=item.row, path=str(path.target.path), bytes=usage.allocated_bytes,
                  dry_run=dry_run)  # fmt: skip
    for path in gone:
        _delete_references(engine, item, path, result, dry_run, rows)
    status = "failed" if any(o.error for o in outcomes) else "refused" if any(o.refusal for o in outcomes) else "done"
    before, after = item.row_change(gone)
    if item.row is None or not after:
        return status
    if not dry_run and not _update_row(engine, schema, item, before, after):
        result.notice(f"{item.row} changed while it was purged; its row was left as it is now", row=item.row)
        return status
    result.act("update_row", item.row, before=before, after=after, reason=item.why, rule=item.rule)
    return status


def execute_plan(
    engine: Engine,
    schema: ServerSchema,
    items: list[PurgeItem],
    result: JobResult,
    freed: Counter[Path],
    *,
    dry_run: bool,
    workers: int,
    rows: ImageRows | None = None,
) -> list[str]:
    """Carry out ``items``: "done", "refused" (a path of it) or "failed" (a path of it) for each, in order.

    Removal (kernel-bound unlinks) runs in ``workers`` threads, folder by folder;
    each row is updated in this thread, in plan order, once its own paths are done.
    In a dry run nothing is removed and every planned path is reported.
    """
    if dry_run:
        return [
            _record(
                engine,
                schema,
                item,
                [_Outcome(path, usage=path.usage) for path in item.paths],
                result,
                freed,
                True,
                rows,
            )
            for item in items
        ]
    groups = overlap_groups(items)
    place = {n: (g, k) for g, group in enumerate(groups) for k, n in enumerate(group)}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="imgops-purge") as pool:
        done = [pool.submit(_remove_group, [items[n] for n in group]) for group in groups]
        return [
            _record(engine, schema, item, done[place[n][0]].result()[place[n][1]], result, freed, False, rows)
            for n, item in enumerate(items)
        ]


def overlap_groups(items: list[PurgeItem]) -> list[list[int]]:
    """Items (by index, in plan order) whose paths overlap one another's, grouped; most groups hold one item.

    A group is removed in one thread, in plan order, so two rows naming one folder
    never remove it at once: the later one finds it gone.
    """
    index = PathIndex((str(path.target.path), n) for n, item in enumerate(items) for path in item.paths)
    parent = list(range(len(items)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for n, item in enumerate(items):
        for path in item.paths:
            for m in index.overlapping(str(path.target.path)):
                parent[root(m)] = root(n)
    groups: dict[int, list[int]] = {}
    for n in range(len(items)):
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values())


def _remove_group(items: list[PurgeItem]) -> list[list[_Outcome]]:
    return [_remove_paths(item) for item in items]
