"""Albums by the server importer's taxonomy (SERVER_FACTS 8), found before one is created.

The server's ``import_legacy_media.py`` files each image into an album named from where it lies in
the outputs: root singles by month, each ``card_deck_*``/``tarot_deck_*`` and ``zodiac_*`` folder,
and one album for ``lora_tests``. imgops uses the same names, ``album_type`` and
``generation_config.legacy_slug``, so either tool recognises the other's albums: imgops looks an
album up by ``legacy_slug``, then by (``name``, ``album_type``) as the server's importer does, and
creates it only when neither finds one. Reference packs are imgops' own (the server does not
collect them). Albums are read and written through the reflected table, by column name, so a
generation without ``is_training_source`` (or with ``source_type``) gets the columns it has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..db.server_schema import ServerSchema
from ..errors import InputError
from ..fs.read import read_regular
from ..parsing import load_json
from .collect import PACK_MANIFEST, SourceFile, group_folder, shown
from .stage import server_month, slug

_WORDS = re.compile(r"[_-]+")


@dataclass(frozen=True)
class AlbumSpec:
    name: str
    album_type: str
    legacy_slug: str
    origin: str  # the source folder, for the description of an album imgops creates
    is_public: bool
    is_training_source: bool
    pack_folder: Path | None = None  # a reference pack's folder: its manifest.json credits go into the description

    @property
    def description(self) -> str:
        text = f"Imported by imgops legacy import from {self.origin}."
        return text + _pack_credits(self.pack_folder) if self.pack_folder else text


def humanise(text: str) -> str:
    """The server's album title from a folder name: split on ``_``/``-``, each word capitalised."""
    return " ".join(word.capitalize() for word in _WORDS.split(text) if word)


def album_spec(source: SourceFile) -> AlbumSpec:
    """The album a source file belongs to, as the server's importer names it (packs: imgops' own)."""
    month = server_month(source.name.rsplit(".", 1)[0]) if source.category == "singles" else None
    return _album_spec(source.category, source.group, source.folder, source.subfolder, month)


@lru_cache(maxsize=256)
def _album_spec(category: str, group: str, folder: str, subfolder: str, month: str | None) -> AlbumSpec:
    """One spec per album and source folder: built once, not per file."""
    origin = shown(folder if category == "singles" else group_folder(folder, subfolder))
    if category == "singles":
        if month is None:
            return AlbumSpec("Legacy Singles", "singles", "legacy-singles-unknown", origin, True, False)
        return AlbumSpec(f"Legacy Singles {month}", "singles", f"legacy-singles-{month}", origin, True, False)
    if category == "decks":
        return AlbumSpec(humanise(group), "deck", group, origin, True, False)
    if category == "zodiac":
        rest = group.split("_", 1)[1] if "_" in group else group
        return AlbumSpec(f"Zodiac {humanise(rest)}".strip(), "zodiac", group, origin, True, False)
    if category == "lora":
        lora_tests = shown(group_folder(folder, subfolder).parent)
        return AlbumSpec("LoRA Experiments", "lora-experiment", "lora-tests", lora_tests, True, True)
    pack = slug(group)
    pack_folder = group_folder(folder, subfolder)
    return AlbumSpec(
        f"Reference Packs/{pack}", "collection", f"reference-packs-{pack}", origin, False, True, pack_folder
    )


def legacy_slug_of(generation_config: str | None) -> str | None:
    """``generation_config.legacy_slug`` of an album row, or None (a row that is not a JSON object has none)."""
    if not generation_config or "legacy_slug" not in generation_config:
        return None
    try:
        data = load_json(generation_config, "albums.generation_config")
    except InputError:
        return None
    value = data.get("legacy_slug") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def resolve_albums(
    session: Session, schema: ServerSchema, specs: dict[str, AlbumSpec], created_by: str
) -> tuple[dict[str, int], list[str]]:
    """Album ids by spec name: by ``legacy_slug``, else (name, album_type), else created; returns (ids, created)."""
    albums = schema.table("albums")
    rows = session.execute(
        select(albums.c.id, albums.c.name, albums.c.album_type, albums.c.generation_config)
        .where(or_(albums.c.name.in_(sorted({s.name for s in specs.values()})),
                   albums.c.generation_config.like('%"legacy_slug"%')))
        .order_by(albums.c.id)
    ).all()  # fmt: skip
    by_slug: dict[str, int] = {}
    by_name: dict[tuple[str, str | None], tuple[int, str | None]] = {}
    for row in rows:
        found = legacy_slug_of(row.generation_config)
        if found:
            by_slug.setdefault(found, row.id)
        by_name.setdefault((row.name, row.album_type), (row.id, row.generation_config))
    ids: dict[str, int] = {}
    created: list[str] = []
    for key in sorted(specs):
        spec = specs[key]
        if spec.legacy_slug in by_slug:
            ids[key] = by_slug[spec.legacy_slug]
        elif (spec.name, spec.album_type) in by_name:
            ids[key], generation_config = by_name[(spec.name, spec.album_type)]
            if generation_config is None:  # adopted: the marker is added where nothing is there
                session.execute(update(albums).where(albums.c.id == ids[key]).values(generation_config=_marker(spec)))
        else:
            ids[key] = _create(session, schema, albums, spec, created_by)
            created.append(spec.name)
    return ids, created


def _marker(spec: AlbumSpec) -> str:
    return json.dumps({"legacy_slug": spec.legacy_slug})


def _create(session: Session, schema: ServerSchema, albums: Table, spec: AlbumSpec, created_by: str) -> int:
    """Insert one album with the columns this generation has, filled as the server's ORM fills them."""
    now = utcnow()
    values = {
        "name": spec.name,
        "description": spec.description,
        "album_type": spec.album_type,
        "is_public": spec.is_public,
        "is_training_source": spec.is_training_source,  # seed shapes only
        "created_by": created_by,
        "generation_config": _marker(spec),
        "is_set_template": False,
        "source_type": "manual",  # current shapes: the server's default for albums it does not generate
        "created_at": now,
        "updated_at": now,
    }
    values = {name: value for name, value in values.items() if schema.has("albums", name)}
    return session.execute(insert(albums).values(**values).returning(albums.c.id)).scalar_one()


def _pack_credits(pack_folder: Path) -> str:
    path = pack_folder / PACK_MANIFEST
    try:
        manifest = load_json(read_regular(path, "manifest"), f"pack manifest {path}")
    except InputError:
        return ""
    if not isinstance(manifest, dict):
        return ""
    credits = [f"{key.capitalize()}: {manifest[key]}." for key in ("artist", "license") if manifest.get(key)]
    return (" " + " ".join(credits)) if credits else ""
