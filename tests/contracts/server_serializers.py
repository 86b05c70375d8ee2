"""The server's rows and responses at both generations, transcribed from SERVER_FACTS 2, 3.1, 3.3, 5.6 and 7.

This is not the server's code: it is what the fact sheet states, written down so the contract tests
check imgops' schemas against objects shaped exactly as the server shapes them (key order included).
Database rows live in a real SQLite database built with the DDL the sheet gives for each generation;
the generation queue (7.8) and the bug-report receipt (7.6) are not database rows, so they are built
in memory the way the sheet says the server builds them.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

SEED = "seed"
HEAD = "head"
GENERATIONS = (SEED, HEAD)

# --- tables (SERVER_FACTS 2.1-2.6, 3.1, 3.3) ---------------------------------------------------

_IMAGES = """CREATE TABLE images (
    id INTEGER NOT NULL PRIMARY KEY, filename VARCHAR(255) NOT NULL UNIQUE, file_path VARCHAR(500) NOT NULL,
    thumbnail_path VARCHAR(500), prompt TEXT, negative_prompt TEXT, seed INTEGER, steps INTEGER,
    guidance_scale FLOAT, width INTEGER, height INTEGER, lora_config TEXT, is_nsfw BOOLEAN, is_public BOOLEAN,
    created_at DATETIME, updated_at DATETIME)"""
_LABELS = """CREATE TABLE labels (
    id INTEGER NOT NULL PRIMARY KEY, image_id INTEGER NOT NULL REFERENCES images (id), label_text TEXT NOT NULL,
    confidence FLOAT, label_type VARCHAR(50), source_model VARCHAR(100), source_prompt TEXT,
    created_by VARCHAR(255), created_at DATETIME)"""
_ALBUM_IMAGES = """CREATE TABLE album_images (
    id INTEGER NOT NULL PRIMARY KEY, album_id INTEGER NOT NULL REFERENCES albums (id),
    image_id INTEGER NOT NULL REFERENCES images (id), sort_order INTEGER, added_by VARCHAR(255),
    created_at DATETIME, CONSTRAINT unique_album_image UNIQUE (album_id, image_id))"""
_TRAINING_RUNS = """CREATE TABLE training_runs (
    id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, description TEXT,
    dataset_path VARCHAR(500) NOT NULL, output_path VARCHAR(500) NOT NULL, training_config TEXT,
    status VARCHAR(50), progress INTEGER, final_checkpoint VARCHAR(500), training_loss FLOAT,
    validation_loss FLOAT, error_message TEXT, last_error_at DATETIME, created_at DATETIME,
    started_at DATETIME, completed_at DATETIME)"""
_ALBUM_HEAD = """id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, description TEXT, album_type VARCHAR(50),
    is_public BOOLEAN"""
_ALBUM_MIDDLE = """created_by VARCHAR(255), generation_prompt TEXT, generation_config TEXT, is_set_template BOOLEAN,
    csv_data TEXT, base_prompt TEXT, prompt_template TEXT, style_suffix TEXT, example_theme TEXT, lora_config TEXT"""
ALBUM_SHAPES = {
    # 2.3: the seed table.
    "seed": [
        f"CREATE TABLE albums ({_ALBUM_HEAD}, is_training_source BOOLEAN, {_ALBUM_MIDDLE},"
        " created_at DATETIME, updated_at DATETIME)"
    ],
    # 3.1: a fresh HEAD database.
    "head_fresh": [
        f"CREATE TABLE albums ({_ALBUM_HEAD}, {_ALBUM_MIDDLE}, source_type VARCHAR(50),"
        " source_id INTEGER, created_at DATETIME, updated_at DATETIME)"
    ],
    # 3.3 (b): a seed database after scripts/migrate_template_album_separation.py.
    "head_upgraded": [
        f"CREATE TABLE albums ({_ALBUM_HEAD}, is_training_source BOOLEAN, {_ALBUM_MIDDLE},"
        " created_at DATETIME, updated_at DATETIME)",
        "ALTER TABLE albums ADD COLUMN source_type VARCHAR(50) DEFAULT 'manual'",
        "ALTER TABLE albums ADD COLUMN source_id INTEGER",
    ],
}


def orm_time(moment: datetime) -> str:
    """A timestamp as the ORM stores it on SQLite: UTC wall clock, microseconds, no offset (0.3)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def raw_sql_aware_time(moment: datetime) -> str:
    """A timestamp inserted by raw SQL with an aware datetime: stored with ``+00:00`` (0.3)."""
    return orm_time(moment) + "+00:00"


