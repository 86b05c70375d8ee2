"""Loading sets: config.yaml and its CSVs become templates, and every problem names its file, set and row or key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from imgops.sets.load import load_sets, placeholder_problems


def write_sets(sets_dir: Path, config: Any, csvs: dict[str, bytes | str]) -> None:
    sets_dir.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    (sets_dir / "config.yaml").write_text(text, encoding="utf-8")
    for name, content in csvs.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (sets_dir / name).write_bytes(data)


def deck(**overrides: Any) -> dict[str, Any]:
    return {"name": "Card Deck", "csv_path": "cards.csv", "prompt_template": "{value} of {suit}", **overrides}


def test_a_valid_set_is_parsed_with_its_rows_in_header_order(tmp_path: Path) -> None:
    csv_text = '\ufeffvalue,suit\nAce,Hearts\n\n"10, ten",Spades\n'  # a BOM, a blank line, a quoted comma
    write_sets(tmp_path, {"deck": deck(width=512, height=720, loras=[{"path": "l.safetensors", "weight": 1}])},
               {"cards.csv": csv_text})  # fmt: skip
    sets, unchanged, problems = load_sets(tmp_path)
    assert problems == [] and unchanged == []
    [card_deck] = sets
    assert (card_deck.key, card_deck.name, card_deck.csv_path) == ("deck", "Card Deck", tmp_path / "cards.csv")
    assert card_deck.columns == ("value", "suit")
    assert card_deck.rows == ({"value": "Ace", "suit": "Hearts"}, {"value": "10, ten", "suit": "Spades"})
    assert (card_deck.width, card_deck.height) == (512, 720)
    assert card_deck.loras == ({"path": "l.safetensors", "weight": 1.0},)
    assert len(card_deck.fingerprint) == 64 and len(card_deck.csv_sha256) == 64


def test_a_csv_path_outside_the_sets_folder_is_used_only_when_allowed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_sets(elsewhere, {}, {"signs.csv": "sign\nLeo\n"})
    write_sets(tmp_path / "sets", {"zodiac": deck(csv_path=str(elsewhere / "signs.csv"), prompt_template="{sign}")},
               {})  # fmt: skip
    sets, _, problems = load_sets(tmp_path / "sets")
    assert sets == [] and [(p["set"], p.get("column")) for p in problems] == [("zodiac", "csv_path")]
    assert "Leo" not in str(problems)
    sets, _, problems = load_sets(tmp_path / "sets", allow_csv_outside=True)
    assert problems == []
    assert sets[0].csv_path == elsewhere / "signs.csv" and sets[0].rows == ({"sign": "Leo"},)


def test_every_problem_of_the_config_is_reported_with_its_set_and_key(tmp_path: Path) -> None:
    config = {
        "no_name": {"csv_path": "cards.csv", "prompt_template": "{value}"},
        "bad_sizes": deck(width=0, height="tall", description=7),
        "bad_loras": deck(loras=[{"path": "", "weight": "heavy"}, "just a string"]),
        "not_a_mapping": ["a", "list"],
    }
    config = {
        key: {**spec, "name": key} if isinstance(spec, dict) and "name" in spec else spec
        for key, spec in config.items()
    }
    write_sets(tmp_path, config, {"cards.csv": "value,suit\nAce,Hearts\n"})
    sets, _, problems = load_sets(tmp_path)
    config_file = str(tmp_path / "config.yaml")
    found = {(p["set"], p.get("column"), p["message"]) for p in problems}
    assert all(p["file"] == config_file for p in problems)
    assert found == {
        ("no_name", "name", "required key 'name' is missing or empty"),
        ("bad_sizes", "width", "'width' must be a positive integer, not 0"),
        ("bad_sizes", "height", "'height' must be a positive integer, not 'tall'"),
        ("bad_sizes", "description", "'description' must be text"),
        ("bad_loras", "loras[0].path", "LoRA has no path"),
        ("bad_loras", "loras[0].weight", "LoRA weight must be a finite number, not 'heavy'"),
        ("bad_loras", "loras[1]", "each LoRA must be a mapping with path and weight"),
        ("not_a_mapping", None, "set must be a mapping, not list"),
    }
    # A set whose problems are only in optional keys still loads; one missing a required key does not.
    assert sorted(s.key for s in sets) == ["bad_loras", "bad_sizes"]


def test_csv_problems_name_the_csv_file_and_the_row(tmp_path: Path) -> None:
    config = {
        "short_row": deck(csv_path="short.csv"),
        "duplicate": deck(csv_path="duplicate.csv"),
        "latin1": deck(csv_path="latin1.csv"),
        "missing": deck(csv_path="missing.csv"),
        "headless": deck(csv_path="empty.csv"),
        "unknown_column": deck(csv_path="cards.csv", prompt_template="{value} of {colour}"),
    }
    config = {key: {**spec, "name": key} for key, spec in config.items()}  # each set needs a name of its own
    write_sets(tmp_path, config, {
        "short.csv": "value,suit\nAce,Hearts\nKing\n",
        "duplicate.csv": "value,suit,value\nAce,Hearts,1\n",
        "latin1.csv": "value,suit\nAs,C\xe6ur\n".encode("latin-1"),
        "empty.csv": "",
        "cards.csv": "value,suit\nAce,Hearts\n",
    })  # fmt: skip
    sets, _, problems = load_sets(tmp_path)
    by_set = {p["set"]: p for p in problems}
    assert set(by_set) == set(config) and len(problems) == len(config)
    assert by_set["short_row"] == {"message": "row has 1 cells, the header has 2", "file": str(tmp_path / "short.csv"),
                                   "set": "short_row", "row": 3}  # fmt: skip
    # Header problems name column numbers, never a cell of the file.
    assert by_set["duplicate"]["message"] == "column 3 repeats the name of column 1 in the header"
    assert by_set["latin1"]["message"] == "CSV is not UTF-8 (byte 15)"
    assert by_set["missing"]["message"] == f"csv {tmp_path / 'missing.csv'}: file not found"
    assert (by_set["missing"]["file"], by_set["missing"]["set"]) == (str(tmp_path / "missing.csv"), "missing")
    assert (by_set["headless"]["message"], by_set["headless"]["row"]) == ("CSV has no header row", 1)
    assert by_set["unknown_column"]["file"] == str(tmp_path / "cards.csv")
    assert by_set["unknown_column"]["column"] == "colour"
    assert by_set["unknown_column"]["message"] == "placeholder {colour} in prompt_template is not a CSV column"
    # What could be parsed is still returned (the job writes nothing while any problem is reported);
    # a short row is dropped with its problem; an unreadable or headless CSV gives no set.
    assert {s.key: len(s.rows) for s in sets} == {"short_row": 1, "duplicate": 1, "unknown_column": 1}


def test_an_unreadable_config_is_one_problem_naming_it(tmp_path: Path) -> None:
    config_file = str(tmp_path / "config.yaml")
    assert load_sets(tmp_path) == ([], [], [{"message": "sets config not found", "file": config_file, "set": None}])
    write_sets(tmp_path, "deck: [unclosed\n", {})
    _, _, problems = load_sets(tmp_path)
    assert len(problems) == 1 and "invalid YAML" in problems[0]["message"] and problems[0]["file"] == config_file
    write_sets(tmp_path, "- a list\n", {})
    _, _, problems = load_sets(tmp_path)
    assert problems[0]["message"] == "top level must be a mapping of set keys, not list"


def test_a_set_whose_fingerprint_is_known_is_passed_over_until_its_csv_changes(tmp_path: Path) -> None:
    write_sets(tmp_path, {"deck": deck()}, {"cards.csv": "value,suit\nAce,Hearts\n"})
    [first], _, _ = load_sets(tmp_path)
    sets, unchanged, problems = load_sets(tmp_path, known={"deck": first.fingerprint})
    assert sets == [] and problems == []
    assert [(u.key, u.name, u.fingerprint, u.csv_sha256) for u in unchanged] == [
        ("deck", "Card Deck", first.fingerprint, first.csv_sha256)
    ]
    (tmp_path / "cards.csv").write_text("value,suit\nAce,Spades\n", encoding="utf-8")
    sets, unchanged, _ = load_sets(tmp_path, known={"deck": first.fingerprint})
    assert unchanged == [] and sets[0].rows == ({"value": "Ace", "suit": "Spades"},)
    assert sets[0].fingerprint != first.fingerprint


def test_placeholders_are_the_plain_field_names_a_template_uses() -> None:
    assert placeholder_problems("{card} ({number}), {meaning} {{literal}}") == (["card", "number", "meaning"], [])
    names, wrong = placeholder_problems("{card.title} {row[0]} {value:>999} {x!r} {0}")
    assert names == [] and len(wrong) == 5 and all("only plain {column}" in w for w in wrong)
