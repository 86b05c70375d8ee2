"""The ``thumbnails`` job: work the thumbnail jobs of ``imgops_queue``, writing the server's own thumbnails.

The server serves ``<outputs base>/thumbnails/<image id>.webp``, made by Pillow's
``thumbnail((300, 300))`` and saved as WEBP quality 85, and renders one only when that file is
missing (SERVER_FACTS 5.2). imgops writes exactly that file, so the server serves it as its own,
and never replaces one that exists (the server's, or an earlier run's): the row is then only
pointed at it. ``images.thumbnail_path`` gets the server's relative ``thumbnails/<id>.webp``.

Worker processes only read the source and return WEBP bytes; this process creates each thumbnail
atomically (``fs``) and records the outcome. A job that fails goes back to ``pending`` with its
error until ``max_attempts``, then stays ``failed``. A host works only the jobs its own imports
queued (the payload names the host; the source files are local to it). Jobs left ``running`` by a
killed run on this host are taken up again, and the temp files such a run left are removed (the
job lock proves no live run on this host holds them).
"""

from __future__ import annotations

import io
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import Engine, Table, bindparam, select, update

from .config import Config
from .db import connected_engine, migrations, transaction, utcnow
from .db.imgops_tables import queue
from .db.schema import ensure_imgops_schema
from .db.server_schema import read_server_schema
from .errors import reports_database_errors
from .fs import atomic_create_bytes, job_lock
from .fs.stale import remove_stale_temporaries
from .host import host_name
from .metrics import Metric, records_metrics
from .options import at_least
from .result import JobResult

KIND = "thumbnail"
CHUNK_PER_WORKER = 8
SERVER_SIZE = (300, 300)
"""The box the server fits thumbnails into; fixed in its code, so not configurable here."""
WEBP_QUALITY = 85
THUMBNAIL_NAMES = re.compile(r"[0-9]+\.webp")
"""The names this job writes in the thumbnails folder (for removing its stale temp files)."""


@dataclass(frozen=True)
class Rendered:
    job_id: int
    image_id: int
    data: bytes | None
    error: str | None
    existing: bool = False


def render_thumbnail(source: str) -> bytes:
    """WEBP bytes of ``source`` as the server renders them (runs in a worker process)."""
    with PILImage.open(source) as image:
        image.thumbnail(SERVER_SIZE)
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY)
        return buffer.getvalue()


def thumbnail_file_name(image_id: int) -> str:
    """The server's thumbnail file for an image, ``<id>.webp``."""
    return f"{image_id}.webp"


def thumbnail_path_value(image_id: int) -> str:
    """What the server stores in ``images.thumbnail_path``: relative to its outputs base, never prefixed."""
    return f"thumbnails/{thumbnail_file_name(image_id)}"


def image_source(file_path: str | None, filename: str | None, outputs_dir: Path) -> str | None:
    """The file the server reads for a thumbnail: ``file_path``, else ``filename``; relative against the base."""
    named = file_path or filename
    if not named:
        return None
    return named if os.path.isabs(named) else os.path.join(outputs_dir, named)


def _render(job: tuple[int, int, str | None]) -> Rendered:
    job_id, image_id, source = job
    if not source:
        return Rendered(job_id, image_id, None, "image row or file path missing")
    try:
        return Rendered(job_id, image_id, render_thumbnail(source), None)
    except Exception as exc:  # any failure of one image is recorded on its job, never fatal
        return Rendered(job_id, image_id, None, f"{exc.__class__.__name__}: {exc}")


