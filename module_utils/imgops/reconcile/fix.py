"""``--fix``: each repair in small transactions, each re-checking in SQL that its rows still need it.

A kill at any point leaves whole batches done or not done; the next run finds what is left, so an
interrupted run followed by a re-run ends where an uninterrupted run ends. In a dry run the same
batches are counted and nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Engine, Table, delete, exists, or_, select, update

from ..db import transaction, utcnow
from ..errors import SafetyError
from ..fs import confine, remove_confined
from .findings import IdSet, batches
from .paths import Bases, image_file, server_thumbnail_id

BATCH = 500


def _batches(ids: Iterable[int]) -> Iterable[list[int]]:
    return batches(ids, BATCH)


def delete_missing_images(
    engine: Engine, images: Table, album_images: Table, labels: Table, bases: Bases, ids: Iterable[int], dry_run: bool
) -> dict[str, int]:
    """Delete images rows whose file is still missing, with their album links and labels (as the server's
    ORM delete cascades them; SQLite enforces the foreign keys imgops' engine turns on)."""
    counts = {"images": 0, "album_images": 0, "labels": 0}
    for batch in _batches(ids):
        with transaction(engine, dry_run=dry_run) as session:
            rows = session.execute(select(images.c.id, images.c.filename, images.c.file_path)
                                   .where(images.c.id.in_(batch))).all()  # fmt: skip
            still = [row.id for row in rows if not _any_exists(bases, image_file(row.file_path, row.filename))]
            if not still:
                continue
            counts["album_images"] += session.execute(
                delete(album_images).where(album_images.c.image_id.in_(still))
            ).rowcount
            counts["labels"] += session.execute(delete(labels).where(labels.c.image_id.in_(still))).rowcount
            counts["images"] += session.execute(delete(images).where(images.c.id.in_(still))).rowcount
    return counts


def delete_dangling_album_images(
    engine: Engine, album_images: Table, images: Table, albums: Table, ids: Iterable[int], dry_run: bool
) -> int:
    dangling = or_(
        ~exists().where(images.c.id == album_images.c.image_id),
        ~exists().where(albums.c.id == album_images.c.album_id),
    )
    return _delete_where(engine, album_images, ids, dangling, dry_run)


def delete_dangling_labels(engine: Engine, labels: Table, images: Table, ids: Iterable[int], dry_run: bool) -> int:
    return _delete_where(engine, labels, ids, ~exists().where(images.c.id == labels.c.image_id), dry_run)


def _delete_where(engine: Engine, table: Table, ids: Iterable[int], still: object, dry_run: bool) -> int:
    removed = 0
    for batch in _batches(ids):
        with transaction(engine, dry_run=dry_run) as session:
            removed += session.execute(delete(table).where(table.c.id.in_(batch), still)).rowcount
    return removed


def clear_thumbnail_paths(engine: Engine, images: Table, bases: Bases, ids: Iterable[int], dry_run: bool) -> int:
    """Set ``thumbnail_path`` to NULL where it still names no file (the server sets it again when it renders)."""
    cleared = 0
    for batch in _batches(ids):
        with transaction(engine, dry_run=dry_run) as session:
            rows = session.execute(select(images.c.id, images.c.thumbnail_path).where(images.c.id.in_(batch))).all()
            still = [row.id for row in rows if row.thumbnail_path and not _any_exists(bases, row.thumbnail_path)]
            if not still:
                continue
            values: dict[str, object] = {"thumbnail_path": None}
            if "updated_at" in images.c:
                values["updated_at"] = utcnow()
            cleared += session.execute(update(images).where(images.c.id.in_(still)).values(values)).rowcount
    return cleared


def thumbnail_remover(
    thumbnails_dir: Path, engine: Engine, images: Table, gone: IdSet, dry_run: bool, refusals: list[str]
) -> Callable[[str], bool]:
    """A function removing one file of the thumbnails folder by name, confined to that folder.

    A server thumbnail ``<id>.webp`` goes only if no images row has that id now: the server may have
    added the row (ids are reused) and rendered its thumbnail since the rows were read. In a dry run
    the rows being deleted (``gone``) count as absent, as they will be.
    """

    def remove(name: str) -> bool:
        image_id = server_thumbnail_id(name)
        if image_id is not None and not (dry_run and image_id in gone) and _row_exists(engine, images, image_id):
            return False
        try:
            target = confine(name, thumbnails_dir)
        except SafetyError as exc:
            refusals.append(exc.message)
            return False
        if dry_run:
            return True
        return remove_confined(target).entries > 0

    return remove


def _row_exists(engine: Engine, images: Table, image_id: int) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(images.c.id).where(images.c.id == image_id)).first() is not None


def _any_exists(bases: Bases, named: str | None) -> bool:
    return bool(named) and any(os.path.lexists(candidate) for candidate in bases.candidates(named))
