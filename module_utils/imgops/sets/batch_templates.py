"""Batch templates, where the server keeps its sets in ``batch_templates`` (current code, and every seed
database that current code or the separation script has touched).

Each column is written as the server's separation script seeds it from the same sets config
(SERVER_FACTS 3.1 and 10): ``csv_path`` the CSV's absolute path, ``csv_data`` the rows as JSON,
text columns ``""`` and ``width``/``height`` 512 when the set gives none, ``lora_config`` a JSON
list or NULL when there are none; ``created_by`` is the set's own, else ``sets.created_by`` for a
template imgops creates (an adopted one keeps its own); timestamps are naive UTC.

``batch_templates`` has no column imgops could mark a set with and its names are not unique, so
which template is which set's lives in imgops' own ``imgops_batch_templates`` (set key, template
id, fingerprint of the set's files). The first time, a template with the set's name that no set of
the config owns is adopted (the separation script's, one made in the web UI, or the template of a
set whose key was renamed). imgops never creates a
second template with a name that exists, nor renames one onto another's name: such a set is an
error and nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, inspect, or_, select, update

from ..db.engine import utcnow
from ..db.imgops_tables import set_templates as identity
from .load import SetTemplate
from .plan import SetChange, SyncPlan, json_rows

DEFAULT_SIZE = 512
_READ = ("name", "description", "csv_path", "csv_data", "base_prompt", "prompt_template", "style_suffix",
         "example_theme", "width", "height", "negative_prompt", "lora_config", "created_by")  # fmt: skip


def desired_columns(template: SetTemplate) -> dict[str, Any]:
    """The template columns a set's files determine."""
    values: dict[str, Any] = {
        "name": template.name,
        "description": template.description or "",
        "csv_path": str(template.csv_path),
        "csv_data": json_rows(template),
        "base_prompt": template.base_prompt or "",
        "prompt_template": template.prompt_template,
        "style_suffix": template.style_suffix or "",
        "example_theme": template.example_theme or "",
        "width": template.width or DEFAULT_SIZE,
        "height": template.height or DEFAULT_SIZE,
        "negative_prompt": template.negative_prompt or "",
        "lora_config": json.dumps(list(template.loras)) if template.loras else None,
    }
    if template.created_by is not None:
        values["created_by"] = template.created_by
    return values


def identity_ready(connection: Connection) -> bool:
    """Whether imgops' identity table is there (a dry run before its migration plans without it)."""
    return inspect(connection).has_table(identity.name)


def read_identity(connection: Connection, templates: Table) -> dict[str, tuple[int, str]]:
    """Set key -> (template id, fingerprint) for each set whose template still exists."""
    rows = connection.execute(
        select(identity.c.set_key, identity.c.template_id, identity.c.fingerprint).select_from(
            identity.join(templates, templates.c.id == identity.c.template_id)
        )
    )
    return {row.set_key: (row.template_id, row.fingerprint) for row in rows}


def forget_vanished(connection: Connection, templates: Table) -> None:
    """Drop identity rows whose template is gone (deleted in the web UI): its id may be given again."""
    connection.execute(delete(identity).where(~identity.c.template_id.in_(select(templates.c.id))))


def plan_sync(
    connection: Connection, templates: Table, owned: dict[str, tuple[int, str]], sets: list[SetTemplate],
    all_keys: set[str],
) -> SyncPlan:  # fmt: skip
    """Compare the sets with their templates (and every template of one of their names) in one query."""
    owner = {template_id: key for key, (template_id, _fp) in owned.items()}
    ids = [template_id for template_id, _fp in owned.values()]
    rows = connection.execute(
        select(templates.c.id, *(templates.c[c] for c in _READ)).where(
            or_(templates.c.id.in_(ids), templates.c.name.in_([s.name for s in sets]))
        )
    )
    current = {row.id: dict(row._mapping) for row in rows}
    plan = SyncPlan([], [])
    claimed: set[int] = set()
    for template in sets:
        template_id, adopted = owned.get(template.key, (None, ""))[0], False
        same_name = sorted(i for i, row in current.items() if row["name"] == template.name and i != template_id)
        if template_id is None:
            free = [i for i in same_name if owner.get(i) not in all_keys and i not in claimed]
            template_id, adopted = (free[0], True) if free else (None, False)
            same_name = [i for i in same_name if i != template_id]
        if same_name and (template_id is None or current[template_id]["name"] != template.name):
            holder = same_name[0]
            by = f"set {owner[holder]!r}" if holder in owner else "another set"
            plan.conflicts.append({"set": template.key, "message": (
                f"set {template.key!r}: a batch template named {template.name!r} exists already (id {holder}, "
                f"held by {by}); imgops never makes a second template of one name")})  # fmt: skip
            continue
        diff = {}
        if template_id is not None:
            claimed.add(template_id)
            diff = {c: (current[template_id][c], v) for c, v in desired_columns(template).items()
                    if current[template_id][c] != v}  # fmt: skip
        plan.changes.append(SetChange(template, template_id, adopted, diff))
    for key, (template_id, _fp) in sorted(owned.items()):
        if key not in all_keys and template_id not in claimed:
            plan.removed.append({"row_id": template_id, "name": current[template_id]["name"], "set": key})
    return plan


def apply_change(connection: Connection, templates: Table, change: SetChange, created_by: str) -> int:
    """Write one set's template and its identity row; returns the template's id."""
    now = utcnow()
    template = change.template
    if change.row_id is None:
        values = {"created_by": created_by, **desired_columns(template), "created_at": now, "updated_at": now}
        template_id = connection.execute(insert(templates).values(**values)).inserted_primary_key[0]
    else:
        template_id = change.row_id
        values = {column: new for column, (_old, new) in change.changes.items()}
        if values:
            connection.execute(update(templates).where(templates.c.id == template_id).values(**values, updated_at=now))
    record_identity(connection, template.key, template_id, template.fingerprint)
    return template_id


def record_identity(connection: Connection, key: str, template_id: int, fingerprint: str) -> None:
    """Upsert the set key's identity row (also when only the fingerprint moved: bookkeeping, not a change);
    a removed set whose template this set adopted gives it up."""
    now = utcnow()
    connection.execute(delete(identity).where(identity.c.template_id == template_id, identity.c.set_key != key))
    row = connection.execute(select(identity.c.template_id, identity.c.fingerprint)
                             .where(identity.c.set_key == key)).first()  # fmt: skip
    if row is None:
        connection.execute(insert(identity).values(set_key=key, template_id=template_id, fingerprint=fingerprint,
                                                   created_at=now, updated_at=now))  # fmt: skip
    elif (row.template_id, row.fingerprint) != (template_id, fingerprint):
        connection.execute(update(identity).where(identity.c.set_key == key)
                           .values(template_id=template_id, fingerprint=fingerprint, updated_at=now))  # fmt: skip


def generation_runs(connection: Connection, runs: Table | None, template_id: int) -> int:
    """How many of the server's batch generation runs refer to a template (they keep it from being deleted)."""
    if runs is None or "template_id" not in runs.c:
        return 0
    return connection.execute(select(func.count()).where(runs.c.template_id == template_id)).scalar_one()


def prune(connection: Connection, templates: Table, key: str, template_id: int, *, delete_template: bool) -> None:
    """Forget a removed set's template; delete the template too unless generation runs refer to it."""
    connection.execute(delete(identity).where(identity.c.set_key == key))
    if delete_template:
        connection.execute(delete(templates).where(templates.c.id == template_id))
