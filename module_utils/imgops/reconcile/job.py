"""The ``reconcile`` job: walk the roots, list the thumbnails -> scan images -> delete missing ones (opt-in)
-> links -> queue -> orphan thumbnails -> unreferenced files.

Read-only unless ``fix``; with ``fix`` it removes orphan thumbnail files, dangling ``album_images``
and ``labels`` rows and ``thumbnail_path`` values naming nothing, and, only with
``reconcile.delete_missing_images``, images rows whose file is missing. Files in purged folders,
unreferenced files and imgops' queue rows for vanished images are reported, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Table, inspect

from ..config import Config
from ..db import connected_engine
from ..db.imgops_tables import queue
from ..db.server_schema import read_server_schema
from ..errors import reports_database_errors
from ..fs import job_lock
from ..metrics import Metric, records_metrics
from ..result import JobResult
from . import fix as repair
from .findings import KINDS, Finding, IdSet, new_findings
from .paths import Bases
from .scan_files import Thumbnails, orphan_thumbnails, unreferenced_files, walk_roots
from .scan_images import ImageScan, purged_folders, scan_images
from .scan_links import LinkScan, album_ids, scan_links, scan_queue


@dataclass(frozen=True)
class _Tables:
    images: Table
    albums: Table
    album_images: Table
    labels: Table


@records_metrics("reconcile")
@reports_database_errors
def run_reconcile(config: Config, fix: bool = False, dry_run: bool = False) -> JobResult:
    """Find (and with ``fix`` repair) what the database and the files disagree on; a dry run changes nothing."""
    result = JobResult(job="reconcile", dry_run=dry_run)
    found = new_findings()
    delete_images = fix and config.reconcile.delete_missing_images
    paths = config.paths
    bases = Bases(paths.outputs_dir, config.platform_dir)
    if paths.outputs_dir is None:
        result.notice("paths.outputs_dir is not set: relative file paths cannot be resolved", key="paths.outputs_dir")
    with connected_engine(config) as engine, job_lock(config.state_dir, "reconcile", config.lock_timeout_seconds):
        schema = read_server_schema(engine)
        schema.require("reconcile")
        tables = _Tables(*(schema.table(name) for name in ("images", "albums", "album_images", "labels")))
        roots = [root for root in (paths.outputs_dir, paths.legacy_root) if root is not None and root.is_dir()]
        walk = walk_roots(roots, [paths.thumbnails_dir] if paths.thumbnails_dir else [])
        with engine.connect() as connection:
            purged = purged_folders(connection, schema.table("scrape_jobs"), schema.table("training_runs"),
                                    paths.scraped_dir, paths.training_dataset_dir)  # fmt: skip
            thumbnails = Thumbnails.list(paths.thumbnails_dir, paths.outputs_dir)
            scan = scan_images(connection, tables.images, bases, purged, walk, thumbnails, found)
            albums_present = album_ids(connection, tables.albums)
        gone = None
        files_here = fix and _files_here(config, result)
        delete_images = delete_images and files_here and _may_delete_images(scan, found, result)
        if delete_images:
            gone = scan.missing
            counts = repair.delete_missing_images(engine, tables.images, tables.album_images, tables.labels, bases,
                                                  gone, dry_run)  # fmt: skip
            found["missing_image_files"].fixed = counts["images"]
            if found["missing_image_files"].fixed:
                result.act("delete_missing_images", "images", count=found["missing_image_files"].fixed,
                           album_images=counts["album_images"], labels=counts["labels"])  # fmt: skip
        with engine.connect() as connection:
            links = scan_links(connection, tables.album_images, tables.labels, scan.present, albums_present, found)
            if inspect(connection).has_table(queue.name):
                scan_queue(connection, queue, gone, scan.present, found)
        if fix:
            _fix_rows(engine, tables, bases, scan, links, gone, found, result, clear_paths=files_here)
        refusals: list[str] = []
        if paths.thumbnails_dir is not None and thumbnails.may_hold_orphans(scan.present, gone):
            remover = (repair.thumbnail_remover(paths.thumbnails_dir, engine, tables.images, gone or IdSet(0),
                                                dry_run, refusals) if files_here else None)  # fmt: skip
            orphan_thumbnails(paths.thumbnails_dir, scan.present, gone, scan.old_thumbnails_named, found, remover)
            if found["orphan_thumbnails"].fixed:
                result.act("remove_orphan_thumbnails", str(paths.thumbnails_dir),
                           count=found["orphan_thumbnails"].fixed)  # fmt: skip
        for message in refusals:
            result.notice(message)
        unreferenced_files(walk, found)
        result.metrics["imgops_reconcile"] = _metrics(found)
    result.summary = {
        "generation": schema.generation,
        "fix": fix,
        "delete_missing_images": config.reconcile.delete_missing_images,
        "findings": {kind: found[kind].to_dict() for kind in KINDS},
        "found": sum(found[kind].count for kind in KINDS),
        "fixed": sum(found[kind].fixed for kind in KINDS),
    }
    return result


def _fix_rows(
    engine: Engine,
    tables: _Tables,
    bases: Bases,
    scan: ImageScan,
    links: LinkScan,
    gone: IdSet | None,
    found: dict[str, Finding],
    result: JobResult,
    *,
    clear_paths: bool,
) -> None:
    """Dangling links and labels, then thumbnail paths naming nothing (rows being deleted left out)."""
    dry_run = result.dry_run
    linked, labelled = found["dangling_album_images"], found["dangling_labels"]
    named = found["dangling_thumbnail_paths"]
    linked.fixed = repair.delete_dangling_album_images(
        engine, tables.album_images, tables.images, tables.albums, links.dangling_album_image_ids, dry_run
    )
    if linked.fixed:
        result.act("delete_dangling_album_images", "album_images", count=linked.fixed)
    labelled.fixed = repair.delete_dangling_labels(engine, tables.labels, tables.images, links.dangling_label_ids,
                                                   dry_run)  # fmt: skip
    if labelled.fixed:
        result.act("delete_dangling_labels", "labels", count=labelled.fixed)
    if not clear_paths:
        return
    ids = scan.dangling_thumbnails if gone is None else (i for i in scan.dangling_thumbnails if i not in gone)
    named.fixed = repair.clear_thumbnail_paths(engine, tables.images, bases, ids, dry_run)
    if named.fixed:
        result.act("clear_thumbnail_paths", "images", count=named.fixed)


def _files_here(config: Config, result: JobResult) -> bool:
    """Whether this host holds the outputs folder; if not, nothing is repaired on the word of absent files."""
    outputs_dir = config.paths.outputs_dir
    if outputs_dir is not None and outputs_dir.is_dir():
        return True
    result.notice(
        f"outputs_dir {outputs_dir} is not a folder on this host: thumbnails and thumbnail paths are left alone",
        key="paths.outputs_dir",
    )
    return False


def _may_delete_images(scan: ImageScan, found: dict[str, Finding], result: JobResult) -> bool:
    """Refuse to delete images rows when every file looks missing: a storage not mounted, not lost files."""
    if scan.rows and found["missing_image_files"].count == scan.rows:
        result.notice(
            f"all {scan.rows} images rows name missing files: the storage looks unmounted, none is deleted",
            key="reconcile.delete_missing_images",
        )
        return False
    return True


def _metrics(found: dict[str, Finding]) -> list[Metric]:
    findings = Metric("imgops_reconcile_findings", "Disagreements between the database and the files, by kind.")
    fixed = Metric("imgops_reconcile_fixed", "Disagreements the last run repaired, by kind.")
    for kind in KINDS:
        findings.add(found[kind].count, kind=kind)
        fixed.add(found[kind].fixed, kind=kind)
    return [findings, fixed]
