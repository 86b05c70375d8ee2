"""The ``purge`` job: stale scrape outputs and training artifacts, inside their roots only."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..config import Config, PurgeSection
from ..db import connected_engine, transaction, utcnow
from ..db.server_schema import read_server_schema
from ..errors import (
    ConfigError,
    ImgopsError,
    InputError,
    LockHeldError,
    SafetyError,
    from_os_error,
    reports_database_errors,
)
from ..fs import job_lock
from ..fs.usage import measure, mount_point
from ..metrics import Metric, records_metrics, textfile_dir
from ..result import JobResult
from .checkpoints import drop_index_entries, index_path
from .claims import ClaimRoots, collect_claims, refuse_claimed
from .execute import execute_plan, report_deleted_rows, report_refusal
from .guards import refuse_mounted_and_busy
from .journal import read_journal, read_journal_images, write_journal
from .plan import PurgePlan, journal_key, measure_paths, plan_orphans, plan_scrape, plan_training
from .pressure import VolumePressure, choose_for_pressure, settle, volumes_under_pressure
from .reasons import reason_counts
from .references import ImageRows, decide_referenced

PURGE_KINDS = ("all", "scrape", "training")


@dataclass
class _KindOutcome:
    """What one kind's section did, for the summary and its metrics file."""

    kind: str
    freed: Counter[Path] = field(default_factory=Counter)
    free_before: dict[Path, int] = field(default_factory=dict)
    free_after: dict[Path, int] = field(default_factory=dict)
    paths_removed: int = 0
    rows_updated: int = 0
    refused: list[str] = field(default_factory=list)  # the reason of each refusal
    failed: int = 0
    missing: int = 0
    pressure: dict[Path, VolumePressure] = field(default_factory=dict)  # volumes relieved


def _roots(config: Config, kind: str) -> list[Path]:
    """The kind's roots, the one it cannot go without first (the LoRA root only when configured)."""
    if kind == "scrape":
        return [config.path("scraped_dir")]
    lora_dir = config.paths.lora_dir
    return [config.path("training_dataset_dir"), *([lora_dir] if lora_dir else [])]


def _claim_roots(config: Config) -> ClaimRoots:
    paths = config.paths
    return ClaimRoots(scraped_dir=paths.scraped_dir, dataset_dir=paths.training_dataset_dir, lora_dir=paths.lora_dir)


def _absent_root(config: Config, kind: str, explicit: bool) -> str | None:
    """Why this host has nothing of ``kind`` to purge (its root unset or missing here), else None.

    Every host runs the purge; a host without the root (a GPU worker without the
    scrape volume) skips that kind. Asked for explicitly, an unset root is an error.
    """
    try:
        root = _roots(config, kind)[0]
    except ConfigError:
        if explicit:
            raise
        return "root not configured"
    return None if root.is_dir() else f"root {root} does not exist on this host"


def _free_bytes(roots: list[Path]) -> dict[Path, int]:
    found: dict[Path, int] = {}
    for root in roots:
        if root.exists():
            found.setdefault(mount_point(root), measure(root).free_bytes)
    return found


def _plan(
    engine: Engine,
    config: Config,
    kind: str,
    days: int,
    options: PurgeSection,
    now: datetime,
    dry_run: bool,
    finish: set[str],
    rows: ImageRows,
    finished: set[str],
    volumes: dict[Path, VolumePressure],
) -> PurgePlan:
    """Read the rows due (and, for a volume under pressure, the younger candidates), then run every check."""
    plan = PurgePlan(kind=kind, retention_days=days, cutoff=now - timedelta(days=days))
    if volumes:
        plan.pressure_cutoff = now - timedelta(hours=options.pressure.min_age_hours)
    with transaction(engine, dry_run=True) as session:  # planning only reads
        if kind == "scrape":
            plan_scrape(session, rows.schema, config.path("scraped_dir"), plan, now)
            orphan_roots = [config.path("scraped_dir")]
        else:
            dataset_dir = config.path("training_dataset_dir")
            keep = options.checkpoints.keep_last if options.checkpoints.enabled else None
            plan_training(
                session, rows.schema, dataset_dir, config.paths.lora_dir, plan, now, options.purge_checkpoints, keep
            )
            orphan_roots = [dataset_dir]
        if options.orphans:
            for root in orphan_roots:
                plan_orphans(session, rows.schema, kind, root, plan, now)
        roots = _claim_roots(config)
        refuse_claimed(plan, collect_claims(session, rows.schema, roots, plan.expiring), roots)
    refuse_mounted_and_busy(plan)
    measure_paths(plan, sizes=dry_run or bool(volumes), finish=finish, clear_missing=options.clear_missing)
    with engine.connect() as conn:
        decide_referenced(plan, conn, rows, options.referenced_images, finished)
    if plan.pressure_rows:  # chosen from what passed every check; the rows not chosen claim their paths again
        choose_for_pressure(plan, volumes)
        with transaction(engine, dry_run=True) as session:
            refuse_claimed(plan, collect_claims(session, rows.schema, roots, plan.expiring), roots)
    return plan


