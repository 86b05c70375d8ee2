"""The ``sets`` job: validate every set, then bring the server's set templates in step in one transaction.

Where the templates live is read from the database (``templates_home``), never assumed.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, MetaData, Table, text

from ..config import Config
from ..db.engine import connected_engine
from ..db.history import ensure_record, has_run
from ..db.models import SET_TEMPLATE_COLUMNS
from ..db.schema import ensure_imgops_schema
from ..db.server_schema import UNKNOWN, ServerSchema, read_server_schema
from ..errors import DatabaseError, reports_database_errors
from ..fs import job_lock
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics
from ..result import JobResult
from . import albums as album_sets
from . import batch_templates as template_sets
from .load import SetTemplate, load_sets
from .plan import shown
from .record import config_digest, unchanged_since_record, write_record
from .schema_step import add_set_template_columns, missing_set_template_columns

JOB = "sets"
ALBUMS = "albums"
BATCH_TEMPLATES = "batch_templates"
HISTORY_NAMES = {ALBUMS: "sets_to_albums", BATCH_TEMPLATES: "sets_to_batch_templates"}
_ADVISORY_LOCK_KEY = 0x696D676F7073_01  # serialises set syncs across hosts on PostgreSQL


def templates_home(schema: ServerSchema) -> str:
    """Where this database's server keeps its set templates: ``batch_templates`` or ``albums``.

    ``batch_templates`` exists once current code has started on the database (its ``create_all``) or
    the separation script has run; either way the server reads templates from it and set-template
    albums are gone or ignored (SERVER_FACTS 3.2, 3.3, 10), so imgops writes there and never touches
    albums. Without it (the seed generation) the templates are albums. A database no variant matches,
    or one lacking a column the chosen home needs, is refused before anything is written."""
    if schema.generation == UNKNOWN:
        raise DatabaseError(f"imgops sets will not write to this database: {schema.unknown_message}",
                            generation=schema.generation, missing=list(schema.missing))  # fmt: skip
    schema.require(JOB)
    return BATCH_TEMPLATES if schema.has("batch_templates") else ALBUMS


@records_metrics("sets")
@reports_database_errors
def run_sets(
    config: Config, *, prune: bool | None = None, created_by: str | None = None, dry_run: bool = False
) -> JobResult:
    """Import or refresh every set of ``<sets_dir>/config.yaml`` as a batch template or set-template album."""
    prune = config.sets.prune if prune is None else prune
    created_by = created_by or config.sets.created_by
    allow_outside = config.sets.allow_csv_outside
    sets_dir = config.path("sets_dir")
    result = JobResult(job=JOB, dry_run=dry_run)
    result.summary = {"sets_dir": str(sets_dir), "target": None, "generation": None, "sets": 0, "created": 0,
                      "updated": 0, "adopted": 0, "unchanged": 0, "removed": [], "pruned": 0,
                      "columns_added": [], "server_migration": False}  # fmt: skip
    with connected_engine(config) as engine:
        schema = read_server_schema(engine)
        home = templates_home(schema)
        result.summary.update(target=home, generation=schema.generation)
        if home == BATCH_TEMPLATES and not dry_run:
            ensure_imgops_schema(engine, config)
        with engine.connect() as connection:
            known = _known(connection, schema, home)
            result.summary["server_migration"] = has_run(connection, album_sets.SERVER_SETS_MIGRATION)
        config_sha256 = config_digest(sets_dir)  # read before the sets: a change after it can only miss the record
        quick = unchanged_since_record(config.state_dir, sets_dir, config_sha256, known, target=home,
                                       allow_csv_outside=allow_outside)  # fmt: skip
        if quick is not None:
            result.summary["sets"] = result.summary["unchanged"] = len(quick)
            result.metrics["imgops_sets"] = _metrics(result.summary)
            return result
        templates, unchanged, problems = load_sets(sets_dir, known, allow_csv_outside=allow_outside)
        result.summary["sets"] = len(templates) + len(unchanged)
        result.summary["unchanged"] = len(unchanged)
        if problems:
            for problem in problems:
                result.error(problem.pop("message"), **problem)
            return result  # nothing is written while any set is invalid
        all_keys = {t.key for t in templates} | {s.key for s in unchanged}
        with job_lock(config.state_dir, JOB, config.lock_timeout_seconds), engine.connect() as connection:
            transaction = connection.begin()
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            sync = _sync_templates if home == BATCH_TEMPLATES else _sync_albums
            sync(connection, schema, result, templates, all_keys, prune=prune, created_by=created_by, dry_run=dry_run)
            if result.changed and not dry_run and not result.errors:
                ensure_record(connection, HISTORY_NAMES[home], json.dumps(result.summary, sort_keys=True),
                              refresh_timestamp=True)  # fmt: skip
            if dry_run or result.errors:
                transaction.rollback()
            else:
                transaction.commit()
                if config_sha256 is not None:
                    write_record(config.state_dir, sets_dir, config_sha256, [*templates, *unchanged], target=home,
                                 allow_csv_outside=allow_outside)  # fmt: skip
    if result.errors:
        result.actions.clear()  # rolled back: nothing was written
        result.diff = None
    result.metrics["imgops_sets"] = _metrics(result.summary)
    if result.changed and not dry_run:
        log_event("sets_synced", **{k: v for k, v in result.summary.items() if k != "removed"})
    return result


def _known(connection: Connection, schema: ServerSchema, home: str) -> dict[str, str]:
    """Set key -> fingerprint of its template as last written."""
    if home == ALBUMS:
        return album_sets.known_fingerprints(connection, schema.table("albums"))
    if not template_sets.identity_ready(connection):
        return {}
    owned = template_sets.read_identity(connection, schema.table("batch_templates"))
    return {key: fingerprint for key, (_id, fingerprint) in owned.items()}


def _metrics(summary: dict[str, Any]) -> list[Metric]:
    changed = Metric("imgops_sets_templates_changed", "Set templates (batch templates or set-template albums) "
                     "created, updated or pruned by the last run.")  # fmt: skip
    changed.add(sum(summary[key] for key in ("created", "updated", "pruned")))
    return [changed]


def _sync_albums(connection: Connection, schema: ServerSchema, result: JobResult, templates: list[SetTemplate],
                 all_keys: set[str], *, prune: bool, created_by: str, dry_run: bool) -> None:  # fmt: skip
    """The seed generation: one set-template album per set (``albums`` module)."""
    summary = result.summary
    missing = missing_set_template_columns(connection)
    summary["columns_added"] = missing
    for column in missing:
        result.act("add_column", f"albums.{column}")
    if missing and not dry_run:
        add_set_template_columns(connection, missing)
    albums = Table("albums", MetaData(), autoload_with=connection)  # as it is now, after the schema step
    columns = set(albums.c.keys()) | set(SET_TEMPLATE_COLUMNS)
    plan = album_sets.plan_sync(connection, albums, templates, columns, all_keys)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for change in plan.changes:
        key = change.template.key
        if change.kind == "unchanged":
            summary["unchanged"] += 1
            continue
        if change.kind == "create":
            summary["created"] += 1
            result.act("create_album", change.template.name, set=key)
            after[key] = {"name": change.template.name, "album_type": change.template.album_type or "set",
                          "is_set_template": True}  # fmt: skip
        else:
            _count_update(result, change, "update_album", album_id=change.row_id, before=before, after=after)
        if not dry_run:
            album_sets.apply_change(connection, albums, change, created_by)
    for album in plan.removed:
        summary["removed"].append(album["set"])
        if not prune:
            result.notice(f"set {album['set']!r} is no longer in the sets config; its album {album['name']!r} "
                          "stays a set template (prune to make it an ordinary album)", set=album["set"])  # fmt: skip
            continue
        result.act("prune_album", album["name"], set=album["set"], album_id=album["row_id"])
        before[album["set"]] = {"is_set_template": True}
        after[album["set"]] = {"is_set_template": False}
        summary["pruned"] += 1
        if not dry_run:
            album_sets.demote(connection, albums, album["row_id"])
    if before or after:
        result.diff = {"before": before, "after": after}


def _sync_templates(connection: Connection, schema: ServerSchema, result: JobResult, templates: list[SetTemplate],
                    all_keys: set[str], *, prune: bool, created_by: str, dry_run: bool) -> None:  # fmt: skip
    """Current code: one batch template per set (``batch_templates`` module); albums are never touched."""
    summary = result.summary
    table = schema.table("batch_templates")
    ready = template_sets.identity_ready(connection)
    if ready and not dry_run:
        template_sets.forget_vanished(connection, table)
    owned = template_sets.read_identity(connection, table) if ready else {}
    plan = template_sets.plan_sync(connection, table, owned, templates, all_keys)
    for conflict in plan.conflicts:
        result.error(conflict.pop("message"), file=str(result.summary["sets_dir"]), **conflict)
    if plan.conflicts:
        return
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for change in plan.changes:
        key = change.template.key
        if change.kind == "unchanged":
            summary["unchanged"] += 1
            if not dry_run:  # the fingerprint may have moved (a key that makes no column, a reformatted file)
                template_sets.record_identity(connection, key, change.row_id, change.template.fingerprint)
            continue
        if change.kind == "create":
            summary["created"] += 1
            result.act("create_template", change.template.name, set=key)
            after[key] = {"name": change.template.name}
        else:
            _count_update(result, change, "update_template", template_id=change.row_id, before=before, after=after)
        if not dry_run:
            template_sets.apply_change(connection, table, change, created_by)
    runs = schema.table("batch_generation_runs") if schema.has("batch_generation_runs") else None
    for removed in plan.removed:
        summary["removed"].append(removed["set"])
        if not prune:
            result.notice(f"set {removed['set']!r} is no longer in the sets config; its batch template "
                          f"{removed['name']!r} stays (prune to delete it)", set=removed["set"])  # fmt: skip
            continue
        used_by = template_sets.generation_runs(connection, runs, removed["row_id"])
        result.act("prune_template", removed["name"], set=removed["set"], template_id=removed["row_id"],
                   deleted=not used_by)  # fmt: skip
        summary["pruned"] += 1
        before[removed["set"]] = {"name": removed["name"]}
        after[removed["set"]] = {"name": removed["name"], "deleted": not used_by}
        if used_by:
            result.notice(f"set {removed['set']!r} is no longer in the sets config; its batch template "
                          f"{removed['name']!r} is kept because generation runs refer to it ({used_by}); imgops no "
                          "longer manages it", set=removed["set"])  # fmt: skip
        if not dry_run:
            template_sets.prune(connection, table, removed["set"], removed["row_id"], delete_template=not used_by)
    if before or after:
        result.diff = {"before": before, "after": after}


def _count_update(result: JobResult, change: Any, kind: str, *, before: dict[str, Any], after: dict[str, Any],
                  **ids: Any) -> None:  # fmt: skip
    key = change.template.key
    result.summary["updated"] += 1
    result.summary["adopted"] += int(change.adopted)
    result.act(kind, change.template.name, set=key, **ids, adopted=change.adopted, columns=sorted(change.changes))
    before[key] = {c: shown(c, old) for c, (old, _new) in change.changes.items()}
    after[key] = {c: shown(c, new) for c, (_old, new) in change.changes.items()}
