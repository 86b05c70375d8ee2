"""Sets -> albums on a server-made database (SQLite and PostgreSQL): schema step, sync, identity, validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, insert, inspect, select, text

from imgops.config import load_config
from imgops.contracts import problems
from imgops.db.models import Album
from imgops.sets import run_sets
from imgops_testing.platform import DemoPlatform

ROOT = Path(__file__).resolve().parents[2]


def albums(url: str) -> dict[str, dict]:
    engine = create_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("albums")}
        rows = conn.execute(select(Album.__table__.c[*sorted(columns)])).mappings().all()
    engine.dispose()
    return {row["name"]: dict(row) for row in rows}


def edit_sets(platform: DemoPlatform, change) -> None:
    path = platform.sets_dir / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def config_of(platform: DemoPlatform):
    return load_config(platform.imgops_config, environ={})


def test_first_run_adds_columns_and_creates_albums_then_nothing(demo_platform: DemoPlatform) -> None:
    config = config_of(demo_platform)
    first = run_sets(config)
    kinds = [a.kind for a in first.actions]
    assert kinds.count("add_column") == 7 and kinds.count("create_album") == 3
    assert problems(first.to_dict(), "sets_result") == []
    rows = albums(demo_platform.database_url)
    deck, tarot = rows["Card Deck Template"], rows["Major Arcana"]
    assert deck["album_type"] == "set" and deck["is_set_template"] is True and deck["is_public"] is True
    assert deck["created_by"] == "imgops"
    cards = json.loads(deck["csv_data"])
    assert len(cards) == 54 and cards[0] == {"value": "Ace", "suit": "Hearts"} and list(cards[0]) == ["value", "suit"]
    arcana = json.loads(tarot["csv_data"])  # this CSV starts with a BOM and has quoted cells with commas and quotes
    assert list(arcana[0]) == ["number", "card", "meaning"]
    assert arcana[0]["meaning"] == 'The Fool: beginnings, endings, and the road between, "as told"'
    assert json.loads(deck["lora_config"]) == [
        {"path": "/mnt/speedy/imagineer/models/lora/cards.safetensors", "weight": 0.5}
    ]
    assert json.loads(tarot["lora_config"]) == []
    generation = json.loads(deck["generation_config"])
    assert len(generation.pop("source_sha256")) == 64
    assert generation == {"set_key": "card_deck", "width": 512, "height": 720, "negative_prompt": "blurry, low quality",
                          "legacy_slug": "card_deck"}  # fmt: skip
    assert json.loads(rows["Zodiac Signs"]["csv_data"])[11] == {"sign": "Pisces", "element": "Water"}

    second = run_sets(config)
    assert second.changed is False and second.actions == [] and second.summary["unchanged"] == 3
    assert albums(demo_platform.database_url) == rows  # not even updated_at moved
    engine = create_engine(demo_platform.database_url)
    with engine.connect() as conn:
        history = conn.execute(text("SELECT name, details FROM migration_history")).all()
    engine.dispose()
    assert [h.name for h in history] == ["sets_to_albums"]
    assert json.loads(history[0].details)["created"] == 3


def test_an_album_made_earlier_under_the_same_name_is_adopted(demo_platform: DemoPlatform) -> None:
    engine = create_engine(demo_platform.database_url)
    with engine.begin() as conn:
        earlier = insert(Album.__table__).values(
            name="Card Deck Template", album_type="set", created_by="migrate_sets_to_albums.py"
        )
        old_id = conn.execute(earlier).inserted_primary_key[0]
    engine.dispose()
    result = run_sets(config_of(demo_platform))
    assert result.summary["adopted"] == 1 and result.summary["created"] == 2
    rows = albums(demo_platform.database_url)
    assert len([name for name in rows if name == "Card Deck Template"]) == 1
    assert rows["Card Deck Template"]["id"] == old_id
    assert rows["Card Deck Template"]["created_by"] == "migrate_sets_to_albums.py"
    assert rows["Card Deck Template"]["is_set_template"] is True


def test_rename_and_changed_csv_update_the_same_album_with_a_diff(demo_platform: DemoPlatform) -> None:
    config = config_of(demo_platform)
    run_sets(config)
    before = albums(demo_platform.database_url)
    edit_sets(demo_platform, lambda d: d["card_deck"].update(name="Playing Cards"))
    csv_path = demo_platform.sets_dir / "card_deck.csv"
    csv_path.write_text(csv_path.read_text(encoding="utf-8").replace("Ace,Hearts", "Ace,\"Hearts, red\""),
                        encoding="utf-8")  # fmt: skip
    planned = run_sets(config, dry_run=True)
    assert planned.changed and albums(demo_platform.database_url) == before
    result = run_sets(config)
    after = albums(demo_platform.database_url)
    assert "Card Deck Template" not in after
    assert after["Playing Cards"]["id"] == before["Card Deck Template"]["id"]
    assert json.loads(after["Playing Cards"]["csv_data"])[0] == {"value": "Ace", "suit": "Hearts, red"}
    assert result.diff["before"]["card_deck"]["name"] == "Card Deck Template"
    assert result.diff["after"]["card_deck"]["name"] == "Playing Cards"
    assert result.diff["after"]["card_deck"]["csv_data"].startswith("54 rows, sha256 ")
    assert [a.kind for a in result.actions] == ["update_album"]


def test_removed_sets_are_reported_and_pruned_only_when_asked(demo_platform: DemoPlatform) -> None:
    config = config_of(demo_platform)
    run_sets(config)
    edit_sets(demo_platform, lambda d: d.pop("zodiac"))
    kept = run_sets(config)
    assert kept.changed is False and kept.summary["removed"] == ["zodiac"]
    assert "no longer in the sets config" in kept.notices[0]["message"]
    assert albums(demo_platform.database_url)["Zodiac Signs"]["is_set_template"] is True
    pruned = run_sets(config, prune=True)
    assert [a.kind for a in pruned.actions] == ["prune_album"]
    zodiac = albums(demo_platform.database_url)["Zodiac Signs"]
    assert zodiac["is_set_template"] is False and zodiac["csv_data"]  # an ordinary album now, never deleted
    assert run_sets(config, prune=True).changed is False


def test_every_validation_problem_is_reported_and_nothing_is_written(demo_platform: DemoPlatform) -> None:
    sets_dir = demo_platform.sets_dir
    (sets_dir / "empty.csv").write_text("", encoding="utf-8")
    (sets_dir / "ragged.csv").write_text("a,b\n1,2\n3\n", encoding="utf-8")

    def break_everything(data: dict) -> None:
        data["card_deck"]["prompt_template"] = "{value} of {colour}"
        data["card_deck"]["width"] = -5
        data["card_deck"]["loras"] = [{"path": "", "weight": "strong"}]
        data["tarot"].pop("name")
        data["zodiac"]["csv_path"] = "missing.csv"
        data["empty"] = {"name": "Empty", "csv_path": "empty.csv", "prompt_template": "{a}"}
        data["ragged"] = {"name": "Ragged", "csv_path": "ragged.csv", "prompt_template": "{a}", "height": "tall"}
        data["scalar"] = "not a mapping"

    edit_sets(demo_platform, break_everything)
    result = run_sets(config_of(demo_platform))
    found = {(e["set"], e.get("column"), e.get("row")): e["message"] for e in result.errors}
    assert "not a CSV column" in found[("card_deck", "colour", None)]
    assert "positive integer" in found[("card_deck", "width", None)]
    assert "no path" in found[("card_deck", "loras[0].path", None)]
    assert "must be a finite number" in found[("card_deck", "loras[0].weight", None)]
    assert "'name' is missing" in found[("tarot", "name", None)]
    assert "not found" in found[("zodiac", None, None)]
    assert "no header" in found[("empty", None, 1)]
    assert "1 cells, the header has 2" in found[("ragged", None, 3)]
    assert "positive integer" in found[("ragged", "height", None)]
    assert "must be a mapping" in found[("scalar", None, None)]
    assert all(e["file"] for e in result.errors)
    assert result.actions == [] and problems(result.to_dict(), "sets_result") == []
    columns = {c["name"] for c in inspect(create_engine(demo_platform.database_url)).get_columns("albums")}
    assert "csv_data" not in columns and albums(demo_platform.database_url) == {}
    cli = subprocess.run([sys.executable, "-m", "imgops.cli", "--config", str(demo_platform.imgops_config), "sets"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert cli.returncode == 1 and "colour" in cli.stdout


def test_check_mode_and_diff_through_the_module(demo_platform: DemoPlatform, ansible_env: dict[str, str]) -> None:
    env = {**ansible_env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    argv = ["ansible", "localhost", "-m", "imgops_sets", "-a", f"config={demo_platform.imgops_config}"]
    checked = subprocess.run(
        [*argv, "--check", "--diff"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = json.loads(checked.stdout.split(" => ", 1)[1])
    assert planned["changed"] and planned["dry_run"] and problems(planned, "sets_result") == []
    columns = {c["name"] for c in inspect(create_engine(demo_platform.database_url)).get_columns("albums")}
    assert "is_set_template" not in columns  # check mode altered nothing
    ran = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    applied = json.loads(ran.stdout.split(" => ", 1)[1])
    assert [a["kind"] for a in applied["actions"]] == [a["kind"] for a in planned["actions"]]
    assert len(albums(demo_platform.database_url)) == 3


RACER = """
import sys, time
from pathlib import Path
from imgops.config import load_config
from imgops.sets import run_sets
config = load_config(sys.argv[1], environ={})
while not Path(sys.argv[2]).exists():  # everything imported and loaded: start together
    time.sleep(0.001)
