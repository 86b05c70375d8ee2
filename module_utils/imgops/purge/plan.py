"""Plan a purge: which rows lose which paths, and which are refused, with reasons.

Planning only reads: the database (one query per table) and the filesystem
(lstat and tree sizes). Every path a row names is confined to its root first;
a row with any refused path is left out of the plan whole, so its row and its
files stay exactly as they are.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import TERMINAL_SCRAPE_STATUSES, TERMINAL_TRAINING_STATUSES, ScrapeJob, TrainingRun
from ..errors import SafetyError
from ..fs import ConfinedPath, TreeUsage, confine, tree_usage
from ..server_paths import scrape_folder_name, training_dataset_folder_name, training_log_path


@dataclass(frozen=True)
class PurgePath:
    """One file or folder to remove: as the row names it, its root, and what removing it frees."""

    what: str  # scrape_output, training_dataset, training_log, checkpoint, orphan
    named: str
    root: Path
    target: ConfinedPath
    usage: TreeUsage | None = None  # filled in by measure_paths()

    @property
    def exists(self) -> bool:
        return self.usage is not None and self.usage.entries > 0


@dataclass(frozen=True)
class Refusal:
    """A path the purge will not touch, and the row left alone because of it."""

    row: str | None
    what: str
    path: str
    reason: str
    message: str


@dataclass
class PurgeItem:
    """A row (or an orphan folder) and what purging it means: paths to remove, then columns to set."""

    kind: str  # scrape or training
    row: str | None  # "scrape_jobs/1"; None for an orphan
    row_id: int | None
    why: str
    paths: list[PurgePath]
    row_before: dict[str, Any] = field(default_factory=dict)
    row_after: dict[str, Any] = field(default_factory=dict)


@dataclass
class PurgePlan:
    kind: str
    retention_days: int
    cutoff: datetime
    items: list[PurgeItem] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows whose paths are not on this host: left alone


@dataclass(frozen=True)
class _Candidate:
    what: str
    named: str
    root: Path


def _aged_at(model: type[ScrapeJob] | type[TrainingRun]) -> Any:
    """The platform's age rule: completed_at, else last_error_at, else created_at."""
    return func.coalesce(model.completed_at, model.last_error_at, model.created_at)


def _age_text(status: str | None, aged_at: datetime, now: datetime, retention_days: int) -> str:
    return f"{status} {(now - aged_at).days} days ago (retention {retention_days} days)"


def _resolve(row: str | None, candidates: list[_Candidate], plan: PurgePlan) -> list[PurgePath] | None:
    """Confine and measure every candidate; None (and refusals recorded) when any is refused."""
    paths: list[PurgePath] = []
    refused = False
    for candidate in candidates:
        try:
            target = confine(candidate.named, candidate.root, allow_missing=True)
            paths.append(PurgePath(candidate.what, candidate.named, candidate.root, target))
        except SafetyError as exc:
            refused = True
            reason = str(exc.details.get("reason", "refused"))
            plan.refusals.append(Refusal(row, candidate.what, candidate.named, reason, exc.message))
    return None if refused else paths


def _add(plan: PurgePlan, item: PurgeItem, candidates: list[_Candidate]) -> None:
    paths = _resolve(item.row, candidates, plan)
    if paths is not None:
        item.paths = paths
        plan.items.append(item)


def _usage(path: PurgePath, deep: bool) -> TreeUsage | SafetyError:
    try:
        return tree_usage(path.target, deep=deep)
    except SafetyError as exc:  # a folder on the way was swapped for a symlink since confinement
        return exc


def measure_paths(plan: PurgePlan, *, sizes: bool, finish: set[str] = frozenset(), clear_missing: bool = False) -> None:
    """Size every planned path (``sizes``; otherwise only see that it is there), then drop what is already gone.

    An item keeps only its existing paths. An item left with no path is kept
    for its row change only when this host removed those paths itself (its row
    is in ``finish``, the journal of a run that stopped) or ``clear_missing``;
    otherwise its paths may live on another host sharing the database, and its
    row is listed in ``plan.missing`` and left alone. A path whose folder was
    swapped since confinement refuses its row. A real purge does not size trees
    here: removal measures as it goes, in one walk. Sizing runs in this thread:
    the walk is bound by Python, not the kernel (threads measured slower).
    """
    usages = {id(path): _usage(path, sizes) for item in plan.items for path in item.paths}
    kept: list[PurgeItem] = []
    for item in plan.items:
        swapped = [(path, found) for path in item.paths if isinstance(found := usages[id(path)], SafetyError)]
        for path, exc in swapped:
            reason = str(exc.details.get("reason", "refused"))
            plan.refusals.append(Refusal(item.row, path.what, path.named, reason, exc.message))
        if swapped:
            continue
        item.paths = [replace(path, usage=usages[id(path)]) for path in item.paths]
        item.paths = [path for path in item.paths if path.exists]
        if item.paths:
            kept.append(item)
        elif item.row_after != item.row_before:
            if clear_missing or item.row in finish:
                kept.append(item)
            elif item.row is not None:
                plan.missing.append(item.row)
    plan.items = kept


