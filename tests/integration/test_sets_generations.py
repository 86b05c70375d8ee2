"""`imgops sets` on every server generation and variant (SERVER_FACTS 3.3, 10): batch templates where the
database has batch_templates, set-template albums as the server's own migration writes them where it does not.

Each variant is built by imgops_testing.server_ddl on SQLite; seed and current also on PostgreSQL.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text

from imgops.config import load_config
from imgops.contracts import problems
from imgops.sets import run_sets
from imgops_testing.server_ddl import VARIANTS, create_server_schema, upgrade_server_schema

CARDS = [{"value": "Ace", "suit": "Hearts"}, {"value": "König", "suit": "Spades, black"}]
SIGNS = [{"sign": "Aries"}, {"sign": "Taurus"}]
CARD_SET = {
    "name": "Card Deck",
    "description": "Playing cards",
    "csv_path": "cards.csv",
    "base_prompt": "A playing card",
    "prompt_template": "{value} of {suit}",
    "style_suffix": "engraved",
    "example_theme": "Antique",
    "width": 512,
    "height": 720,
    "negative_prompt": "blurry",
    "loras": [{"path": "/loras/cards.safetensors", "weight": 0.5}],
}
ZODIAC_SET = {"name": "Zodiac", "csv_path": "zodiac.csv", "prompt_template": "{sign} emblem"}


def cases(*variants: str, postgres: tuple[str, ...] = ("seed", "current")) -> list[Any]:
    """Every given variant on SQLite, and those of ``postgres`` among them on PostgreSQL too."""
    return [pytest.param(("sqlite", v), id=f"sqlite-{v}") for v in variants] + [
        pytest.param(("postgresql", v), id=f"postgresql-{v}", marks=pytest.mark.postgres)
        for v in variants if v in postgres
    ]  # fmt: skip


TEMPLATE_VARIANTS = tuple(v for v in VARIANTS if v != "seed")  # each has batch_templates


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """(database URL, variant): the variant built in an empty database of the backend."""
    backend, variant = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'imagineer.db'}"
        create_server_schema(url, variant)
        yield url, variant
        return
    postgres = request.getfixturevalue("postgres_server")
    name = postgres.create_database()
    try:
        create_server_schema(postgres.url(name), variant)
        yield postgres.url(name), variant
    finally:
        postgres.drop_database(name)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def make_platform(tmp_path: Path, url: str, sets: dict[str, Any], **sets_options: Any) -> Path:
    """A sets folder with the cards and zodiac CSVs, the given config.yaml, and an imgops config; its path."""
    sets_dir = tmp_path / "sets"
    sets_dir.mkdir(exist_ok=True)
    write_csv(sets_dir / "cards.csv", CARDS)
    write_csv(sets_dir / "zodiac.csv", SIGNS)
    write_sets(sets_dir, sets)
    config = {"database_url": url, "paths": {"sets_dir": str(sets_dir), "state_dir": str(tmp_path / "state")}}
    if sets_options:
        config["sets"] = sets_options
    path = tmp_path / "imgops.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_sets(sets_dir: Path, sets: dict[str, Any]) -> None:
    (sets_dir / "config.yaml").write_text(yaml.safe_dump(sets, sort_keys=False, allow_unicode=True), encoding="utf-8")


def rows(url: str, table: str) -> dict[int, dict[str, Any]]:
    engine = create_engine(url)
    try:
        reflected = Table(table, MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return {row.id: dict(row._mapping) for row in conn.execute(select(reflected))}
    finally:
        engine.dispose()


def by_name(url: str, table: str) -> dict[str, dict[str, Any]]:
    found = rows(url, table)
    names = [row["name"] for row in found.values()]
    assert len(names) == len(set(names)), f"duplicate names in {table}: {names}"
    return {row["name"]: row for row in found.values()}


def execute(url: str, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(statement, params or {})
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def imgops_json(venv_bin: Path, platform: Path, *argv: str) -> tuple[int, dict[str, Any]]:
    """Exit code and --json envelope of the real CLI."""
    ran = subprocess.run([venv_bin / "imgops", "--config", str(platform), "--json", *argv], capture_output=True,
                         text=True, check=False, timeout=120)  # fmt: skip
    assert "Traceback" not in ran.stderr, ran.stderr
    return ran.returncode, json.loads(ran.stdout)


def insert_row(url: str, table: str, **values: Any) -> int:
    """A row written by name through the reflected table, as the server's scripts and UI would leave it."""
    engine = create_engine(url)
    try:
        reflected = Table(table, MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            return conn.execute(insert(reflected).values(**values)).inserted_primary_key[0]
    finally:
        engine.dispose()


def history(url: str) -> dict[str, Any]:
    return {row["name"]: json.loads(row["details"]) for row in rows(url, "migration_history").values()}


def has_table(url: str, name: str) -> bool:
    engine = create_engine(url)
    try:
        return inspect(engine).has_table(name)
    finally:
        engine.dispose()


def naive_utc_now(stamp: Any) -> bool:
    now = datetime.now(UTC).replace(tzinfo=None)
    return isinstance(stamp, datetime) and stamp.tzinfo is None and now - timedelta(minutes=5) < stamp <= now


@pytest.mark.parametrize("server", cases(*TEMPLATE_VARIANTS), indirect=True)
def test_batch_templates_are_written_column_by_column_and_albums_never_touched(tmp_path: Path, server: Any) -> None:
    url, variant = server
    leftover = insert_row(
        url,
        "albums",
        name="Zodiac",
        album_type="set",
        is_set_template=True,
        generation_config='{"legacy_slug": "zodiac"}',
    )  # a set album the server left behind
    albums_before = rows(url, "albums")
    config = load_config(make_platform(tmp_path, url, {"card_deck": CARD_SET, "zodiac": ZODIAC_SET}), environ={})
    planned = run_sets(config, dry_run=True)  # before imgops' own tables exist: planned, nothing written
    assert [a.kind for a in planned.actions] == ["create_template"] * 2 and planned.summary[
        "target"
    ] == "batch_templates"
    assert rows(url, "batch_templates") == {} and not has_table(url, "imgops_batch_templates")
    first = run_sets(config)
    assert first.errors == [] and problems(first.to_dict(), "sets_result") == []
    summary = first.summary
    assert (summary["target"], summary["generation"], summary["created"]) == ("batch_templates", variant, 2)
    assert summary["columns_added"] == [] and [a.kind for a in first.actions] == ["create_template"] * 2
    templates = by_name(url, "batch_templates")
    cards, signs = templates["Card Deck"], templates["Zodiac"]
    assert naive_utc_now(cards["created_at"]) and cards["updated_at"] == cards["created_at"]
    assert {k: v for k, v in cards.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Card Deck",
        "description": "Playing cards",
        "csv_path": str(tmp_path / "sets" / "cards.csv"),
        "csv_data": json.dumps(CARDS, ensure_ascii=False),
        "base_prompt": "A playing card",
        "prompt_template": "{value} of {suit}",
        "style_suffix": "engraved",
        "example_theme": "Antique",
        "width": 512,
        "height": 720,
        "negative_prompt": "blurry",
        "lora_config": '[{"path": "/loras/cards.safetensors", "weight": 0.5}]',
        "created_by": "imgops",
    }
    assert {k: v for k, v in signs.items() if k not in ("id", "created_at", "updated_at")} == {
        "name": "Zodiac", "description": "", "csv_path": str(tmp_path / "sets" / "zodiac.csv"),
        "csv_data": '[{"sign": "Aries"}, {"sign": "Taurus"}]', "base_prompt": "", "prompt_template": "{sign} emblem",
        "style_suffix": "", "example_theme": "", "width": 512, "height": 512, "negative_prompt": "",
        "lora_config": None, "created_by": "imgops",
    }  # fmt: skip  # the separation script's defaults for keys a set does not give; no LoRAs is NULL
    if url.startswith("sqlite"):  # stored naive: no "+00:00" suffix
        stored = [row[0] for row in execute(url, text("SELECT CAST(created_at AS TEXT) FROM batch_templates"))]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value) for value in stored), stored
    owned = {row["set_key"]: row["template_id"] for row in rows_by_key(url)}
    assert owned == {"card_deck": cards["id"], "zodiac": signs["id"]}
    assert rows(url, "albums") == albums_before and leftover in albums_before  # not one album written
    assert history(url)["sets_to_batch_templates"]["created"] == 2

    second = run_sets(config)
    assert second.changed is False and second.summary["unchanged"] == 2
    assert by_name(url, "batch_templates") == templates  # not even updated_at moved
    (config.state_dir / "sets-sources.json").unlink()  # the full comparison, without the record, agrees
    assert run_sets(config).changed is False and by_name(url, "batch_templates") == templates