def current_timestamp(moment: datetime) -> str:
    """A timestamp from a ``DEFAULT CURRENT_TIMESTAMP`` column: no fraction, no offset (0.3)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _iso(stored: str | None) -> str | None:
    """``to_dict``'s ``isoformat()`` of a value read back from SQLite."""
    return datetime.fromisoformat(stored).isoformat() if stored else None


def _json_list(text: str | None) -> list[Any]:
    try:
        parsed = json.loads(text) if text else []
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


class ServerDatabase:
    """The server's tables at one generation in an in-memory SQLite database, written as the ORM writes."""

    def __init__(self, generation: str, album_shape: str | None = None) -> None:
        self.generation = generation
        self.album_shape = album_shape or ("seed" if generation == SEED else "head_fresh")
        self.db = sqlite3.connect(":memory:")
        self.db.row_factory = sqlite3.Row
        for statement in [_IMAGES, _LABELS, _ALBUM_IMAGES, _TRAINING_RUNS, *ALBUM_SHAPES[self.album_shape]]:
            self.db.execute(statement)

    def close(self) -> None:
        self.db.close()

    def _insert(self, table: str, values: dict[str, Any]) -> int:
        keys = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self.db.execute(f"INSERT INTO {table} ({keys}) VALUES ({marks})", list(values.values())).lastrowid

    def add_image(self, filename: str, file_path: str, created: str, **columns: Any) -> int:
        values = {
            "filename": filename,
            "file_path": file_path,
            "is_nsfw": False,
            "is_public": True,
            "created_at": created,
            "updated_at": created,
            **columns,
        }
        return self._insert("images", values)

    def add_label(self, image_id: int, label_text: str, created: str, **columns: Any) -> int:
        values = {
            "image_id": image_id,
            "label_text": label_text,
            "label_type": "ai_generated",
            "created_at": created,
            **columns,
        }
        return self._insert("labels", values)

    def add_album(self, name: str, created: str, **columns: Any) -> int:
        values: dict[str, Any] = {
            "name": name,
            "album_type": "batch",
            "is_public": True,
            "is_set_template": False,
            "created_at": created,
            "updated_at": created,
        }
        if self.album_shape == "seed":
            values["is_training_source"] = False
        if self.album_shape == "head_fresh":
            values["source_type"] = "manual"
        values.update(columns)
        return self._insert("albums", values)

    def link(self, album_id: int, image_id: int, sort_order: int = 0) -> None:
        self._insert("album_images", {"album_id": album_id, "image_id": image_id, "sort_order": sort_order})

    def add_training_run(self, name: str, created: str, **columns: Any) -> int:
        values = {
            "name": name,
            "dataset_path": "",
            "output_path": "",
            "status": "pending",
            "progress": 0,
            "created_at": created,
            **columns,
        }
        return self._insert("training_runs", values)

    def _one(self, query: str, *args: Any) -> sqlite3.Row:
        row = self.db.execute(query, args).fetchone()
        if row is None:
            raise LookupError("404")
        return row

    # --- serialisations (7.1-7.4) and routes ---

    def image_to_dict(self, row: sqlite3.Row, include_sensitive: bool) -> dict[str, Any]:
        """7.1, keys in order; the URLs lose their ``/api`` prefix at HEAD."""
        prefix = "/api/images" if self.generation == SEED else "/images"
        return {
            "id": row["id"],
            "filename": row["filename"],
            "storage_name": row["file_path"].rsplit("/", 1)[-1] if row["file_path"] else None,
            "download_url": f"{prefix}/{row['id']}/file",
            "thumbnail_url": f"{prefix}/{row['id']}/thumbnail",
            "prompt": row["prompt"],
            "negative_prompt": row["negative_prompt"],
            "seed": row["seed"],
            "steps": row["steps"],
            "guidance_scale": row["guidance_scale"],
            "width": row["width"],
            "height": row["height"],
            "lora_config": row["lora_config"],
            "is_nsfw": bool(row["is_nsfw"]),
            "is_public": bool(row["is_public"]),
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "file_path": row["file_path"] if include_sensitive else None,
            "thumbnail_path": row["thumbnail_path"] if include_sensitive else None,
        }

    @staticmethod
    def label_to_dict(row: sqlite3.Row) -> dict[str, Any]:
        """7.2."""
        return {
            "id": row["id"],
            "image_id": row["image_id"],
            "label_text": row["label_text"],
            "confidence": row["confidence"],
            "label_type": row["label_type"],
            "source_model": row["source_model"],
            "source_prompt": row["source_prompt"],
            "created_by": row["created_by"],
            "created_at": _iso(row["created_at"]),
        }

    def album_to_dict(self, row: sqlite3.Row) -> dict[str, Any]:
        """7.3: seed keys, or HEAD keys (no ``is_training_source``; ``slug``, ``source_type``, ``source_id``)."""
        image_count = self.db.execute("SELECT count(*) FROM album_images WHERE album_id = ?", (row["id"],)).fetchone()
        items = _json_list(row["csv_data"])
        out: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "album_type": row["album_type"],
            "is_public": bool(row["is_public"]),
        }
        if self.generation == SEED:
            out["is_training_source"] = bool(row["is_training_source"])
        out |= {
            "generation_prompt": row["generation_prompt"],
            "generation_config": row["generation_config"],
            "created_by": row["created_by"],
            "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]),
            "image_count": image_count[0],
            "is_set_template": bool(row["is_set_template"]),
            "csv_data": row["csv_data"],
            "base_prompt": row["base_prompt"],
            "prompt_template": row["prompt_template"],
            "style_suffix": row["style_suffix"],
            "example_theme": row["example_theme"],
            "lora_config": row["lora_config"],
            "template_item_count": len(items),
            "template_items_preview": items[:5],
            "lora_count": len(_json_list(row["lora_config"])),
        }
        if self.generation == HEAD:
            out |= {"slug": album_slug(row), "source_type": row["source_type"], "source_id": row["source_id"]}
        return out

    def album_detail(self, album_id: int, *, admin: bool, include_labels: bool = False) -> dict[str, Any]:
        """``GET /api/albums/<id>``: the album, then its images (relationship order) with their labels."""
        album = self._one("SELECT * FROM albums WHERE id = ?", album_id)
        if not album["is_public"] and not admin:
            raise LookupError("404: a private album is not found for a non-admin")
        images = self.db.execute(
            "SELECT images.* FROM images JOIN album_images ON album_images.image_id = images.id"
            " WHERE album_images.album_id = ? ORDER BY album_images.id",
            (album_id,),
        ).fetchall()
        out = self.album_to_dict(album)
        out["images"] = []
        for image in images:
            labels = self.db.execute("SELECT * FROM labels WHERE image_id = ? ORDER BY id", (image["id"],)).fetchall()
            item = self.image_to_dict(image, include_sensitive=admin)
            item["labels"] = [self.label_to_dict(label) for label in labels]
            if include_labels:
                item["label_count"] = len(labels)
                item["manual_label_count"] = sum(label["label_type"] in ("manual", "user") for label in labels)
            out["images"].append(item)
        return out

    def training_status(self, run_id: int, *, admin: bool) -> dict[str, Any]:
        """``GET /api/training/<id>`` (7.4): ``to_dict(admin)``; a non-admin also loses three more fields."""
        row = self._one("SELECT * FROM training_runs WHERE id = ?", run_id)
        out = {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "training_config": row["training_config"],
            "status": row["status"],
            "progress": row["progress"],
            "final_checkpoint": row["final_checkpoint"],
            "training_loss": row["training_loss"],
            "validation_loss": row["validation_loss"],
            "error_message": row["error_message"],
            "last_error_at": _iso(row["last_error_at"]),
            "created_at": _iso(row["created_at"]),
            "started_at": _iso(row["started_at"]),
            "completed_at": _iso(row["completed_at"]),
            "dataset_path": row["dataset_path"] if admin else None,
            "output_path": row["output_path"] if admin else None,
        }
        if not admin:
            out |= {"training_config": None, "final_checkpoint": None, "error_message": None}
        return out


