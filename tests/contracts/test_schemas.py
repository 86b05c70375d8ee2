"""The contracts themselves: valid Draft 2020-12, every $ref resolves, and the embedded copy matches the files."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
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


def undescribed_properties(node: object, path: str = "", in_condition: bool = False) -> list[str]:
    """Every property declared without a description; an ``if`` only tests a condition, so it is exempt."""
    missing = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    text = sub.get("description") if isinstance(sub, dict) else None
                    if not in_condition and not (isinstance(text, str) and text.strip()):
                        missing.append(f"{path}/properties/{name}")
                    missing += undescribed_properties(sub, f"{path}/properties/{name}", in_condition)
            else:
                missing += undescribed_properties(value, f"{path}/{key}", in_condition or key == "if")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            missing += undescribed_properties(value, f"{path}/{index}", in_condition)
    return missing


# The configuration and the envelope are being described by the config and --json envelope work; strict, so
# this mark must go (and the test then guards them too) as soon as they are.
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_property_is_described(path: Path) -> None:
    assert undescribed_properties(json.loads(path.read_text(encoding="utf-8"))) == []


def test_the_description_check_finds_a_bare_property() -> None:
    schema = {"properties": {"a": {"type": "string", "description": "A."}, "b": {"properties": {"c": {}}}}}
    assert undescribed_properties(schema) == ["/properties/b", "/properties/b/properties/c"]


def test_the_python_example_in_the_docs_validates(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the receipt is valid: nothing printed
    broken = example.replace('"success": True', '"success": False')
    done = subprocess.run([sys.executable, "-c", broken], cwd=ROOT, capture_output=True, text=True, check=False)
    assert "$.success" in done.stdout


def test_the_code_generators_are_pinned_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = project["optional-dependencies"]["dev"]
    pin = next(d for d in dev if d.startswith("datamodel-code-generator"))
    assert pin == f"datamodel-code-generator=={version('datamodel-code-generator')}"
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    installed = json.loads((ROOT / "node_modules" / "json-schema-to-typescript" / "package.json").read_text())
    assert wanted["json-schema-to-typescript"] == lock["node_modules/json-schema-to-typescript"]["version"]
    assert wanted["json-schema-to-typescript"] == installed["version"]
    assert wanted["json-schema-to-typescript"][0].isdigit(), "an exact version, not a range"