def rows_by_key(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        table = Table("imgops_batch_templates", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.set_key))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("server", cases("current", "seed+separation+removal", postgres=("current",)), indirect=True)
def test_a_template_of_the_same_name_is_adopted_and_no_second_one_is_ever_made(
    tmp_path: Path, server: Any, venv_bin: Path
) -> None:
    url, _variant = server
    seeded = insert_row(url, "batch_templates", name="Card Deck", description="", csv_path="data/sets/card_deck.csv",
                        csv_data="[]", prompt_template="{value}", width=512, height=512,
                        created_at=datetime(2025, 11, 4, 5, 43, 23))  # fmt: skip  # as the separation script seeded it
    other = insert_row(url, "batch_templates", name="Made In The UI", csv_path="x.csv", prompt_template="{x}",
                       created_by="admin@example.com")  # fmt: skip
    before_other = rows(url, "batch_templates")[other]
    platform = make_platform(tmp_path, url, {"card_deck": CARD_SET, "zodiac": ZODIAC_SET})
    config = load_config(platform, environ={})
    result = run_sets(config)
    assert (result.summary["adopted"], result.summary["created"]) == (1, 1)
    adoption = next(a for a in result.actions if a.kind == "update_template")
    assert adoption.detail["template_id"] == seeded and adoption.detail["adopted"] is True
    templates = by_name(url, "batch_templates")  # asserts every name once
    assert set(templates) == {"Card Deck", "Zodiac", "Made In The UI"}
    cards = templates["Card Deck"]
    assert cards["id"] == seeded and cards["created_by"] is None  # adopted: its creator and creation time stay
    assert cards["created_at"] == datetime(2025, 11, 4, 5, 43, 23) and naive_utc_now(cards["updated_at"])
    assert json.loads(cards["csv_data"]) == CARDS and cards["height"] == 720
    assert templates["Made In The UI"] == before_other

    # Renaming a set onto another template's name would make a second template of that name: refused.
    write_sets(tmp_path / "sets", {"card_deck": {**CARD_SET, "name": "Made In The UI"}, "zodiac": ZODIAC_SET})
    state = by_name(url, "batch_templates")
    code, refused = imgops_json(venv_bin, platform, "sets")
    assert code == 1 and refused["changed"] is False and problems(refused, "sets_result") == []
    assert [(e["set"], "named 'Made In The UI' exists already" in e["message"]) for e in refused["errors"]] == [
        ("card_deck", True)
    ]
    assert by_name(url, "batch_templates") == state

    # A new set named like an existing template that no set owns adopts it, and a renamed set key takes its
    # template along instead of making a second one.
    write_sets(tmp_path / "sets", {"cards": CARD_SET, "zodiac": ZODIAC_SET})
    renamed = run_sets(config)
    assert renamed.summary["adopted"] == 1 and renamed.summary["created"] == 0 and renamed.summary["removed"] == []
    assert by_name(url, "batch_templates")["Card Deck"]["id"] == seeded
    assert {row["set_key"]: row["template_id"] for row in rows_by_key(url)}["cards"] == seeded


