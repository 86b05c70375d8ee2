"""The ``legacy`` job: collect -> stage -> albums -> ingest -> manifests, batch by batch.

Each batch of files is hashed, staged, then ingested in one transaction, so
a run killed at any point resumes where it stopped: staged files are found
in place (same content) and rows are keyed by content hash and source path.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..config import Config
from ..db import connected_engine, migrations, transaction
from ..db.history import ensure_record
from ..db.schema import ensure_imgops_schema
from ..db.server_schema import read_server_schema
from ..errors import ConfigError, reports_database_errors
from ..fs import PLACE_MODES, fsync_dir, job_lock
from ..fs.stale import remove_stale_temporaries, stale_temporaries_in
from ..host import host_name
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics
from ..result import JobResult
from .albums import AlbumSpec, resolve_albums
from .collect import SourceFile, collect, shown
from .ingest import IngestContext, ingest_batch, known_assets, lock_for_ingest
from .manifest import MANIFEST_NAME, pending_folders, write_manifest
from .plan import Asset, describe
from .server_tree import server_destinations
from .stage import StagedNames, StageOutcome, sha256_file, stage_file, unique_names

BATCH_SIZE = 1000  # files per transaction: each batch scans images (file_path has no index) and commits once
HASHING_WORKERS_PER_CORE = 2  # a thread waiting on the disk leaves its core to another


def hashing_workers() -> int:
    """Threads that hash and stage; they take a batch at a time, so memory stays bounded by the batch."""
    return HASHING_WORKERS_PER_CORE * len(os.sched_getaffinity(0))


MAX_NOTICES = 100
_COPIED_NOT_LINKED = (
    "{count} files were copied into {root}, not hardlinked: the source and the staged folder are on "
    "different filesystems or mounts (a systemd service's ReadWritePaths= folders are each a mount of their "
    "own); the copies take space of their own (legacy.stage_mode symlink or copy says so outright)"
)


@dataclass
class _Run:
    """Counters of one run; bounded by the number of folders and albums, not files."""

    result: JobResult
    staged_names: StagedNames  # the quick check's "is the staged file there"
    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    staged: Counter = field(default_factory=Counter)
    new_images: Counter = field(default_factory=Counter)
    adopted: Counter = field(default_factory=Counter)
    links: Counter = field(default_factory=Counter)
    albums_created: list[str] = field(default_factory=list)
    album_ids: dict[str, int] = field(default_factory=dict)
    touched_folders: set[str] = field(default_factory=set)
    cleaned_folders: set[str] = field(default_factory=set)
    staged_by_server: dict[str, PurePosixPath] = field(default_factory=dict)
    modes: set[str] = field(default_factory=set)

    def notice(self, message: str, **context: Any) -> None:
        self.counts["notices"] += 1
        if self.counts["notices"] <= MAX_NOTICES:
            self.result.notice(message, **context)

    def remove_temporaries(self, folder: str, names: list[str]) -> None:
        """Record the leftovers of a killed run removed from one folder."""
        self.counts["temporaries_removed"] += len(names)
        self.result.act("remove_temporaries", folder, files=names)

    def skip(self, path: Path, reason: str) -> None:
        self.skipped[reason] += 1
        self.notice(f"skipped {shown(path)}: {reason}", path=shown(path), reason=reason)


@records_metrics("legacy")
@reports_database_errors
def run_legacy_import(config: Config, mode: str | None = None, dry_run: bool = False) -> JobResult:
    """Import the legacy images; in a dry run report the full plan and write nothing."""
    mode = mode or config.legacy.stage_mode
    if mode not in PLACE_MODES:
        raise ConfigError(f"legacy stage mode {mode!r} is not one of {', '.join(PLACE_MODES)}", key="legacy.stage_mode")
    outputs_dir = config.paths.outputs_dir
    packs_dir = config.paths.reference_packs_dir
    if outputs_dir is None and packs_dir is None:
        config.path("outputs_dir")
    legacy_root = config.path("legacy_root")
    host = host_name(config)
    with connected_engine(config) as engine:
        schema = read_server_schema(engine)
        schema.require("legacy")
        with job_lock(config.state_dir, "legacy", config.lock_timeout_seconds):
            tables_ready = _imgops_tables(engine, config, dry_run)
            ctx = IngestContext(
                host=host,
                legacy_root=legacy_root,
                schema=schema,
                path_bases=tuple(base for base in (outputs_dir, config.platform_dir) if base is not None),
                created_by=config.legacy.created_by,
                max_attempts=config.thumbnails.max_attempts,
                imgops_tables=tables_ready,
                workers=hashing_workers(),
            )
            run = _Run(JobResult(job="legacy", dry_run=dry_run), staged_names=StagedNames(legacy_root))
            run.staged_by_server, problem = server_destinations(legacy_root)
            if problem:
                run.notice(problem)
            with _sessions(engine, dry_run) as session_for, ThreadPoolExecutor(ctx.workers) as pool:
                for listing in collect(outputs_dir, packs_dir):
                    for path, reason in listing.skipped:
                        run.skip(path, reason)
                    for orphan in listing.orphans:
                        run.counts["orphans"] += 1
                        run.notice(f"orphan sidecar {shown(orphan)}: no image beside it", path=shown(orphan))
                    names = cache(partial(unique_names, listing.files))  # only when a file needs staging
                    for start in range(0, len(listing.files), BATCH_SIZE):
                        batch = listing.files[start : start + BATCH_SIZE]
                        _import_batch(batch, names, run, ctx, mode, session_for, dry_run, pool)
            _manifests(engine, run, ctx, dry_run)
    _finish(run, host, legacy_root, mode)
    imported = Metric("imgops_legacy_images_imported", "Images the last run added to the platform.")
    imported.add(run.result.summary["ingested"])
    run.result.metrics["imgops_legacy"] = [imported]
    if run.result.changed and not dry_run:
        _record_history(config, host, run.result)
    return run.result


def _record_history(config: Config, host: str, result: JobResult) -> None:
    """One ``migration_history`` row per host for this import, as the platform keeps for its imports."""
    name = f"imgops legacy import ({host})"
    counts = ("discovered", "staged", "ingested", "duplicates", "adopted", "orphans", "skipped", "albums_created")
    details = json.dumps({key: result.summary[key] for key in counts}, sort_keys=True)
    with connected_engine(config) as engine, transaction(engine) as session:
        ensure_record(session, name, details, refresh_timestamp=True)
    result.act("record_history", name)


def _imgops_tables(engine: Engine, config: Config, dry_run: bool) -> bool:
    """Bring imgops' tables up; a dry run only says whether they are there (it plans without them)."""
    if dry_run:
        return not migrations.plan(engine).pending
    ensure_imgops_schema(engine, config)
    return True


