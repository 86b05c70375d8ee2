"""imgops' schemas of the server's responses against objects serialised as the server serialises them.

The samples come from ``server_samples`` (rows in a SQLite database built from SERVER_FACTS, serialised
by ``server_serializers``). Each schema must accept every sample of both generations, reject a sample that
lacks a required key or carries a key of the wrong type, and tell the generations apart. Where the server
ships its own schema (SERVER_FACTS 7.9, transcribed in ``server_schemas/``), every sample valid for imgops
must be valid there too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from server_samples import SAMPLES
from server_serializers import GENERATIONS, HEAD, SEED

from imgops.contracts import problems
from imgops.contracts._schemas import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
SERVER_SCHEMAS = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((Path(__file__).parent / "server_schemas").glob("*.json"))
}
# imgops schema -> the server's own schema for the same object (HEAD); the generations it existed at.
SERVER_SCHEMA_OF = {
    "album_detail": ("album_detail_response", (HEAD,)),
    "training_status": ("training_run_response", (HEAD,)),
    "queue_job": ("job", GENERATIONS),
    "bug_report_receipt": ("bug_report_submission_response", GENERATIONS),
}
CASES = [
    (schema, generation, label, sample)
    for schema, by_generation in SAMPLES.items()
    for generation, samples in by_generation.items()
    for label, sample in samples
]
WRONG_TYPED_VALUES = [{"wrong": "type"}, ["wrong"], "wrong", 1.5, 7, True, None]
JSON_TYPE = {
    dict: "object",
    list: "array",
    str: "string",
    float: "number",
    int: "integer",
    bool: "boolean",
    type(None): "null",
}


def server_validator(name: str) -> Draft202012Validator:
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in SERVER_SCHEMAS.values()
    )
    return Draft202012Validator(SERVER_SCHEMAS[name], registry=registry)


def case_id(case: tuple[str, str, str, Any]) -> str:
    return f"{case[0]}-{case[1]}-{case[2]}"


def declared_types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    """The JSON types a property schema allows (``$ref`` to the root's ``$defs`` followed)."""
    if "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].removeprefix("#/$defs/")], **schema}
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return set(kinds) | ({"integer"} if "number" in kinds else set())
    values = [schema["const"]] if "const" in schema else schema.get("enum", [])
    return {JSON_TYPE[type(value)] for value in values}


def wrong_value(types: set[str]) -> Any:
    return next(
        v
        for v in WRONG_TYPED_VALUES
        if JSON_TYPE[type(v)] not in types and not (JSON_TYPE[type(v)] == "integer" and "number" in types)
    )


def typed_members(schema: dict[str, Any], sample: dict[str, Any]) -> list[tuple[list[str | int], set[str]]]:
    """(path, allowed types) of every key of ``sample`` the schema types, nested images and labels included."""
    found: list[tuple[list[str | int], set[str]]] = []
    for key in sample:
        found.append(([key], declared_types(schema["properties"][key], schema)))
    if sample.get("images"):
        image_schema = schema["$defs"]["image"]
        image = sample["images"][0]
        found += [(["images", 0, key], declared_types(image_schema["properties"][key], schema)) for key in image]
        if image["labels"]:
            label_schema = schema["$defs"]["label"]
            found += [
                (["images", 0, "labels", 0, key], declared_types(label_schema["properties"][key], schema))
                for key in image["labels"][0]
            ]
    return found


def replaced(sample: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(sample)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def removed(sample: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    out = copy.deepcopy(sample)
    node = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


@pytest.mark.parametrize("schema", sorted(SAMPLES))
def test_every_schema_has_two_samples_per_generation(schema: str) -> None:
    for generation in GENERATIONS:
        assert len(SAMPLES[schema][generation]) >= 2, f"{schema} at {generation}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_servers_serialisation_is_valid(case: tuple[str, str, str, dict[str, Any]]) -> None:
    schema, _, _, sample = case
    assert problems(sample, schema) == []


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_missing_required_key_is_rejected(case: tuple[str, str, str, dict[str, Any]]) -> None:
    schema, _, _, sample = case
    root = SCHEMAS[schema]
    paths: list[list[str | int]] = [[key] for key in root["required"]]
    branch = root.get("else", {}) if "is_training_source" not in sample else {}
    paths += [[key] for key in branch.get("required", []) if key in sample]
    if sample.get("images"):
        paths += [["images", 0, key] for key in root["$defs"]["image"]["required"]]
        if sample["images"][0]["labels"]:
            paths += [["images", 0, "labels", 0, key] for key in root["$defs"]["label"]["required"]]
    for path in paths:
        assert problems(removed(sample, path), schema) != [], f"accepted without {path}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_key_of_the_wrong_type_is_rejected(case: tuple[str, str, str, dict[str, Any]]) -> None:
    schema, _, _, sample = case
    for path, types in typed_members(SCHEMAS[schema], sample):
        assert types, f"{path} has no declared type"
        bad = wrong_value(types)
        assert problems(replaced(sample, path, bad), schema) != [], f"accepted {path} = {bad!r}"


def first(schema: str, generation: str, label: str) -> dict[str, Any]:
    return copy.deepcopy(next(s for lbl, s in SAMPLES[schema][generation] if lbl.endswith(label)))


def test_album_detail_tells_the_generations_apart() -> None:
    seed = first("album_detail", SEED, "upload album, public")
    head = first("album_detail", HEAD, "head_fresh: upload album, public")
    assert problems({**seed, "slug": "uploads"}, "album_detail") != []
    assert problems({**head, "is_training_source": False}, "album_detail") != []
    head_with_seed_urls = replaced(head, ["images", 0, "download_url"], "/api/images/3/file")
    assert problems(head_with_seed_urls, "album_detail") != []
    seed_with_head_urls = replaced(seed, ["images", 0, "thumbnail_url"], "/images/3/thumbnail")
    assert problems(seed_with_head_urls, "album_detail") != []
    assert problems(replaced(head, ["slug"], "Not A Slug"), "album_detail") != []
    assert problems(replaced(seed, ["created_at"], "2025-11-02T09:00:01Z"), "album_detail") != []


def test_label_counts_come_together() -> None:
    admin = first("album_detail", SEED, "include_labels")
    assert problems(removed(admin, ["images", 0, "manual_label_count"]), "album_detail") != []


def test_training_status_for_a_public_caller_hides_the_sensitive_fields() -> None:
    public = first("training_status", HEAD, "completed run, public")
    for key in ("training_config", "final_checkpoint", "error_message", "output_path"):
        assert problems(replaced(public, [key], "leaked"), "training_status") != [], key
    admin = first("training_status", HEAD, "completed run, admin")
    assert problems(replaced(admin, ["output_path"], None), "training_status") != []
    assert problems(replaced(admin, ["created_at"], "2025-11-01T10:00:00+00:00"), "training_status") != []


def test_queue_job_shapes_follow_the_status() -> None:
    queued = first("queue_job", HEAD, "queued, next in line")
    running = first("queue_job", HEAD, "running")
    finished = first("queue_job", SEED, "completed")
    assert problems({**queued, "started_at": "2025-11-04T14:04:07"}, "queue_job") != []
    assert problems(replaced(queued, ["queue_position"], 0), "queue_job") != []
    assert problems(replaced(running, ["queue_position"], 2), "queue_job") != []
    assert problems(removed(running, ["started_at"]), "queue_job") != []
    assert problems({**finished, "queue_position": 0}, "queue_job") != []
    assert problems(removed(finished, ["duration_seconds"]), "queue_job") != []
    assert problems({**finished, "seed": None}, "queue_job") != [], "None-valued keys are pruned"
    assert problems({**queued, "album_id": 3}, "queue_job") != [], "album_id or batch_generation_run_id"


def test_bug_report_receipt_stored_at_matches_the_generation() -> None:
    seed = first("bug_report_receipt", SEED, "uuid4 trace id")
    head = first("bug_report_receipt", HEAD, "uuid4 trace id")
    assert problems({**seed, "stored_at": f"database:bug_reports:{seed['report_id']}"}, "bug_report_receipt") != []
    assert problems({**head, "stored_at": "/mnt/storage/imagineer/bug_reports/x.json"}, "bug_report_receipt") != []
    assert problems({**head, "success": False}, "bug_report_receipt") != []


@pytest.mark.parametrize("schema", sorted(SAMPLES))
def test_the_examples_are_real_serialisations(schema: str) -> None:
    examples = SCHEMAS[schema]["examples"]
    everything = [sample for samples in SAMPLES[schema].values() for _, sample in samples]
    assert len(examples) >= 2
    for example in examples:
        assert example in everything
        assert problems(example, schema) == []


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] in SERVER_SCHEMA_OF and c[1] in SERVER_SCHEMA_OF[c[0]][1]], ids=case_id
)
def test_valid_for_imgops_is_valid_for_the_servers_own_schema(case: tuple[str, str, str, dict[str, Any]]) -> None:
    schema, _, _, sample = case
    errors = [e.message for e in server_validator(SERVER_SCHEMA_OF[schema][0]).iter_errors(sample)]
    if "batch_generation_run_id" in sample:  # the documented divergence: job.json predates HEAD's batch runs
        assert errors == ["Additional properties are not allowed ('batch_generation_run_id' was unexpected)"]
    else:
        assert errors == []


