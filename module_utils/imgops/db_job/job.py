"""The ``db`` job: report the schema, create missing platform tables, apply imgops migrations."""

from __future__ import annotations

from ..config import Config
from ..db import migrations
from ..db.engine import connected_engine, redact_url
from ..db.schema import create_platform_tables, ensure_imgops_schema, missing_platform_tables
from ..db.server_schema import refusal, server_schema_summary
from ..errors import reports_database_errors
from ..metrics import records_metrics
from ..result import JobResult

DB_ACTIONS = ("status", "init", "upgrade")


@records_metrics("db")
@reports_database_errors
def run_db(config: Config, action: str = "upgrade", dry_run: bool = False) -> JobResult:
    """``status`` changes nothing; ``upgrade`` applies imgops migrations; ``init`` also creates platform tables."""
    if action not in DB_ACTIONS:
        raise ValueError(f"unknown db action {action!r}; expected one of {DB_ACTIONS}")
    url = config.require_database_url()
    with connected_engine(config, create=action == "init" and not dry_run) as engine:
        result = JobResult(job="db", dry_run=dry_run)
        missing = missing_platform_tables(engine)
        plan = migrations.plan(engine)
        refused = refusal(engine, action)
        if refused:  # a shape no server variant matches: named, and nothing written
            result.error(refused.unknown_message, generation=refused.generation, missing=list(refused.missing))
            action = "status"
        if action == "init":
            for name in missing:
                result.act("create_table", name)
            if missing and not dry_run:
                create_platform_tables(engine, missing)
        elif missing:
            result.notice(
                f"platform tables missing: {', '.join(missing)} (the server creates them; "
                "`imgops db init` does for demos and tests)"
            )
        if action in ("init", "upgrade"):
            for revision in plan.pending:
                result.act("apply_migration", revision)
            if plan.pending and not dry_run:
                ensure_imgops_schema(engine, config)
        after = migrations.plan(engine)
        result.summary = {
            "database": redact_url(url),
            "missing_tables": missing_platform_tables(engine),
            "imgops_revision": after.current,
            "pending_revisions": list(after.pending),
            **server_schema_summary(engine),
        }
        return result