@records_metrics("thumbnails")
@reports_database_errors
def run_thumbnails(config: Config, limit: int | None = None, dry_run: bool = False) -> JobResult:
    """Render pending thumbnails (at most ``limit``); a dry run counts them and writes nothing."""
    limit = at_least("limit", limit, 1)
    outputs_dir = config.path("outputs_dir")
    thumbnails_dir = config.path("thumbnails_dir")
    result = JobResult(job="thumbnails", dry_run=dry_run)
    if config.thumbnails.size is not None:
        result.notice(
            "thumbnails.size is ignored: the server's thumbnails fit 300x300, and imgops writes the server's",
            key="thumbnails.size",
        )
    if thumbnails_dir != outputs_dir / "thumbnails":
        result.notice(
            f"paths.thumbnails_dir {thumbnails_dir} is not <outputs_dir>/thumbnails: the server will not find "
            "these thumbnails and renders its own",
            key="paths.thumbnails_dir",
        )
    host = host_name(config)
    worker = f"{host}:{os.getpid()}"
    counts = {"done": 0, "existing": 0, "failed": 0, "retrying": 0, "pending": 0}
    with connected_engine(config) as engine, job_lock(config.state_dir, "thumbnails", config.lock_timeout_seconds):
        schema = read_server_schema(engine)
        schema.require("thumbnails")
        if dry_run:
            ready = not migrations.plan(engine).pending
            pending = len(_host_job_ids(engine, host)) if ready else 0
            counts["pending"] = pending if limit is None else min(pending, limit)
            if counts["pending"]:
                result.act("write_thumbnails", str(thumbnails_dir), count=counts["pending"])
        else:
            ensure_imgops_schema(engine, config)
            for stale in remove_stale_temporaries(thumbnails_dir, THUMBNAIL_NAMES):
                result.act("remove_temp", str(thumbnails_dir / stale))
            _reclaim(engine, host)
            images = schema.table("images")
            _work(engine, images, config, outputs_dir, thumbnails_dir, worker, host, limit, counts, result)
            counts["pending"] = len(_host_job_ids(engine, host))
            result.metrics["imgops_thumbnails"] = _metrics(counts, len(_host_job_ids(engine, host, "failed")))
    result.summary = {
        "thumbnails_dir": str(thumbnails_dir),
        "size": SERVER_SIZE[0],
        "written": counts["done"],
        "existing": counts["existing"],
        "failed": counts["failed"],
        "retrying": counts["retrying"],
        "pending": counts["pending"],
    }
    return result


def _for_host(payload: str, host: str) -> bool:
    return json.loads(payload).get("host") == host


def _metrics(counts: dict[str, int], failed_jobs: int) -> list[Metric]:
    figures = [
        ("imgops_thumbnails_queue_pending", "This host's thumbnail jobs waiting in the queue.", counts["pending"]),
        ("imgops_thumbnails_queue_failed", "This host's thumbnail jobs failed for good.", failed_jobs),
        ("imgops_thumbnails_rendered", "Thumbnails written by the last run.", counts["done"]),
    ]
    metrics = []
    for name, help_text, value in figures:
        metric = Metric(name, help_text)
        metric.add(value)
        metrics.append(metric)
    return metrics


