"""Plan a purge: which rows lose which paths, and which paths are refused, with reasons.

Planning only reads: the database (one query per table) and the filesystem
(lstat and tree sizes). Every path a row names is confined to its root first.
Each path is decided on its own: a refused log never keeps the dataset, and a
row's columns change only for the paths that actually go.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.orm import Session

from ..db.models import TERMINAL_SCRAPE_STATUSES, TERMINAL_TRAINING_STATUSES
from ..db.server_schema import ServerSchema
from ..errors import SafetyError
from ..fs import ConfinedPath, TreeUsage, confine, tree_usage
from ..fs.pathindex import PathIndex
from ..server_paths import scrape_folder_name, training_dataset_folder_name, training_log_path
from .checkpoints import stale_step_checkpoints

if TYPE_CHECKING:
    from .references import References


@dataclass(frozen=True)
class PurgePath:
    """One file or folder to remove: as the row names it, its root, and what removing it frees.

    ``columns`` are the row's columns set once the path is gone (a nested path
    of the same row adds its own to the folder that holds it).
    """

    what: str  # scrape_output, training_dataset, training_log, checkpoint, orphan
    named: str
    root: Path
    target: ConfinedPath
    columns: dict[str, Any] = field(default_factory=dict)
    usage: TreeUsage | None = None  # filled in by measure_paths()
    covered: bool = False  # another row's planned path holds it (or is it): gone with that one, counted there
    references: References | None = None  # images rows deleted once it is gone (purge.referenced_images: delete)

    @property
    def exists(self) -> bool:
        return self.usage is not None and self.usage.entries > 0


@dataclass(frozen=True)
class Refusal:
    """A path the purge will not touch; the row keeps the columns that path would have changed."""

    row: str | None
    what: str
    path: str
    reason: str  # one of reasons.REFUSAL_REASONS
    message: str
    detail: dict[str, Any] = field(default_factory=dict)  # figures behind the reason (the counts of `referenced`)


@dataclass
class PurgeItem:
    """A row (or an orphan folder) and what purging it means: paths to remove, then columns to set."""

    kind: str  # scrape or training
    row: str | None  # "scrape_jobs/1"; None for an orphan
    row_id: int | None
    why: str
    paths: list[PurgePath]
    row_values: dict[str, Any] = field(default_factory=dict)  # the columns' values as the plan read them
    aged_at: datetime | None = None  # the row's age (the platform's rule); None for an orphan
    rule: str = "retention"  # what chose it: retention (past the window) or pressure (relieving a volume)

    def row_change(self, gone: list[PurgePath]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The columns (before, after) that change once the ``gone`` paths are gone; empty when none does."""
        after = {column: value for path in gone for column, value in path.columns.items()}
        after = {column: value for column, value in after.items() if self.row_values.get(column) != value}
        return {column: self.row_values.get(column) for column in after}, after


@dataclass
class PurgePlan:
    kind: str
    retention_days: int
    cutoff: datetime
    items: list[PurgeItem] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows with a path not on this host: its columns left alone
    expiring: set[str] = field(default_factory=set)  # every aged terminal row selected: none claims a path
    pressure_cutoff: datetime | None = None  # relieving a volume: rows aged before this are candidates too
    pressure_rows: set[str] = field(default_factory=set)  # the rows read only as such candidates

    @property
    def selection_cutoff(self) -> datetime:
        """Rows aged before this are read: past the retention, or (relieving a volume) past the minimum age."""
        return max(self.cutoff, self.pressure_cutoff) if self.pressure_cutoff else self.cutoff

    def rule_for(self, aged_at: datetime) -> str:
        return "retention" if aged_at < self.cutoff else "pressure"

    def refuse(self, item: PurgeItem, path: PurgePath, exc: SafetyError) -> None:
        """Take ``path`` out of ``item`` and record why (the item's other paths go on)."""
        item.paths = [p for p in item.paths if p is not path]
        self.refusals.append(refusal_from(item.row, path.what, path.named, exc))

    def prune(self) -> None:
        """Drop the items left without a path."""
        self.items = [item for item in self.items if item.paths]


