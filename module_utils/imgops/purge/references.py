"""Referenced images: ``images`` rows whose file lies in a scrape folder about to go.

The server's scrape import points images rows (with their labels and album
memberships) at the files of ``<scraped_dir>/job_<id>`` (SERVER_FACTS 5.4).
By default such a folder is kept and refused as ``referenced`` with the counts.
With ``purge.referenced_images: delete`` the folder goes and then, in one
transaction, what the server's own scrape cleanup deletes (SERVER_FACTS 5.7,
``scraping_simple``): those images rows, their labels and album_images, and the
scraped albums left empty (``album_type`` 'scraped', or ``source_type``
'scrape' where the column exists); a ``scrape_jobs.album_id`` naming such an
album is set to NULL so it does not dangle. Everything is read and written by
column name through the reflected tables (``ServerSchema``).

``file_path`` is normalised as SERVER_FACTS 9 says: absolute as it is; relative
against ``outputs_dir`` and against the server's folder (the folder of
``platform_config``). An image counts when either reading lies in the folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from ..db.server_schema import ServerSchema
from ..errors import SafetyError
from ..fs.pathindex import PathIndex
from .claims import ClaimRoots
from .plan import PurgePath, PurgePlan

KEEP, DELETE = "keep", "delete"
_CHUNK = 500  # ids per IN list: far below every backend's parameter limit


@dataclass(frozen=True)
class References:
    """The rows pointing into one folder: image ids, their labels and memberships, and albums emptied."""

    images: tuple[int, ...]
    labels: int
    album_images: int
    albums: int  # albums holding any of the images
    albums_emptied: int  # of those, scraped albums that hold nothing else (deleted with the images)

    def counts(self) -> dict[str, int]:
        return {"images": len(self.images), "labels": self.labels, "album_images": self.album_images,
                "albums": self.albums, "albums_emptied": self.albums_emptied}  # fmt: skip


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


@dataclass(frozen=True)
class ImageRows:
    """The images tables of this database and where relative ``file_path`` values resolve."""

    schema: ServerSchema
    roots: ClaimRoots
    outputs_dir: Path | None
    server_dir: Path | None

    @property
    def present(self) -> bool:
        return self.schema.has("images", "file_path")

    def locations(self, file_path: str | None) -> list[str]:
        """Where a ``file_path`` may lie (canonical, a root's real path written as the root)."""
        if not file_path or "\x00" in file_path:
            return []
        if os.path.isabs(file_path):
            bases: list[Path | None] = [None]
        else:
            bases = [base for base in (self.outputs_dir, self.server_dir) if base is not None]
        found = {self.roots.canonical(file_path, base) for base in bases}
        return sorted(path for path in found if path is not None)

    def folder(self, path: PurgePath) -> str:
        return self.roots.canonical(path.named, path.root) or str(path.target.path)

    def index(self, conn: Connection) -> PathIndex[int]:
        """Every image row's id filed under each place its file may lie (one query)."""
        images = self.schema.table("images")
        rows = conn.execute(select(images.c.id, images.c.file_path))
        return PathIndex((where, image_id) for image_id, file_path in rows for where in self.locations(file_path))

    def count(self, conn: Connection, image_ids: Iterable[int]) -> References:
        """Labels, memberships and albums of ``image_ids``; which scraped albums they would leave empty."""
        ids = sorted(set(image_ids))
        labels = album_images = 0
        albums: set[int] = set()
        if self.schema.has("labels", "image_id"):
            table = self.schema.table("labels")
            for chunk in _chunks(ids):
                labels += conn.execute(select(func.count()).where(table.c.image_id.in_(chunk))).scalar_one()
        members: dict[int, int] = {}
        if self.schema.has("album_images", "album_id"):
            table = self.schema.table("album_images")
            for chunk in _chunks(ids):
                for (album_id,) in conn.execute(select(table.c.album_id).where(table.c.image_id.in_(chunk))):
                    album_images += 1
                    members[album_id] = members.get(album_id, 0) + 1
            albums = set(members)
        emptied = [album for album in self._scraped(conn, albums) if self._size(conn, album) == members[album]]
        return References(tuple(ids), labels, album_images, len(albums), len(emptied))

    def _scraped(self, conn: Connection, album_ids: set[int]) -> list[int]:
        """Those of ``album_ids`` the scrape made: album_type 'scraped', or source_type 'scrape' where it exists."""
        if not album_ids or not self.schema.has("albums", "album_type"):
            return []
        albums = self.schema.table("albums")
        made = [albums.c.album_type == "scraped"]
        if self.schema.has("albums", "source_type"):
            made.append(albums.c.source_type == "scrape")
        found: list[int] = []
        for chunk in _chunks(album_ids):
            found += conn.execute(select(albums.c.id).where(albums.c.id.in_(chunk), or_(*made))).scalars().all()
        return sorted(found)

    def _size(self, conn: Connection, album_id: int) -> int:
        table = self.schema.table("album_images")
        return conn.execute(select(func.count()).where(table.c.album_id == album_id)).scalar_one()

    def still_inside(self, conn: Connection, folder: str, image_ids: Iterable[int]) -> list[int]:
        """Those of ``image_ids`` whose row still points into ``folder`` (ids are reused after a delete)."""
        images = self.schema.table("images")
        inside: list[int] = []
        for chunk in _chunks(image_ids):
            for image_id, file_path in conn.execute(
                select(images.c.id, images.c.file_path).where(images.c.id.in_(chunk))
            ):
                if any(_holds(folder, where) for where in self.locations(file_path)):
                    inside.append(image_id)
        return inside

    def delete(self, engine: Engine, folder: str, image_ids: Iterable[int]) -> References:
        """In one transaction: the images rows still pointing into ``folder``, their labels and
        memberships, and the scraped albums left empty. What went, counted."""
        with engine.begin() as conn:
            ids = self.still_inside(conn, folder, image_ids)
            found = self.count(conn, ids)
            emptied = self._scraped(conn, self._albums_of(conn, ids))
            for chunk in _chunks(ids):
                if self.schema.has("labels", "image_id"):
                    labels = self.schema.table("labels")
                    conn.execute(delete(labels).where(labels.c.image_id.in_(chunk)))
                if self.schema.has("album_images", "image_id"):
                    members = self.schema.table("album_images")
                    conn.execute(delete(members).where(members.c.image_id.in_(chunk)))
                images = self.schema.table("images")
                conn.execute(delete(images).where(images.c.id.in_(chunk)))
            emptied = [album for album in emptied if self._size(conn, album) == 0]
            self._delete_albums(conn, emptied)
        return References(found.images, found.labels, found.album_images, found.albums, len(emptied))

    def _albums_of(self, conn: Connection, image_ids: list[int]) -> set[int]:
        if not self.schema.has("album_images", "album_id"):
            return set()
        table = self.schema.table("album_images")
        found: set[int] = set()
        for chunk in _chunks(image_ids):
            found.update(conn.execute(select(table.c.album_id).where(table.c.image_id.in_(chunk))).scalars())
        return found

    def _delete_albums(self, conn: Connection, album_ids: list[int]) -> None:
        albums = self.schema.table("albums")
        for chunk in _chunks(album_ids):
            if self.schema.has("scrape_jobs", "album_id"):  # the job's link, which the server leaves dangling
                jobs = self.schema.table("scrape_jobs")
                conn.execute(update(jobs).where(jobs.c.album_id.in_(chunk)).values(album_id=None))
            conn.execute(delete(albums).where(albums.c.id.in_(chunk)))


def _holds(folder: str, path: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def decide_referenced(
    plan: PurgePlan, conn: Connection, rows: ImageRows, mode: str, finished: set[str] = frozenset()
) -> None:
    """Per planned scrape folder: refuse it as ``referenced`` (keep), or attach the rows that go with it (delete).

    A folder already gone (kept in the plan to clear its row: this host removed
    it) protects no file: with ``keep`` its row is cleared and its images rows
    stay; with ``delete`` they go. ``finished``: folders whose rows a stopped
    run's journal already accounts for.
    """
    if plan.kind != "scrape" or not plan.items or not rows.present:
        return
    index = rows.index(conn)
    for item in plan.items:
        for path in list(item.paths):
            folder = rows.folder(path)
            ids = index.within(folder)
            if not ids or folder in finished or (mode == KEEP and not path.exists):
                continue
            found = rows.count(conn, ids)
            if mode == DELETE:
                item.paths = [replace(p, references=found) if p is path else p for p in item.paths]
                continue
            message = (
                f"refused {path.named}: {len(found.images)} images rows point at files in it "
                f"({found.albums} albums, {found.labels} labels); set purge.referenced_images: delete "
                "to remove them with the folder"
            )
            counts = {"images": len(found.images), "albums": found.albums, "labels": found.labels}
            plan.refuse(item, path, SafetyError(message, path=path.named, reason="referenced", **counts))
    plan.prune()
