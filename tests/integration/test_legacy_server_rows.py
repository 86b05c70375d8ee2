"""The legacy import beside the server's own importers (SERVER_FACTS 8, 9), on every schema generation.

The server's ``import_legacy_media.py --ingest`` and ``index_images.py`` rows are written here as
those scripts write them; imgops must recognise them (no second image, album or link), and the
server's importer, run after imgops, must find imgops' albums by its own look-up.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import MetaData, create_engine, func, insert, select

from imgops.config import load_config
from imgops.contracts import problems
from imgops.legacy import run_legacy_import
from imgops_testing.server_ddl import VARIANTS, create_server_schema

DECK = "card_deck_20251013_213519"
ZODIAC = "zodiac_20251101_090000"
SIDECAR = {"prompt": "the ace", "seed": 7, "steps": 20, "lora": {"path": "/m/cards.safetensors", "weight": 0.6}}


def build_server(root: Path, database_url: str, variant: str) -> Path:
    """A server folder (config.yaml, outputs) and an imgops.yml naming it; the database as ``variant``."""
    server, outputs = root / "server", root / "outputs"
    for folder in (outputs / DECK, outputs / ZODIAC, outputs / "lora_tests" / "ink"):
        folder.mkdir(parents=True)
    files = {
        outputs / "20251013_120000_cat.png": b"cat",
        outputs / "free name.png": b"undated",
        outputs / "legacy-old.png": b"old",  # a name like imgops' own, indexed by index_images.py
        outputs / DECK / "ace.png": b"ace",
        outputs / DECK / "two.png": b"two",
        outputs / ZODIAC / "aries.png": b"aries",
        outputs / "lora_tests" / "ink" / "x.png": b"ink",
    }
    for path, data in files.items():
        path.write_bytes(b"\x89PNG" + data)
    (outputs / DECK / "ace.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    server.mkdir()
    (server / "config.yaml").write_text(yaml.safe_dump({"outputs": {"base_dir": str(outputs)}}), encoding="utf-8")
    create_server_schema(database_url, variant)
    config = root / "imgops.yml"
    config.write_text(
        yaml.safe_dump({"database_url": database_url, "platform_config": "server/config.yaml",
                        "paths": {"state_dir": "state"}}),
        encoding="utf-8",
    )  # fmt: skip
    return config


def tables(database_url: str):
    engine = create_engine(database_url)
    metadata = MetaData()
    metadata.reflect(engine)
    return engine, metadata.tables


def album_values(columns, **values):
    """An album row as the server's ORM writes it on this generation (only the columns it has)."""
    defaults = {"is_set_template": False, "source_type": "manual", "is_training_source": False}
    return {k: v for k, v in {**defaults, **values}.items() if k in columns}


