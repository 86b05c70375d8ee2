"""Records imgops serialises from real rows, on SQLite and PostgreSQL, validate against their contracts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, insert, select

from imgops.contracts import problems
from imgops.db import transaction
from imgops.db.imgops_tables import queue
from imgops.db.migrations import upgrade
from imgops.db.models import Album, AlbumImage, Image, PlatformBase, TrainingRun
from imgops.records import album_detail, queue_job, training_status
from imgops_testing.platform import DemoPlatform


def test_albums_and_queue_jobs_from_real_rows(database_url: str) -> None:
    engine = create_engine(database_url)
    PlatformBase.metadata.create_all(engine)
    upgrade(engine)
    now = datetime(2025, 11, 1, 12, 0)
    with transaction(engine) as session:
        images = [Image(filename=f"img_{i}.png", file_path=f"/data/legacy/img_{i}.png") for i in range(3)]
        deck = Album(name="Card Deck Template", album_type="set", is_set_template=True, created_by="imgops",
                     csv_data=json.dumps([{"value": "Ace", "suit": "Spades, \"the\" black"}]),
                     prompt_template="{value} of {suit}",
                     lora_config=json.dumps([{"path": "/m/a.safetensors", "weight": 0.5}]),
                     generation_config=json.dumps({"width": 512, "set_key": "card_deck"}), created_at=now)  # fmt: skip
        plain = Album(name="Decks/card-deck-20251013", album_type="collection", generation_config="not json")
        session.add_all([*images, deck, plain])
        session.flush()
        session.add_all(AlbumImage(album_id=deck.id, image_id=image.id, sort_order=n) for n, image in enumerate(images))
        session.execute(insert(queue).values(kind="thumbnail", dedupe_key="thumbnail:1", status="failed", attempts=3,
                                             max_attempts=3, payload=json.dumps({"image_id": 1}),
                                             last_error="cannot identify image file", created_at=now,
                                             updated_at=now, started_at=now, finished_at=now))  # fmt: skip
    with transaction(engine) as session:
        counts = dict(session.execute(select(AlbumImage.album_id, func.count()).group_by(AlbumImage.album_id)).all())
        albums = {a.name: album_detail(a, counts.get(a.id, 0)) for a in session.scalars(select(Album))}
        jobs = [queue_job(row) for row in session.execute(select(queue))]
    engine.dispose()
    deck_detail = albums["Card Deck Template"]
    assert deck_detail["image_count"] == 3
    assert deck_detail["set_template"]["csv_data"] == [{"value": "Ace", "suit": 'Spades, "the" black'}]
    assert albums["Decks/card-deck-20251013"]["set_template"] is None
    assert albums["Decks/card-deck-20251013"]["generation_config"] is None
    for detail in albums.values():
        assert problems(detail, "album_detail") == []
    assert jobs[0]["payload"] == {"image_id": 1} and jobs[0]["status"] == "failed"
    assert problems(jobs[0], "queue_job") == []


def test_training_runs_of_the_demo_report_their_purge_state(demo_platform: DemoPlatform) -> None:
    engine = create_engine(demo_platform.database_url)
    with transaction(engine) as session:
        runs = {run.id: run for run in session.scalars(select(TrainingRun))}
        runs[1].dataset_path = ""  # as a purge leaves it
        (demo_platform.checkpoint_dir / "run_1" / "logs" / "training_1.log").unlink()
        statuses = {rid: training_status(run, demo_platform.training_dataset_dir, now=datetime(2030, 1, 1))
                    for rid, run in runs.items()}  # fmt: skip
    engine.dispose()
    for status in statuses.values():
        assert problems(status, "training_status") == []
    assert statuses[1]["purge"] == {
        "dataset_purged": True, "dataset_present": True,  # the folder under data_dir is still there
        "log_path": str(demo_platform.checkpoint_dir / "run_1" / "logs" / "training_1.log"),
        "log_present": False, "weights_present": True,
    }  # fmt: skip
    assert statuses[3]["terminal"] is False and statuses[2]["terminal"] is True


@pytest.mark.parametrize(("schema", "record", "mutate"), [
    ("queue_job", "queue", lambda r: r.pop("status")),
    ("queue_job", "queue", lambda r: r.update(attempts="3")),
    ("album_detail", "album", lambda r: r.pop("image_count")),
    ("album_detail", "album", lambda r: r.update(is_public="yes")),
    ("training_status", "training", lambda r: r["purge"].pop("log_present")),
    ("training_status", "training", lambda r: r.update(status="exploded")),
])  # fmt: skip
def test_contracts_reject_a_missing_field_or_a_wrong_type(schema: str, record: str, mutate) -> None:
    now = "2025-11-01T12:00:00Z"
    samples = {
        "queue": {"id": 1, "kind": "thumbnail", "dedupe_key": "thumbnail:1", "status": "pending", "attempts": 0,
                  "max_attempts": 3, "payload": {}, "last_error": None, "created_at": now, "updated_at": now,
                  "started_at": None, "finished_at": None},
        "album": {"id": 1, "name": "a", "description": None, "album_type": "set", "is_public": True,
                  "is_training_source": False, "created_by": None, "generation_config": None,
                  "is_set_template": False, "set_template": None, "image_count": 0, "created_at": None,
                  "updated_at": None},
        "training": {"id": 1, "name": None, "status": "completed", "progress": 100, "terminal": True,
                     "completed_at": now, "age_days": 3.5, "dataset_path": "", "output_path": "/c/w.safetensors",
                     "final_checkpoint": None, "purge": {"dataset_purged": True, "dataset_present": False,
                     "log_path": "/c/logs/training_1.log", "log_present": False, "weights_present": True}},
    }  # fmt: skip
    sample = samples[record]
    assert problems(sample, schema) == []
    mutate(sample)
    assert problems(sample, schema) != []


def test_timestamps_are_marked_utc() -> None:
    assert (
        album_detail(Album(id=1, name="x", created_at=datetime(2025, 1, 1) + timedelta(hours=1)), 0)["created_at"]
        == "2025-01-01T01:00:00Z"
    )
