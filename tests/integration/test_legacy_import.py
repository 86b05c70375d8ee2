"""The legacy import and the thumbnail worker on the demo platform, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

import yaml
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, func, insert, select, text, update

from imgops.config import load_config
from imgops.contracts import problems
from imgops.db.imgops_tables import queue
from imgops.db.models import Album, AlbumImage, Image, Label, MigrationHistory
from imgops.db_job import run_db
from imgops.legacy import run_legacy_import
from imgops.records import thumbnail_job
from imgops.thumbnails import run_thumbnails
from imgops_testing.platform import DemoPlatform


def add_odd_files(platform: DemoPlatform) -> None:
    outputs = platform.outputs_dir
    with open(os.fsencode(outputs) + b"/caf\xe9 study.png", "wb") as handle:
        handle.write(b"\x89PNG not really, latin-1 name")
    (platform.root / "outside.png").write_bytes(b"outside bytes")
    os.symlink(platform.root / "outside.png", outputs / "escape.png")


def test_dry_run_plans_everything_and_writes_nothing(demo_platform: DemoPlatform) -> None:
    config = load_config(demo_platform.imgops_config)
    plan = run_legacy_import(config, dry_run=True)
    assert plan.changed and plan.dry_run
    assert plan.summary["discovered"] == 49 and plan.summary["ingested"] == 48 and plan.summary["duplicates"] == 1
    # the server importer's taxonomy: six singles months and the undated singles, one album per deck and
    # zodiac folder, one for all of lora_tests; and imgops' two reference packs
    assert plan.summary["albums_created"] == len(plan.summary["new_albums"]) == 13
    assert plan.summary["orphans"] == 3
    assert plan.summary["thumbnails_queued"] == 48
    assert not config.path("legacy_root").exists()
    engine = create_engine(config.database_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Image)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(Album)).scalar() == 0
    engine.dispose()
    assert problems(plan.to_dict(), "legacy_result") == []


def test_import_stages_ingests_dedupes_and_is_idempotent(demo_platform: DemoPlatform) -> None:
    add_odd_files(demo_platform)
    config = load_config(demo_platform.imgops_config)
    legacy_root = config.path("legacy_root")
    first = run_legacy_import(config)
    assert first.errors == []
    summary = first.summary
    assert (summary["discovered"], summary["ingested"], summary["duplicates"]) == (50, 49, 1)
    assert (summary["staged"], summary["orphans"]) == (50, 3)
    assert summary["albums_created"] == 13  # the undated latin-1 file joins the undated singles ("Legacy Singles")
    assert summary["skipped_reasons"] == {"symlink_outside_roots": 1}
    assert summary["sidecar_problems"] == 1
    assert problems(first.to_dict(), "legacy_result") == []

    deck = legacy_root / "decks" / "card-deck-20251013-204136"
    assert os.path.samefile(
        deck / "card_00.png", demo_platform.outputs_dir / "card_deck_20251013_204136" / "card_00.png"
    )
    assert len(list(legacy_root.glob("singles/*/free-name-study.png"))) == 1
    assert list(legacy_root.glob("singles/*/caf-study.png"))
    assert list(legacy_root.glob("reference-packs/art-nouveau-posters/plate-00.jpg"))
    manifest = yaml.safe_load((deck / "manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["folder"] == "decks/card-deck-20251013-204136" and manifest["count"] == 9
    states = {entry["name"]: entry["state"] for entry in manifest["assets"]}
    assert states["card_00.png"] == "duplicate" and list(states.values()).count("ingested") == 8

    engine = create_engine(config.database_url)
    with engine.connect() as connection:
        images = connection.execute(select(Image.id).where(Image.filename.like("legacy-%"))).all()
        assert len(images) == 49
        copy = connection.execute(
            select(Image.id).where(Image.file_path.like("%20251013_204200_card-copy.png"))
        ).scalar_one()
        albums_of_copy = connection.execute(
            select(Album.name).join(AlbumImage, AlbumImage.album_id == Album.id).where(AlbumImage.image_id == copy)
        ).scalars()
        assert sorted(albums_of_copy) == ["Card Deck 20251013 204136", "Legacy Singles 2025-10"]
        pack = connection.execute(
            select(Album.id, Album.is_public, Album.is_training_source, Album.description).where(
                Album.name == "Reference Packs/art-nouveau-posters"
            )
        ).one()
        assert (pack.is_public, pack.is_training_source) == (False, True)
        assert "Artist: Alphonse Mucha." in pack.description and "License: Public domain." in pack.description
        order = connection.execute(
            select(AlbumImage.sort_order).where(AlbumImage.album_id == pack.id).order_by(AlbumImage.sort_order)
        ).scalars()
        assert list(order) == [1, 2, 3, 4, 5]
        lora_configs = connection.execute(select(Image.lora_config).where(Image.lora_config.is_not(None))).scalars()
        for text in lora_configs:
            loras = json.loads(text)
            assert isinstance(loras, list) and all(set(item) == {"path", "weight"} for item in loras)
        labels = connection.execute(select(Label.label_type, Label.created_by).distinct()).all()
        assert labels == [("manual", "imgops")]
        assert connection.execute(
            select(func.count()).select_from(Label).where(Label.label_text == "lora:cards")
        ).scalar_one() == 9 + 5 + 4 + 3  # deck, tarot, zodiac, three singles  # fmt: skip
        history = connection.execute(
            select(MigrationHistory.name, MigrationHistory.details).where(MigrationHistory.name.like("imgops legacy%"))
        ).one()
        assert json.loads(history.details)["ingested"] == 49
        jobs = connection.execute(select(queue.c.dedupe_key, queue.c.status).where(queue.c.kind == "thumbnail")).all()
        assert len(jobs) == 49 and {status for _, status in jobs} == {"pending"}
    engine.dispose()

    second = run_legacy_import(config)
    assert second.changed is False and second.errors == []
    assert second.summary["unchanged"] == 50 and second.summary["staged"] == 0
    (demo_platform.outputs_dir / "zodiac_20251101_090000" / "card_00.png").touch()
    third = run_legacy_import(config)  # a new mtime re-hashes one file and only records it again
    assert third.summary["unchanged"] == 49 and third.summary["ingested"] == 0
    assert [a.kind for a in third.actions] == ["record_assets", "record_history"]


def test_thumbnails_are_rendered_and_failures_retried_up_to_the_limit(demo_platform: DemoPlatform) -> None:
    config = load_config(demo_platform.imgops_config)
    (demo_platform.outputs_dir / "20250702_000000_corrupt.png").write_bytes(b"not an image at all")
    run_legacy_import(config)
    engine = create_engine(config.database_url)
    with engine.begin() as connection:  # the last job belongs to another host: its files are not here
        last_job = connection.execute(select(func.max(queue.c.id))).scalar_one()
        payload = json.loads(connection.execute(select(queue.c.payload).where(queue.c.id == last_job)).scalar_one())
        connection.execute(
            update(queue).where(queue.c.id == last_job).values(payload=json.dumps({**payload, "host": "elsewhere"}))
        )
    thumbnails_dir = config.path("thumbnails_dir")
    planned = run_thumbnails(config, dry_run=True)
    assert planned.summary["pending"] == 48 and not list(thumbnails_dir.glob("*.webp"))
    first = run_thumbnails(config, limit=10)
    assert (first.summary["written"], first.summary["retrying"]) == (9, 1)  # the corrupt file is a root single
    assert problems(first.to_dict(), "thumbnails_result") == []
    rest = run_thumbnails(config)  # one attempt per run: the failed job waits for the next run
    assert (rest.summary["written"], rest.summary["retrying"], rest.summary["pending"]) == (38, 1, 1)
    last = run_thumbnails(config)
    assert (last.summary["written"], last.summary["failed"], last.summary["pending"]) == (0, 1, 0)
    assert run_thumbnails(config).changed is False
    with engine.connect() as connection:
        assert connection.execute(select(queue.c.status).where(queue.c.id == last_job)).scalar_one() == "pending"
        rows = connection.execute(select(Image.filename, Image.thumbnail_path).where(Image.filename.like("legacy-%")))
        made = {name: path for name, path in rows}
        failed = connection.execute(
            select(queue.c.attempts, queue.c.last_error).where(queue.c.status == "failed")
        ).one()
        for row in connection.execute(select(queue)):
            assert problems(thumbnail_job(row), "thumbnail_job") == []
    engine.dispose()
    assert sum(1 for path in made.values() if path) == 47
    for path in filter(None, made.values()):  # the server's own: <outputs>/thumbnails/<id>.webp, stored relative
        written = config.path("outputs_dir") / path
        assert path.startswith("thumbnails/") and written.parent == thumbnails_dir
        assert written.read_bytes()[8:12] == b"WEBP"
    assert failed.attempts == 3 and "UnidentifiedImageError" in failed.last_error


def test_two_hosts_racing_on_one_database_make_no_duplicate_images(demo_platform: DemoPlatform, tmp_path: Path) -> None:
    base = yaml.safe_load(demo_platform.imgops_config.read_text(encoding="utf-8"))
    configs = []
    for host in ("gpu-01", "gpu-02"):
        raw = {**base, "legacy": {"host": host}}
        raw["paths"] = {
            **base["paths"],
            "legacy_root": str(tmp_path / host / "legacy"),
            "state_dir": str(tmp_path / host),
        }
        path = demo_platform.root / f"{host}.yml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        configs.append(load_config(path))
    # Migrations race-safely only on PostgreSQL (advisory lock) or within one state_dir (file lock);
    # this test is about the imports racing, so the schema is brought up first.
    run_db(configs[0], "upgrade")
    results, failures = [], []

    def run(config) -> None:
        try:
            results.append(run_legacy_import(config))
        except Exception as exc:  # surfaced by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(config,)) for config in configs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and all(result.errors == [] for result in results)
    assert sum(result.summary["ingested"] for result in results) == 48
    engine = create_engine(configs[0].database_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Image)).scalar_one() == 48 + 0
        names = connection.execute(select(Album.name).where(Album.created_by == "imgops")).scalars().all()
        assert len(names) == len(set(names)) == 13
        links = connection.execute(select(AlbumImage.album_id, AlbumImage.image_id)).all()
        assert len(links) == len(set(links)) == 49
    engine.dispose()


WRITTEN_TABLES = ("images", "album_images", "labels", "imgops_queue", "imgops_assets")


def _stored(connection, table: Table, columns: list[Column], order: str) -> list[tuple]:
    """Each value as the database holds it: SQLite's storage class and text, PostgreSQL's text form."""
    sqlite = connection.dialect.name == "sqlite"
    shown = [f"typeof({c.name}), CAST({c.name} AS TEXT)" if sqlite else f"{c.name}::text" for c in columns]
    return connection.execute(text(f"SELECT {', '.join(shown)} FROM {table.name} ORDER BY {order}")).all()


def test_rows_are_stored_exactly_as_sqlalchemy_core_stores_their_values(demo_platform: DemoPlatform) -> None:
    """The bulk inserts bind through the driver: every stored value (datetimes, booleans, floats) must be
    what a Core insert of the same value stores (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` text, SERVER_FACTS 0.3)."""
    config = load_config(demo_platform.imgops_config)
    assert run_legacy_import(config).summary["ingested"] == 48
    engine = create_engine(config.database_url)
    tables = MetaData()
    tables.reflect(engine, only=WRITTEN_TABLES)
    with engine.begin() as connection:
        for name in WRITTEN_TABLES:
            table = tables.tables[name]
            columns = [column for column in table.columns if column.name != "id"]
            rows = [row._asdict() for row in connection.execute(select(*columns).order_by(table.c.id))]
            assert rows, name
            reference = Table(f"reference_{name}", MetaData(), *(Column(c.name, c.type) for c in columns),
                              Column("position", Integer))  # fmt: skip
            reference.create(connection)
            connection.execute(insert(reference), [{**row, "position": index} for index, row in enumerate(rows)])
            assert _stored(connection, table, columns, "id") == _stored(connection, reference, columns, "position")
            if connection.dialect.name != "sqlite":
                continue
            for column in (c for c in columns if c.name.endswith("_at")):
                values = connection.execute(
                    select(text(f"DISTINCT typeof({column.name}) || ' ' || {column.name}"))
                    .select_from(table)
                    .where(column.is_not(None))
                ).scalars()
                for value in values:
                    assert re.fullmatch(r"text \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value), (name, value)
    engine.dispose()


def test_hardlinks_across_mounts_are_copies_and_the_run_says_why(demo_platform: DemoPlatform) -> None:
    """legacy_root bind-mounted onto itself, as systemd mounts each ReadWritePaths= folder: link() gives EXDEV."""
    config = load_config(demo_platform.imgops_config)
    legacy_root = config.path("legacy_root")
    legacy_root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(legacy_root), str(legacy_root)], check=True, capture_output=True)
    try:
        result = run_legacy_import(config, mode="hardlink")
        deck = legacy_root / "decks" / "card-deck-20251013-204136" / "card_00.png"
        source = demo_platform.outputs_dir / "card_deck_20251013_204136" / "card_00.png"
        assert deck.read_bytes() == source.read_bytes() and not os.path.samefile(deck, source)
    finally:
        subprocess.run(["umount", "-l", str(legacy_root)], check=True, capture_output=True)
    assert result.errors == [] and problems(result.to_dict(), "legacy_result") == []
    copied = [n for n in result.notices if "copied into" in n["message"]]
    assert len(copied) == 1 and copied[0]["copied"] == result.summary["staged"] > 0
    assert "not hardlinked" in copied[0]["message"] and "ReadWritePaths=" in copied[0]["message"]
    assert {a["detail"]["mode"] for a in result.to_dict()["actions"] if a["kind"] == "stage"} == {"copy"}
    assert not any("copied into" in n["message"] for n in run_legacy_import(config, mode="hardlink").notices)