def test_a_seed_album_detail_has_no_server_schema_and_lacks_heads_slug() -> None:
    seed = first("album_detail", SEED, "upload album, public")
    errors = [e.message for e in server_validator("album_detail_response").iter_errors(seed)]
    assert errors == ["'slug' is a required property"]


@pytest.mark.parametrize("schema", sorted(SERVER_SCHEMA_OF))
def test_imgops_requires_what_the_server_requires_and_declares_only_what_it_allows(schema: str) -> None:
    ours = SCHEMAS[schema]
    theirs = SERVER_SCHEMAS[SERVER_SCHEMA_OF[schema][0]]
    required = set(ours["required"]) | set(ours.get("else", {}).get("required", []))  # HEAD branch
    assert set(theirs["required"]) <= required
    if theirs.get("additionalProperties") is False:
        extra = set(ours["properties"]) - set(theirs["properties"])
        assert extra <= {"batch_generation_run_id"}, extra


# A queue job's keys are added as the job moves (request, worker, route): it has no fixed order.
@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "queue_job"], ids=case_id)
def test_the_schema_lists_the_keys_in_the_servers_order(case: tuple[str, str, str, dict[str, Any]]) -> None:
    schema, _, _, sample = case
    as_written = json.loads((ROOT / "shared" / "schema" / f"{schema}.json").read_text(encoding="utf-8"))
    declared = list(as_written["properties"])  # the embedded copy has its keys sorted
    assert sorted(sample, key=declared.index) == list(sample)
    if sample.get("images"):
        image_keys = list(as_written["$defs"]["image"]["properties"])
        assert sorted(sample["images"][0], key=image_keys.index) == list(sample["images"][0])


def test_the_serialiser_follows_the_sheets_album_order() -> None:
    """SERVER_FACTS 7.3, written out once more: the serialiser and the schema must both agree with it."""
    seed = ["id", "name", "description", "album_type", "is_public", "is_training_source", "generation_prompt",
            "generation_config", "created_by", "created_at", "updated_at", "image_count", "is_set_template",
            "csv_data", "base_prompt", "prompt_template", "style_suffix", "example_theme", "lora_config",
            "template_item_count", "template_items_preview", "lora_count"]  # fmt: skip
    head = [key for key in seed if key != "is_training_source"] + ["slug", "source_type", "source_id"]
    assert list(first("album_detail", SEED, "upload album, public")) == [*seed, "images"]
    assert list(first("album_detail", HEAD, "head_fresh: upload album, public")) == [*head, "images"]
