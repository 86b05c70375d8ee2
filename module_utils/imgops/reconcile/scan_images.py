"""Stage 1: stream the images rows once; their files, their thumbnail paths, the folders they lie in.

Rows are read through a server-side cursor in batches, never all at once. What later stages need is
kept compact: the ids present (a bitmap) and the paths and inodes rows reference (hashes).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Table, func, select

from ..server_paths import scrape_folder_name, training_dataset_folder_name
from .findings import Finding, HashSet, IdSet
from .paths import Bases, image_file
from .scan_files import Walk

BATCH = 2000


@dataclass
class ImageScan:
    """What the images rows say, kept for the stages after this one."""

    present: IdSet
    rows: int = 0
    referenced: HashSet = field(default_factory=HashSet)
    """Normalised paths of every file a row names."""
    thumbnail_paths: HashSet = field(default_factory=HashSet)
    """Normalised paths every ``thumbnail_path`` names."""
    missing_ids: array = field(default_factory=lambda: array("q"))
    dangling_thumbnail_ids: array = field(default_factory=lambda: array("q"))


def max_id(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.max(table.c.id))).scalar() or 0)


def stream(connection: Connection, statement: object) -> Iterator[tuple]:
    """Rows in batches through a server-side cursor (PostgreSQL) or SQLite's own incremental cursor."""
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
    for partition in result.partitions():
        yield from partition


def _exists(path: str, walk: Walk) -> bool:
    """A file the walk covers is looked up in it; any other is stat'ed (following symlinks, as the server reads)."""
    if walk.covers(path):
        return path in walk.path_set
    return os.path.exists(path)


def _ancestors(path: str) -> Iterator[str]:
    parent = os.path.dirname(path)
    while parent and parent != path:
        yield parent
        path, parent = parent, os.path.dirname(parent)


def scan_images(
    connection: Connection,
    images: Table,
    bases: Bases,
    purged_folders: dict[str, str],
    walk: Walk,
    found: dict[str, Finding],
) -> ImageScan:
    """Stream every images row: a missing file, a thumbnail path naming nothing, a file in a purged folder."""
    scan = ImageScan(present=IdSet(max_id(connection, images)))
    statement = select(images.c.id, images.c.filename, images.c.file_path, images.c.thumbnail_path)
    for image_id, filename, file_path, thumbnail_path in stream(connection, statement):
        scan.present.add(image_id)
        scan.rows += 1
        named = image_file(file_path, filename)
        located = None
        for candidate in bases.candidates(named) if named else ():
            scan.referenced.add(candidate)
            if located is None and _exists(candidate, walk):
                located = candidate
        if located is None:
            scan.missing_ids.append(image_id)
            found["missing_image_files"].add(id=image_id, file_path=file_path or "", filename=filename or "")
        if purged_folders and named:
            where = located or (bases.candidates(named) or [named])[0]
            folder = next((purged_folders[a] for a in _ancestors(where) if a in purged_folders), None)
            if folder is not None:
                found["images_in_purged_folders"].add(id=image_id, file_path=file_path or "", folder=folder)
        if thumbnail_path:
            candidates = bases.candidates(thumbnail_path)
            for candidate in candidates:
                scan.thumbnail_paths.add(candidate)
            if not any(os.path.lexists(candidate) for candidate in candidates):
                scan.dangling_thumbnail_ids.append(image_id)
                found["dangling_thumbnail_paths"].add(id=image_id, thumbnail_path=thumbnail_path)
    scan.referenced.seal()
    scan.thumbnail_paths.seal()
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
