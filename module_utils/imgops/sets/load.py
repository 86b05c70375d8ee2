"""Read and validate ``<sets_dir>/config.yaml`` and its CSVs; every problem is collected, none raised.

The files may be hostile (issue 18): both are read with ``fs.read`` (regular files only, never
blocking, size-capped) and the YAML with ``parsing.load_yaml`` (aliases and depth bounded); a
``csv_path`` that leaves the sets folder is refused before it is opened unless the configuration
allows it (``sets.allow_csv_outside``); a template may use plain ``{column}`` placeholders only;
and no message quotes a file's content (a header cell or a line of the CSV), only its name and
the row or column number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fs.read import read_regular, read_regular_text
from ..parsing import load_yaml

REQUIRED_KEYS = ("name", "csv_path", "prompt_template")
# Part of every fingerprint: bump it when the way a set becomes a template changes, so every one is rewritten.
FINGERPRINT_VERSION = "2"
TEXT_KEYS = ("description", "base_prompt", "style_suffix", "example_theme", "negative_prompt")
# The optional keys the server's own sets migration honours (SERVER_FACTS 10), with the type each takes.
OPTIONAL_TEXT_KEYS = ("album_type", "created_by", "legacy_slug")
OPTIONAL_FLAG_KEYS = ("is_public", "is_training_source")
_SHOWN_PLACEHOLDER = 40  # characters of an offending placeholder quoted back (it comes from the config)


@dataclass(frozen=True)
class SetTemplate:
    """One set, validated: its template fields, its CSV rows (header order kept) and its optional keys.

    An optional key the set does not give is None, so a writer can tell "not given" from a value."""

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
    album_type: str | None = None
    created_by: str | None = None
    legacy_slug: str | None = None
    is_public: bool | None = None
    is_training_source: bool | None = None
    generation_config: dict[str, Any] | None = None
    fingerprint: str = ""
    csv_sha256: str = ""


@dataclass(frozen=True)
class SetSource:
    """A set whose files are exactly as when its template was last written: nothing to parse or compare."""

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


def placeholder_problems(template: str) -> tuple[list[str], list[str]]:
    """(the column names a template uses, what is wrong with it).

    Only plain ``{column}`` is a placeholder here: attribute or index access (``{value.__class__}``,
    ``{suit[99999]}``), a format spec (``{value:>999999999}``), a conversion (``{x!r}``) and positional
    fields would let a set config read object internals or allocate without bound when the server
    formats the template."""
    try:
        fields = [(name, spec, conversion) for _text, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]  # fmt: skip
    except ValueError as exc:
        return [], [f"prompt_template is not a valid template: {exc}"]
    names: list[str] = []
    wrong: list[str] = []
    for name, spec, conversion in fields:
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if len(shown) > _SHOWN_PLACEHOLDER:
            shown = shown[: _SHOWN_PLACEHOLDER - 4] + "...}"
        if not name or name.isdigit():
            reason = "is positional"
        elif "." in name or "[" in name:
            reason = "uses attribute or index access"
        elif conversion:
            reason = "has a conversion"
        elif spec:
            reason = "has a format spec"
        else:
            names.append(name)
            continue
        wrong.append(f"prompt_template placeholder {shown} {reason}; only plain {{column}} placeholders are allowed")
    return names, wrong


def parse_csv(
    data: bytes, path: Path, key: str, problems: Problems
) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]] | None:
    """Header and rows of a CSV's bytes (UTF-8, with or without a BOM), or None after recording why not."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(f"CSV is not UTF-8 (byte {exc.start})", path, key)
        return None
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:  # the csv module's reasons name no cell content
        problems.add(f"CSV does not parse: {exc}", path, key)
        return None
    if not table or not any(cell.strip() for cell in table[0]):
        problems.add("CSV has no header row", path, key, row=1)
        return None
    header = tuple(cell.strip() for cell in table[0])
    for column, name in enumerate(header, start=1):
        if not name:
            problems.add(f"empty column name in the header (column {column})", path, key, row=1, column=column)
        elif header.index(name) != column - 1:
            problems.add(f"column {column} repeats the name of column {header.index(name) + 1} in the header",
                         path, key, row=1, column=column)  # fmt: skip
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
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            problems.add(f"LoRA weight must be a finite number, not {weight!r}"[:120], config_path, key,
                         column=f"{where}.weight")  # fmt: skip
        else:
            loras.append({"path": path, "weight": float(weight)})
    return tuple(loras)


def _optional_keys(spec: dict[str, Any], config_path: Path, key: str, problems: Problems) -> dict[str, Any]:
    """The optional keys the server's sets migration honours, checked; absent ones are left out."""
    given: dict[str, Any] = {}
    for name in OPTIONAL_TEXT_KEYS:
        if spec.get(name) is None:
            continue
        if isinstance(spec[name], str) and spec[name].strip():
            given[name] = spec[name]
        else:
            problems.add(f"'{name}' must be non-empty text", config_path, key, column=name)
    for name in OPTIONAL_FLAG_KEYS:
        if spec.get(name) is None:
            continue
        if isinstance(spec[name], bool):
            given[name] = spec[name]
        else:
            problems.add(f"'{name}' must be true or false", config_path, key, column=name)
    raw = spec.get("generation_config")
    if raw is not None:
        try:
            valid = isinstance(raw, dict) and all(isinstance(k, str) for k in raw)
            valid = valid and json.loads(json.dumps(raw, allow_nan=False)) == raw  # YAML dates, sets, ... are not JSON
        except (TypeError, ValueError):
            valid = False
        if valid:
            given["generation_config"] = raw
        else:
            problems.add("'generation_config' must be a mapping of text keys to JSON values", config_path, key,
                         column="generation_config")  # fmt: skip
    return given


