"""Set-template albums, where the server keeps its sets in ``albums`` (the seed generation).

Written as the server's own ``scripts/migrate_sets_to_albums.py`` writes them (SERVER_FACTS 10), by
column name through the reflected table, so a column the table lacks is never named:

- ``generation_config`` is merged, never replaced: every key imgops does not own stays (above all
  ``legacy_slug``, from which the current server derives ``Album.slug``); imgops owns ``set_key``,
  ``source_sha256``, ``width``, ``height`` and ``negative_prompt`` and leaves a key out when the set
  gives no value. A set's own ``generation_config`` mapping is merged as the server stores it;
  without one, ``legacy_slug`` is the set's ``legacy_slug``, else the one stored, else the set key.
- ``generation_prompt`` is ``base_prompt``; ``description`` defaults to ""; ``lora_config`` is a
  JSON list, ``[]`` when there are none.
- The optional keys ``album_type`` (default ``set``), ``created_by``, ``is_public`` and
  ``is_training_source`` (only where that column exists) are written when a set gives them; a new
  album is otherwise public, not a training source, and created by ``sets.created_by``.

Identity: the set key in ``generation_config.set_key``; else an album with the set's name and no
key of a set in the config, matched by name as the server's migration matches it (a set template first, then the lowest
id), which is how the albums of the server's ``sets_to_albums_v1`` run are adopted, never duplicated.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, insert, or_, select, update

from ..db.engine import utcnow
from .load import SetTemplate
from .plan import SetChange, SyncPlan, json_rows

SERVER_SETS_MIGRATION = "sets_to_albums_v1"
OWNED_GENERATION_KEYS = ("set_key", "source_sha256", "width", "height", "negative_prompt")
_READ = ("name", "description", "album_type", "is_public", "is_training_source", "created_by", "generation_prompt",
         "generation_config", "is_set_template", "csv_data", "base_prompt", "prompt_template", "style_suffix",
         "example_theme", "lora_config")  # fmt: skip
_SET_KEY_MARK = '%"set_key"%'


def generation_of(generation_config: str | None) -> dict[str, Any]:
    """A stored ``generation_config`` as a dict; anything else (NULL, not JSON, not an object) is empty."""
    try:
        value = json.loads(generation_config or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def set_key_of(generation_config: str | None) -> str | None:
    key = generation_of(generation_config).get("set_key")
    return key if isinstance(key, str) else None


def generation_config(template: SetTemplate, stored: str | None) -> dict[str, Any]:
    """The stored object with the set's keys merged in (module docstring)."""
    merged = {k: v for k, v in generation_of(stored).items() if k not in OWNED_GENERATION_KEYS}
    if template.generation_config is not None:
        merged.update(template.generation_config)
    elif template.legacy_slug is not None or not merged.get("legacy_slug"):
        merged["legacy_slug"] = template.legacy_slug or template.key
    owned = {"set_key": template.key, "source_sha256": template.fingerprint, "width": template.width,
             "height": template.height, "negative_prompt": template.negative_prompt}  # fmt: skip
    merged.update({k: v for k, v in owned.items() if v is not None})
    return merged


def desired_columns(template: SetTemplate, stored_generation: str | None, columns: set[str]) -> dict[str, Any]:
    """The album columns a set's files determine, limited to ``columns`` (those the table has)."""
    values: dict[str, Any] = {
        "name": template.name,
        "description": template.description if template.description is not None else "",
        "album_type": template.album_type or "set",
        "is_set_template": True,
        "csv_data": json_rows(template),
        "base_prompt": template.base_prompt,
        "prompt_template": template.prompt_template,
        "style_suffix": template.style_suffix,
        "example_theme": template.example_theme,
        "lora_config": json.dumps(list(template.loras)),
        "generation_prompt": template.base_prompt,
        "generation_config": json.dumps(generation_config(template, stored_generation), sort_keys=True),
    }
    for name in ("is_public", "created_by", "is_training_source"):
        if getattr(template, name) is not None:
            values[name] = getattr(template, name)
    return {column: value for column, value in values.items() if column in columns}


