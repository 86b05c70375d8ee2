"""Ingest one batch of staged assets: images, album links, labels, thumbnail jobs and asset rows.

Content identity is the image filename (``legacy-<sha256>.<ext>``, unique in
``images``): the same bytes in two folders are one image linked to both
albums. On PostgreSQL every batch holds a transaction-scoped advisory lock,
so two hosts importing at once never interleave their album and label
look-ups; the unique filename with ``ON CONFLICT DO NOTHING`` backs it up.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import utcnow
from ..db.imgops_tables import assets as assets_table
from ..db.imgops_tables import queue as queue_table
from ..db.models import AlbumImage, Image, Label
from .plan import Asset

ImageIndex = dict[str, tuple[int, str, bool]]  # filename -> (image id, file_path, inserted by this batch)
INGEST_LOCK_KEY = 0x696D676F7073_4C  # "imgops" + "L": serialises legacy ingest batches across hosts


@dataclass
class BatchOutcome:
    ingested: int = 0
    duplicates: int = 0
    assets_recorded: int = 0
    thumbnails_queued: int = 0
    links: Counter = field(default_factory=Counter)
    new_images: Counter = field(default_factory=Counter)
    labels: int = 0


@dataclass(frozen=True)
class IngestContext:
    host: str
    legacy_root: Path
    created_by: str
    max_attempts: int
    imgops_tables: bool


def upsert(session: Session, table: Table):
    """An INSERT that can take ON CONFLICT clauses on either backend."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def lock_for_ingest(session: Session) -> None:
    """Serialise ingest transactions across hosts and processes, taken before the first read.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: a write that
    matches no row, which takes the database's write lock up front, so two
    runs never both read "album missing" and both insert it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY})
    else:
        session.execute(text("UPDATE albums SET id = id WHERE 0 = 1"))


def ingest_batch(session: Session, batch: list[Asset], album_ids: dict[str, int], ctx: IngestContext) -> BatchOutcome:
    outcome = BatchOutcome()
    now = utcnow()
    images = _ensure_images(session, batch, ctx, now)
    inserted = {filename for filename, (_, _, new) in images.items() if new}
    first_seen: set[str] = set()
    for asset in batch:
        file_path = images[asset.filename][1]
        is_new_here = asset.filename in inserted and asset.filename not in first_seen
        first_seen.add(asset.filename)
        same_file = file_path == str(ctx.legacy_root / asset.staged_path)
        asset.state = "ingested" if is_new_here or same_file else "duplicate"
        if is_new_here:
            outcome.ingested += 1
            outcome.new_images[asset.album] += 1
        elif asset.state == "duplicate":
            outcome.duplicates += 1
    _link(session, batch, album_ids, images, ctx, now, outcome)
    outcome.labels = _label(session, batch, images, ctx, now)
    new_ids = sorted(images[name][0] for name in inserted)
    if ctx.imgops_tables:
        outcome.thumbnails_queued = _queue_thumbnails(session, new_ids, ctx, now)
        outcome.assets_recorded = _record_assets(session, batch, images, ctx, now)
    else:  # a dry run before imgops' tables exist: what would be queued
        outcome.thumbnails_queued = len(new_ids)
    return outcome


def _ensure_images(session: Session, batch: list[Asset], ctx: IngestContext, now: datetime) -> ImageIndex:
    """filename -> (image id, file_path, inserted by this batch)."""
    filenames = sorted({asset.filename for asset in batch})
    known = set(session.execute(select(Image.filename).where(Image.filename.in_(filenames))).scalars())
    rows, queued = [], set()
    for asset in batch:
        if asset.filename in known or asset.filename in queued:
            continue
        queued.add(asset.filename)
        meta = asset.metadata
        rows.append(
            {
                "filename": asset.filename,
                "file_path": str(ctx.legacy_root / asset.staged_path),
                "prompt": meta.prompt,
                "negative_prompt": meta.negative_prompt,
                "seed": meta.seed,
                "steps": meta.steps,
                "guidance_scale": meta.guidance_scale,
                "width": meta.width,
                "height": meta.height,
                "lora_config": json.dumps(meta.loras) if meta.loras else None,
                "is_nsfw": False,
                "is_public": asset.source.category != "packs",
                "created_at": asset.created_at,
                "updated_at": now,
            }
        )
    if rows:
        session.execute(upsert(session, Image.__table__).on_conflict_do_nothing(index_elements=["filename"]), rows)
    found = session.execute(
        select(Image.filename, Image.id, Image.file_path).where(Image.filename.in_(filenames))
    ).all()
    return {name: (image_id, path, name in queued) for name, image_id, path in found}


def _link(
    session: Session,
    batch: list[Asset],
    album_ids: dict[str, int],
    images: ImageIndex,
    ctx: IngestContext,
    now: datetime,
    outcome: BatchOutcome,
) -> None:
    pairs = {(album_ids[a.album], images[a.filename][0]) for a in batch}
    album_set = sorted({album for album, _ in pairs})
    existing = set(
        session.execute(
            select(AlbumImage.album_id, AlbumImage.image_id).where(
                AlbumImage.album_id.in_(album_set), AlbumImage.image_id.in_(sorted({i for _, i in pairs}))
            )
        ).all()
    )
    last = dict(
        session.execute(
            select(AlbumImage.album_id, func.max(AlbumImage.sort_order))
            .where(AlbumImage.album_id.in_(album_set))
            .group_by(AlbumImage.album_id)
        ).all()
    )
    rows = []
    for asset in batch:
        pair = (album_ids[asset.album], images[asset.filename][0])
        if pair in existing:
            continue
        existing.add(pair)
        last[pair[0]] = (last.get(pair[0]) or 0) + 1
        rows.append(
            {"album_id": pair[0], "image_id": pair[1], "sort_order": last[pair[0]], "added_by": ctx.created_by,
             "created_at": now}
        )  # fmt: skip
        outcome.links[asset.album] += 1
    if rows:
        session.execute(AlbumImage.__table__.insert(), rows)


def _label(session: Session, batch: list[Asset], images: ImageIndex, ctx: IngestContext, now: datetime) -> int:
    wanted = {(images[a.filename][0], tag) for a in batch for tag in a.tags}
    existing = set(
        session.execute(
            select(Label.image_id, Label.label_text).where(
                Label.image_id.in_(sorted({i for i, _ in wanted})),
                Label.label_type == "manual",
                Label.created_by == ctx.created_by,
            )
        ).all()
    )
    rows = [
        {"image_id": image_id, "label_text": tag, "confidence": 1.0, "label_type": "manual",
         "created_by": ctx.created_by, "created_at": now}
        for image_id, tag in sorted(wanted - existing)
    ]  # fmt: skip
    if rows:
        session.execute(Label.__table__.insert(), rows)
    return len(rows)


def _queue_thumbnails(session: Session, image_ids: list[int], ctx: IngestContext, now: datetime) -> int:
    if not image_ids:
        return 0
    rows = [
        {"kind": "thumbnail", "dedupe_key": f"thumbnail:{image_id}", "status": "pending", "attempts": 0,
         "max_attempts": ctx.max_attempts, "payload": json.dumps({"image_id": image_id, "host": ctx.host}),
         "created_at": now, "updated_at": now}
        for image_id in image_ids
    ]  # fmt: skip
    session.execute(upsert(session, queue_table).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    return len(rows)


def _record_assets(session: Session, batch: list[Asset], images: ImageIndex, ctx: IngestContext, now: datetime) -> int:
    rows = [
        {
            "host": ctx.host,
            "source_path": asset.source_text,
            "sha256": asset.sha256,
            "size": asset.source.size,
            "mtime_ns": asset.source.mtime_ns,
            "inode": asset.source.inode,
            "image_id": images[asset.filename][0],
            "staged_path": str(asset.staged_path),
            "staged_folder": str(asset.staged_path.parent),
            "entry": json.dumps(asset.entry(asset.filename), sort_keys=True),
            "manifested": False,
            "created_at": now,
            "updated_at": now,
        }
        for asset in batch
    ]
    statement = upsert(session, assets_table)
    keep = ("created_at", "id", "host", "source_path")
    statement = statement.on_conflict_do_update(
        index_elements=["host", "source_path"],
        set_={c.name: statement.excluded[c.name] for c in assets_table.columns if c.name not in keep},
    )
    session.execute(statement, rows)
    return len(rows)


def known_assets(session: Session, host: str, sources: list[str]) -> dict[str, tuple[int, int, int, str, str]]:
    """source path -> (size, mtime_ns, inode, sha256, staged_path) as the last run recorded them."""
    table = assets_table
    rows = session.execute(
        select(
            table.c.source_path, table.c.size, table.c.mtime_ns, table.c.inode, table.c.sha256, table.c.staged_path
        ).where(table.c.host == host, table.c.source_path.in_(sources))
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}
