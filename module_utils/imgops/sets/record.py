"""The record of the last complete sync, so a run with nothing new skips parsing the sets config.

Written to ``<state_dir>/sets-sources.json`` after a sync that found no problem
and committed: where the templates live (albums or batch templates), whether
CSVs outside the sets folder were allowed, the sha256 of ``config.yaml``'s bytes
and, per set, its CSV path, the CSV's sha256 and the fingerprint its template
carries. A later run with the same target and setting, whose config bytes and
every CSV's bytes hash the same, against a database whose templates carry
exactly those fingerprints, has nothing to do: the same bytes parse and
validate the same. Any difference, or no record, means the full run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fs import atomic_write_text
from ..fs.read import read_regular
from ..parsing import load_json
from .load import FINGERPRINT_VERSION, SetSource, SetTemplate

RECORD_NAME = "sets-sources.json"


def config_digest(sets_dir: Path) -> str | None:
    """sha256 of ``config.yaml``'s bytes; None when it cannot be read (the full run reports why)."""
    return _sha256(sets_dir / "config.yaml", "set config")


def _sha256(path: Path, what: str) -> str | None:
    try:
        return hashlib.sha256(read_regular(path, what)).hexdigest()
    except InputError:
        return None


def write_record(state_dir: Path, sets_dir: Path, config_sha256: str, sets: list[SetTemplate | SetSource], *,
                 target: str, allow_csv_outside: bool) -> None:  # fmt: skip
    record = {
        "version": FINGERPRINT_VERSION,
        "target": target,
        "allow_csv_outside": allow_csv_outside,
        "sets_dir": str(sets_dir),
        "config_sha256": config_sha256,
        "sets": {
            s.key: {
                "name": s.name,
                "csv_path": str(s.csv_path),
                "csv_sha256": s.csv_sha256,
                "fingerprint": s.fingerprint,
            }
            for s in sorted(sets, key=lambda s: s.key)
        },
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state_dir / RECORD_NAME, json.dumps(record, indent=1) + "\n")


def unchanged_since_record(
    state_dir: Path, sets_dir: Path, config_sha256: str | None, known: dict[str, str], *, target: str,
    allow_csv_outside: bool,
) -> list[SetSource] | None:  # fmt: skip
    """Every set, unchanged, when the files and the templates are as the record says; else None."""
    record = _read(state_dir / RECORD_NAME)
    if (
        record is None
        or config_sha256 is None
        or record.get("version") != FINGERPRINT_VERSION
        or record.get("target") != target
        or record.get("allow_csv_outside") is not allow_csv_outside
        or record.get("sets_dir") != str(sets_dir)
        or record.get("config_sha256") != config_sha256
        or not isinstance(record.get("sets"), dict)
        or not all(isinstance(entry, dict) for entry in record["sets"].values())
        or known != {key: entry.get("fingerprint") for key, entry in record["sets"].items()}
    ):
        return None
    unchanged = []
    for key, entry in record["sets"].items():
        csv_path = entry.get("csv_path")
        csv_sha256 = _sha256(Path(csv_path), "csv") if isinstance(csv_path, str) and csv_path else None
        if csv_sha256 is None or csv_sha256 != entry.get("csv_sha256"):
            return None
        unchanged.append(SetSource(key, str(entry.get("name")), entry["fingerprint"], entry["csv_path"], csv_sha256))
    return unchanged


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = load_json(read_regular(path, "sets record"), str(path))
    except InputError:
        return None
    return record if isinstance(record, dict) else None
