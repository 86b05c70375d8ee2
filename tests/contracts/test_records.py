"""imgops' own records (thumbnail_job) serialised from real rows, on SQLite and PostgreSQL, validate."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from sqlalchemy import create_engine, insert, select

from imgops.contracts import problems
from imgops.db import transaction
from imgops.db.imgops_tables import queue
from imgops.db.migrations import upgrade
from imgops.records import thumbnail_job

WRONG_TYPES = {
    "id": "1",
    "kind": "scrape",
    "dedupe_key": 1,
    "status": "exploded",
    "attempts": "3",
    "max_attempts": 0,
    "payload": [],
    "last_error": 5,
    "created_at": None,
    "updated_at": 1,
    "started_at": 2,
    "finished_at": [],
}


def thumbnail_jobs(database_url: str) -> list[dict]:
    """A pending, a failed and a done thumbnail job, as the legacy import and the thumbnails job leave them."""
    engine = create_engine(database_url)
    upgrade(engine)
    now = datetime(2025, 11, 1, 12, 0)
    later = datetime(2025, 11, 1, 12, 5, 30, 250000)
    base = {
        "kind": "thumbnail",
        "max_attempts": 3,
        "created_at": now,
        "updated_at": now,
        "last_error": None,
        "started_at": None,
        "finished_at": None,
    }  # one key set: an executemany binds the first row's keys
    with transaction(engine) as session:
        session.execute(
            insert(queue),
            [
                {
                    **base,
                    "dedupe_key": "thumbnail:1",
                    "status": "pending",
                    "attempts": 0,
                    "payload": json.dumps({"image_id": 1, "host": "gpu-1"}),
                },
                {
                    **base,
                    "dedupe_key": "thumbnail:2",
                    "status": "failed",
                    "attempts": 3,
                    "last_error": "cannot identify image file",
                    "payload": json.dumps({"image_id": 2, "host": "gpu-1"}),
                    "updated_at": later,
                    "started_at": later,
                },
                {
                    **base,
                    "dedupe_key": "thumbnail:3",
                    "status": "done",
                    "attempts": 1,
                    "payload": json.dumps({"image_id": 3}),
                    "updated_at": later,
                    "started_at": now,
                    "finished_at": later,
                },
            ],
        )
    with engine.connect() as connection:
        jobs = [thumbnail_job(row) for row in connection.execute(select(queue).order_by(queue.c.id))]
    engine.dispose()
    return jobs


def test_thumbnail_jobs_from_real_rows(database_url: str) -> None:
    jobs = thumbnail_jobs(database_url)
    assert [job["status"] for job in jobs] == ["pending", "failed", "done"]
    assert jobs[0]["payload"] == {"image_id": 1, "host": "gpu-1"}
    assert jobs[2]["finished_at"] == "2025-11-01T12:05:30.250000Z"  # imgops stores naive UTC and marks it
    for job in jobs:
        assert problems(job, "thumbnail_job") == []
    for job in jobs:
        for key in job:
            assert problems({k: v for k, v in job.items() if k != key}, "thumbnail_job") != [], f"without {key}"
            assert problems({**job, key: WRONG_TYPES[key]}, "thumbnail_job") != [], f"{key} = {WRONG_TYPES[key]!r}"
        without_image = copy.deepcopy(job)
        del without_image["payload"]["image_id"]
        assert problems(without_image, "thumbnail_job") != []


@pytest.mark.parametrize("schema", ["album_detail", "queue_job", "training_status", "bug_report_receipt"])
def test_an_imgops_record_is_not_a_server_response(tmp_path, schema: str) -> None:
    job = thumbnail_jobs(f"sqlite:///{tmp_path / 'q.db'}")[0]
    assert problems(job, schema) != []
