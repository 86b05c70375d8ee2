"""Legacy import stages on their own: sidecar coercion, naming, collection of odd trees."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from imgops.db.imgops_tables import assets
from imgops.fs import place_file
from imgops.fs.stale import remove_stale_temporaries
from imgops.legacy.collect import collect
from imgops.legacy.ingest import path_forms
from imgops.legacy.manifest import render_manifest, write_manifest
from imgops.legacy.sidecar import coerce_metadata, name_timestamp, read_sidecar
from imgops.legacy.stage import StagedNames, sha256_file, slug, stage_file, staged_name, unique_names


def test_sidecar_values_are_coerced_where_safe_and_dropped_otherwise() -> None:
    meta, problems = coerce_metadata(
        {"prompt": "a cat", "seed": "42", "steps": 30.0, "width": "wide", "height": True, "guidance_scale": "7.5",
         "timestamp": "2025-10-13T20:41:36.123456+02:00", "lora": {"path": "/m/x.safetensors", "weight": "0.6"}}
    )  # fmt: skip
    assert (meta.seed, meta.steps, meta.width, meta.height, meta.guidance_scale) == (42, 30, None, None, 7.5)
    assert meta.timestamp == datetime(2025, 10, 13, 18, 41, 36, 123456)
    assert meta.loras == [{"path": "/m/x.safetensors", "weight": 0.6}]
    assert sorted(p.split(":")[0] for p in problems) == ["height", "width"]


def test_both_lora_forms_become_one_list_and_bad_items_are_reported() -> None:
    meta, problems = coerce_metadata({"loras": [{"path": "/a.safetensors", "weight": 0.4}, {"weight": 1}, "x"]})
    assert meta.loras == [{"path": "/a.safetensors", "weight": 0.4}]
    assert problems == ["loras[1]: dropped, no path", "loras[2]: dropped, no path"]
    meta, problems = coerce_metadata({"seed": 2**40})
    assert meta.seed is None and problems and problems[0].startswith("seed:")


def test_a_broken_sidecar_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"prompt": "trunc', encoding="utf-8")
    (tmp_path / "y.json").write_text("[1, 2]", encoding="utf-8")
    assert read_sidecar(tmp_path / "x.json")[1][0].startswith("unreadable sidecar")
    assert read_sidecar(tmp_path / "y.json")[1] == ["sidecar is a JSON list, not an object"]


def test_names_are_sanitised_deterministically() -> None:
    assert name_timestamp("20251013_204136_a-cat") == datetime(2025, 10, 13, 20, 41, 36)
    assert name_timestamp("Free Name Study") is None
    assert name_timestamp("20251399_204136_not-a-date") is None
    assert slug("Art Nouveau Posters") == "art-nouveau-posters"
    assert slug("card_deck_20251013_204136") == "card-deck-20251013-204136"
    assert staged_name("Free Name Study.PNG") == "free-name-study.png"
    assert staged_name("Sub Dir/plate 01.JPEG") == "sub-dir--plate-01.jpeg"
    assert staged_name("caf\udce9.png") == "caf.png"


def test_collect_classifies_a_tree_and_refuses_symlinks_leaving_the_roots(tmp_path: Path) -> None:
    outputs, packs, outside = tmp_path / "outputs", tmp_path / "packs", tmp_path / "elsewhere"
    for folder in (outputs / "zodiac_20250101_000000", outputs / "lora_tests" / "ink wash", outputs / "thumbnails",
                   outputs / "misc", packs / "My Pack", outside):  # fmt: skip
        folder.mkdir(parents=True)
    for path in (outputs / "a.png", outputs / "A.PNG", outputs / "zodiac_20250101_000000" / "leo.webp",
                 outputs / "lora_tests" / "ink wash" / "r.jpg", outputs / "thumbnails" / "t.png",
                 packs / "My Pack" / "p 1.jpeg", outside / "secret.png"):  # fmt: skip
        path.write_bytes(path.name.encode())
    (outputs / "a.json").write_text('{"seed": 1}', encoding="utf-8")
    (outputs / "lost.json").write_text("{}", encoding="utf-8")
    (packs / "My Pack" / "manifest.json").write_text('{"artist": "X"}', encoding="utf-8")
    (outputs / "notes.txt").write_text("hi", encoding="utf-8")
    (outputs / "lora_tests" / "loose.png").write_bytes(b"loose")
    os.symlink(outside / "secret.png", outputs / "leak.png")
    os.symlink(outputs / "a.png", outputs / "alias.png")
    with open(os.fsencode(outputs) + b"/caf\xe9.png", "wb") as handle:
        handle.write(b"latin-1 name")

    listings = list(collect(outputs, packs))
    files = {(f.category, f.group, str(f.relative)) for listing in listings for f in listing.files}
    assert files == {
        ("singles", "", "A.PNG"), ("singles", "", "a.png"), ("singles", "", "alias.png"),
        ("singles", "", "caf\udce9.png"), ("zodiac", "zodiac_20250101_000000", "leo.webp"),
        ("lora", "ink wash", "r.jpg"), ("packs", "My Pack", "p 1.jpeg"),
    }  # fmt: skip
    skipped = {(p.name, reason) for listing in listings for p, reason in listing.skipped}
    assert skipped == {("leak.png", "symlink_outside_roots"), ("notes.txt", "not_an_image"),
                       ("misc", "not_a_source_folder"), ("loose.png", "not_in_an_experiment_folder")}  # fmt: skip
    assert [p.name for listing in listings for p in listing.orphans] == ["lost.json"]
    root = listings[0]
    assert {f.name: f.sidecar.name if f.sidecar else None for f in root.files}["a.png"] == "a.json"
    names = unique_names(root.files)
    assert len(set(names.values())) == len(names)  # a.png and A.PNG do not collide
    assert names["alias.png"] == "alias.png"


def test_staging_never_overwrites_a_different_file(tmp_path: Path) -> None:
    source, other = tmp_path / "src.png", tmp_path / "other.png"
    source.write_bytes(b"source bytes")
    other.write_bytes(b"something else")
    digest = sha256_file(source)
    for mode in ("hardlink", "copy", "symlink"):
        target = tmp_path / mode / "x.png"
        assert stage_file(source, target, digest, mode, dry_run=False).state == "placed"
        assert target.read_bytes() == b"source bytes"
        assert stage_file(source, target, digest, mode, dry_run=False).state == "present"
    assert os.path.samefile(source, tmp_path / "hardlink" / "x.png")
    assert not os.path.samefile(source, tmp_path / "copy" / "x.png")
    assert os.readlink(tmp_path / "symlink" / "x.png") == str(source)
    place_file(other, tmp_path / "taken.png", "copy")
    assert stage_file(source, tmp_path / "taken.png", digest, "copy", dry_run=False).state == "conflict"
    assert (tmp_path / "taken.png").read_bytes() == b"something else"
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["x.png"]  # no partial file left
    assert stage_file(source, tmp_path / "dry" / "x.png", digest, "copy", dry_run=True).state == "placed"
    assert not (tmp_path / "dry").exists()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.text(), _json_values, max_size=4), max_size=4), st.text(min_size=1))
def test_a_manifest_reads_back_as_yaml_whatever_the_text_in_it(extras: list[dict], album: str) -> None:
    entries = [{**extra, "album": album, "staged_path": f"decks/x/{i:03d}.png"} for i, extra in enumerate(extras)]
    text = render_manifest("decks/x", entries)
    assert yaml.safe_load(text) == {"folder": "decks/x", "albums": sorted({album} if entries else set()),
                                    "count": len(entries), "assets": entries}  # fmt: skip
    assert render_manifest("decks/x", list(reversed(entries))) == text


def test_a_hostile_sidecar_is_one_problem_never_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.json")  # open() on it would block until a writer came
    (tmp_path / "huge.json").write_bytes(b'{"prompt": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    (tmp_path / "twice.json").write_text('{"seed": 1, "seed": 2}', encoding="utf-8")
    for name, reason in (("fifo.json", "is a FIFO"), ("huge.json", "larger than"), ("deep.json", "nested"),
                         ("twice.json", "duplicate")):  # fmt: skip
        meta, problems = read_sidecar(tmp_path / name)
        assert meta.seed is None and len(problems) == 1 and reason in problems[0], (name, problems)
        assert str(tmp_path) not in problems[0]  # the notice names the file once, before the problem


def test_stale_temporaries_of_imgops_naming_are_removed_and_nothing_else(tmp_path: Path) -> None:
    names = [".manifest.yaml.k2j_x9aa.tmp", ".card 00.png.imgops-partial", "manifest.yaml", "a.tmp", ".a.tmp",
             ".notes.txt.swp", "card.png"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    os.symlink(tmp_path / "card.png", tmp_path / ".link.png.imgops-partial")
    assert remove_stale_temporaries(tmp_path, re.compile(r"manifest\.yaml")) == [".manifest.yaml.k2j_x9aa.tmp"]
    assert remove_stale_temporaries(tmp_path) == [".card 00.png.imgops-partial"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*names[2:], ".link.png.imgops-partial"])


def test_a_fifo_where_a_manifest_was_is_replaced_not_read(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assets.metadata.create_all(engine, tables=[assets])
    (tmp_path / "legacy" / "decks" / "d").mkdir(parents=True)
    os.mkfifo(tmp_path / "legacy" / "decks" / "d" / "manifest.yaml")
    (tmp_path / "legacy" / "decks" / "d" / ".manifest.yaml.abcd1234.tmp").write_text("half", encoding="utf-8")
    changed, removed = write_manifest(engine, "h", tmp_path / "legacy", "decks/d")
    assert changed and removed == [".manifest.yaml.abcd1234.tmp"]
    written = tmp_path / "legacy" / "decks" / "d" / "manifest.yaml"
    assert written.is_file() and yaml.safe_load(written.read_text(encoding="utf-8"))["count"] == 0
    engine.dispose()


_SEGMENTS = st.sampled_from(["", ".", "..", "srv", "outputs", "data", "legacy", "a b", "caf\u00e9", "x.png"])


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(_SEGMENTS, min_size=1, max_size=7),
    bases=st.lists(st.lists(_SEGMENTS, min_size=1, max_size=3), max_size=3),
)
def test_path_forms_shared_per_folder_equal_the_forms_of_the_whole_path(segments, bases) -> None:
    """The per-folder shortcut gives what normalising the whole path and stripping each base gives."""
    path = "/" + "/".join(segments)
    prefixes = tuple(os.path.join(os.path.normpath("/" + "/".join(base)), "") for base in bases)
    whole = os.path.normpath(path)
    expected = [whole, *(whole[len(prefix) :] for prefix in prefixes if whole.startswith(prefix))]
    assert path_forms(path, prefixes) == expected


def test_staged_names_answer_from_one_listing_per_folder(tmp_path: Path) -> None:
    for folder in ("decks/a", "decks/b"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "x.png").write_bytes(b"x")
    (tmp_path / "decks" / "a" / "dangling.png").symlink_to(tmp_path / "nowhere")  # a name there, as lexists says
    names = StagedNames(tmp_path, folders_held=1)
    assert not names.holds("singles/2025-01/x.png")  # no such folder
    assert names.holds("decks/a/x.png") and names.holds("decks/a/dangling.png") and not names.holds("decks/a/y.png")
    (tmp_path / "decks" / "a" / "x.png").unlink()  # after the listing: the held one still answers
    assert names.holds("decks/a/x.png")
    assert names.holds("decks/b/x.png")  # the one folder held is now decks/b: decks/a is listed again
    assert not names.holds("decks/a/x.png")