def _finish_image_rows(engine: Engine, config: Config, kind: str, rows: ImageRows, result: JobResult) -> set[str]:
    """The images rows a run that stopped was to delete after their folder went: deleted now (the folder gone).

    The folders whose rows were finished (in a dry run: would be), so the plan does not count them again.
    """
    finished: set[str] = set()
    for folder, ids in read_journal_images(config.state_dir, kind).items():
        if os.path.lexists(folder) or not rows.present:  # not removed yet: this run's plan decides it again
            continue
        if result.dry_run:
            with engine.connect() as conn:
                found = rows.count(conn, rows.still_inside(conn, folder, ids))
        else:
            found = rows.delete(engine, folder, ids)
        report_deleted_rows(result, folder, None, found)
        finished.add(folder)
    return finished


def _drop_index_entries(lora_dir: Path | None, result: JobResult, actions: list[Any]) -> None:
    """The LoRA index entries of the output folders this run removed (each row's output_path now '')."""
    if lora_dir is None:
        return
    folders = set()
    for action in actions:
        if action.kind == "update_row" and action.detail["after"].get("output_path") == "":
            output = Path(os.path.normpath(os.path.join(lora_dir, action.detail["before"]["output_path"])))
            if output.parent in (lora_dir, Path(os.path.realpath(lora_dir))):
                folders.add(output.name)
    if not folders:
        return
    try:
        removed = drop_index_entries(lora_dir, folders, dry_run=result.dry_run)
    except (InputError, SafetyError) as exc:
        result.error(exc.message, path=str(index_path(lora_dir)))
        return
    if removed:
        result.act("update_index", str(index_path(lora_dir)), removed=removed, reason="their output folders went")


def _run_kind(
    engine: Engine,
    config: Config,
    kind: str,
    days: int,
    options: PurgeSection,
    result: JobResult,
    now: datetime,
    rows: ImageRows,
) -> _KindOutcome:
    outcome = _KindOutcome(kind)
    roots = _roots(config, kind)
    with job_lock(config.state_dir, f"purge-{kind}", config.lock_timeout_seconds):
        outcome.free_before = _free_bytes(roots)
        journaled = read_journal(config.state_dir, kind)
        finished = _finish_image_rows(engine, config, kind, rows, result)
        outcome.pressure = volumes_under_pressure(roots, options.pressure)
        plan = _plan(
            engine, config, kind, days, options, now, result.dry_run, journaled, rows, finished, outcome.pressure
        )
        first_notice = len(result.notices)
        for refusal in plan.refusals:
            report_refusal(result, refusal)
        outcome.missing = len(plan.missing)
        first_action = len(result.actions)
        if not result.dry_run:  # before any removal: the paths of rows this host is about to clear
            about = {journal_key(item.row, path.what) for item in plan.items if item.row for path in item.paths}
            images = {rows.folder(path): list(path.references.images) for item in plan.items
                      for path in item.paths if path.references}  # fmt: skip
            write_journal(config.state_dir, kind, journaled | about, images)
        statuses = execute_plan(
            engine,
            rows.schema,
            plan.items,
            result,
            outcome.freed,
            dry_run=result.dry_run,
            workers=options.workers,
            rows=rows,
        )
        if kind == "training":
            _drop_index_entries(config.paths.lora_dir, result, result.actions[first_action:])
        if not result.dry_run:  # every row is updated, or its paths are still here for the next run
            write_journal(config.state_dir, kind, set())
        outcome.refused = [n["reason"] for n in result.notices[first_notice:] if n.get("reason")]
        outcome.failed = statuses.count("failed")
        new = result.actions[first_action:]
        outcome.paths_removed = sum(a.kind == "remove" for a in new)
        outcome.rows_updated = sum(a.kind == "update_row" for a in new)
        settle(outcome.pressure, new, dry_run=result.dry_run)
        outcome.free_after = _free_bytes(roots)
    return outcome


def _metrics(outcome: _KindOutcome) -> list[Metric]:
    """One kind's figures (label ``kind``); freed bytes per filesystem (label ``mountpoint``)."""
    kind = outcome.kind
    counts = [
        ("imgops_purge_paths_removed", "Files and folders removed by the last run.", outcome.paths_removed),
        ("imgops_purge_rows_updated", "Database rows updated by the last run.", outcome.rows_updated),
        ("imgops_purge_errors", "Removals that failed in the last run.", outcome.failed),
    ]
    metrics = []
    for name, help_text, value in counts:
        metric = Metric(name, help_text)
        metric.add(value, kind=kind)
        metrics.append(metric)
    refused = Metric("imgops_purge_refused", "Paths the last run refused, by reason (docs/jobs/purge.md).")
    for reason, count in reason_counts(outcome.refused).items():
        refused.add(count, kind=kind, reason=reason)
    metrics.append(refused)
    freed = Metric("imgops_purge_freed_bytes", "Bytes freed by the last run, per filesystem.")
    for mount in outcome.free_before:
        freed.add(outcome.freed.get(mount, 0), kind=kind, mountpoint=str(mount))
    return [*metrics, freed]


