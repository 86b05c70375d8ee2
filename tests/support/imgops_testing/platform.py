"""Build a small but faithful copy of the platform (see PLATFORM.md) for the demo and the tests.

``build_platform(root)`` lays out, under ``root``: the server's config.yaml and
SQLite database (made the way an older server made it: albums without the
set-template columns), a sets folder, legacy outputs with sidecars, reference
packs, scrape-job and training-run folders of different ages with their rows,
bug reports (one corrupt), and an imgops.yml pointing at all of it.

``python -m imgops_testing.platform demo`` (re)builds ``demo/`` (``make demo``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from PIL import Image as PILImage
from sqlalchemy import MetaData, create_engine, insert, text

from imgops.db.models import SET_TEMPLATE_COLUMNS, PlatformBase

MARKER = ".imgops-demo"
SUITS = ("Hearts", "Diamonds", "Clubs", "Spades")
VALUES = ("Ace", "2", "3", "4", "5", "6", "7", "8", "9", "10", "Jack", "Queen", "King")
ARCANA = (
    "The Fool", "The Magician", "The High Priestess", "The Empress", "The Emperor", "The Hierophant",
    "The Lovers", "The Chariot", "Strength", "The Hermit", "Wheel of Fortune", "Justice", "The Hanged Man",
    "Death", "Temperance", "The Devil", "The Tower", "The Star", "The Moon", "The Sun", "Judgement", "The World",
)  # fmt: skip
SIGNS = (
    "Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo", "Libra", "Scorpio", "Sagittarius", "Capricorn",
    "Aquarius", "Pisces",
)  # fmt: skip


@dataclass(frozen=True)
class DemoPlatform:
    """Where the built platform's parts are."""

    root: Path
    imgops_config: Path
    platform_config: Path
    database: Path
    outputs_dir: Path
    scraped_dir: Path
    sets_dir: Path
    training_dataset_dir: Path
    checkpoint_dir: Path
    bug_reports_dir: Path
    reference_packs_dir: Path

    database_url: str


def naive_utc(delta_days: float, now: datetime) -> datetime:
    return (now - timedelta(days=delta_days)).replace(tzinfo=None)


def write_png(path: Path, rng: random.Random, size: tuple[int, int] = (48, 48), mtime: datetime | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = PILImage.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    image.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), (rng.randrange(256), 0, 0))
    formats = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
    image.save(path, format=formats.get(path.suffix.lower(), "PNG"))
    if mtime is not None:
        stamp = mtime.replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))


