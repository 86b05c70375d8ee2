"""Read and validate ``<sets_dir>/config.yaml`` and its CSVs; every problem is collected, none raised."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUIRED_KEYS = ("name", "csv_path", "prompt_template")
# Part of every fingerprint: bump it when the way a set becomes an album changes, so every album is rewritten.
FINGERPRINT_VERSION = "1"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10x faster
TEXT_KEYS = ("description", "base_prompt", "style_suffix", "example_theme", "negative_prompt")


@dataclass(frozen=True)
class SetTemplate:
    """One set, validated: its template fields and its CSV rows (header order kept)."""

    key: str
    name: str
    csv_path: Path
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    prompt_template: str
    description: str | None = None
    base_prompt: str | None = None
    style_suffix: str | None = None
    example_theme: str | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    loras: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    fingerprint: str = ""
    csv_sha256: str = ""


@dataclass(frozen=True)
class SetSource:
    """A set whose files are exactly as when its album was last written: nothing to parse or compare."""

    key: str
    name: str
    fingerprint: str
    csv_path: str = ""
    csv_sha256: str = ""


@dataclass(frozen=True)
class SourceDigest:
    """A set's fingerprint (its spec and CSV bytes) and its CSV's own sha256, from one read of the CSV."""

    fingerprint: str
    csv_sha256: str


@dataclass
class Problems:
    """Validation problems, each naming the file, the set key and the row or column."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, message: str, file: Path, set_key: str | None = None, **where: Any) -> None:
        self.items.append({"message": message, "file": str(file), "set": set_key, **where})


def placeholders(template: str) -> list[str]:
    """The field names a ``str.format`` template uses (``{suit}`` -> ``suit``)."""
    names = []
    for _literal, name, _spec, _conversion in string.Formatter().parse(template):
        if name is not None:
            names.append(name.split(".", 1)[0].split("[", 1)[0])
    return names


