"""Parsing JSON and YAML that may be hostile, with limits on depth and size.

One bad file must be one problem of that item, never the end of a job or a hang:
- a document nested a million levels deep makes the decoders recurse until RecursionError;
- an integer of a million digits exceeds Python's digit limit (ValueError);
- ``NaN``/``Infinity`` are not JSON, and writing them back would produce invalid JSON;
- duplicate keys would be silently collapsed by a rewrite, so such a file is refused;
- YAML aliases (a "billion laughs" document) expand exponentially once anything walks the data.
Every failure is ``error`` (default InputError) naming the file and the reason, never its content.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from .errors import ImgopsError, InputError

MAX_DEPTH = 64
MAX_YAML_NODES = 200_000


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def check_depth(data: Any, max_depth: int = MAX_DEPTH) -> int | None:
    """The first depth over ``max_depth`` found in ``data`` (walked without recursion), else None."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return depth
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    return None


def load_json(
    text: str | bytes,
    where: str,
    *,
    max_depth: int = MAX_DEPTH,
    error: type[ImgopsError] = InputError,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """Parse JSON text from ``where`` (a file name for messages) within the limits above.

    ``parse_float`` as for ``json.loads``; a ValueError it raises is a problem of the file."""
    try:
        data = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates, parse_float=parse_float
        )
    except RecursionError:
        raise error(f"{where}: invalid JSON: nested too deeply", file=where) from None
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Exceeds the limit" in reason:
            reason = "an integer has too many digits"
        raise error(f"{where}: invalid JSON: {reason}", file=where) from None
    if check_depth(data, max_depth) is not None:
        raise error(f"{where}: invalid JSON: nested deeper than {max_depth} levels", file=where)
    return data


def _expanded_size(root: yaml.Node, limit: int, where: str, error: type[ImgopsError]) -> None:
    """Refuse a YAML node graph whose expansion (aliases counted each time used) exceeds ``limit`` nodes,
    or that refers to itself. Walked without recursion; each node's size is computed once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > limit:
                raise error(f"{where}: invalid YAML: expands to more than {limit} nodes (aliases)", file=where)
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise error(f"{where}: invalid YAML: an alias refers to its own anchor", file=where)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """The parser's reason and position, without the snippet of the file PyYAML quotes."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else exc.problem
    return type(exc).__name__


def load_yaml(
    text: str,
    where: str,
    *,
    max_nodes: int = MAX_YAML_NODES,
    max_depth: int = MAX_DEPTH,
    error: type[ImgopsError] = InputError,
) -> Any:
    """``yaml.safe_load`` of ``text`` from ``where``, with alias expansion and depth bounded."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes, where, error)
        data = loader.construct_document(node)
    except RecursionError:
        raise error(f"{where}: invalid YAML: nested too deeply", file=where) from None
    except yaml.YAMLError as exc:
        raise error(f"{where}: invalid YAML: {_yaml_reason(exc)}", file=where) from None
    finally:
        loader.dispose()
    if check_depth(data, max_depth) is not None:
        raise error(f"{where}: invalid YAML: nested deeper than {max_depth} levels", file=where)
    return data
