"""How reconcile names files: the server's rules for an image's file and its thumbnail (SERVER_FACTS 5.2, 9)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})
OLD_IMGOPS_THUMBNAIL = re.compile(r"legacy-[0-9a-f]{64}\.jpg")
"""The thumbnails imgops wrote before it wrote the server's (``legacy-<sha256>.jpg``), never served."""


@dataclass(frozen=True)
class Bases:
    """The folders a relative path in a row may be relative to, in the order the server tries them."""

    outputs_dir: Path | None
    platform_dir: Path | None

    def candidates(self, named: str) -> list[str]:
        """Where a ``file_path`` (or ``thumbnail_path``) value may point: as-is when absolute, else per base."""
        if os.path.isabs(named):
            return [os.path.normpath(named)]
        return [os.path.normpath(os.path.join(base, named)) for base in (self.outputs_dir, self.platform_dir) if base]


def server_thumbnail_id(name: str) -> int | None:
    """The image id of the server's thumbnail name ``<id>.webp`` (5.2), else None."""
    digits = name[:-5]
    return int(digits) if name[-5:] == ".webp" and digits.isdigit() and digits.isascii() else None


def image_file(file_path: str | None, filename: str | None) -> str | None:
    """What the server reads for an image: ``file_path``, else ``filename`` (5.2)."""
    return file_path or filename or None