def sidecar(rng: random.Random, prompt: str, when: datetime, loras: int = 0) -> dict:
    data = {
        "prompt": prompt,
        "negative_prompt": "blurry, low quality",
        "model": "runwayml/stable-diffusion-v1-5",
        "width": 512,
        "height": 768,
        "steps": rng.choice((25, 30, 40)),
        "guidance_scale": rng.choice((7.0, 7.5, 8.0)),
        "seed": rng.randrange(2**31),
        "timestamp": when.replace(tzinfo=None).isoformat(),
    }
    if loras == 1:
        data["lora"] = {"path": "/mnt/speedy/imagineer/models/lora/cards.safetensors", "weight": 0.6}
    elif loras > 1:
        data["loras"] = [
            {"path": f"/mnt/speedy/imagineer/models/lora/style_{i}.safetensors", "weight": 0.4 + i / 10}
            for i in range(loras)
        ]
    return data


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def build_sets(sets_dir: Path) -> None:
    sets_dir.mkdir(parents=True, exist_ok=True)
    cards = [{"value": v, "suit": s} for s in SUITS for v in VALUES] + [
        {"value": "Joker", "suit": "Red"},
        {"value": "Joker", "suit": "Black"},
    ]
    arcana = [
        {"number": str(i), "card": name, "meaning": f'{name}: beginnings, endings, and the road between, "as told"'}
        for i, name in enumerate(ARCANA)
    ]
    zodiac = [{"sign": sign, "element": ("Fire", "Earth", "Air", "Water")[i % 4]} for i, sign in enumerate(SIGNS)]
    for name, rows, bom in (
        ("card_deck.csv", cards, False),
        ("tarot.csv", arcana, True),
        ("zodiac.csv", zodiac, False),
    ):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(rows)
        (sets_dir / name).write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    config = {
        "card_deck": {
            "name": "Card Deck Template",
            "description": "Playing card set",
            "csv_path": "card_deck.csv",
            "base_prompt": "Playing card portrait",
            "prompt_template": "{value} of {suit}, ornate playing card",
            "style_suffix": "vintage engraving",
            "example_theme": "Antique Deck",
            "width": 512,
            "height": 720,
            "negative_prompt": "blurry, low quality",
            "loras": [{"path": "/mnt/speedy/imagineer/models/lora/cards.safetensors", "weight": 0.5}],
        },
        "tarot": {
            "name": "Major Arcana",
            "description": "The 22 major arcana",
            "csv_path": "tarot.csv",
            "base_prompt": "Tarot card",
            "prompt_template": "{card} ({number}), {meaning}",
            "style_suffix": "art nouveau",
            "width": 512,
            "height": 896,
        },
        "zodiac": {
            "name": "Zodiac Signs",
            "description": "Twelve signs",
            "csv_path": str(sets_dir / "zodiac.csv"),
            "base_prompt": "Zodiac emblem",
            "prompt_template": "{sign}, a {element} sign",
            "width": 768,
            "height": 768,
        },
    }
    (sets_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


# Legacy singles are filed by month, so their dates are fixed, not relative to today: the albums they
# make (four months of singles, two of undated files) are the same whatever day the tests run.
SINGLES_FROM = datetime(2026, 5, 1, 12, 0)
UNDATED_MTIMES = (datetime(2026, 1, 29, 12, 0), datetime(2026, 2, 18, 12, 0))


def build_outputs(outputs: Path, rng: random.Random, now: datetime) -> None:
    # Root singles with timestamped names; sidecars in both LoRA forms; one broken sidecar.
    for i in range(12):
        when = SINGLES_FROM + timedelta(days=i * 9)
        stem = f"{when:%Y%m%d_%H%M%S}_single-{i}"
        write_png(outputs / f"{stem}.png", rng)
        if i % 4 != 3:
            write_json(outputs / f"{stem}.json", sidecar(rng, f"a quiet harbour at dusk, study {i}", when, loras=i % 3))
    broken = outputs / "20250701_101500_broken-sidecar"
    write_png(broken.with_suffix(".png"), rng)
    broken.with_suffix(".json").write_text('{"prompt": "truncated', encoding="utf-8")
    write_png(outputs / "Free Name Study.PNG", rng, mtime=UNDATED_MTIMES[0])
    write_png(outputs / "portrait-final.webp", rng, mtime=UNDATED_MTIMES[1])
    # Deck, tarot and zodiac batches.
    batches = {"card_deck_20251013_204136": 9, "tarot_deck_20251020_101010": 5, "zodiac_20251101_090000": 4}
    for folder, count in batches.items():
        for i in range(count):
            when = naive_utc(40, now)
            write_png(outputs / folder / f"card_{i:02d}.png", rng)
            write_json(outputs / folder / f"card_{i:02d}.json", sidecar(rng, f"{folder} card {i}", when, loras=1))
    # A tarot batch whose images were lost: metadata only (orphan sidecars).
    for i in range(3):
        write_json(outputs / "tarot_deck_20251021_111111" / f"card_{i:02d}.json", sidecar(rng, f"lost {i}", now))
    # The same bytes as a deck card, saved again as a single: one image, two albums.
    shutil.copyfile(outputs / "card_deck_20251013_204136" / "card_00.png", outputs / "20251013_204200_card-copy.png")
    for experiment in ("cards_v2", "ink wash"):
        for i in range(3):
            write_png(outputs / "lora_tests" / experiment / f"render_{i}.png", rng)
            write_json(
                outputs / "lora_tests" / experiment / f"render_{i}.json", sidecar(rng, f"{experiment} {i}", now, 2)
            )
    for not_a_source in ("thumbnails", "uploads", "scraped"):
        write_png(outputs / not_a_source / "ignored.png", rng)


def build_reference_packs(packs: Path, rng: random.Random) -> None:
    for pack, count, ext in (("Art Nouveau Posters", 5, ".jpg"), ("Botanical Plates", 4, ".png")):
        for i in range(count):
            write_png(packs / pack / f"plate {i:02d}{ext}", rng)
    write_json(
        packs / "Art Nouveau Posters" / "manifest.json", {"artist": "Alphonse Mucha", "license": "Public domain"}
    )


def fill_folder(folder: Path, files: int, rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"item_{i:03d}.bin").write_bytes(rng.randbytes(2048))


def create_older_server_schema(database_url: str) -> None:
    """Tables as an older server created them: albums without the set-template columns."""
    engine = create_engine(database_url)
    PlatformBase.metadata.create_all(engine)
    with engine.begin() as conn:
        for column in SET_TEMPLATE_COLUMNS:
            conn.execute(text(f"ALTER TABLE albums DROP COLUMN {column}"))
    engine.dispose()


def seed_rows(platform: DemoPlatform, rng: random.Random, now: datetime) -> None:
    engine = create_engine(platform.database_url)
    meta = MetaData()
    meta.reflect(engine)
    scraped, datasets, checkpoints = platform.scraped_dir, platform.training_dataset_dir, platform.checkpoint_dir
    precious = platform.root / "elsewhere" / "precious"
    fill_folder(precious, 3, rng)
    scrape_rows = [
        # id, status, completed_at age, last_error_at age, created age, output_directory
        (1, "completed", 90, None, 91, str(scraped / "job_1")),
        (2, "failed", None, 45, 46, str(scraped / "job_2")),
        (3, "completed", 2, None, 3, str(scraped / "job_3")),
        (4, "running", None, None, 60, str(scraped / "job_4")),
        (5, "cancelled", 40, None, 41, ""),
        (6, "completed", 100, None, 101, str(precious)),
    ]
    with engine.begin() as conn:
        for job_id, status, completed, errored, created, output in scrape_rows:
            if output != str(precious):
                fill_folder(scraped / f"job_{job_id}", 5, rng)
            conn.execute(
                insert(meta.tables["scrape_jobs"]).values(
                    id=job_id,
                    name=f"scrape {job_id}",
                    source_url=f"https://example.org/gallery/{job_id}",
                    scrape_config="{}",
                    status=status,
                    progress=100 if status == "completed" else 40,
                    images_scraped=5,
                    output_directory=output,
                    error_message="timeout" if errored else None,
                    last_error_at=naive_utc(errored, now) if errored else None,
                    created_at=naive_utc(created, now),
                    started_at=naive_utc(created, now),
                    completed_at=naive_utc(completed, now) if completed else None,
                )
            )
        for run_id, status, completed in ((1, "completed", 60), (2, "completed", 5), (3, "running", None)):
            run_dir = checkpoints / f"run_{run_id}"
            fill_folder(datasets / f"training_run_{run_id}", 8, rng)
            (run_dir / "logs").mkdir(parents=True, exist_ok=True)
            (run_dir / "logs" / f"training_{run_id}.log").write_text("step 1 loss 0.3\n" * 50, encoding="utf-8")
            (run_dir / "final.safetensors").write_bytes(rng.randbytes(4096))
            conn.execute(
                insert(meta.tables["training_runs"]).values(
                    id=run_id,
                    name=f"lora run {run_id}",
                    dataset_path=str(datasets / f"training_run_{run_id}"),
                    output_path=str(run_dir / "final.safetensors"),
                    training_config="{}",
                    status=status,
                    progress=100 if completed else 50,
                    final_checkpoint=str(run_dir / "final.safetensors") if completed else None,
                    created_at=naive_utc((completed or 1) + 1, now),
                    started_at=naive_utc((completed or 1) + 1, now),
                    completed_at=naive_utc(completed, now) if completed else None,
                )
            )
        if conn.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("scrape_jobs", "training_runs"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    engine.dispose()


def build_bug_reports(folder: Path, rng: random.Random, now: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cases = [("open", 2), ("open", 40), ("in_progress", 10), ("resolved", 45), ("resolved", 3), ("closed", 90)]
    for i, (status, age) in enumerate(cases):
        when = now - timedelta(days=age, minutes=i)
        trace = f"{rng.getrandbits(32):08x}"
        report_id = f"bug_{when:%Y%m%d_%H%M%S}_{trace}"
        write_json(
            folder / f"{report_id}.json",
            {
                "report_id": report_id,
                "trace_id": f"{trace}-0000-4000-8000-{rng.getrandbits(48):012x}",
                "submitted_at": when.isoformat(),
                "submitted_by": ("admin@example.com", "ops@example.com")[i % 2],
                "user_role": "admin",
                "status": status,
                "description": ("Gallery fails to load", "Thumbnail grid is empty", "Training stuck at 0%")[i % 3],
                "environment": {"mode": "production"},
                "clientMeta": {"locationHref": "https://imagineer.example/gallery"},
                "appState": {},
                "recentLogs": [{"level": "error", "message": f"request {n} failed"} for n in range(20)],
                "networkEvents": [],
            },
        )
    (folder / f"bug_{now:%Y%m%d}_000000_deadbeef.json").write_text('{"report_id": "bug_trunc', encoding="utf-8")
    (folder / f"bug_{now:%Y%m%d}_000001_00000000.json").write_bytes(b"")


def build_platform(
    root: Path, seed: int = 7, now: datetime | None = None, database_url: str | None = None
) -> DemoPlatform:
    """Lay out the whole demo platform under ``root`` (which must be empty or absent).

    The database is the server's default SQLite file unless ``database_url`` names another
    (an empty one, such as a fresh PostgreSQL database); imgops.yml then names it too.
    """
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("built by imgops_testing.platform\n", encoding="utf-8")
    speedy, storage = root / "mnt" / "speedy" / "imagineer", root / "mnt" / "storage" / "imagineer"
    server = root / "server"
    platform = DemoPlatform(
        root=root,
        imgops_config=root / "imgops.yml",
        platform_config=server / "config.yaml",
        database=server / "instance" / "imagineer.db",
        outputs_dir=speedy / "outputs",
        scraped_dir=storage / "scraped",
        sets_dir=speedy / "sets",
        training_dataset_dir=speedy / "data" / "training",
        checkpoint_dir=speedy / "checkpoints",
        bug_reports_dir=storage / "bug_reports",
        reference_packs_dir=root / "mnt" / "speedy" / "image packs",
        database_url=database_url or f"sqlite:///{server / 'instance' / 'imagineer.db'}",
    )
    server.mkdir(parents=True, exist_ok=True)
    platform.platform_config.write_text(
        yaml.safe_dump(
            {
                "outputs": {"base_dir": str(platform.outputs_dir), "scraped_dir": str(platform.scraped_dir)},
                "sets": {"directory": str(platform.sets_dir)},
                "training": {"checkpoint_dir": str(platform.checkpoint_dir)},
                "dataset": {"data_dir": str(platform.training_dataset_dir)},
                "model": {"cache_dir": str(speedy / "models")},
                "bug_reports": {"storage_path": str(platform.bug_reports_dir), "retention_days": 30},
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    build_sets(platform.sets_dir)
    build_outputs(platform.outputs_dir, rng, now)
    build_reference_packs(platform.reference_packs_dir, rng)
    platform.database.parent.mkdir(parents=True, exist_ok=True)
    create_older_server_schema(platform.database_url)
    seed_rows(platform, rng, now)
    build_bug_reports(platform.bug_reports_dir, rng, now)
    platform.imgops_config.write_text(
        yaml.safe_dump(
            {
                **({"database_url": database_url} if database_url else {}),
                "platform_config": "server/config.yaml",
                "paths": {
                    "reference_packs_dir": str(platform.reference_packs_dir),
                    "legacy_root": "server/data/legacy",
                    "state_dir": "state",
                },
                "lock_timeout_seconds": 10,
                "disk": {
                    "warn_percent": 85,
                    "crit_percent": 95,
                    "targets": [{"path": str(speedy), "label": "speedy"}, {"path": str(storage), "label": "storage"}],
                    "textfile_dir": "metrics",
                },
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return platform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path, help="folder to (re)build, e.g. demo")
    args = parser.parse_args(argv)
    dest: Path = args.destination
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).exists():
            print(f"refusing to replace {dest}: it was not built by this script (no {MARKER})", file=sys.stderr)
            return 2
        shutil.rmtree(dest)
    platform = build_platform(dest)
    print(f"demo platform built under {platform.root}; imgops config: {platform.imgops_config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
