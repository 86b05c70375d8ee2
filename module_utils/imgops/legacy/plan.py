"""One planned asset: a collected file with its metadata, date, hash, staged path, album and tags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path, PurePosixPath

from .albums import AlbumSpec, album_spec
from .collect import SourceFile
from .sidecar import Metadata, name_timestamp, read_sidecar
from .stage import server_destination, server_filename, staged_folder

CATEGORY_TAGS = {
    "singles": "legacy-single",
    "decks": "deck",
    "zodiac": "zodiac",
    "lora": "lora-experiment",
    "packs": "reference-pack",
}
JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass
class Asset:
    source: SourceFile
    metadata: Metadata
    created_at: datetime
    staged_path: PurePosixPath
    album_spec: AlbumSpec
    tags: list[str]
    problems: list[str] = field(default_factory=list)
    server_destination: PurePosixPath | None = None
    """Where the server's importer stages (or staged) this file, below its staging root."""
    sha256: str = ""
    state: str = ""

    @property
    def album(self) -> str:
        return self.album_spec.name

    @property
    def server_filename(self) -> str | None:
        """The filename the server's importer gives this file's row."""
        return None if self.server_destination is None else server_filename(self.server_destination)

    @cached_property
    def source_text(self) -> str:
        return self.source.text

    @cached_property
    def _image_suffix(self) -> str:
        suffix = os.path.splitext(self.source.name)[1].lower()
        return ".jpg" if suffix in JPEG_SUFFIXES else suffix

    @property
    def filename(self) -> str:
        """The image's unique filename: its content hash, so the same bytes are one image on every host."""
        return f"legacy-{self.sha256}{self._image_suffix}"

    def entry(self, image_filename: str) -> dict:
        """The asset as its folder's manifest lists it."""
        return {
            "name": self.staged_path.name,
            "staged_path": str(self.staged_path),
            "source_path": self.source_text,
            "sha256": self.sha256,
            "size": self.source.size,
            "album": self.album,
            "image": image_filename,
            "created_at": self.created_at.isoformat(),
            "metadata": self.metadata.to_dict(),
            "tags": list(self.tags),
            "state": self.state,
        }


def describe(source: SourceFile, staged_name: str, staged_by_server: dict[str, PurePosixPath] | None = None) -> Asset:
    """Read the sidecar and date the file: sidecar timestamp, else the name's, else the file time.

    ``staged_by_server`` (source path -> destination, from the server's staging manifest) wins over
    the computed server destination.
    """
    if source.sidecar is not None:
        metadata, problems = read_sidecar(source.sidecar)
    else:
        metadata, problems = Metadata(), []
    created_at = (
        metadata.timestamp
        or name_timestamp(os.path.splitext(source.name)[0])
        or datetime.fromtimestamp(source.mtime_ns / 1e9, UTC).replace(tzinfo=None)
    )
    folder = staged_folder(source, created_at)
    return Asset(
        source=source,
        metadata=metadata,
        created_at=created_at,
        staged_path=folder / staged_name,
        album_spec=album_spec(source),
        tags=tags_for(source, metadata),
        problems=problems,
        server_destination=(staged_by_server or {}).get(source.text) or server_destination(source),
    )


def tags_for(source: SourceFile, metadata: Metadata) -> list[str]:
    tags = ["legacy", CATEGORY_TAGS[source.category]]
    if source.category == "packs":
        tags.append(f"pack:{source.group}")
    tags.extend(f"lora:{Path(lora['path']).stem}" for lora in metadata.loras)
    return sorted(set(tags))