def fingerprint(spec: dict[str, Any], data: bytes) -> SourceDigest:
    """sha256 of a set's spec and its CSV's bytes, and of the CSV alone."""
    digest = hashlib.sha256(FINGERPRINT_VERSION.encode())
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    digest.update(data)
    return SourceDigest(digest.hexdigest(), hashlib.sha256(data).hexdigest())


def csv_path_of(sets_dir: Path, spec: dict[str, Any]) -> Path | None:
    """The CSV a set names, absolute and normalised (relative paths are relative to the sets folder)."""
    value = spec.get("csv_path")
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        return None
    return Path(os.path.normpath(sets_dir / value))  # an absolute value replaces sets_dir


def confined(path: Path, sets_dir: Path) -> bool:
    """Whether ``path``, symlinks resolved, is inside the sets folder."""
    return path.resolve().is_relative_to(sets_dir.resolve())


def read_csv_bytes(path: Path, key: str, problems: Problems) -> bytes | None:
    try:
        return read_regular(path, "csv")
    except InputError as exc:  # names the file and why; never its content
        problems.add(exc.message, path, key)
        return None


def read_sets_config(config_path: Path, problems: Problems) -> dict[Any, Any] | None:
    """The parsed ``config.yaml``, or None after recording why not."""
    try:
        raw = load_yaml(read_regular_text(config_path, "set config"), str(config_path))
    except InputError as exc:
        problems.add("sets config not found" if "file not found" in exc.message else exc.message, config_path)
        return None
    if not isinstance(raw, dict):
        problems.add(f"top level must be a mapping of set keys, not {type(raw).__name__}", config_path)
        return None
    return raw


def load_sets(
    sets_dir: Path, known: dict[str, str] | None = None, *, allow_csv_outside: bool = False
) -> tuple[list[SetTemplate], list[SetSource], list[dict[str, Any]]]:
    """Every set of ``sets_dir/config.yaml``: parsed and validated, or, when its fingerprint equals the
    one in ``known`` (set key -> fingerprint of its template), passed over as unchanged; and every problem."""
    known = known or {}
    config_path = sets_dir / "config.yaml"
    problems = Problems()
    raw = read_sets_config(config_path, problems)
    if raw is None:
        return [], [], problems.items
    sets: list[SetTemplate] = []
    unchanged: list[SetSource] = []
    names: dict[str, str] = {}
    for key, spec in raw.items():
        key = str(key)
        if not isinstance(spec, dict):
            problems.add(f"set must be a mapping, not {type(spec).__name__}", config_path, key)
            continue
        name = spec.get("name")
        if isinstance(name, str) and name.strip():
            if name in names:
                problems.add(f"set {names[name]!r} has the same name; each set needs a name of its own", config_path,
                             key, column="name")  # fmt: skip
            names.setdefault(name, key)
        csv_path = csv_path_of(sets_dir, spec)
        if csv_path is not None and not allow_csv_outside and not confined(csv_path, sets_dir):
            problems.add(f"csv_path leaves the sets folder {sets_dir}; it is not read (set sets.allow_csv_outside "
                         "to allow it)", config_path, key, column="csv_path")  # fmt: skip
            csv_path = None
            csv_refused = True
        else:
            csv_refused = False
        data = read_csv_bytes(csv_path, key, problems) if csv_path else None
        source = fingerprint(spec, data) if data is not None else None
        if source is not None and known.get(key) == source.fingerprint:
            unchanged.append(SetSource(key, str(name), source.fingerprint, str(csv_path), source.csv_sha256))
            continue
        missing = [k for k in REQUIRED_KEYS if not isinstance(spec.get(k), str) or not spec[k].strip()]
        for k in missing:
            if not (k == "csv_path" and csv_refused):
                problems.add(f"required key '{k}' is missing or empty", config_path, key, column=k)
        for k in TEXT_KEYS:
            if spec.get(k) is not None and not isinstance(spec[k], str):
                problems.add(f"'{k}' must be text", config_path, key, column=k)
        for k in ("width", "height"):
            if spec.get(k) is not None and not _positive_int(spec[k]):
                problems.add(f"'{k}' must be a positive integer, not {spec[k]!r}"[:120], config_path, key, column=k)
        loras = _loras(spec.get("loras"), config_path, key, problems)
        optional = _optional_keys(spec, config_path, key, problems)
        used: list[str] = []
        if "prompt_template" not in missing:
            used, wrong = placeholder_problems(spec["prompt_template"])
            for message in wrong:
                problems.add(message, config_path, key, column="prompt_template")
        if data is None or csv_path is None or source is None:
            continue
        table = parse_csv(data, csv_path, key, problems)
        if table is None:
            continue
        columns, rows = table
        for column in dict.fromkeys(used):
            if column not in columns:
                problems.add(f"placeholder {{{column}}} in prompt_template is not a CSV column", csv_path, key,
                             column=column)  # fmt: skip
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
                **optional,
                fingerprint=source.fingerprint,
                csv_sha256=source.csv_sha256,
            )
        )
    return sets, unchanged, problems.items
