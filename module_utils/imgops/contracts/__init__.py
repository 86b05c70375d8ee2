"""Load the JSON Schemas (the contracts) and validate instances against them."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ._schemas import SCHEMAS


def schema_names() -> list[str]:
    return sorted(SCHEMAS)


@cache
def _registry() -> Registry:
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in SCHEMAS.values()
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for ``shared/schema/<name>.json``."""
    try:
        schema = SCHEMAS[name]
    except KeyError:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(schema_names())}") from None
    return Draft202012Validator(schema, registry=_registry())


def json_pointer(path: Any) -> str:
    """Render a jsonschema error path as ``a.b[2].c``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def problems(instance: Any, name: str) -> list[str]:
    """Every way ``instance`` breaks schema ``name``, as ``key: message`` lines."""
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{json_pointer(e.absolute_path)}: {e.message}" for e in errors]