def read_csv(path: Path, key: str, problems: Problems) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]] | None:
    """Header and rows of a CSV (UTF-8, with or without a BOM), or None after recording why not."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        problems.add("CSV file not found", path, key)
        return None
    except UnicodeDecodeError as exc:
        problems.add(f"CSV is not UTF-8 (byte {exc.start})", path, key)
        return None
    except OSError as exc:
        problems.add(f"cannot read CSV: {exc.strerror}", path, key)
        return None
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        problems.add(f"CSV does not parse: {exc}", path, key)
        return None
    if not table or not any(cell.strip() for cell in table[0]):
        problems.add("CSV has no header row", path, key, row=1)
        return None
    header = tuple(cell.strip() for cell in table[0])
    for column, name in enumerate(header, start=1):
        if not name:
            problems.add("empty column name in the header", path, key, row=1, column=column)
        elif header.index(name) != column - 1:
            problems.add(f"duplicate column {name!r} in the header", path, key, row=1, column=name)
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines carry no row
        if len(cells) != len(header):
            problems.add(f"row has {len(cells)} cells, the header has {len(header)}", path, key, row=number)
            continue
        rows.append(dict(zip(header, cells, strict=True)))
    return header, tuple(rows)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _loras(raw: Any, config_path: Path, key: str, problems: Problems) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("'loras' must be a list", config_path, key, column="loras")
        return ()
    loras = []
    for index, lora in enumerate(raw):
        where = f"loras[{index}]"
        if not isinstance(lora, dict):
            problems.add("each LoRA must be a mapping with path and weight", config_path, key, column=where)
            continue
        path, weight = lora.get("path"), lora.get("weight")
        if not isinstance(path, str) or not path.strip():
            problems.add("LoRA has no path", config_path, key, column=f"{where}.path")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            problems.add(f"LoRA weight must be a number, not {weight!r}", config_path, key, column=f"{where}.weight")
        else:
            loras.append({"path": path, "weight": float(weight)})
    return tuple(loras)


def _check_placeholders(
    template: str, columns: tuple[str, ...], config_path: Path, csv_path: Path, key: str, problems: Problems
) -> None:
    try:
        used = placeholders(template)
    except ValueError as exc:
        problems.add(f"prompt_template is not a valid template: {exc}", config_path, key, column="prompt_template")
        return
    for name in used:
        if name not in columns:
            problems.add(f"placeholder {{{name}}} in prompt_template is not a CSV column (columns: "
                         f"{', '.join(columns)})", csv_path, key, column=name)  # fmt: skip


def fingerprint(spec: dict[str, Any], csv_path: Path) -> SourceDigest | None:
    """sha256 of a set's spec and its CSV's bytes (and of the CSV alone); None when the CSV cannot be read."""
    try:
        data = csv_path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(FINGERPRINT_VERSION.encode())
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    digest.update(data)
    return SourceDigest(digest.hexdigest(), hashlib.sha256(data).hexdigest())


def csv_path_of(sets_dir: Path, spec: dict[str, Any]) -> Path | None:
    value = spec.get("csv_path")
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(value)
    return path if path.is_absolute() else sets_dir / path


def load_sets(
    sets_dir: Path, known: dict[str, str] | None = None
) -> tuple[list[SetTemplate], list[SetSource], list[dict[str, Any]]]:
    """Every set of ``sets_dir/config.yaml``: parsed and validated, or, when its fingerprint equals the
    one in ``known`` (set key -> fingerprint of its album), passed over as unchanged; and every problem."""
    known = known or {}
    config_path = sets_dir / "config.yaml"
    problems = Problems()
    try:
        raw = yaml.load(config_path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except FileNotFoundError:
        problems.add("sets config not found", config_path)
        return [], [], problems.items
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(f"cannot read sets config: {exc}", config_path)
        return [], [], problems.items
    except yaml.YAMLError as exc:
        problems.add(f"invalid YAML: {exc}", config_path)
        return [], [], problems.items
    if not isinstance(raw, dict):
        problems.add(f"top level must be a mapping of set keys, not {type(raw).__name__}", config_path)
        return [], [], problems.items
    sets, unchanged = [], []
    for key, spec in raw.items():
        key = str(key)
        if not isinstance(spec, dict):
            problems.add(f"set must be a mapping, not {type(spec).__name__}", config_path, key)
            continue
        csv_path = csv_path_of(sets_dir, spec)
        source = fingerprint(spec, csv_path) if csv_path else None
        if source is not None and known.get(key) == source.fingerprint:
            name = str(spec.get("name"))
            unchanged.append(SetSource(key, name, source.fingerprint, str(csv_path), source.csv_sha256))
            continue
        missing = [name for name in REQUIRED_KEYS if not isinstance(spec.get(name), str) or not spec[name].strip()]
        for name in missing:
            problems.add(f"required key '{name}' is missing or empty", config_path, key, column=name)
        for name in TEXT_KEYS:
            if spec.get(name) is not None and not isinstance(spec[name], str):
                problems.add(f"'{name}' must be text", config_path, key, column=name)
        for name in ("width", "height"):
            if name in spec and not _positive_int(spec[name]):
                problems.add(f"'{name}' must be a positive integer, not {spec[name]!r}", config_path, key, column=name)
        loras = _loras(spec.get("loras"), config_path, key, problems)
        if csv_path is None:
            continue
        table = read_csv(csv_path, key, problems)
        if table is None:
            continue
        columns, rows = table
        if "prompt_template" not in missing:
            _check_placeholders(spec["prompt_template"], columns, config_path, csv_path, key, problems)
        if missing:
            continue
        sets.append(
            SetTemplate(
                key=key,
                name=spec["name"],
                csv_path=csv_path,
                columns=columns,
                rows=rows,
                prompt_template=spec["prompt_template"],
                description=spec.get("description"),
                base_prompt=spec.get("base_prompt"),
                style_suffix=spec.get("style_suffix"),
                example_theme=spec.get("example_theme"),
                negative_prompt=spec.get("negative_prompt"),
                width=spec.get("width"),
                height=spec.get("height"),
                loras=loras,
                fingerprint=source.fingerprint if source else "",
                csv_sha256=source.csv_sha256 if source else "",
            )
        )
    return sets, unchanged, problems.items
