"""Plan and apply the albums that mirror the sets: match by set key, adopt by name, update in place."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from ..db.engine import utcnow
from ..db.models import SET_TEMPLATE_COLUMNS, Album
from .load import SetTemplate

albums = Album.__table__
MANAGED = ("name", "description", "album_type", "is_set_template", "csv_data", "base_prompt", "prompt_template",
           "style_suffix", "example_theme", "lora_config", "generation_config")  # fmt: skip


def desired_columns(template: SetTemplate) -> dict[str, Any]:
    """The album columns a set's files determine."""
    generation = {"set_key": template.key, "width": template.width, "height": template.height,
                  "negative_prompt": template.negative_prompt, "source_sha256": template.fingerprint}  # fmt: skip
    return {
        "name": template.name,
        "description": template.description,
        "album_type": "set",
        "is_set_template": True,
        "csv_data": json.dumps(list(template.rows), ensure_ascii=False),
        "base_prompt": template.base_prompt,
        "prompt_template": template.prompt_template,
        "style_suffix": template.style_suffix,
        "example_theme": template.example_theme,
        "lora_config": json.dumps(list(template.loras)),
        "generation_config": json.dumps(generation, sort_keys=True),
    }


def _generation(generation_config: str | None) -> dict[str, Any]:
    try:
        value = json.loads(generation_config or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def set_key_of(generation_config: str | None) -> str | None:
    key = _generation(generation_config).get("set_key")
    return key if isinstance(key, str) else None


def known_fingerprints(connection: Connection) -> dict[str, str]:
    """Set key -> source fingerprint of each set album as last written (one light query, no CSV data)."""
    rows = connection.execute(select(albums.c.generation_config).where(albums.c.album_type == "set"))
    known = {}
    for (generation_config,) in rows:
        generation = _generation(generation_config)
        key, source = generation.get("set_key"), generation.get("source_sha256")
        if isinstance(key, str) and isinstance(source, str):
            known[key] = source
    return known


def shown(column: str, value: Any) -> Any:
    """A value as diff output shows it: CSV data summarised, not dumped."""
    if column == "csv_data" and isinstance(value, str):
        try:
            count = len(json.loads(value))
        except ValueError:
            count = "?"
        return f"{count} rows, sha256 {hashlib.sha256(value.encode()).hexdigest()[:12]}"
    return value


@dataclass
class SetChange:
    """What one set needs: a new album, an update (with the changed columns), or nothing."""

    template: SetTemplate
    album_id: int | None
    adopted: bool
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.album_id is None:
            return "create"
        return "update" if self.changes else "unchanged"


@dataclass
class SyncPlan:
    changes: list[SetChange]
    removed: list[dict[str, Any]]  # set-template albums whose key is no longer in the config


def plan_sync(
    connection: Connection, templates: list[SetTemplate], present_columns: set[str], all_keys: set[str]
) -> SyncPlan:
    """Compare the sets with the albums in one query; absent set-template columns read as empty.

    ``all_keys`` are every set key in the config, ``templates`` only those whose files changed."""
    readable = [c for c in MANAGED if c not in SET_TEMPLATE_COLUMNS or c in present_columns]
    conditions = [albums.c.album_type == "set", albums.c.name.in_([t.name for t in templates])]
    if "is_set_template" in present_columns:
        conditions.append(albums.c.is_set_template.is_(True))
    rows = connection.execute(select(albums.c.id, *(albums.c[c] for c in readable)).where(or_(*conditions)))
    current = {row.id: {c: getattr(row, c, None) for c in MANAGED} for row in rows}
    by_key = {key: album_id for album_id, cols in current.items() if (key := set_key_of(cols["generation_config"]))}
    claimed: set[int] = set()
    changes = []
    for template in templates:
        album_id, adopted = by_key.get(template.key), False
        if album_id is None:
            album_id = next((i for i, cols in sorted(current.items()) if cols["name"] == template.name
                             and set_key_of(cols["generation_config"]) is None and i not in claimed), None)  # fmt: skip
            adopted = album_id is not None
        desired = desired_columns(template)
        diff = {}
        if album_id is not None:
            claimed.add(album_id)
            diff = {c: (current[album_id][c], v) for c, v in desired.items() if current[album_id][c] != v}
        changes.append(SetChange(template, album_id, adopted, diff))
    keys = all_keys
    removed = [
        {"album_id": album_id, "name": cols["name"], "set": key}
        for album_id, cols in sorted(current.items())
        if (key := set_key_of(cols["generation_config"])) and key not in keys and cols["is_set_template"]
    ]
    return SyncPlan(changes, removed)


def apply_change(connection: Connection, change: SetChange, created_by: str) -> int:
    """Write one set's album; returns its id."""
    now = utcnow()
    values = {column: new for column, (_old, new) in change.changes.items()}
    if change.album_id is None:
        created = connection.execute(
            insert(albums).values(
                **desired_columns(change.template),
                is_public=True,
                is_training_source=False,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
        )
        return created.inserted_primary_key[0]
    connection.execute(update(albums).where(albums.c.id == change.album_id).values(**values, updated_at=now))
    return change.album_id


def demote(connection: Connection, album_id: int) -> None:
    """Turn a removed set's album into an ordinary album; albums are never deleted."""
    connection.execute(update(albums).where(albums.c.id == album_id).values(is_set_template=False, updated_at=utcnow()))