@records_metrics("purge")
@reports_database_errors
def run_purge(
    config: Config,
    kind: str = "all",
    *,
    orphans: bool | None = None,
    purge_checkpoints: bool | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> JobResult:
    """Purge stale scrape outputs and/or training artifacts; ``orphans`` and ``purge_checkpoints``
    default to the ``purge`` section of the configuration."""
    if kind not in PURGE_KINDS:
        raise ValueError(f"unknown purge kind {kind!r}; expected one of {PURGE_KINDS}")
    options = replace(
        config.purge,
        orphans=config.purge.orphans if orphans is None else orphans,
        purge_checkpoints=config.purge.purge_checkpoints if purge_checkpoints is None else purge_checkpoints,
    )
    now = now or utcnow()
    kinds = ("scrape", "training") if kind == "all" else (kind,)
    windows = {"scrape": config.retention.scrape_days, "training": config.retention.training_days}
    days = {k: windows[k] for k in kinds}
    result = JobResult(job="purge", dry_run=dry_run)
    outcomes: list[_KindOutcome] = []
    metrics_dir = textfile_dir(config)
    absent = {k: why for k in kinds if days[k] > 0 and (why := _absent_root(config, k, explicit=kind != "all"))}
    enabled = [k for k in kinds if days[k] > 0 and k not in absent]
    if enabled:
        with connected_engine(config) as engine:
            schema = read_server_schema(engine)  # every table by column name, as it is here
            schema.require("purge")
            rows = ImageRows(schema, _claim_roots(config), config.paths.outputs_dir, config.platform_dir)
            for k in enabled:
                try:
                    outcome = _run_kind(engine, config, k, days[k], options, result, now, rows)
                except (LockHeldError, ConfigError):
                    raise
                except (ImgopsError, OSError) as exc:  # one kind's failure (a full disk) must not skip the other
                    problem = exc if isinstance(exc, ImgopsError) else from_os_error(exc)
                    result.error(f"purge {k}: {problem.message}", kind=k)
                    continue
                outcomes.append(outcome)
                result.metrics[f"imgops_purge_{k}"] = _metrics(outcome)
    result.summary = _summary(kinds, days, options, outcomes, metrics_dir if outcomes and not dry_run else None)
    result.summary["absent"] = absent
    _set_diff(result)
    return result


def _summary(
    kinds: tuple[str, ...],
    days: dict[str, int],
    options: PurgeSection,
    outcomes: list[_KindOutcome],
    textfile_dir: Path | None,
) -> dict[str, Any]:
    filesystems: dict[Path, dict[str, int]] = {}
    for outcome in outcomes:
        for mount, free in outcome.free_before.items():
            entry = filesystems.setdefault(mount, {"bytes_freed": 0, "free_bytes_before": free})
            entry["bytes_freed"] += outcome.freed.get(mount, 0)
            entry["free_bytes_after"] = outcome.free_after.get(mount, free)
    return {
        "kinds": list(kinds),
        "disabled": [k for k in kinds if days[k] == 0],
        "retention_days": days,
        "orphans": options.orphans,
        "purge_checkpoints": options.purge_checkpoints,
        "paths_removed": sum(o.paths_removed for o in outcomes),
        "rows_updated": sum(o.rows_updated for o in outcomes),
        "refused": sum(len(o.refused) for o in outcomes),
        "refused_by_reason": reason_counts([reason for o in outcomes for reason in o.refused]),
        "missing": sum(o.missing for o in outcomes),
        "bytes_freed": sum(sum(o.freed.values()) for o in outcomes),
        "filesystems": [{"mount": str(mount), **figures} for mount, figures in filesystems.items()],
        "pressure": [{"kind": o.kind, **volume.to_dict()} for o in outcomes for volume in o.pressure.values()],
        "textfile_dir": str(textfile_dir) if textfile_dir else None,
    }


def _set_diff(result: JobResult) -> None:
    if not result.actions:
        return
    removed = [a.target for a in result.actions if a.kind == "remove"]
    rows = [a for a in result.actions if a.kind == "update_row"]
    result.diff = {
        "before": {"paths": removed, "rows": {a.target: a.detail["before"] for a in rows}},
        "after": {"paths": [], "rows": {a.target: a.detail["after"] for a in rows}},
    }
