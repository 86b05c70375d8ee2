"""The contracts themselves: valid Draft 2020-12, every $ref resolves, and the embedded copy matches the files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from imgops.contracts import schema_names, validator
from imgops.contracts._schemas import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "shared" / "schema").glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_schema_is_valid_and_described(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:imgops:schema:{path.stem}"
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("name", sorted(p.stem for p in FILES))
def test_every_ref_resolves(name: str) -> None:
    checker = validator(name)

    def walk(node: object, base: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolver = checker._resolver  # the registry-backed resolver of this schema
                resolver.lookup(node["$ref"])
            for value in node.values():
                walk(value, base)
        elif isinstance(node, list):
            for value in node:
                walk(value, base)

    walk(SCHEMAS[name], SCHEMAS[name]["$id"])


def test_embedded_schemas_match_the_files() -> None:
    assert schema_names() == [p.stem for p in FILES]
    for path in FILES:
        assert json.loads(path.read_text(encoding="utf-8")) == SCHEMAS[path.stem], f"run `make types` ({path.name})"


@pytest.mark.serial
def test_generator_leaves_no_diff(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_shared_types.py")], check=True,
                   capture_output=True)  # fmt: skip
    diff = subprocess.run(["git", "status", "--porcelain", "--", "module_utils/imgops/contracts", "shared/types"],
                          cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    assert diff.stdout == "", f"generated files drifted from shared/schema: {diff.stdout}"


@pytest.mark.parametrize("name", sorted(n for n, s in SCHEMAS.items() if "properties" in s and "allOf" not in s))
def test_generated_typeddicts_have_the_schema_keys(name: str) -> None:
    from imgops.contracts import types

    generated = getattr(types, "".join(part.capitalize() for part in name.split("_")))
    assert set(generated.__annotations__) == set(SCHEMAS[name]["properties"]), "run `make types`"