def _host_job_ids(engine: Engine, host: str, status: str = "pending") -> list[int]:
    """This host's thumbnail jobs in ``status`` (pending unless asked)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(queue.c.id, queue.c.payload).where(queue.c.kind == KIND, queue.c.status == status)
        )
        return [row.id for row in rows if _for_host(row.payload, host)]


def _reclaim(engine: Engine, host: str) -> None:
    with transaction(engine) as session:
        session.execute(
            update(queue)
            .where(queue.c.kind == KIND, queue.c.status == "running", queue.c.locked_by.like(f"{host}:%"))
            .values(status="pending", locked_by=None, updated_at=utcnow())
        )


def _claim(engine: Engine, worker: str, host: str, count: int, after_id: int) -> tuple[list[tuple[int, int]], int]:
    """Mark this host's pending jobs among the next ``count`` past ``after_id`` running for ``worker``.

    Returns the (job id, image id) pairs claimed and the last id looked at. The cursor keeps a job
    that failed in this run for the next run, so one run spends one attempt.
    """
    with transaction(engine) as session:
        statement = (
            select(queue.c.id, queue.c.payload)
            .where(queue.c.kind == KIND, queue.c.status == "pending", queue.c.id > after_id)
            .order_by(queue.c.id)
            .limit(count)
        )
        if session.get_bind().dialect.name == "postgresql":
            # Not SKIP LOCKED: the window holds other hosts' jobs too, and skipping a row another host's
            # claim has locked would move this host's cursor past its own jobs until the next run.
            # Claims are short and lock in id order, so waiting is brief and cannot deadlock.
            statement = statement.with_for_update()
        rows = session.execute(statement).all()
        if not rows:
            return [], after_id
        mine = [row for row in rows if _for_host(row.payload, host)]
        if mine:
            now = utcnow()
            session.execute(
                update(queue)
                .where(queue.c.id.in_([row.id for row in mine]))
                .values(
                    status="running", attempts=queue.c.attempts + 1, locked_by=worker, started_at=now, updated_at=now
                )
            )
        return [(row.id, int(json.loads(row.payload)["image_id"])) for row in mine], rows[-1].id


def _work(
    engine: Engine,
    images: Table,
    config: Config,
    outputs_dir: Path,
    thumbnails_dir: Path,
    worker: str,
    host: str,
    limit: int | None,
    counts: dict[str, int],
    result: JobResult,
) -> None:
    workers = config.thumbnails.workers
    remaining, after_id = limit, 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        while remaining is None or remaining > 0:
            size = workers * CHUNK_PER_WORKER if remaining is None else min(remaining, workers * CHUNK_PER_WORKER)
            claimed, last_seen = _claim(engine, worker, host, size, after_id)
            if last_seen == after_id:
                break
            after_id = last_seen
            if not claimed:
                continue
            if remaining is not None:
                remaining -= len(claimed)
            with engine.connect() as connection:
                rows = connection.execute(
                    select(images.c.id, images.c.filename, images.c.file_path).where(
                        images.c.id.in_([image_id for _, image_id in claimed])
                    )
                )
                sources = {row.id: image_source(row.file_path, row.filename, outputs_dir) for row in rows}
            existing = [
                Rendered(job_id, image_id, None, None, existing=True)
                for job_id, image_id in claimed
                if image_id in sources and (thumbnails_dir / thumbnail_file_name(image_id)).exists()
            ]
            skipped = {item.job_id for item in existing}
            jobs = [(job_id, image_id, sources.get(image_id)) for job_id, image_id in claimed if job_id not in skipped]
            rendered = existing + list(pool.map(_render, jobs))
            _record(engine, images, thumbnails_dir, rendered, counts)
    if counts["done"]:
        result.act("write_thumbnails", str(thumbnails_dir), count=counts["done"])
    if counts["existing"]:
        result.act("point_rows_at_existing_thumbnails", "images", count=counts["existing"])
    if counts["failed"] or counts["retrying"]:
        result.act("record_failures", "imgops_queue", failed=counts["failed"], retrying=counts["retrying"])


def _record(
    engine: Engine, images: Table, thumbnails_dir: Path, rendered: list[Rendered], counts: dict[str, int]
) -> None:
    now = utcnow()
    done, failures = [], []
    for item in rendered:
        value = {"job": item.job_id, "image": item.image_id, "path": thumbnail_path_value(item.image_id)}
        if item.existing:
            done.append({**value, "existing": True})
            continue
        if item.data is not None:
            target = thumbnails_dir / thumbnail_file_name(item.image_id)
            try:
                thumbnails_dir.mkdir(parents=True, exist_ok=True)
                created = atomic_create_bytes(target, item.data)
                done.append({**value, "existing": not created})
                continue
            except OSError as exc:
                item = Rendered(item.job_id, item.image_id, None, f"cannot write {target}: {exc}")
        failures.append({"job": item.job_id, "error": item.error})
    with transaction(engine) as session:
        if done:
            values = {"thumbnail_path": bindparam("path")}
            if "updated_at" in images.c:
                values["updated_at"] = now  # the server's ORM bumps it when it sets thumbnail_path
            session.execute(update(images).where(images.c.id == bindparam("image")).values(values), done)
            session.execute(
                update(queue)
                .where(queue.c.id == bindparam("job"))
                .values(status="done", last_error=None, locked_by=None, finished_at=now, updated_at=now),
                done,
            )
        if failures:
            attempts = dict(
                session.execute(
                    select(queue.c.id, queue.c.attempts < queue.c.max_attempts).where(
                        queue.c.id.in_([f["job"] for f in failures])
                    )
                ).all()
            )
            for failure in failures:
                failure["status"] = "pending" if attempts[failure["job"]] else "failed"
            session.execute(
                update(queue)
                .where(queue.c.id == bindparam("job"))
                .values(status=bindparam("status"), last_error=bindparam("error"), locked_by=None, updated_at=now),
                failures,
            )
    counts["existing"] += sum(1 for d in done if d["existing"])
    counts["done"] += sum(1 for d in done if not d["existing"])
    counts["failed"] += sum(1 for f in failures if f["status"] == "failed")
    counts["retrying"] += sum(1 for f in failures if f["status"] == "pending")