run_sets(config)
"""


@pytest.mark.postgres
def test_racing_runs_on_postgresql_make_no_duplicates(tmp_path: Path, postgres_server) -> None:
    from imgops_testing.platform import build_platform

    database = postgres_server.create_database()
    try:
        platforms = [build_platform(tmp_path / "a", database_url=postgres_server.url(database))]
        # A second host with its own state folder (so only the database can serialise the two runs).
        second = yaml.safe_load(platforms[0].imgops_config.read_text(encoding="utf-8"))
        second["paths"]["state_dir"] = str(tmp_path / "b-state")
        (platforms[0].root / "b.yml").write_text(yaml.safe_dump(second), encoding="utf-8")
        configs = [platforms[0].imgops_config, platforms[0].root / "b.yml"] * 3
        go = tmp_path / "go"
        runners = [subprocess.Popen([sys.executable, "-c", RACER, str(c), str(go)]) for c in configs]
        time.sleep(2)
        go.touch()
        assert [r.wait() for r in runners] == [0] * len(runners)
        names = sorted(albums(postgres_server.url(database)))
        assert names == ["Card Deck Template", "Major Arcana", "Zodiac Signs"]
    finally:
        postgres_server.drop_database(database)


def test_the_record_of_the_last_sync_never_hides_a_change(demo_platform: DemoPlatform) -> None:
    """A no-op run may skip parsing when bytes and albums are as recorded; any other change is still seen."""
    config = config_of(demo_platform)
    run_sets(config)
    record = config.state_dir / "sets-sources.json"
    assert set(json.loads(record.read_text(encoding="utf-8"))["sets"]) == {"card_deck", "tarot", "zodiac"}
    assert run_sets(config).summary["unchanged"] == 3

    csv_path = demo_platform.sets_dir / "zodiac.csv"  # same size, same mtime, other bytes
    before = csv_path.stat()
    csv_path.write_bytes(csv_path.read_bytes().replace(b"Pisces", b"Piscez"))
    os.utime(csv_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed = run_sets(config)
    assert [(a.kind, a.target) for a in changed.actions] == [("update_album", "Zodiac Signs")]
    assert json.loads(albums(demo_platform.database_url)["Zodiac Signs"]["csv_data"])[11]["sign"] == "Piscez"

    engine = create_engine(demo_platform.database_url)  # another host's sync rewrote an album meanwhile
    with engine.begin() as conn:
        conn.execute(text("UPDATE albums SET generation_config = '{}' WHERE name = 'Major Arcana'"))
    engine.dispose()
    assert [a.target for a in run_sets(config).actions] == ["Major Arcana"]

    edit_sets(demo_platform, lambda data: data["card_deck"].update(name="Card Deck"))
    assert [(a.kind, a.target) for a in run_sets(config).actions] == [("update_album", "Card Deck")]

    record.write_text("{not json", encoding="utf-8")
    assert run_sets(config).changed is False
    assert json.loads(record.read_text(encoding="utf-8"))["sets"]["card_deck"]["name"] == "Card Deck"
