"""Ingest one batch of staged assets: images, album links, labels, thumbnail jobs and asset rows.

Content identity is the image filename (``legacy-<sha256>.<ext>``, unique in
``images``): the same bytes in two folders are one image linked to both
albums. On PostgreSQL every batch holds a transaction-scoped advisory lock,
so two hosts importing at once never interleave their album and label
look-ups; the unique filename with ``ON CONFLICT DO NOTHING`` backs it up.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Table, UniqueConstraint, func, select, text, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..db.imgops_tables import assets as assets_table
from ..db.imgops_tables import queue as queue_table
from ..db.server_schema import ServerSchema
from .bulk import insert_many, parameter_marker
from .collect import shown
from .plan import Asset

ImageIndex = list[tuple[int, str, str, str]]  # per asset: (image id, file_path, how: new/own/adopted, filename)
_OWN_FILENAME = re.compile(r"^legacy-[0-9a-f]{64}\.[a-z]+$")  # imgops' content-hash name (plan.Asset.filename)
SERVER_STAGING_ROOT = PurePosixPath("data", "legacy")  # the server importer's default --staging-root
FILLABLE = ("prompt", "negative_prompt", "seed", "steps", "guidance_scale", "width", "height", "lora_config",
            "created_at")  # fmt: skip
# SQLite's default limit of bound values per statement is 32,766; ``file_path`` has no index,
# so each statement of the look-up is a scan of ``images``: as few as the limit allows.
MAX_IN_VALUES = 30_000
LINK_COLUMNS = ("album_id", "image_id", "sort_order", "added_by", "created_at")
LABEL_COLUMNS = ("image_id", "label_text", "confidence", "label_type", "created_by", "created_at")
QUEUE_COLUMNS = ("kind", "dedupe_key", "status", "attempts", "max_attempts", "payload", "created_at", "updated_at")
ASSET_COLUMNS = ("host", "source_path", "sha256", "size", "mtime_ns", "inode", "image_id", "staged_path",
                 "staged_folder", "entry", "manifested", "created_at", "updated_at")  # fmt: skip
INGEST_LOCK_KEY = 0x696D676F7073_4C  # "imgops" + "L": serialises legacy ingest batches across hosts


@dataclass
class BatchOutcome:
    ingested: int = 0
    duplicates: int = 0
    adopted: int = 0
    adopted_in: Counter = field(default_factory=Counter)
    assets_recorded: int = 0
    thumbnails_queued: int = 0
    links: Counter = field(default_factory=Counter)
    new_images: Counter = field(default_factory=Counter)
    labels: int = 0


@dataclass(frozen=True)
class IngestContext:
    host: str
    legacy_root: Path
    schema: ServerSchema
    path_bases: tuple[Path, ...]  # outputs_dir and the server's folder: what relative file_path values are relative to
    created_by: str
    max_attempts: int
    imgops_tables: bool
    workers: int = 1  # threads hashing and staging a batch

    @cached_property
    def base_prefixes(self) -> tuple[str, ...]:
        """``path_bases`` as normalised text ending in a separator, for ``path_forms``."""
        return tuple(os.path.join(os.path.normpath(shown(base)), "") for base in self.path_bases)

    @cached_property
    def root_text(self) -> str:
        return shown(self.legacy_root)

    @cached_property
    def server_staging_roots(self) -> tuple[str, ...]:
        """The server importer's staging root below each base, as text: where its relative paths point."""
        return tuple(os.path.join(shown(base), shown(SERVER_STAGING_ROOT)) for base in self.path_bases)


def _unique_key(table: Table, key: tuple[str, ...]) -> tuple[str, ...]:
    """``key`` where the table has it as a unique constraint (so ON CONFLICT can name it), else ()."""
    keys = {tuple(column.name for column in c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)}
    return key if key in keys else ()


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
    first_seen: set[int] = set()
    for asset, (image_id, file_path, how, _) in zip(batch, images, strict=True):
        is_new_here = how == "new" and image_id not in first_seen
        first_seen.add(image_id)
        if how == "adopted":
            asset.state = "adopted"
            outcome.adopted += 1
            outcome.adopted_in[asset.album] += 1
            continue
        same_file = file_path == str(ctx.legacy_root / asset.staged_path)
        asset.state = "ingested" if is_new_here or same_file else "duplicate"
        if is_new_here:
            outcome.ingested += 1
            outcome.new_images[asset.album] += 1
        elif asset.state == "duplicate":
            outcome.duplicates += 1
    _link(session, batch, album_ids, images, ctx, now, outcome)
    outcome.labels = _label(session, batch, images, ctx, now)
    new_ids = sorted({image_id for image_id, _, how, _ in images if how == "new"})
    if ctx.imgops_tables:
        outcome.thumbnails_queued = _queue_thumbnails(session, new_ids, ctx, now)
        outcome.assets_recorded = _record_assets(session, batch, images, ctx, now)
    else:  # a dry run before imgops' tables exist: what would be queued
        outcome.thumbnails_queued = len(new_ids)
    return outcome