def _same(column: str, old: Any, new: Any) -> bool:
    if column == "generation_config":
        return old is not None and generation_of(old) == json.loads(new)
    return old == new


def known_fingerprints(connection: Connection, albums: Table) -> dict[str, str]:
    """Set key -> source fingerprint of each set-template album as last written (one light query)."""
    flag = [albums.c.is_set_template] if "is_set_template" in albums.c else []
    rows = connection.execute(select(albums.c.generation_config, *flag)
                              .where(albums.c.generation_config.like(_SET_KEY_MARK)))  # fmt: skip
    known = {}
    for row in rows:
        if flag and not row.is_set_template:
            continue  # pruned: an ordinary album now
        generation = generation_of(row.generation_config)
        key, source = generation.get("set_key"), generation.get("source_sha256")
        if isinstance(key, str) and isinstance(source, str):
            known[key] = source
    return known


def plan_sync(
    connection: Connection, albums: Table, templates: list[SetTemplate], columns: set[str], all_keys: set[str]
) -> SyncPlan:
    """Compare the sets with the albums in one query; a column the table lacks yet reads as empty.

    ``all_keys`` are every set key in the config, ``templates`` only those whose files changed."""
    readable = [c for c in _READ if c in albums.c]
    conditions = [albums.c.generation_config.like(_SET_KEY_MARK), albums.c.name.in_([t.name for t in templates])]
    if "is_set_template" in albums.c:
        conditions.append(albums.c.is_set_template.is_(True))
    rows = connection.execute(select(albums.c.id, *(albums.c[c] for c in readable)).where(or_(*conditions)))
    current = {row.id: {c: row._mapping.get(c) for c in _READ} for row in rows}
    by_key: dict[str, int] = {}
    for album_id, cols in sorted(current.items()):
        if key := set_key_of(cols["generation_config"]):
            by_key.setdefault(key, album_id)
    claimed: set[int] = set()
    changes = []
    for template in templates:
        album_id, adopted = by_key.get(template.key), False
        if album_id is None:
            candidates = [i for i, cols in current.items() if cols["name"] == template.name and i not in claimed
                          and set_key_of(cols["generation_config"]) not in all_keys]  # fmt: skip
            album_id = min(candidates, key=lambda i: (current[i]["is_set_template"] is not True, i), default=None)
            adopted = album_id is not None
        stored = current[album_id]["generation_config"] if album_id is not None else None
        desired = desired_columns(template, stored, columns)
        diff = {}
        if album_id is not None:
            claimed.add(album_id)
            diff = {c: (current[album_id][c], v) for c, v in desired.items() if not _same(c, current[album_id][c], v)}
        changes.append(SetChange(template, album_id, adopted, diff))
    removed = [
        {"row_id": album_id, "name": cols["name"], "set": key}
        for album_id, cols in sorted(current.items())
        if (key := set_key_of(cols["generation_config"]))
        and key not in all_keys
        and cols["is_set_template"]
        and album_id not in claimed
    ]
    return SyncPlan(changes, removed)


def apply_change(connection: Connection, albums: Table, change: SetChange, created_by: str) -> int:
    """Write one set's album; returns its id."""
    now = utcnow()
    if change.row_id is None:
        template = change.template
        values = {"is_public": True, "is_training_source": False, "created_by": created_by,
                  **desired_columns(template, None, set(albums.c.keys())), "created_at": now,
                  "updated_at": now}  # fmt: skip
        created = connection.execute(insert(albums).values(**{c: v for c, v in values.items() if c in albums.c}))
        return created.inserted_primary_key[0]
    values = {column: new for column, (_old, new) in change.changes.items()}
    connection.execute(update(albums).where(albums.c.id == change.row_id).values(**values, updated_at=now))
    return change.row_id


def demote(connection: Connection, albums: Table, album_id: int) -> None:
    """Turn a removed set's album into an ordinary album; albums are never deleted."""
    connection.execute(update(albums).where(albums.c.id == album_id).values(is_set_template=False, updated_at=utcnow()))
