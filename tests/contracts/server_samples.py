"""Real-shaped server responses at each generation, serialised by ``server_serializers`` from rows like the ones
the server's own writers leave (legacy import, uploads, the separation script, training runs, the queue).

``SAMPLES[schema][generation]`` is a list of ``(label, response)``; the schemas' ``examples`` are taken from here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server_serializers import (
    GENERATIONS,
    HEAD,
    SEED,
    GenerationQueue,
    ServerDatabase,
    bug_report_receipt,
    current_timestamp,
    orm_time,
    raw_sql_aware_time,
    server_database,
)

Sample = tuple[str, dict[str, Any]]
OUTPUTS = "/mnt/speedy/imagineer/outputs"
LORAS = "/mnt/speedy/imagineer/models/lora"
DECK_ROWS = [{"value": v, "suit": "Spades"} for v in ("Ace", "King", "Queen", "Jack", "10", "9", "8")]


def _fill_albums(db: ServerDatabase) -> dict[str, int]:
    """A set-template album with two legacy images and a plain album with one upload."""
    made = datetime(2025, 10, 13, 21, 35, 19, 412733)
    deck_image = db.add_image(
        "card_deck_20251013_213519_ace.png",
        f"{OUTPUTS}/card_deck_20251013_213519/ace.png",
        orm_time(made),
        thumbnail_path="thumbnails/1.webp",
        prompt="Ace of Spades, ornate playing card",
        negative_prompt="blurry",
        seed=421337,
        steps=30,
        guidance_scale=7.5,
        width=512,
        height=768,
        lora_config=json.dumps({"path": f"{LORAS}/deck.safetensors", "weight": 0.6}),
    )
    second = db.add_image(
        "card_deck_20251013_213519_king.png",
        f"{OUTPUTS}/card_deck_20251013_213519/king.png",
        orm_time(made),
        prompt="King of Spades, ornate playing card",
        seed=421338,
        steps=30,
        guidance_scale=7.0,
        width=512,
        height=768,
    )
    upload = db.add_image(
        "upload_20251102_090000.jpg",
        f"{OUTPUTS}/uploads/upload_20251102_090000.jpg",
        orm_time(datetime(2025, 11, 2, 9, 0, 0)),
        is_nsfw=True,
    )
    labelled = orm_time(datetime(2025, 10, 20, 8, 1, 2, 5))
    db.add_label(
        deck_image,
        "an ornate ace of spades playing card",
        labelled,
        label_type="caption",
        confidence=0.93,
        source_model="claude-3-5-sonnet",
        source_prompt="Describe the image",
    )
    db.add_label(deck_image, "card", labelled, label_type="manual", source_model="manual", created_by="admin@x.io")
    db.add_label(second, "playing card", labelled)
    deck = db.add_album(
        "Card Deck",
        orm_time(datetime(2025, 10, 13, 21, 40)),
        album_type="set",
        is_set_template=True,
        description="A deck of 52 cards",
        created_by="admin@x.io",
        generation_config=json.dumps({"legacy_slug": "card_deck_20251013_213519"}),
        csv_data=json.dumps(DECK_ROWS),
        base_prompt="a playing card",
        prompt_template="{value} of {suit}",
        style_suffix="ornate, gold foil",
        example_theme="steampunk",
        lora_config=json.dumps([{"path": f"{LORAS}/deck.safetensors", "weight": 0.6}]),
    )
    uploads = db.add_album("Uploads", orm_time(datetime(2025, 11, 2, 9, 0, 1, 250000)), album_type="manual")
    private = db.add_album("Drafts", orm_time(datetime(2025, 11, 2, 9, 5)), is_public=False)
    db.link(deck, deck_image, 0)
    db.link(deck, second, 1)
    db.link(uploads, upload)
    return {"deck": deck, "uploads": uploads, "private": private}


def album_details(generation: str) -> list[Sample]:
    samples = []
    shapes = [None] if generation == SEED else ["head_fresh", "head_upgraded"]
    for shape in shapes:
        with server_database(generation, shape) as db:
            ids = _fill_albums(db)
            tag = shape or generation
            samples += [
                (
                    f"{tag}: set template, admin, include_labels",
                    db.album_detail(ids["deck"], admin=True, include_labels=True),
                ),
                (f"{tag}: upload album, public", db.album_detail(ids["uploads"], admin=False)),
            ]
    if generation == HEAD:
        with server_database(HEAD) as db:
            # scripts/migrate_template_album_separation.py inserts through raw SQL with aware datetimes (0.3).
            separated = raw_sql_aware_time(datetime(2025, 11, 4, 18, 2, 11, 90210))
            image = db.add_image(
                "tarot_20251104_0001.png",
                f"{OUTPUTS}/tarot/tarot_20251104_0001.png",
                separated,
                lora_config=json.dumps([{"path": f"{LORAS}/tarot.safetensors", "name": "tarot", "weight": 0.8}]),
            )
            album = db.add_album(
                "\N{PLAYING CARD BLACK JOKER} Tarot \N{EN DASH} Major Arcana",
                separated,
                source_type="batch_generation",
                source_id=1,
                generation_config=json.dumps({"slug": ""}),
                album_type="batch",
            )
            db.link(album, image)
            samples.append(
                (
                    "head_fresh: batch-generation album from the separation script, admin",
                    db.album_detail(album, admin=True),
                )
            )
    return samples


def training_statuses(generation: str) -> list[Sample]:
    config = (
        {"learning_rate": 1e-4, "album_ids": [3, 4]}
        if generation == SEED
        else {
            "steps": 1500,
            "rank": 8,
            "alpha": 32,
            "learning_rate": 1e-4,
            "warmup_steps": 100,
            "gradient_accumulation_steps": 4,
            "random_flip": True,
            "center_crop": True,
            "album_ids": [3, 4],
        }
    )
    with server_database(generation) as db:
        done = db.add_training_run(
            "Deck style",
            orm_time(datetime(2025, 11, 1, 10, 0, 0, 1)),
            description="LoRA for the card deck",
            dataset_path="",
            output_path=f"{LORAS}/trained_1.safetensors",
            training_config=json.dumps(config),
            status="completed",
            progress=100,
            final_checkpoint=f"{LORAS}/trained_1.safetensors",
            training_loss=0.0812,
            started_at=orm_time(datetime(2025, 11, 1, 10, 0, 5)),
            completed_at=orm_time(datetime(2025, 11, 1, 11, 12, 40, 777)),
        )
        running = db.add_training_run(
            "Tarot style",
            orm_time(datetime(2025, 11, 5, 7, 30)),
            training_config=json.dumps(config),
            dataset_path="/mnt/speedy/imagineer/data/training/training_run_2",
            output_path=f"{LORAS}/trained_2.safetensors",
            status="running",
            progress=100 / 3 * 1,
            started_at=orm_time(datetime(2025, 11, 5, 7, 31)),
        )
        failed = db.add_training_run(
            "Broken",
            orm_time(datetime(2025, 11, 6, 1, 0)),
            training_config=json.dumps(config),
            dataset_path="/mnt/speedy/imagineer/data/training/training_run_3",
            output_path=f"{LORAS}/trained_3.safetensors",
            status="failed",
            progress=0,
            error_message="Training failed: dataset has no captions",
            last_error_at=orm_time(datetime(2025, 11, 6, 1, 0, 9, 5)),
        )
        pending = db.add_training_run("New", current_timestamp(datetime(2025, 11, 7, 12, 0)))
        return [
            ("completed run, admin", db.training_status(done, admin=True)),
            ("completed run, public", db.training_status(done, admin=False)),
            ("running run with a REAL progress, admin", db.training_status(running, admin=True)),
            ("failed run, public", db.training_status(failed, admin=False)),
            ("pending run just created, admin", db.training_status(pending, admin=True)),
        ]


def queue_jobs(generation: str) -> list[Sample]:
    queue = GenerationQueue(generation)
    at = datetime(2025, 11, 4, 14, 3, 7, 123456)
    single = queue.submit(
        "a lighthouse at dusk",
        at,
        seed=42,
        steps=25,
        width=512,
        height=512,
        guidance_scale=7.5,
        negative_prompt="blurry",
        lora_paths=[f"{LORAS}/coast.safetensors"],
        lora_weights=[0.7],
    )
    batch_key = {"album_id": 3} if generation == SEED else {"batch_generation_run_id": 1}
    batch = queue.submit(
        "Ace of Spades, ornate playing card",
        at.replace(second=8),
        batch_id="card_deck_20251104",
        batch_item_name="Ace",
        batch_item_data={"value": "Ace", "suit": "Spades"},
        output_dir=f"{OUTPUTS}/card_deck_20251104",
        width=512,
        height=768,
        **batch_key,
    )
    doomed = queue.submit("a cat", at.replace(second=9))
    queued_later = queue.submit("a dog", at.replace(second=10), output=f"{OUTPUTS}/dog.png")
    queue.start(at.replace(minute=4))
    samples = [("running", queue.get_job(single["id"])), ("queued, next in line", queue.get_job(batch["id"]))]
    queue.finish(at.replace(minute=5, second=1), stdout=f"Loading model...\nImage saved to: {OUTPUTS}/lighthouse.png\n")
    queue.cancel(queued_later["id"], at.replace(minute=5, second=2))
    samples.append(("cancelled while queued", queue.get_job(queued_later["id"])))
    queue.start(at.replace(minute=6))
    queue.finish(at.replace(minute=7), stdout=f"Image saved to: {OUTPUTS}/card_deck_20251104/ace.png")
    queue.start(at.replace(minute=8))
    queue.finish(at.replace(minute=8, second=30), error="CUDA out of memory")
    samples += [
        ("completed", queue.get_job(single["id"])),
        ("completed batch item", queue.get_job(batch["id"])),
        ("failed", queue.get_job(doomed["id"])),
    ]
    return samples


def bug_report_receipts(generation: str) -> list[Sample]:
    storage = "/mnt/storage/imagineer/bug_reports"
    at = datetime(2025, 11, 4, 16, 20, 5)
    return [
        (
            "server-made uuid4 trace id",
            bug_report_receipt(generation, at, "9b2f4c1e-7d7a-4c55-9a51-0c6f2d1e8b77", storage),
        ),
        (
            "client X-Trace-Id",
            bug_report_receipt(generation, at.replace(second=6), "web-1730737205-ab", storage, random_hex="e01c"),
        ),
    ]


SAMPLES: dict[str, dict[str, list[Sample]]] = {
    "album_detail": {g: album_details(g) for g in GENERATIONS},
    "training_status": {g: training_statuses(g) for g in GENERATIONS},
    "queue_job": {g: queue_jobs(g) for g in GENERATIONS},
    "bug_report_receipt": {g: bug_report_receipts(g) for g in GENERATIONS},
}
