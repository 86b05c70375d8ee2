"""Sidecar JSON beside a generated image: parsed, coerced where safe, problems reported, never fatal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fs.read import read_regular
from ..parsing import load_json

INT32 = 2**31 - 1
INT_FIELDS = ("width", "height", "steps", "seed")
TEXT_FIELDS = ("prompt", "negative_prompt", "model")
_NAME_TIMESTAMP = re.compile(r"^(\d{4})(\d\d)(\d\d)_(\d\d)(\d\d)(\d\d)")


@dataclass
class Metadata:
    """Generation metadata of one image; every field may be missing."""

    prompt: str | None = None
    negative_prompt: str | None = None
    model: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    seed: int | None = None
    guidance_scale: float | None = None
    timestamp: datetime | None = None
    loras: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in (*TEXT_FIELDS, *INT_FIELDS, "guidance_scale")}
        data["timestamp"] = self.timestamp.isoformat() if self.timestamp else None
        data["loras"] = list(self.loras)
        return {key: value for key, value in data.items() if value not in (None, [])}


def read_sidecar(path: Path) -> tuple[Metadata, list[str]]:
    """Metadata from ``path`` and the problems found (unreadable, not an object, bad fields).

    A sidecar is hostile input: a FIFO or device in its place, an oversized or deeply nested file
    is one problem of this image (read without blocking, size-capped, depth-bounded), never a hang.
    """
    try:
        raw = load_json(read_regular(path, "sidecar"), f"sidecar {path}")
    except InputError as exc:
        return Metadata(), [f"unreadable sidecar: {str(exc).removeprefix(f'sidecar {path}: ')}"]
    if not isinstance(raw, dict):
        return Metadata(), [f"sidecar is a JSON {type(raw).__name__}, not an object"]
    return coerce_metadata(raw)


def coerce_metadata(raw: dict[str, Any]) -> tuple[Metadata, list[str]]:
    """Coerce a sidecar object: ``"42"`` becomes 42; what cannot be coerced is dropped and reported."""
    problems: list[str] = []
    meta = Metadata()
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            setattr(meta, name, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            setattr(meta, name, str(value))
        else:
            problems.append(f"{name}: dropped {type(value).__name__} value")
    for name in INT_FIELDS:
        if raw.get(name) is not None:
            setattr(meta, name, _coerce(raw[name], name, _as_int, problems))
    if raw.get("guidance_scale") is not None:
        meta.guidance_scale = _coerce(raw["guidance_scale"], "guidance_scale", _as_float, problems)
    if raw.get("timestamp") is not None:
        meta.timestamp = _coerce(raw["timestamp"], "timestamp", _as_datetime, problems)
    meta.loras = normalise_loras(raw, problems)
    return meta, problems


def normalise_loras(raw: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    """``lora`` (one object) or ``loras`` (a list) as ``[{"path": str, "weight": float}]``."""
    items = raw.get("loras")
    if items is None:
        items = [] if raw.get("lora") is None else [raw["lora"]]
    if not isinstance(items, list):
        problems.append("loras: dropped, not a list")
        return []
    loras = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
            problems.append(f"loras[{index}]: dropped, no path")
            continue
        weight = _coerce(item.get("weight", 1.0), f"loras[{index}].weight", _as_float, problems)
        loras.append({"path": item["path"], "weight": 1.0 if weight is None else weight})
    return loras


def name_timestamp(stem: str) -> datetime | None:
    """The ``YYYYMMDD_HHMMSS`` a generated file's name starts with, if any."""
    match = _NAME_TIMESTAMP.match(stem)
    if not match:
        return None
    try:
        return datetime(*map(int, match.groups()))
    except ValueError:  # 20251399_...: not a date
        return None


def _coerce(value: Any, name: str, convert: Any, problems: list[str]) -> Any:
    try:
        return convert(value)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{name}: dropped {value!r:.40}")
        return None


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("boolean")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not whole")
    number = int(value.strip()) if isinstance(value, str) else int(value)
    if not -INT32 - 1 <= number <= INT32:
        raise OverflowError("outside the 32-bit column range")
    return number


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("boolean")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return number


def _as_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("not a string")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
