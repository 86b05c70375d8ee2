"""Albums by the legacy taxonomy, created when missing, with provenance in the description."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..db.models import Album
from .collect import PACK_MANIFEST, SourceFile, shown
from .stage import slug

ALBUM_PREFIXES = {
    "singles": "Legacy Singles",
    "decks": "Decks",
    "zodiac": "Zodiac",
    "lora": "LoRA Experiments",
    "packs": "Reference Packs",
}


@dataclass(frozen=True)
class AlbumSpec:
    name: str
    description: str
    is_public: bool
    is_training_source: bool


def album_name(category: str, group: str, created_at: datetime) -> str:
    if category == "singles":
        return f"{ALBUM_PREFIXES[category]}/{created_at:%Y-%m}"
    return f"{ALBUM_PREFIXES[category]}/{slug(group)}"


def album_spec(name: str, source: SourceFile, packs_dir: Path | None) -> AlbumSpec:
    """Provenance: the source folder; for a reference pack also its own manifest (artist, license)."""
    if source.category == "singles":
        origin = f"root singles of {name.rsplit('/', 1)[1]} in {shown(source.folder)}"
    else:
        origin = shown(source.group_folder)
    description = f"Imported by imgops legacy import from {origin}."
    if source.category == "packs":
        description += _pack_credits(source.group_folder)
        return AlbumSpec(name, description, is_public=False, is_training_source=True)
    return AlbumSpec(name, description, is_public=True, is_training_source=False)


def resolve_albums(session: Session, specs: dict[str, AlbumSpec], created_by: str) -> tuple[dict[str, int], list[str]]:
    """Album ids by name, creating the missing ones; returns (ids, names created)."""
    rows = session.execute(select(Album.name, Album.id).where(Album.name.in_(specs)).order_by(Album.id)).all()
    ids: dict[str, int] = {}
    for name, album_id in rows:
        ids.setdefault(name, album_id)
    missing = [name for name in sorted(specs) if name not in ids]
    now = utcnow()
    for name in missing:
        spec = specs[name]
        ids[name] = session.execute(
            insert(Album)
            .values(
                name=name,
                description=spec.description,
                album_type="collection",
                is_public=spec.is_public,
                is_training_source=spec.is_training_source,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            .returning(Album.id)
        ).scalar_one()
    return ids, missing


def _pack_credits(pack_folder: Path) -> str:
    try:
        manifest = json.loads((pack_folder / PACK_MANIFEST).read_bytes())
    except (OSError, ValueError):
        return ""
    if not isinstance(manifest, dict):
        return ""
    credits = [f"{key.capitalize()}: {manifest[key]}." for key in ("artist", "license") if manifest.get(key)]
    return (" " + " ".join(credits)) if credits else ""