@pytest.mark.parametrize("server", cases("current", "seed+current-code", postgres=("current",)), indirect=True)
def test_templates_of_removed_sets_are_reported_then_pruned(tmp_path: Path, server: Any) -> None:
    url, _variant = server
    platform = make_platform(tmp_path, url, {"card_deck": CARD_SET, "zodiac": ZODIAC_SET})
    config = load_config(platform, environ={})
    run_sets(config)
    templates = by_name(url, "batch_templates")
    insert_row(url, "batch_generation_runs", template_id=templates["Card Deck"]["id"], album_name="Run",
               user_theme="noir", status="failed")  # fmt: skip
    write_sets(tmp_path / "sets", {"other": {**ZODIAC_SET, "name": "Other"}})
    kept = run_sets(config)
    assert kept.summary["removed"] == ["card_deck", "zodiac"] and kept.summary["pruned"] == 0
    assert {n["set"] for n in kept.notices} == {"card_deck", "zodiac"}
    assert {"Card Deck", "Zodiac"} <= set(by_name(url, "batch_templates"))

    pruned = run_sets(config, prune=True)
    assert pruned.summary["pruned"] == 2
    detail = {a.detail["set"]: a.detail["deleted"] for a in pruned.actions if a.kind == "prune_template"}
    assert detail == {"card_deck": False, "zodiac": True}  # a template generation runs refer to is kept
    assert [n["set"] for n in pruned.notices if "generation runs refer to it" in n["message"]] == ["card_deck"]
    left = by_name(url, "batch_templates")
    assert "Zodiac" not in left and left["Card Deck"] == templates["Card Deck"]
    assert [row["set_key"] for row in rows_by_key(url)] == ["other"]
    assert run_sets(config, prune=True).changed is False


