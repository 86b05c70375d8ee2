"""Stage 1: stream the images rows once; their files, their thumbnail paths, the folders they lie in.

Rows are read through a server-side cursor in batches, never all at once, and nothing is kept per
row but bits: the ids present, missing and naming no thumbnail (bitmaps), and, per file the walk
listed, whether a row names it. A normal absolute ``file_path`` (the usual one) takes a fast path:
one hash, one probe into the walk's index, and a ``stat`` only when its folder was not listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection, Select, Table, func, select

from ..server_paths import scrape_folder_name, training_dataset_folder_name
from .findings import Finding, IdSet
from .paths import OLD_IMGOPS_THUMBNAIL, Bases
from .scan_files import Thumbnails, Walk

BATCH = 2000
_RAW_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg"), ("postgresql", "psycopg2")}
_cursor_numbers = count()


@dataclass
class ImageScan:
    """What the images rows say, kept for the stages after this one (bits per id, never a row)."""

    present: IdSet
    rows: int = 0
    missing: IdSet = field(default_factory=IdSet)
    """Ids of rows whose file is missing."""
    dangling_thumbnails: IdSet = field(default_factory=IdSet)
    """Ids of rows whose ``thumbnail_path`` names no file."""
    old_thumbnails_named: set[int] = field(default_factory=set)
    """Hashes of the normalised old imgops thumbnail paths (``legacy-<sha>.jpg``) rows name; few, and fewer
    once ``imgops thumbnails`` has pointed their rows at the server's thumbnails."""


def max_id(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.max(table.c.id))).scalar() or 0)


def stream_batches(connection: Connection, statement: Select) -> Iterator[Sequence[tuple]]:
    """Rows in batches through a server-side cursor (PostgreSQL) or SQLite's own incremental cursor.

    A statement without parameters on SQLite or psycopg is run on the driver's own cursor: its rows are
    plain tuples, which halves the cost per row of the images scan against SQLAlchemy's result rows.
    """
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    if compiled.params or (dialect.name, dialect.driver) not in _RAW_DRIVERS:
        result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
        yield from result.partitions()
        return
    driver = connection.connection.dbapi_connection
    if dialect.name == "sqlite":
        cursor = driver.cursor()
    else:  # a named cursor is a server-side one, inside the transaction the connection is in
        cursor = driver.cursor(name=f"imgops_reconcile_{next(_cursor_numbers)}")
    try:
        cursor.execute(str(compiled))
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def stream(connection: Connection, statement: Select) -> Iterator[tuple]:
    for batch in stream_batches(connection, statement):
        yield from batch


def _ancestors(path: str) -> Iterator[str]:
    parent = os.path.dirname(path)
    while parent and parent != path:
        yield parent
        path, parent = parent, os.path.dirname(parent)


def _locate(named: str | None, bases: Bases, walk: Walk) -> str | None:
    """Mark every file ``named`` may mean as named; the first one that exists, or None."""
    located = None
    for candidate in bases.candidates(named) if named else ():
        at = walk.index.find(hash(candidate))
        if at >= 0:
            walk.named[at] = 1
        if located is None and (at >= 0 or (not walk.listed(candidate) and os.path.exists(candidate))):
            located = candidate
    return located