@contextmanager
def server_database(generation: str, album_shape: str | None = None) -> Iterator[ServerDatabase]:
    database = ServerDatabase(generation, album_shape)
    try:
        yield database
    finally:
        database.close()


def _sanitise_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def album_slug(row: sqlite3.Row) -> str:
    """HEAD's computed ``Album.slug`` (4.2): config ``slug``, else ``legacy_slug``, else the name, else album-<id>."""
    try:
        config = json.loads(row["generation_config"]) if row["generation_config"] else None
    except ValueError:
        config = None
    candidate = None
    if isinstance(config, dict):
        for key in ("slug", "legacy_slug"):
            if isinstance(config.get(key), str) and config[key].strip():
                candidate = config[key]
                break
    candidate = candidate or row["name"]
    return (_sanitise_slug(candidate) if candidate else "") or f"album-{row['id']}"


# --- the generation queue (7.8): in memory, local naive timestamps ------------------------------

_REQUEST_KEYS = (
    "seed",
    "steps",
    "width",
    "height",
    "guidance_scale",
    "negative_prompt",
    "output",
    "lora_paths",
    "lora_weights",
)
_BATCH_KEYS = ("batch_id", "batch_item_name", "batch_item_data", "output_dir", "album_id", "batch_generation_run_id")


def _pruned(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if value is not None}


