"""Database records as imgops serialises them: the album_detail, queue_job and training_status contracts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row

from .contracts.types import AlbumDetail, QueueJob, TrainingStatus
from .db.engine import utcnow
from .db.models import TERMINAL_TRAINING_STATUSES, Album, TrainingRun
from .server_paths import training_dataset_folder_name, training_log_path


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + ("Z" if moment and moment.tzinfo is None else "") if moment else None


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def album_detail(album: Album, image_count: int) -> AlbumDetail:
    """An album row with its JSON columns decoded. Reads the set-template columns: they must exist."""
    is_set_template = bool(album.is_set_template)
    config = _json(album.generation_config, None)
    return {
        "id": album.id,
        "name": album.name,
        "description": album.description,
        "album_type": album.album_type,
        "is_public": bool(album.is_public),
        "is_training_source": bool(album.is_training_source),
        "created_by": album.created_by,
        "generation_config": config if isinstance(config, dict) else None,
        "is_set_template": is_set_template,
        "set_template": {
            "csv_data": _json(album.csv_data, []),
            "base_prompt": album.base_prompt,
            "prompt_template": album.prompt_template,
            "style_suffix": album.style_suffix,
            "example_theme": album.example_theme,
            "lora_config": _json(album.lora_config, []),
        }
        if is_set_template
        else None,
        "image_count": image_count,
        "created_at": _iso(album.created_at),
        "updated_at": _iso(album.updated_at),
    }


def queue_job(row: Row[Any]) -> QueueJob:
    """A row of imgops_queue (selected with all its columns)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "dedupe_key": row.dedupe_key,
        "status": row.status,
        "attempts": row.attempts,
        "max_attempts": row.max_attempts,
        "payload": _json(row.payload, {}),
        "last_error": row.last_error,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }


def training_status(run: TrainingRun, training_dataset_dir: Path | None, now: datetime | None = None) -> TrainingStatus:
    """A run's status and what of it is still on disk."""
    now = now or utcnow()
    reference = run.completed_at or run.last_error_at or run.created_at
    dataset = Path(run.dataset_path) if run.dataset_path else None
    if dataset is None and training_dataset_dir is not None:
        dataset = training_dataset_dir / training_dataset_folder_name(run.id)
    log_path = Path(training_log_path(run.id, run.output_path))
    weights = [Path(p) for p in (run.output_path, run.final_checkpoint) if p]
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "progress": run.progress,
        "terminal": run.status in TERMINAL_TRAINING_STATUSES,
        "completed_at": _iso(run.completed_at),
        "age_days": max((now - reference).total_seconds() / 86400, 0.0) if reference else None,
        "dataset_path": run.dataset_path,
        "output_path": run.output_path,
        "final_checkpoint": run.final_checkpoint,
        "purge": {
            "dataset_purged": run.dataset_path == "",
            "dataset_present": bool(dataset and dataset.is_dir()),
            "log_path": str(log_path),
            "log_present": log_path.is_file(),
            "weights_present": any(p.exists() for p in weights),
        },
    }
