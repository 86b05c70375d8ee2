"""Every module's RETURN documentation agrees with its result schema, and ansible-doc renders it."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from imgops_testing.codegen import bundle, load_schemas

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "library").glob("imgops_*.py"))
ALIASES = {"imgops_bug_reports": "imgops_bugs", "imgops_legacy_import": "imgops_legacy"}
ANSIBLE_TYPES = {"str": {"string"}, "bool": {"boolean"}, "dict": {"object"}, "list": {"array"},
                 "int": {"integer"}, "float": {"number", "integer"}}  # fmt: skip
SCHEMAS = load_schemas()


def module_block(path: Path, name: str) -> dict[str, Any]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value))
    raise AssertionError(f"{path.name} has no {name}")


def json_types(schema: dict[str, Any]) -> set[str]:
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds if isinstance(kinds, list) else [kinds])
    values = [schema["const"]] if "const" in schema else schema.get("enum", [])
    names = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
    return {names[type(v)] for v in values if type(v) in names}


def top_level_properties(schema: dict[str, Any]) -> dict[str, set[str]]:
    """Each top-level key with every JSON type the schema (and the parts it is made of) gives it."""
    found: dict[str, set[str]] = {}
    for part in [schema, *schema.get("allOf", [])]:
        for key, sub in part.get("properties", {}).items():
            found.setdefault(key, set()).update(json_types(sub))
    return found


def required(schema: dict[str, Any]) -> set[str]:
    return set(schema.get("required", [])).union(*(set(p.get("required", [])) for p in schema.get("allOf", [])))


@pytest.mark.parametrize("path", [m for m in MODULES if m.stem not in ALIASES], ids=lambda p: p.stem)
def test_return_documents_the_result_schema(path: Path) -> None:
    schema_name = path.stem.removeprefix("imgops_") + "_result"
    assert schema_name in SCHEMAS, f"{path.stem} has no shared/schema/{schema_name}.json"
    schema = bundle(schema_name, SCHEMAS)
    properties = top_level_properties(schema)
    returned = module_block(path, "RETURN")
    assert required(schema) <= set(returned), f"undocumented: {sorted(required(schema) - set(returned))}"
    for key, doc in returned.items():
        assert key in properties, f"RETURN documents {key!r}, which {schema_name} does not define"
        assert {"description", "returned", "type", "sample"} <= set(doc), f"{key}: incomplete documentation"
        assert ANSIBLE_TYPES[doc["type"]] & properties[key], (
            f"{key}: RETURN says {doc['type']}, schema says {properties[key]}"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_ansible_doc_renders_the_module(path: Path, ansible_env: dict[str, str]) -> None:
    assert module_block(path, "DOCUMENTATION")["module"] == path.stem
    assert module_block(path, "EXAMPLES")
    rendered = subprocess.run(["ansible-doc", "-M", str(ROOT / "library"), path.stem], env=ansible_env,
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    assert "RETURN VALUES" in rendered.stdout


@pytest.mark.parametrize("old", sorted(ALIASES))
def test_an_old_module_name_is_a_deprecated_alias_of_the_new(old: str) -> None:
    deprecated = module_block(ROOT / "library" / f"{old}.py", "DOCUMENTATION")["deprecated"]
    assert f"M({ALIASES[old]})" in deprecated["alternative"]


def test_each_job_has_one_name_across_module_cli_schema_and_docs() -> None:
    from imgops.cli import build_parser

    verbs = set(build_parser().job_names)
    names = {m.stem.removeprefix("imgops_") for m in MODULES if m.stem not in ALIASES}
    assert names == verbs
    for job in names:
        assert f"{job}_result" in SCHEMAS, job
        assert (ROOT / "docs" / "jobs" / f"{job}.md").is_file(), job