def refusal_from(row: str | None, what: str, named: str, exc: SafetyError) -> Refusal:
    detail = {key: value for key, value in exc.details.items() if key not in ("reason", "path")}
    return Refusal(row, what, named, str(exc.details.get("reason", "invalid")), exc.message, detail)


@dataclass(frozen=True)
class _Candidate:
    what: str
    named: str
    root: Path | None  # None: the root is not configured
    columns: dict[str, Any] = field(default_factory=dict)


def _aged_at(table: Table) -> ColumnElement[datetime]:
    """The platform's age rule: completed_at, else last_error_at, else created_at."""
    return func.coalesce(table.c.completed_at, table.c.last_error_at, table.c.created_at)


def _age_text(plan: PurgePlan, status: str | None, aged_at: datetime, now: datetime) -> str:
    age = now - aged_at
    if plan.rule_for(aged_at) == "pressure":
        hours = int(age.total_seconds() // 3600)
        return f"{status} {hours} hours ago (retention {plan.retention_days} days): relieving a filling volume"
    return f"{status} {age.days} days ago (retention {plan.retention_days} days)"


def _confine(candidate: _Candidate) -> PurgePath:
    if candidate.root is None:
        raise SafetyError(
            f"refused {candidate.named}: its root paths.lora_dir is not configured "
            "(set it, or model.cache_dir in platform_config)",
            reason="root_missing",
        )
    target = confine(candidate.named, candidate.root, allow_missing=True)
    return PurgePath(candidate.what, candidate.named, candidate.root, target, dict(candidate.columns))


def _nest(paths: list[PurgePath]) -> list[PurgePath]:
    """A path inside another path of the same row goes with it: its columns join the enclosing path's."""
    ordered = sorted(paths, key=lambda p: len(p.target.relative.parts))
    kept: list[PurgePath] = []
    for path in ordered:
        holder = next((k for k in kept if k.root == path.root and _inside(path.target, k.target)), None)
        if holder is None:
            kept.append(path)
        else:
            holder.columns.update(path.columns)
    return sorted(kept, key=paths.index)


def _inside(path: ConfinedPath, folder: ConfinedPath) -> bool:
    return path.relative.parts[: len(folder.relative.parts)] == folder.relative.parts


def _add(plan: PurgePlan, item: PurgeItem, candidates: list[_Candidate]) -> None:
    """Confine each candidate on its own; the item is planned with the paths that pass."""
    if item.row is not None:
        plan.expiring.add(item.row)
        if item.rule == "pressure":
            plan.pressure_rows.add(item.row)
    paths: list[PurgePath] = []
    for candidate in candidates:
        try:
            paths.append(_confine(candidate))
        except SafetyError as exc:
            plan.refusals.append(refusal_from(item.row, candidate.what, candidate.named, exc))
    if paths:
        item.paths = _nest(paths)
        plan.items.append(item)


def _usage(path: PurgePath, deep: bool) -> TreeUsage | SafetyError:
    try:
        return tree_usage(path.target, deep=deep)
    except SafetyError as exc:  # swapped for a symlink since confinement, or another filesystem inside
        return exc


def journal_key(row: str, what: str) -> str:
    """How the journal names one path of a row (a bare row, as older journals hold, means all its paths)."""
    return f"{row}:{what}"


def _covered_by_other_rows(items: list[PurgeItem]) -> set[int]:
    """The paths (by id) lying in, or equal to, a path another item plans: two expiring rows naming one folder.

    Such items are removed one after the other (``execute_plan`` groups them), so
    the later path finds its folder gone; a dry run counts the bytes once.
    """
    index = PathIndex((str(path.target.path), (n, path)) for n, item in enumerate(items) for path in item.paths)
    covered: set[int] = set()
    for n, item in enumerate(items):
        for path in item.paths:
            others = [(m, other) for m, other in index.within(str(path.target.path)) if m != n]
            holders = [(m, other) for m, other in index.above(str(path.target.path)) if m != n]
            same = [m for m, other in others if other.target == path.target]
            if holders or any(m < n for m in same):
                covered.add(id(path))
    return covered


def _journaled(finish: set[str], row: str | None, what: str) -> bool:
    return row is not None and (row in finish or journal_key(row, what) in finish)


def measure_paths(plan: PurgePlan, *, sizes: bool, finish: set[str] = frozenset(), clear_missing: bool = False) -> None:
    """Size every planned path (``sizes``; otherwise only see that it is there), then drop what is already gone.

    A path already gone stays in the plan only to set its row's columns, and
    only when this host removed it itself (the journal of a run that stopped,
    ``finish``) or ``clear_missing``; otherwise it may live on another host
    sharing the database, and its row is listed in ``plan.missing`` with those
    columns left alone. A path whose folder was swapped since confinement, or
    that holds another filesystem, is refused. A real purge does not size trees
    here: removal measures as it goes, in one walk. Sizing runs in this thread:
    the walk is bound by Python, not the kernel (threads measured slower).
    """
    covered = _covered_by_other_rows(plan.items)
    for item in plan.items:
        measured: list[PurgePath] = []
        for path in list(item.paths):
            found = _usage(path, sizes)
            if isinstance(found, SafetyError):
                plan.refuse(item, path, found)
            elif id(path) in covered and found.entries:  # its bytes are counted once, with the enclosing path
                measured.append(replace(path, usage=TreeUsage(0, 0, 0) if sizes else found, covered=True))
            else:
                measured.append(replace(path, usage=found))
        gone = [path for path in measured if not path.exists and item.row_change([path])[1]]
        cleared = [path for path in gone if clear_missing or _journaled(finish, item.row, path.what)]
        if item.row is not None and len(cleared) < len(gone):
            plan.missing.append(item.row)
        item.paths = [path for path in measured if path.exists or path.covered or any(path is c for c in cleared)]
    plan.prune()


def plan_scrape(session: Session, schema: ServerSchema, scraped_dir: Path, plan: PurgePlan, now: datetime) -> None:
    """Terminal scrape jobs past the cutoff lose their output folder; output_directory becomes ''."""
    jobs = schema.table("scrape_jobs")
    aged_at = _aged_at(jobs).label("aged_at")
    rows = session.execute(
        select(jobs.c.id, jobs.c.status, jobs.c.output_directory, aged_at)
        .where(jobs.c.status.in_(TERMINAL_SCRAPE_STATUSES), aged_at < plan.selection_cutoff)
        .order_by(jobs.c.id)
    ).all()
    for job_id, status, output_directory, when in rows:
        named = output_directory or str(scraped_dir / scrape_folder_name(job_id))
        item = PurgeItem(
            kind="scrape",
            row=f"scrape_jobs/{job_id}",
            row_id=job_id,
            why=_age_text(plan, status, when, now),
            paths=[],
            row_values={"output_directory": output_directory},
            aged_at=when,
            rule=plan.rule_for(when),
        )
        # NULL: the default folder, and nothing to write back
        columns = {} if output_directory is None else {"output_directory": ""}
        _add(plan, item, [_Candidate("scrape_output", named, scraped_dir, columns)])


def plan_training(
    session: Session,
    schema: ServerSchema,
    dataset_dir: Path,
    lora_dir: Path | None,
    plan: PurgePlan,
    now: datetime,
    purge_checkpoints: bool,
    keep_checkpoints: int | None = None,
) -> None:
    """Terminal runs past the cutoff lose their dataset folder and log; dataset_path becomes ''.

    The dataset lies in ``dataset_dir``; the log (the server's rule) and the
    weights in ``lora_dir``. The weights go only with ``purge_checkpoints``
    (the whole output folder and final_checkpoint; each column becomes '' once
    its path is gone, as the server clears dataset_path) or, with
    ``keep_checkpoints`` (purge.checkpoints), the run's step checkpoints past
    the newest ``keep_checkpoints`` (``imgops.purge.checkpoints``), the final
    weights kept; those change no column.
    """
    runs = schema.table("training_runs")
    aged_at = _aged_at(runs).label("aged_at")
    rows = session.execute(
        select(runs.c.id, runs.c.status, runs.c.dataset_path, runs.c.output_path, runs.c.final_checkpoint, aged_at)
        .where(runs.c.status.in_(TERMINAL_TRAINING_STATUSES), aged_at < plan.selection_cutoff)
        .order_by(runs.c.id)
    ).all()
    for run_id, status, dataset_path, output_path, final_checkpoint, when in rows:
        dataset = dataset_path or str(dataset_dir / training_dataset_folder_name(run_id))
        candidates = [_Candidate("training_dataset", dataset, dataset_dir, {"dataset_path": ""})]
        log = training_log_path(run_id, output_path, lora_dir)
        candidates.append(_Candidate("training_log", log or f"logs/training_{run_id}.log", lora_dir))
        values: dict[str, Any] = {"dataset_path": dataset_path}
        if purge_checkpoints:
            weights: dict[str, dict[str, Any]] = {output_path: {"output_path": ""}} if output_path else {}
            values["output_path"] = output_path
            if final_checkpoint:
                weights.setdefault(final_checkpoint, {})["final_checkpoint"] = ""
                values["final_checkpoint"] = final_checkpoint
            candidates += [_Candidate("checkpoint", path, lora_dir, columns) for path, columns in weights.items()]
        elif keep_checkpoints is not None and output_path and lora_dir is not None:
            steps = stale_step_checkpoints(output_path, lora_dir, keep_checkpoints, [final_checkpoint or ""])
            candidates += [_Candidate("checkpoint", path, lora_dir) for path in steps]
        item = PurgeItem(
            kind="training",
            row=f"training_runs/{run_id}",
            row_id=run_id,
            why=_age_text(plan, status, when, now),
            paths=[],
            row_values=values,
            aged_at=when,
            rule=plan.rule_for(when),
        )
        _add(plan, item, candidates)


def _named_top_level(named: list[str], root: Path) -> set[str]:
    """The first component below ``root`` of every path the rows name (lexically, as confine does)."""
    top: set[str] = set()
    for path in named:
        absolute = os.path.normpath(os.path.join(root, path))
        for base in {str(root), os.path.realpath(root)}:
            relative = os.path.relpath(absolute, base)
            if relative != "." and not relative.startswith(".."):
                top.add(relative.split(os.sep, 1)[0])
    return top


def plan_orphans(session: Session, schema: ServerSchema, kind: str, root: Path, plan: PurgePlan, now: datetime) -> None:
    """Folders directly in ``root`` that no row of any status names, last modified before the cutoff."""
    if not root.is_dir():
        return
    if kind == "scrape":
        jobs = schema.table("scrape_jobs")
        rows = session.execute(select(jobs.c.id, jobs.c.output_directory)).all()
        named = [path or scrape_folder_name(row_id) for row_id, path in rows]
        table = "scrape_jobs"
    else:
        runs = schema.table("training_runs")
        rows = session.execute(select(runs.c.id, runs.c.dataset_path)).all()
        named = [path or training_dataset_folder_name(row_id) for row_id, path in rows]
        table = "training_runs"
    known = _named_top_level(named, root)
    cutoff = plan.cutoff.replace(tzinfo=UTC).timestamp()
    now_ts = now.replace(tzinfo=UTC).timestamp()
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            st = entry.stat(follow_symlinks=False)
            if entry.name in known or not stat.S_ISDIR(st.st_mode) or st.st_mtime >= cutoff:
                continue
            item = PurgeItem(
                kind=kind,
                row=None,
                row_id=None,
                why=f"orphan: no row of {table} names it, modified {int((now_ts - st.st_mtime) // 86400)} days ago",
                paths=[],
            )
            _add(plan, item, [_Candidate("orphan", str(root / entry.name), root)])