def scan_images(
    connection: Connection,
    images: Table,
    bases: Bases,
    purged_folders: dict[str, str],
    walk: Walk,
    thumbnails: Thumbnails,
    found: dict[str, Finding],
) -> ImageScan:
    """Stream every images row: a missing file, a thumbnail path naming nothing, a file in a purged folder."""
    scan = ImageScan(present=IdSet(max_id(connection, images)))
    thumbnail_folders, thumbnails = thumbnails.folders, thumbnails.ids
    missing, purged = found["missing_image_files"], found["images_in_purged_folders"]
    dangling = found["dangling_thumbnail_paths"]
    purged_prefixes = tuple(folder.rstrip(os.sep) + os.sep for folder in purged_folders)
    hashes, slots, mask, named_files = walk.index.hashes, walk.index.slots, walk.index.mask, walk.named
    listed, exists = walk.listed, os.path.exists
    statement = select(images.c.id, images.c.filename, images.c.file_path, images.c.thumbnail_path)
    for batch in stream_batches(connection, statement):
        scan.rows += len(batch)
        scan.present.add_all(list(map(itemgetter(0), batch)))
        for image_id, filename, file_path, thumbnail_path in batch:
            named = file_path or filename
            if named and named[0] == "/" and "/." not in named and "//" not in named and named[-1] != "/":
                # normal and absolute (normpath would return it as it is): its only candidate
                value = hash(named)
                slot = value & mask
                while (at := slots[slot]) >= 0 and hashes[at] != value:
                    slot = (slot + 1) & mask
                if at >= 0:
                    named_files[at] = 1
                    located = named
                else:
                    located = named if not listed(named) and exists(named) else None
            else:
                located = _locate(named, bases, walk)
            if located is None:
                scan.missing.add(image_id)
                missing.add(id=image_id, file_path=file_path or "", filename=filename or "")
            if purged_prefixes and named:
                where = located or (bases.candidates(named) or [named])[0]
                if where.startswith(purged_prefixes):
                    folder = next((purged_folders[a] for a in _ancestors(where) if a in purged_folders), None)
                    if folder is not None:
                        purged.add(id=image_id, file_path=file_path or "", folder=folder)
            if thumbnail_path:
                folder, _, name = thumbnail_path.rpartition("/")
                if (
                    folder in thumbnail_folders
                    and name[-5:] == ".webp"
                    and (digits := name[:-5]).isdigit()
                    and digits.isascii()
                    and digits[0] != "0"
                    and int(digits) in thumbnails
                ):
                    continue  # the server's own thumbnail, listed: it exists (the rule of Thumbnails.list)
                candidates = bases.candidates(thumbnail_path)
                if "legacy-" in thumbnail_path:
                    scan.old_thumbnails_named.update(
                        hash(c) for c in candidates if OLD_IMGOPS_THUMBNAIL.fullmatch(os.path.basename(c))
                    )
                if not any(os.path.lexists(candidate) for candidate in candidates):
                    scan.dangling_thumbnails.add(image_id)
                    dangling.add(id=image_id, thumbnail_path=thumbnail_path)
    return scan


def purged_folders(
    connection: Connection,
    scrape_jobs: Table,
    training_runs: Table,
    scraped_dir: Path | None,
    dataset_dir: Path | None,
) -> dict[str, str]:
    """Folders the server's purge or cleanup removed, by normalised path -> the row that names it.

    A scrape job whose ``output_directory`` is ``''`` (the seed purge) or whose status is
    ``cleaned_up`` lost its folder: the one it names, else the default ``job_<id>`` (5.4, 5.7). A
    training run whose ``dataset_path`` is ``''`` lost ``training_run_<id>`` (5.5, 5.7).
    """
    folders: dict[str, str] = {}
    statement = select(scrape_jobs.c.id, scrape_jobs.c.status, scrape_jobs.c.output_directory)
    for job_id, status, output_directory in stream(connection, statement):
        if output_directory == "" or status == "cleaned_up":
            if output_directory:
                folders[os.path.normpath(output_directory)] = f"scrape_jobs/{job_id}"
            elif scraped_dir is not None:
                folders[os.path.normpath(scraped_dir / scrape_folder_name(job_id))] = f"scrape_jobs/{job_id}"
    if dataset_dir is not None:
        statement = select(training_runs.c.id).where(training_runs.c.dataset_path == "")
        for (run_id,) in stream(connection, statement):
            folders[os.path.normpath(dataset_dir / training_dataset_folder_name(run_id))] = f"training_runs/{run_id}"
    return folders