def plan_scrape(session: Session, scraped_dir: Path, plan: PurgePlan, now: datetime) -> None:
    """Terminal scrape jobs past the cutoff lose their output folder; output_directory becomes ''."""
    aged_at = _aged_at(ScrapeJob).label("aged_at")
    rows = session.execute(
        select(ScrapeJob.id, ScrapeJob.status, ScrapeJob.output_directory, aged_at)
        .where(ScrapeJob.status.in_(TERMINAL_SCRAPE_STATUSES), aged_at < plan.cutoff)
        .order_by(ScrapeJob.id)
    ).all()
    for job_id, status, output_directory, when in rows:
        named = output_directory or str(scraped_dir / scrape_folder_name(job_id))
        item = PurgeItem(
            kind="scrape",
            row=f"scrape_jobs/{job_id}",
            row_id=job_id,
            why=_age_text(status, when, now, plan.retention_days),
            paths=[],
            row_before={"output_directory": output_directory},
            row_after={"output_directory": ""},
        )
        if output_directory is None:  # NULL: the default folder, and nothing to write back
            item.row_before, item.row_after = {}, {}
        _add(plan, item, [_Candidate("scrape_output", named, scraped_dir)])


def plan_training(
    session: Session,
    dataset_dir: Path,
    checkpoint_dir: Path,
    plan: PurgePlan,
    now: datetime,
    purge_checkpoints: bool,
) -> None:
    """Terminal runs past the cutoff lose their dataset folder and log; dataset_path becomes ''.

    The weights (output_path, final_checkpoint) go only with ``purge_checkpoints``;
    then final_checkpoint becomes NULL. output_path stays: the column is NOT NULL
    and it still locates the run's log folder.
    """
    aged_at = _aged_at(TrainingRun).label("aged_at")
    rows = session.execute(
        select(
            TrainingRun.id,
            TrainingRun.status,
            TrainingRun.dataset_path,
            TrainingRun.output_path,
            TrainingRun.final_checkpoint,
            aged_at,
        )
        .where(TrainingRun.status.in_(TERMINAL_TRAINING_STATUSES), aged_at < plan.cutoff)
        .order_by(TrainingRun.id)
    ).all()
    for run_id, status, dataset_path, output_path, final_checkpoint, when in rows:
        candidates = [
            _Candidate(
                "training_dataset", dataset_path or str(dataset_dir / training_dataset_folder_name(run_id)), dataset_dir
            )
        ]
        before: dict[str, Any] = {"dataset_path": dataset_path}
        after: dict[str, Any] = {"dataset_path": ""}
        if output_path:
            candidates.append(_Candidate("training_log", training_log_path(run_id, output_path), checkpoint_dir))
        if purge_checkpoints:
            weights = dict.fromkeys(p for p in (output_path, final_checkpoint) if p)
            candidates += [_Candidate("checkpoint", path, checkpoint_dir) for path in weights]
            if final_checkpoint is not None:
                before["final_checkpoint"], after["final_checkpoint"] = final_checkpoint, None
        item = PurgeItem(
            kind="training",
            row=f"training_runs/{run_id}",
            row_id=run_id,
            why=_age_text(status, when, now, plan.retention_days),
            paths=[],
            row_before=before,
            row_after=after,
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


def plan_orphans(session: Session, kind: str, root: Path, plan: PurgePlan, now: datetime) -> None:
    """Folders directly in ``root`` that no row of any status names, last modified before the cutoff."""
    if not root.is_dir():
        return
    if kind == "scrape":
        rows = session.execute(select(ScrapeJob.id, ScrapeJob.output_directory)).all()
        named = [path or scrape_folder_name(row_id) for row_id, path in rows]
        table = "scrape_jobs"
    else:
        rows = session.execute(select(TrainingRun.id, TrainingRun.dataset_path)).all()
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