SERVER_MADE = {  # an album as scripts/migrate_sets_to_albums.py wrote it, later given a slug in the web UI
    "name": "Card Deck", "description": "", "album_type": "set", "is_public": True, "is_training_source": False,
    "created_by": "system", "generation_prompt": "A playing card", "is_set_template": True, "csv_data": "[]",
    "base_prompt": "A playing card", "prompt_template": "{value}", "lora_config": "[]",
    "generation_config": json.dumps({"legacy_slug": "card_deck", "slug": "cards"}),
}  # fmt: skip


@pytest.mark.parametrize("server", cases("seed"), indirect=True)
def test_seed_albums_merge_generation_config_honour_the_optional_keys_and_adopt_the_servers_own(
    tmp_path: Path, server: Any
) -> None:
    url, _variant = server
    made = insert_row(url, "albums", **SERVER_MADE)
    details = '{"config": "data/sets/config.yaml", "sets_processed": 1}'
    insert_row(url, "migration_history", name="sets_to_albums_v1", applied_at=datetime(2025, 11, 2),
               last_run_at=datetime(2025, 11, 2), details=details)  # fmt: skip
    sets = {
        "card_deck": CARD_SET,
        "zodiac": {**ZODIAC_SET, "album_type": "deck", "created_by": "astro", "is_public": False,
                   "is_training_source": True, "legacy_slug": "stars"},
        "tarot": {**ZODIAC_SET, "name": "Tarot", "generation_config": {"sampler": "euler", "legacy_slug": "arcana"}},
    }  # fmt: skip
    config = load_config(make_platform(tmp_path, url, sets), environ={})
    result = run_sets(config)
    assert result.errors == [] and problems(result.to_dict(), "sets_result") == []
    summary = result.summary
    assert (summary["target"], summary["server_migration"], summary["adopted"], summary["created"]) == (
        "albums", True, 1, 2)  # fmt: skip
    albums = by_name(url, "albums")  # asserts the server's album was not duplicated
    cards, signs, tarot = albums["Card Deck"], albums["Zodiac"], albums["Tarot"]
    assert cards["id"] == made and cards["created_by"] == "system"
    generation = json.loads(cards["generation_config"])
    assert len(generation.pop("source_sha256")) == 64
    assert generation == {"legacy_slug": "card_deck", "slug": "cards", "set_key": "card_deck", "width": 512,
                          "height": 720, "negative_prompt": "blurry"}  # fmt: skip  # merged: the server's keys stay
    assert cards["generation_prompt"] == "A playing card" and json.loads(cards["csv_data"]) == CARDS
    assert (signs["album_type"], signs["created_by"], signs["is_public"], signs["is_training_source"]) == (
        "deck", "astro", False, True)  # fmt: skip
    signs_generation = json.loads(signs["generation_config"])
    assert set(signs_generation) == {"legacy_slug", "set_key", "source_sha256"}  # no null width/height/prompt
    assert signs_generation["legacy_slug"] == "stars"
    assert (signs["description"], signs["generation_prompt"], signs["lora_config"]) == ("", None, "[]")
    tarot_generation = json.loads(tarot["generation_config"])
    assert {k: tarot_generation[k] for k in ("sampler", "legacy_slug", "set_key")} == {
        "sampler": "euler", "legacy_slug": "arcana", "set_key": "tarot"}  # fmt: skip
    assert (tarot["album_type"], tarot["created_by"], tarot["is_public"], tarot["is_training_source"]) == (
        "set", "imgops", True, False)  # fmt: skip
    assert not has_table(url, "batch_templates") and not has_table(url, "imgops_batch_templates")
    assert set(history(url)) == {"sets_to_albums_v1", "sets_to_albums"}

    again = run_sets(config)
    assert again.changed is False and again.summary["server_migration"] is True
    execute(url, text("UPDATE albums SET generation_config = :g WHERE id = :id"),
            {"g": json.dumps({**generation, "slug": "deck", "legacy_slug": "renamed"}), "id": made})  # fmt: skip
    write_sets(tmp_path / "sets", {**sets, "card_deck": {**{k: v for k, v in CARD_SET.items() if k != "width"},
                                                         "height": 600}})  # fmt: skip
    changed = run_sets(config)
    assert [a.kind for a in changed.actions] == ["update_album"]
    merged = json.loads(by_name(url, "albums")["Card Deck"]["generation_config"])
    assert (merged["slug"], merged["legacy_slug"], merged["height"]) == ("deck", "renamed", 600)
    assert "width" not in merged  # a key imgops owns, now without a value: left out, not null