def path_forms(path: str, prefixes: tuple[str, ...]) -> list[str]:
    """The ways a row can name the file at absolute ``path``: as is, and relative to each base it lies under."""
    folder, _, name = path.rpartition("/")
    if not folder or name in ("", ".", "..") or path.startswith("//"):  # POSIX keeps a leading "//": left whole
        path = os.path.normpath(path)
        return [path, *(path[len(prefix) :] for prefix in prefixes if path.startswith(prefix))]
    return [form + name for form in _folder_forms(folder, prefixes)]


@lru_cache(maxsize=1024)
def _folder_forms(folder: str, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """``path_forms`` of a folder, each ending in a separator (or empty): its files' forms are these and their name.

    Computed once per folder rather than per file: a file name holds no separator, so normalising
    ``folder/name`` and stripping a base (which ends in a separator) never reach into the name.
    """
    folder = os.path.join(os.path.normpath(folder), "")
    return (folder, *(folder[len(prefix) :] for prefix in prefixes if folder.startswith(prefix)))


def _known_paths(asset: Asset, ctx: IngestContext) -> list[str]:
    """Every form of every path this file can be known by: its source, imgops' staged file, the server's."""
    root = ctx.root_text
    paths = [asset.source_text, os.path.join(root, shown(asset.staged_path))]
    if asset.server_destination is not None:
        destination = shown(asset.server_destination)
        paths.append(os.path.join(root, destination))
        paths.extend(os.path.join(staging, destination) for staging in ctx.server_staging_roots)
    return list(dict.fromkeys(form for path in paths for form in path_forms(path, ctx.base_prefixes)))


def _ensure_images(session: Session, batch: list[Asset], ctx: IngestContext, now: datetime) -> ImageIndex:
    """Each asset's image: one already there (by filename, then normalised file_path) or a new row.

    A row found under the server importer's filename or any form of this file's paths is adopted:
    its NULL columns are filled from the sidecar, nothing is overwritten. imgops' own filename is
    the content hash, so it names an existing row only when that row holds the same bytes.
    """
    images = ctx.schema.table("images")
    columns = [images.c.id, images.c.filename, images.c.file_path, *(images.c[name] for name in FILLABLE)]
    own = sorted({asset.filename for asset in batch})
    names = sorted(set(own) | {asset.server_filename for asset in batch if asset.server_filename})
    by_name = {row.filename: row for row in session.execute(select(*columns).where(images.c.filename.in_(names)))}
    forms = {id(asset): _known_paths(asset, ctx) for asset in batch}
    wanted = sorted({form for paths in forms.values() for form in paths})
    by_path: dict[str, Any] = {}
    for start in range(0, len(wanted), MAX_IN_VALUES):  # one part unless a batch's files have many path forms
        part = wanted[start : start + MAX_IN_VALUES]
        for row in session.execute(select(*columns).where(images.c.file_path.in_(part)).order_by(images.c.id)):
            by_path.setdefault(row.file_path, row)  # a path is in one part only: its lowest id wins
    found: list[Any] = []
    rows: list[tuple] = []
    queued: set[str] = set()
    for asset in batch:
        match = by_name.get(asset.server_filename or "") or next(
            (by_path[form] for form in forms[id(asset)] if form in by_path), None
        )
        if match is not None and not _OWN_FILENAME.match(match.filename):
            _fill_nulls(session, images, match, asset)
            found.append((match.id, match.file_path, "adopted", match.filename))
            continue
        found.append(None)
        if asset.filename in by_name or asset.filename in queued:
            continue
        queued.add(asset.filename)
        rows.append(_image_row(asset, ctx, now))
    insert_many(session, images, IMAGE_COLUMNS, rows, skip_conflicts_on=("filename",))
    ours = {
        row.filename: (row.id, row.file_path)
        for row in session.execute(select(images.c.filename, images.c.id, images.c.file_path)
                                   .where(images.c.filename.in_(own)))
    }  # fmt: skip
    return [
        known or (*ours[asset.filename], "new" if asset.filename in queued else "own", asset.filename)
        for asset, known in zip(batch, found, strict=True)
    ]


IMAGE_COLUMNS = ("filename", "file_path", *FILLABLE, "is_nsfw", "is_public", "updated_at")


def _image_row(asset: Asset, ctx: IngestContext, now: datetime) -> tuple:
    """An ``images`` row in ``IMAGE_COLUMNS`` order."""
    file_path = str(ctx.legacy_root / asset.staged_path)
    metadata = _metadata_values(asset)
    return (asset.filename, file_path, *(metadata[name] for name in FILLABLE), False, asset.album_spec.is_public, now)


def _metadata_values(asset: Asset) -> dict[str, Any]:
    meta = asset.metadata
    return {
        "prompt": meta.prompt,
        "negative_prompt": meta.negative_prompt,
        "seed": meta.seed,
        "steps": meta.steps,
        "guidance_scale": meta.guidance_scale,
        "width": meta.width,
        "height": meta.height,
        "lora_config": json.dumps(meta.loras) if meta.loras else None,
        "created_at": asset.created_at,
    }


def _fill_nulls(session: Session, images: Table, row: Any, asset: Asset) -> None:
    """Fill the adopted row's NULL columns this file's sidecar knows; never overwrite a value."""
    values = {
        name: value
        for name, value in _metadata_values(asset).items()
        if value is not None and getattr(row, name) is None
    }
    if values:
        session.execute(update(images).where(images.c.id == row.id).values(**values))


def _link(
    session: Session,
    batch: list[Asset],
    album_ids: dict[str, int],
    images: ImageIndex,
    ctx: IngestContext,
    now: datetime,
    outcome: BatchOutcome,
) -> None:
    album_images = ctx.schema.table("album_images")
    pairs = {(album_ids[a.album], image[0]) for a, image in zip(batch, images, strict=True)}
    album_set = sorted({album for album, _ in pairs})
    existing = set(
        session.execute(
            select(album_images.c.album_id, album_images.c.image_id).where(
                album_images.c.album_id.in_(album_set), album_images.c.image_id.in_(sorted({i for _, i in pairs}))
            )
        ).all()
    )
    last = dict(
        session.execute(
            select(album_images.c.album_id, func.max(album_images.c.sort_order))
            .where(album_images.c.album_id.in_(album_set))
            .group_by(album_images.c.album_id)
        ).all()
    )
    rows = []
    for asset, image in zip(batch, images, strict=True):
        pair = (album_ids[asset.album], image[0])
        if pair in existing:
            continue
        existing.add(pair)
        last[pair[0]] = (last.get(pair[0]) or 0) + 1
        rows.append((pair[0], pair[1], last[pair[0]], ctx.created_by, now))
        outcome.links[asset.album] += 1
    key = _unique_key(album_images, ("album_id", "image_id"))
    insert_many(session, album_images, LINK_COLUMNS, rows, skip_conflicts_on=key)


def _label(session: Session, batch: list[Asset], images: ImageIndex, ctx: IngestContext, now: datetime) -> int:
    labels = ctx.schema.table("labels")
    wanted = {(image[0], tag) for a, image in zip(batch, images, strict=True) for tag in a.tags}
    existing = set(
        session.execute(
            select(labels.c.image_id, labels.c.label_text).where(
                labels.c.image_id.in_(sorted({i for i, _ in wanted})),
                labels.c.label_type == "manual",
                labels.c.created_by == ctx.created_by,
            )
        ).all()
    )
    rows = [(image_id, tag, 1.0, "manual", ctx.created_by, now) for image_id, tag in sorted(wanted - existing)]
    insert_many(session, labels, LABEL_COLUMNS, rows)
    return len(rows)


def _queue_thumbnails(session: Session, image_ids: list[int], ctx: IngestContext, now: datetime) -> int:
    if not image_ids:
        return 0
    rows = [
        ("thumbnail", f"thumbnail:{image_id}", "pending", 0, ctx.max_attempts,
         json.dumps({"image_id": image_id, "host": ctx.host}), now, now)
        for image_id in image_ids
    ]  # fmt: skip
    insert_many(session, queue_table, QUEUE_COLUMNS, rows, skip_conflicts_on=("dedupe_key",))
    return len(rows)


def _record_assets(session: Session, batch: list[Asset], images: ImageIndex, ctx: IngestContext, now: datetime) -> int:
    rows = [
        (ctx.host, asset.source_text, asset.sha256, asset.source.size, asset.source.mtime_ns, asset.source.inode,
         image_id, str(asset.staged_path), str(asset.staged_path.parent),
         json.dumps(asset.entry(filename), sort_keys=True), False, now, now)
        for asset, (image_id, _, _, filename) in zip(batch, images, strict=True)
    ]  # fmt: skip
    insert_many(session, assets_table, ASSET_COLUMNS, rows, update_conflicts_on=("host", "source_path"),
                keep_on_update=("created_at",))  # fmt: skip
    return len(rows)


def known_assets(session: Session, host: str, sources: list[str]) -> dict[str, tuple[int, int, int, str]]:
    """source path -> (size, mtime_ns, inode, staged_path) as the last run recorded them.

    The driver's own SQL and cursor (imgops' table, plain integer and text columns): a no-op run
    asks this once per batch, and SQLAlchemy's compiling of a thousand-value ``IN`` and its rows
    cost more than the query.
    """
    if not sources:
        return {}
    connection = session.connection()
    marker = parameter_marker(connection.dialect)
    sql = (
        f"SELECT source_path, size, mtime_ns, inode, staged_path FROM {assets_table.name} "
        f"WHERE host = {marker} AND source_path IN ({', '.join([marker] * len(sources))})"
    )
    cursor = connection.exec_driver_sql(sql, (host, *sources))
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in cursor.fetchall()}
