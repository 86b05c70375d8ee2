"""A tree staged by the server's ``import_legacy_media.py``: its root ``manifest.yaml`` read as input.

The server's stager writes one YAML list at its staging root, an entry per file with ``source``
(absolute) and ``destination`` (relative to the root) (SERVER_FACTS 8). Where imgops' ``legacy_root``
is that staging root, the manifest says exactly where the server put each source, which the
computed rule (``stage.server_destination``) can only reproduce. The file is hostile input: read
bounded, parsed bounded, and a destination that is absolute or climbs out of the root is ignored.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ..errors import InputError
from ..fs.read import read_regular_text
from ..parsing import load_yaml

SERVER_MANIFEST = "manifest.yaml"


def server_destinations(legacy_root: Path) -> tuple[dict[str, PurePosixPath], str | None]:
    """Source path -> the server's staged destination, from ``<legacy_root>/manifest.yaml``; and a problem, if any."""
    path = legacy_root / SERVER_MANIFEST
    if not path.exists():
        return {}, None
    where = f"server staging manifest {path}"
    try:
        entries = load_yaml(read_regular_text(path, "manifest"), where)
    except InputError as exc:
        return {}, str(exc)
    if not isinstance(entries, list):
        return {}, f"{where}: not a list of staged files; ignored"
    found: dict[str, PurePosixPath] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        source, destination = entry.get("source"), entry.get("destination")
        if isinstance(source, str) and isinstance(destination, str) and _inside(destination):
            found[source] = PurePosixPath(destination)
    return found, None


def _inside(destination: str) -> bool:
    """A relative path that stays below the staging root."""
    path = PurePosixPath(destination)
    return bool(destination) and not path.is_absolute() and ".." not in path.parts and path.name not in ("", ".")
