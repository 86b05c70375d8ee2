"""Manifest: one ``manifest.yaml`` per staged folder, for people to review, rebuilt from imgops_assets.

The content is deterministic (sorted, no run time in it) and written
atomically, only when it differs, so a re-run changes nothing. A folder is
rebuilt while any of its asset rows is not yet ``manifested``: a run killed
between ingest and manifest leaves them so, and the next run finishes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import Engine, select, update

from ..db import transaction
from ..db.imgops_tables import assets
from ..fs import atomic_write_text

MANIFEST_NAME = "manifest.yaml"
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def render_manifest(folder: str, entries: list[dict]) -> str:
    """The YAML text of one folder's manifest."""
    albums = sorted({entry["album"] for entry in entries})
    document = {
        "folder": folder,
        "albums": albums,
        "count": len(entries),
        "assets": sorted(entries, key=lambda entry: entry["staged_path"]),
    }
    header = "# Written by imgops legacy import; rebuilt on every run that changes this folder.\n"
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False)


def pending_folders(engine: Engine, host: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(assets.c.staged_folder)
            .where(assets.c.host == host, assets.c.manifested.is_(False))
            .distinct()
            .order_by(assets.c.staged_folder)
        )
        return list(rows.scalars())


def write_manifest(engine: Engine, host: str, legacy_root: Path, folder: str) -> bool:
    """Rebuild one folder's manifest; True when the file changed."""
    with transaction(engine) as session:
        entries = [
            json.loads(entry)
            for entry in session.execute(
                select(assets.c.entry).where(assets.c.host == host, assets.c.staged_folder == folder)
            ).scalars()
        ]
        target = legacy_root / folder / MANIFEST_NAME
        text = render_manifest(folder, entries)
        try:
            changed = target.read_text(encoding="utf-8") != text
        except FileNotFoundError:
            changed = True
        if changed:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, text)
        session.execute(
            update(assets).where(assets.c.host == host, assets.c.staged_folder == folder).values(manifested=True)
        )
    return changed
