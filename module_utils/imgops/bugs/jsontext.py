"""Report JSON that survives a rewrite: numbers keep their text, non-finite numbers are refused.

``json.loads`` turns ``1e5`` into ``100000.0`` and ``1e999`` into ``inf``, which ``json.dumps``
writes back as ``Infinity`` (not JSON). Reports are parsed through ``parsing.load_json`` (depth,
digits, NaN, duplicate keys bounded) with every float kept as an ``ExactFloat`` remembering its
text, and a number that is not finite as a float makes the whole file one problem item. ``dumps``
writes each ExactFloat with its original text, so a rewrite changes only what imgops changed.
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

from ..parsing import load_json


class ExactFloat(float):
    """A JSON number with a fraction or exponent, with the text it was written as."""

    text: str

    def __new__(cls, text: str) -> ExactFloat:
        value = super().__new__(cls, text)
        if not math.isfinite(value):
            raise ValueError("a number is out of range (not finite as a float)")
        value.text = text
        return value


def loads(text: str | bytes, where: str) -> Any:
    """Parse report JSON from ``where`` (InputError naming it on any problem)."""
    return load_json(text, where, parse_float=ExactFloat)


def dumps(data: Any, **options: Any) -> str:
    """``json.dumps(data, **options)`` with every ExactFloat written as the text it was read from."""
    token = f"imgops-number-{secrets.token_hex(8)}-"
    texts: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, ExactFloat):
            texts.append(node.text)
            return f"{token}{len(texts) - 1}"
        if isinstance(node, dict):
            return {key: mark(value) for key, value in node.items()}
        if isinstance(node, list):
            return [mark(value) for value in node]
        return node

    dumped = json.dumps(mark(data), allow_nan=False, **options)
    for index in range(len(texts) - 1, -1, -1):  # highest first: "-1" is a prefix of "-10"
        dumped = dumped.replace(f'"{token}{index}"', texts[index])
    return dumped