@contextmanager
def _sessions(engine: Engine, dry_run: bool) -> Iterator[Callable[[], AbstractContextManager[Session]]]:
    """A transaction per batch; a dry run uses one for the whole run, rolled back at the end."""
    if dry_run:
        with transaction(engine, dry_run=True) as session:
            yield lambda: nullcontext(session)
    else:
        yield lambda: transaction(engine)


def _import_batch(
    batch: list[SourceFile],
    names: Callable[[], dict[str, str]],
    run: _Run,
    ctx: IngestContext,
    mode: str,
    session_for: Callable[[], AbstractContextManager[Session]],
    dry_run: bool,
    pool: Executor,
) -> None:
    """Hash and stage a batch on the pool's threads (results in file order), then ingest it in one transaction."""
    run.counts["discovered"] += len(batch)
    with session_for() as session:
        texts = [s.text for s in batch]
        known = known_assets(session, ctx.host, texts) if ctx.imgops_tables else {}
    planned: list[Asset] = []
    for source, text in zip(batch, texts, strict=True):
        record = known.get(text)
        quick_match = record is not None and record[:3] == (source.size, source.mtime_ns, source.inode)
        if quick_match and run.staged_names.holds(record[3]):
            run.counts["unchanged"] += 1
            continue
        asset = describe(source, names()[source.name], run.staged_by_server)
        for problem in asset.problems:
            run.counts["sidecar_problems"] += 1
            run.notice(f"sidecar {shown(source.sidecar or source.path)}: {problem}", path=source.text)
        _clean_folder(run, ctx.legacy_root, str(asset.staged_path.parent), dry_run)
        planned.append(asset)
    todo: list[Asset] = []
    server_folders = _existing_folders(ctx.legacy_root, {a.server_destination.parent for a in planned
                                                         if a.server_destination is not None})  # fmt: skip
    place = partial(
        _hash_and_stage_all, legacy_root=ctx.legacy_root, server_folders=server_folders, mode=mode, dry_run=dry_run
    )
    placed = [result for part in pool.map(place, _parts(planned, ctx.workers)) for result in part]
    for asset, (problem, outcome) in zip(planned, placed, strict=True):
        if outcome is None:
            run.skip(asset.source.path, problem)
            continue
        if outcome.state == "conflict":
            run.skip(asset.source.path, "staged_conflict")
            run.result.error(
                f"{ctx.legacy_root / asset.staged_path} exists with other content; not overwritten",
                path=asset.source_text,
            )
            continue
        if outcome.state == "placed":
            run.counts["staged"] += 1
            run.staged[str(asset.staged_path.parent)] += 1
            run.modes.add(outcome.mode or mode)
            if mode == "hardlink" and outcome.mode == "copy":
                run.counts["copied_not_linked"] += 1
        todo.append(asset)
        _progress(run)
    if not todo:
        return
    if not dry_run:
        for folder in sorted({asset.staged_path.parent for asset in todo}):
            fsync_dir(ctx.legacy_root / folder)
    specs: dict[str, AlbumSpec] = {a.album: a.album_spec for a in todo if a.album not in run.album_ids}
    with session_for() as session:
        lock_for_ingest(session)
        found, created = resolve_albums(session, ctx.schema, specs, ctx.created_by) if specs else ({}, [])
        outcome = ingest_batch(session, todo, {**run.album_ids, **found}, ctx)
    run.album_ids.update(found)
    run.albums_created.extend(created)
    run.counts["adopted"] += outcome.adopted
    run.adopted.update(outcome.adopted_in)
    run.counts["ingested"] += outcome.ingested
    run.counts["duplicates"] += outcome.duplicates
    run.counts["labels"] += outcome.labels
    run.counts["thumbnails_queued"] += outcome.thumbnails_queued
    run.counts["assets_recorded"] += outcome.assets_recorded
    run.new_images.update(outcome.new_images)
    run.links.update(outcome.links)
    run.touched_folders.update(str(asset.staged_path.parent) for asset in todo)
    log_event("legacy_batch", logging.DEBUG, files=len(batch), ingested=outcome.ingested)