def server_importer_rows(root: Path, database_url: str) -> None:
    """What ``import_legacy_media.py --ingest`` leaves for the deck's ace (staged tree included),
    and what ``index_images.py`` leaves for the root single and the zodiac file."""
    outputs, staging = root / "outputs", root / "server" / "data" / "legacy"
    destination = f"decks/{DECK}/ace.png"
    (staging / "decks" / DECK).mkdir(parents=True)
    os.symlink(outputs / DECK / "ace.png", staging / destination)
    (staging / f"{destination}.json").write_text(json.dumps(SIDECAR), encoding="utf-8")
    # Staged without --ingest too (no row): an undated single the server dated from its sidecar. And a
    # hostile entry climbing out of the staging root, which is ignored.
    (staging / "singles" / "2025-10").mkdir(parents=True)
    os.symlink(outputs / "free name.png", staging / "singles" / "2025-10" / "free name.png")
    manifest = [
        {"destination": destination, "source": str(outputs / DECK / "ace.png"), "metadata": SIDECAR,
         "album": {"slug": DECK, "name": "Card Deck 20251013 213519", "type": "deck", "is_public": True,
                   "is_training_source": False, "description": f"Imported deck batch from outputs/{DECK}"},
         "created_at": "2025-10-13T21:35:19+00:00", "tags": ["Ace"]},
        {"destination": "singles/2025-10/free name.png", "source": str(outputs / "free name.png")},
        {"destination": "../../escape.png", "source": str(outputs / "lora_tests" / "ink" / "x.png")},
    ]  # fmt: skip
    (staging / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    engine, t = tables(database_url)
    with engine.begin() as c:
        album = c.execute(insert(t["albums"]).values(album_values(
            t["albums"].c, name="Card Deck 20251013 213519", album_type="deck", is_public=True,
            description=f"Imported deck batch from outputs/{DECK}", created_by="legacy-importer",
            generation_config=json.dumps({"legacy_slug": DECK}))).returning(t["albums"].c.id)).scalar_one()  # fmt: skip
        ace = c.execute(insert(t["images"]).values(
            filename=f"decks__{DECK}__ace.png", file_path=f"data/legacy/{destination}", is_public=True,
            is_nsfw=False, seed=7).returning(t["images"].c.id)).scalar_one()  # fmt: skip  # prompt left NULL
        c.execute(
            insert(t["album_images"]).values(album_id=album, image_id=ace, sort_order=1, added_by="legacy-importer")
        )
        c.execute(insert(t["migration_history"]).values(
            name="legacy_image_import_stage1", applied_at=func.now(), last_run_at=func.now(),
            details=json.dumps({"created_albums": 1, "reused_albums": 0, "inserted_images": 1, "skipped_images": 0,
                                "attached_images": 1, "missing_files": 0})))  # fmt: skip
        for name, relative in (
            ("20251013_120000_cat.png", "20251013_120000_cat.png"),
            ("aries.png", f"{ZODIAC}/aries.png"),
            ("renamed two.png", f"data/legacy/decks/{DECK}/two.png"),  # found by its path relative to the server
            ("legacy-old.png", "legacy-old.png"),
        ):
            c.execute(insert(t["images"]).values(filename=name, file_path=relative, is_public=True, is_nsfw=False))
    engine.dispose()


def snapshot(database_url: str) -> dict:
    engine, t = tables(database_url)
    images, albums, links = t["images"], t["albums"], t["album_images"]
    with engine.connect() as c:
        state = {
            "images": c.execute(select(images.c.filename, images.c.file_path, images.c.prompt)).all(),
            "albums": c.execute(
                select(albums.c.id, albums.c.name, albums.c.album_type, albums.c.generation_config)
            ).all(),
            "links": c.execute(select(links.c.album_id, links.c.image_id, links.c.added_by)).all(),
            "album_columns": [col.name for col in albums.c],
            "created": c.execute(select(albums).where(albums.c.created_by == "imgops")).mappings().all(),
        }
    engine.dispose()
    return state


SERVER_FIRST = [("seed", "sqlite"), ("current", "sqlite"), ("seed", "postgresql")]


@pytest.mark.parametrize(("variant", "backend"), SERVER_FIRST, ids=[f"{v}-{b}" for v, b in SERVER_FIRST])
def test_rows_of_the_servers_importers_are_adopted_never_doubled(
    tmp_path: Path, variant: str, backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = _database(request, tmp_path, backend)
    config = load_config(build_server(tmp_path, database_url, variant))
    server_importer_rows(tmp_path, database_url)
    result = run_legacy_import(config)
    assert result.errors == [] and problems(result.to_dict(), "legacy_result") == []
    summary = result.summary
    assert (summary["discovered"], summary["adopted"], summary["ingested"]) == (7, 5, 2)
    assert ("adopt", "Card Deck 20251013 213519") in [(a.kind, a.target) for a in result.actions]

    state = snapshot(database_url)
    paths = [row.file_path for row in state["images"]]
    assert len(state["images"]) == 7 and len(set(paths)) == 7
    by_name = {row.filename: row for row in state["images"]}
    ace = by_name[f"decks__{DECK}__ace.png"]
    assert ace.file_path == f"data/legacy/decks/{DECK}/ace.png" and ace.prompt == "the ace"  # NULL filled, path kept
    assert by_name["aries.png"].file_path == f"{ZODIAC}/aries.png"
    decks = [row for row in state["albums"] if row.album_type == "deck"]
    assert len(decks) == 1 and json.loads(decks[0].generation_config) == {"legacy_slug": DECK}
    assert len(state["links"]) == len({(r.album_id, r.image_id) for r in state["links"]}) == 7
    assert Counter(r.added_by for r in state["links"]) == {"imgops": 6, "legacy-importer": 1}
    assert by_name["renamed two.png"].file_path == f"data/legacy/decks/{DECK}/two.png"
    slugs = sorted(json.loads(row["generation_config"])["legacy_slug"] for row in state["created"])
    assert slugs == ["legacy-singles-2025-10", "legacy-singles-unknown", "lora-tests", ZODIAC]
    _assert_filled_as_the_server_fills(state)
    legacy_root = config.path("legacy_root")
    assert not (legacy_root / "decks" / "card-deck-20251013-213519" / "ace.png").exists()  # not staged twice
    assert os.path.islink(legacy_root / "decks" / DECK / "ace.png")
    staged_single = str(legacy_root / "singles" / "2025-10" / "free name.png")  # where the server's manifest says
    assert staged_single in paths and not list(legacy_root.glob("singles/*/free-name.png"))
    assert not (tmp_path / "server" / "escape.png").exists()

    again = run_legacy_import(config)
    assert again.changed is False and again.summary["unchanged"] == 7
    assert snapshot(database_url)["images"] == state["images"]


@pytest.mark.parametrize(("variant", "backend"), SERVER_FIRST, ids=[f"{v}-{b}" for v, b in SERVER_FIRST])
def test_the_servers_importer_after_imgops_finds_its_albums(
    tmp_path: Path, variant: str, backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = _database(request, tmp_path, backend)
    config = load_config(build_server(tmp_path, database_url, variant))
    first = run_legacy_import(config)
    assert first.summary["ingested"] == 7 and first.summary["albums_created"] == 5
    engine, t = tables(database_url)
    albums = t["albums"]
    # The server's collector for the same tree, and its look-up: (name, album_type) with one_or_none.
    wanted = [("Legacy Singles 2025-10", "singles"), ("Legacy Singles", "singles"),
              ("Card Deck 20251013 213519", "deck"), ("Zodiac 20251101 090000", "zodiac"),
              ("LoRA Experiments", "lora-experiment")]  # fmt: skip
    with engine.connect() as c:
        for name, album_type in wanted:
            found = c.execute(select(albums.c.id).where(albums.c.name == name, albums.c.album_type == album_type)).all()
            assert len(found) == 1, (name, album_type)
    engine.dispose()
    # Albums the server's importer made meanwhile for a new folder are found by imgops in turn.
    tarot = tmp_path / "outputs" / "tarot_deck_20251020_101010"
    tarot.mkdir()
    (tarot / "card_00.png").write_bytes(b"\x89PNGtarot")
    engine, t = tables(database_url)
    with engine.begin() as c:
        c.execute(insert(t["albums"]).values(album_values(
            t["albums"].c, name="Tarot Deck 20251020 101010", album_type="deck", created_by="legacy-importer",
            generation_config=json.dumps({"legacy_slug": tarot.name}))))  # fmt: skip
    engine.dispose()
    second = run_legacy_import(config)
    assert second.summary["albums_created"] == 0 and second.summary["ingested"] == 1
    state = snapshot(database_url)
    assert sorted(row.name for row in state["albums"]) == sorted(
        [name for name, _ in wanted] + ["Tarot Deck 20251020 101010"]
    )


def test_every_variant_with_albums_gets_the_columns_it_has(tmp_path: Path) -> None:
    for variant in VARIANTS:
        root = tmp_path / variant
        database_url = f"sqlite:///{root / 'imagineer.db'}"
        root.mkdir()
        config = load_config(build_server(root, database_url, variant))
        result = run_legacy_import(config)
        assert result.errors == [] and result.summary["albums_created"] == 5, variant
        _assert_filled_as_the_server_fills(snapshot(database_url))


def _assert_filled_as_the_server_fills(state: dict) -> None:
    columns = state["album_columns"]
    for row in state["created"]:
        assert row["is_public"] in (True, 1) and row["created_by"] == "imgops"
        if "source_type" in columns:
            assert row["source_type"] == "manual" and row["source_id"] is None
        if "is_training_source" in columns:
            assert bool(row["is_training_source"]) is (row["album_type"] == "lora-experiment")
        if "is_set_template" in columns:
            assert row["is_set_template"] in (False, 0)


def _database(request: pytest.FixtureRequest, tmp_path: Path, backend: str):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'imagineer.db'}"
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name)
