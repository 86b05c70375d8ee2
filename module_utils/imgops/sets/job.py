"""The ``sets`` job: validate every set, then bring the set-template albums in step in one transaction."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from ..config import Config
from ..db.engine import connected_engine
from ..db.history import ensure_record
from ..db.models import SET_TEMPLATE_COLUMNS
from ..errors import reports_database_errors
from ..fs import job_lock
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics
from ..result import JobResult
from .load import SetTemplate, load_sets
from .record import config_digest, unchanged_since_record, write_record
from .schema_step import add_set_template_columns, missing_set_template_columns
from .sync import apply_change, demote, known_fingerprints, plan_sync, shown

JOB = "sets"
HISTORY_NAME = "sets_to_albums"
_ADVISORY_LOCK_KEY = 0x696D676F7073_01  # serialises set syncs across hosts on PostgreSQL


@records_metrics("sets")
@reports_database_errors
def run_sets(
    config: Config, *, prune: bool | None = None, created_by: str | None = None, dry_run: bool = False
) -> JobResult:
    """Import or refresh every set of ``<sets_dir>/config.yaml`` as a set-template album."""
    prune = config.sets.prune if prune is None else prune
    created_by = created_by or config.sets.created_by
    sets_dir = config.path("sets_dir")
    result = JobResult(job=JOB, dry_run=dry_run)
    result.summary = {"sets_dir": str(sets_dir), "sets": 0, "created": 0, "updated": 0, "adopted": 0,
                      "unchanged": 0, "removed": [], "pruned": 0, "columns_added": []}  # fmt: skip
    with connected_engine(config) as engine:
        with engine.connect() as connection:
            known = known_fingerprints(connection)
        config_sha256 = config_digest(sets_dir)  # read before the sets: a change after it can only miss the record
        quick = unchanged_since_record(config.state_dir, sets_dir, config_sha256, known)
        if quick is not None:
            result.summary["sets"] = result.summary["unchanged"] = len(quick)
            result.metrics["imgops_sets"] = _metrics(result.summary)
            return result
        templates, unchanged, problems = load_sets(sets_dir, known)
        result.summary["sets"] = len(templates) + len(unchanged)
        result.summary["unchanged"] = len(unchanged)
        if problems:
            for problem in problems:
                result.error(problem.pop("message"), **problem)
            return result  # nothing is written while any set is invalid
        all_keys = {t.key for t in templates} | {s.key for s in unchanged}
        with job_lock(config.state_dir, JOB, config.lock_timeout_seconds), engine.connect() as connection:
            transaction = connection.begin()
            _sync(connection, result, templates, all_keys, prune=prune, created_by=created_by, dry_run=dry_run)
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
                if config_sha256 is not None:
                    write_record(config.state_dir, sets_dir, config_sha256, [*templates, *unchanged])
    result.metrics["imgops_sets"] = _metrics(result.summary)
    if result.changed and not dry_run:
        log_event("sets_synced", **{k: v for k, v in result.summary.items() if k != "removed"})
    return result


def _metrics(summary: dict[str, Any]) -> list[Metric]:
    changed = Metric("imgops_sets_templates_changed", "Set-template albums created, updated or pruned by the last run.")
    changed.add(sum(summary[key] for key in ("created", "updated", "pruned")))
    return [changed]


def _sync(connection: Connection, result: JobResult, templates: list[SetTemplate], all_keys: set[str], *,
          prune: bool, created_by: str, dry_run: bool) -> None:  # fmt: skip
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    missing = missing_set_template_columns(connection)
    for column in missing:
        result.act("add_column", f"albums.{column}")
    if missing and not dry_run:
        add_set_template_columns(connection, missing)
    present = set(SET_TEMPLATE_COLUMNS) - (set(missing) if dry_run else set())
    plan = plan_sync(connection, templates, present, all_keys)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    summary = result.summary
    summary["columns_added"] = missing
    for change in plan.changes:
        key = change.template.key
        if change.kind == "unchanged":
            summary["unchanged"] += 1
            continue
        if change.kind == "create":
            summary["created"] += 1
            result.act("create_album", change.template.name, set=key)
            after[key] = {"name": change.template.name, "album_type": "set", "is_set_template": True}
        else:
            summary["updated"] += 1
            summary["adopted"] += int(change.adopted)
            result.act("update_album", change.template.name, set=key, album_id=change.album_id,
                       adopted=change.adopted, columns=sorted(change.changes))  # fmt: skip
            before[key] = {c: shown(c, old) for c, (old, _new) in change.changes.items()}
            after[key] = {c: shown(c, new) for c, (_old, new) in change.changes.items()}
        if not dry_run:
            apply_change(connection, change, created_by)
    for album in plan.removed:
        summary["removed"].append(album["set"])
        if prune:
            result.act("prune_album", album["name"], set=album["set"], album_id=album["album_id"])
            before[album["set"]] = {"is_set_template": True}
            after[album["set"]] = {"is_set_template": False}
            summary["pruned"] += 1
            if not dry_run:
                demote(connection, album["album_id"])
        else:
            result.notice(f"set {album['set']!r} is no longer in the sets config; its album {album['name']!r} "
                          "stays a set template (prune to make it an ordinary album)", set=album["set"])  # fmt: skip
    if before or after:
        result.diff = {"before": before, "after": after}
    if result.changed and not dry_run:
        _record_history(connection, result.summary)


def _record_history(connection: Connection, summary: dict[str, Any]) -> None:
    ensure_record(connection, HISTORY_NAME, json.dumps(summary, sort_keys=True), refresh_timestamp=True)
