"""The record of the last complete sync, so a run with nothing new skips parsing the sets config.

Written to ``<state_dir>/sets-sources.json`` after a sync that found no problem
and committed: the sha256 of ``config.yaml``'s bytes and, per set, its CSV
path, the CSV's sha256 and the fingerprint its album carries. A later run whose
config bytes and every CSV's bytes hash the same, against a database whose set
albums carry exactly those fingerprints, has nothing to do: the same bytes
parse and validate the same. Any difference, or no record, means the full run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..fs import atomic_write_text
from .load import FINGERPRINT_VERSION, SetSource, SetTemplate

RECORD_NAME = "sets-sources.json"


def config_digest(sets_dir: Path) -> str | None:
    """sha256 of ``config.yaml``'s bytes; None when it cannot be read (the full run reports why)."""
    try:
        return hashlib.sha256((sets_dir / "config.yaml").read_bytes()).hexdigest()
    except OSError:
        return None


def write_record(state_dir: Path, sets_dir: Path, config_sha256: str, sets: list[SetTemplate | SetSource]) -> None:
    record = {
        "version": FINGERPRINT_VERSION,
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
    state_dir: Path, sets_dir: Path, config_sha256: str | None, known: dict[str, str]
) -> list[SetSource] | None:
    """Every set, unchanged, when the files and the albums are as the record says; else None."""
    record = _read(state_dir / RECORD_NAME)
    if (
        record is None
        or config_sha256 is None
        or record.get("version") != FINGERPRINT_VERSION
        or record.get("sets_dir") != str(sets_dir)
        or record.get("config_sha256") != config_sha256
        or not isinstance(record.get("sets"), dict)
        or known != {key: entry.get("fingerprint") for key, entry in record["sets"].items()}
    ):
        return None
    unchanged = []
    for key, entry in record["sets"].items():
        try:
            csv_sha256 = hashlib.sha256(Path(entry["csv_path"]).read_bytes()).hexdigest()
        except (OSError, KeyError, TypeError):
            return None
        if csv_sha256 != entry.get("csv_sha256"):
            return None
        unchanged.append(SetSource(key, str(entry.get("name")), entry["fingerprint"], entry["csv_path"], csv_sha256))
    return unchanged


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