class GenerationQueue:
    """``job_queue``, ``current_job`` and ``job_history`` of one server process."""

    def __init__(self, generation: str) -> None:
        self.generation = generation
        self.queue: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []
        self._counter = 0

    def _next_id(self) -> int:
        if self.generation == SEED:  # len(history) + qsize + 1: can repeat
            return len(self.history) + len(self.queue) + 1
        self._counter += 1
        return self._counter

    def submit(self, prompt: str, submitted: datetime, **request: Any) -> dict[str, Any]:
        """``POST /generate`` or a batch endpoint: the job, None-valued keys pruned."""
        if self.generation == SEED and request.get("batch_generation_run_id") is not None:
            raise ValueError("batch_generation_run_id is a HEAD key")
        unknown = set(request) - set(_REQUEST_KEYS) - set(_BATCH_KEYS)
        if unknown:
            raise ValueError(f"not a queue job key: {sorted(unknown)}")
        job = {"id": self._next_id(), "prompt": prompt, "status": "queued", "submitted_at": submitted.isoformat()}
        job |= {key: request.get(key) for key in (*_REQUEST_KEYS, *_BATCH_KEYS)}
        job = _pruned(job)
        self.queue.append(job)
        return job

    def start(self, started: datetime) -> dict[str, Any]:
        job = self.queue.pop(0)
        job |= {"status": "running", "started_at": started.isoformat()}
        self.current = job
        return job

    def finish(self, completed: datetime, *, stdout: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The worker's outcome: on success ``output`` becomes the stdout and ``output_path`` is parsed from it."""
        job = self.current
        assert job is not None
        self.current = None
        if error is None:
            job["status"] = "completed"
            job["output"] = stdout
            found = re.search(r"Image saved to: (.+)", stdout or "")
            job["output_path"] = found.group(1).strip() if found else None
        else:
            job |= {"status": "failed", "error": error}
        job["completed_at"] = completed.isoformat()
        job = _pruned(job)
        self.history.append(job)
        return job

    def cancel(self, job_id: int, cancelled: datetime) -> dict[str, Any]:
        job = next(j for j in self.queue if j["id"] == job_id)
        self.queue.remove(job)
        job |= {"status": "cancelled", "cancelled_at": cancelled.isoformat()}
        self.history.append(job)
        return job

    def get_job(self, job_id: int) -> dict[str, Any]:
        """``GET /api/jobs/<id>``: the job plus what the route adds for its state."""
        if self.current is not None and self.current["id"] == job_id:
            return {**self.current, "queue_position": 0, "estimated_time_remaining": None}
        for position, job in enumerate(self.queue, start=1):
            if job["id"] == job_id:
                return {**job, "queue_position": position, "estimated_time_remaining": None}
        for job in reversed(self.history[-50:]):
            if job["id"] == job_id:
                out = dict(job)
                if job.get("started_at") and job.get("completed_at"):
                    start, end = (datetime.fromisoformat(job[k]) for k in ("started_at", "completed_at"))
                    out["duration_seconds"] = (end - start).total_seconds()
                return out
        raise LookupError("404 Job not found")


# --- the bug-report submission receipt (5.6, 7.6) -------------------------------------------------


def bug_report_receipt(
    generation: str, submitted: datetime, trace_id: str, storage_root: str, random_hex: str = "3fa9"
) -> dict[str, Any]:
    """``POST /api/bug-reports`` (201): seed stores a file, HEAD a database row.

    ``trace_id`` is the client's ``X-Trace-Id`` or a uuid4 string the server made.
    """
    stamp = submitted.strftime("%Y%m%d_%H%M%S")
    if generation == SEED:
        report_id = f"bug_{stamp}_{trace_id[:8] or 'unknown'}"
        stored_at = f"{storage_root}/{report_id}.json"
    else:
        report_id = f"bug_{stamp}_{trace_id[:8]}{random_hex}"
        stored_at = f"database:bug_reports:{report_id}"
    return {"success": True, "report_id": report_id, "trace_id": trace_id, "stored_at": stored_at}