def _parts(items: list[Asset], count: int) -> list[list[Asset]]:
    """``items`` cut into ``count`` runs in order: one task per worker, not one per file."""
    size = -(-len(items) // count) or 1
    return [items[start : start + size] for start in range(0, len(items), size)]


def _existing_folders(legacy_root: Path, folders: set[PurePosixPath]) -> frozenset[PurePosixPath]:
    """Those of ``folders`` (below ``legacy_root``) that exist: a file of the server's can only be in one."""
    return frozenset(folder for folder in folders if os.path.isdir(legacy_root / folder))


def _hash_and_stage_all(
    assets: list[Asset], legacy_root: Path, server_folders: frozenset[PurePosixPath], mode: str, dry_run: bool
) -> list[tuple[str | None, StageOutcome | None]]:
    return [_hash_and_stage(asset, legacy_root, server_folders, mode, dry_run) for asset in assets]


def _hash_and_stage(
    asset: Asset, legacy_root: Path, server_folders: frozenset[PurePosixPath], mode: str, dry_run: bool
) -> tuple[str | None, StageOutcome | None]:
    """Hash one file and place it (a worker thread's part: hashlib and the file calls release the GIL).

    Returns why the file is skipped (or None) and how it was staged.
    """
    try:
        asset.sha256 = sha256_file(asset.source.path)
    except OSError as exc:
        return f"unreadable: {exc.strerror}", None
    if _staged_by_server(asset, legacy_root, server_folders, asset.source.path):
        asset.staged_path = asset.server_destination  # the server's importer staged it: used where it is
    return None, stage_file(asset.source.path, legacy_root / asset.staged_path, asset.sha256, mode, dry_run)


def _staged_by_server(asset: Asset, legacy_root: Path, server_folders: frozenset[PurePosixPath], source: Path) -> bool:
    """Whether the server's importer staged this file under ``legacy_root`` (and imgops did not stage it itself).

    Its stager places a symlink to the absolute source (or a copy with ``--no-symlink``) at its own
    destination; either is the same file, so imgops neither stages it again nor makes a second row.
    """
    destination = asset.server_destination
    if destination is None or destination.parent not in server_folders:  # most trees: no server folder at all
        return False
    if os.path.lexists(legacy_root / asset.staged_path):
        return False
    target = legacy_root / destination
    try:
        if os.path.islink(target):
            return os.path.realpath(target) == os.path.realpath(source)
        return os.path.isfile(target) and (
            os.path.samefile(target, source)
            or (os.path.getsize(target) == asset.source.size and sha256_file(target) == asset.sha256)
        )
    except OSError:
        return False


def _clean_folder(run: _Run, legacy_root: Path, folder: str, dry_run: bool) -> None:
    """Before the first file of a run goes into a staged folder: remove what a killed run left there."""
    if folder in run.cleaned_folders:
        return
    run.cleaned_folders.add(folder)
    removed = stale_temporaries_in(legacy_root / folder) if dry_run else remove_stale_temporaries(legacy_root / folder)
    if removed:
        run.remove_temporaries(folder, removed)


def _manifests(engine: Engine, run: _Run, ctx: IngestContext, dry_run: bool) -> None:
    if dry_run or not ctx.imgops_tables:
        for folder in sorted(run.touched_folders):
            run.result.act("write_manifest", f"{folder}/{MANIFEST_NAME}")
        return
    for folder in pending_folders(engine, ctx.host):
        changed, removed = write_manifest(engine, ctx.host, ctx.legacy_root, folder)
        if removed:
            run.remove_temporaries(folder, removed)
        if changed:
            run.counts["manifests_written"] += 1
            run.result.act("write_manifest", f"{folder}/{MANIFEST_NAME}")


def _finish(run: _Run, host: str, legacy_root: Path, mode: str) -> None:
    result = run.result
    for name in run.albums_created:
        result.act("create_album", name)
    for folder in sorted(run.staged):
        result.act("stage", folder, files=run.staged[folder], mode="/".join(sorted(run.modes)) or mode)
    for album in sorted(set(run.new_images) | set(run.links)):
        result.act("ingest", album, images=run.new_images[album], links=run.links[album])
    for album in sorted(run.adopted):
        result.act("adopt", album, images=run.adopted[album])
    if run.counts["labels"]:
        result.act("label", "labels", count=run.counts["labels"])
    if run.counts["thumbnails_queued"]:
        result.act("queue_thumbnails", "imgops_queue", count=run.counts["thumbnails_queued"])
    if run.counts["assets_recorded"]:
        result.act("record_assets", "imgops_assets", count=run.counts["assets_recorded"])
    if run.counts["copied_not_linked"]:
        result.notice(_COPIED_NOT_LINKED.format(count=run.counts["copied_not_linked"], root=legacy_root),
                      copied=run.counts["copied_not_linked"])  # fmt: skip
    if run.counts["notices"] > MAX_NOTICES:
        result.notice(f"{run.counts['notices'] - MAX_NOTICES} more notices not shown")
    counts = run.counts
    result.summary = {
        "host": host,
        "legacy_root": str(legacy_root),
        "mode": mode,
        "discovered": counts["discovered"],
        "unchanged": counts["unchanged"],
        "staged": counts["staged"],
        "ingested": counts["ingested"],
        "duplicates": counts["duplicates"],
        "adopted": counts["adopted"],
        "orphans": counts["orphans"],
        "skipped": sum(run.skipped.values()),
        "skipped_reasons": dict(sorted(run.skipped.items())),
        "sidecar_problems": counts["sidecar_problems"],
        "albums_created": len(run.albums_created),
        "new_albums": list(run.albums_created),
        "labels_added": counts["labels"],
        "thumbnails_queued": counts["thumbnails_queued"],
        "manifests_written": sum(1 for a in result.actions if a.kind == "write_manifest"),
        "temporaries_removed": counts["temporaries_removed"],
    }
    if sys.stderr.isatty():
        sys.stderr.write("\n")


def _progress(run: _Run) -> None:
    """A one-line progress counter, only when stderr is a terminal."""
    run.counts["processed"] += 1
    if run.counts["processed"] % 100 == 0 and sys.stderr.isatty():
        sys.stderr.write(f"\rimgops legacy: {run.counts['discovered']} files seen, {run.counts['processed']} hashed")
        sys.stderr.flush()