@pytest.mark.parametrize("server", cases("seed+separation+removal", postgres=()), indirect=True)
def test_a_database_no_variant_matches_is_refused_and_nothing_is_written(
    tmp_path: Path, server: Any, venv_bin: Path
) -> None:
    url, _variant = server
    execute(url, text("ALTER TABLE albums DROP COLUMN generation_prompt"))
    platform = make_platform(tmp_path, url, {"card_deck": CARD_SET})
    code, refused = imgops_json(venv_bin, platform, "sets")
    message = refused["msg"]
    assert code == 1
    assert "matches no known server schema" in message and "albums.generation_prompt" in message
    assert rows(url, "batch_templates") == {} and not has_table(url, "imgops_batch_templates")


@pytest.mark.parametrize("server", cases("seed", postgres=()), indirect=True)
def test_after_the_server_moves_templates_out_of_albums_the_sets_go_to_batch_templates(
    tmp_path: Path, server: Any
) -> None:
    url, _variant = server
    config = load_config(make_platform(tmp_path, url, {"card_deck": CARD_SET, "zodiac": ZODIAC_SET}), environ={})
    assert run_sets(config).summary["created"] == 2
    albums = rows(url, "albums")
    upgrade_server_schema(url, "separation")  # the fixture keeps the albums the real script would delete
    moved = run_sets(config)  # the record of the last sync (albums) must not pass for this one
    assert (moved.summary["target"], moved.summary["generation"], moved.summary["created"]) == (
        "batch_templates", "seed+separation", 2)  # fmt: skip
    assert set(by_name(url, "batch_templates")) == {"Card Deck", "Zodiac"}
    after = rows(url, "albums")
    assert {
        i: {k: v for k, v in row.items() if k not in ("source_type", "source_id")} for i, row in after.items()
    } == albums
    assert run_sets(config).changed is False
