"""Findings: one count and up to ``SAMPLES`` examples per kind, in memory that does not grow with the data.

Sets of ids are bitmaps (one bit per id up to the largest), sets of paths are sorted arrays of
64-bit hashes (eight bytes per path), so a scan of a million rows holds a few megabytes. A hash
collision can only make an unreferenced file look referenced, which hides it from a report; it
never makes reconcile change anything.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

SAMPLES = 20

KINDS = (
    "missing_image_files",
    "orphan_thumbnails",
    "dangling_thumbnail_paths",
    "dangling_album_images",
    "dangling_labels",
    "images_in_purged_folders",
    "unreferenced_files",
    "queue_rows_for_vanished_images",
)
"""Every kind reconcile looks for, in the order it reports them."""


@dataclass
class Finding:
    """How many of one kind were found (and fixed), with the first few as examples."""

    count: int = 0
    fixed: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **sample: Any) -> None:
        self.count += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(sample)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "fixed": self.fixed, "samples": list(self.samples)}


def new_findings() -> dict[str, Finding]:
    return {kind: Finding() for kind in KINDS}


class IdSet:
    """Ids below a known bound, one bit each."""

    def __init__(self, bound: int) -> None:
        self._bits = bytearray((max(bound, 0) >> 3) + 1)
        self._bound = bound

    def add(self, value: int) -> None:
        if 0 <= value <= self._bound:
            self._bits[value >> 3] |= 1 << (value & 7)

    def discard(self, value: int) -> None:
        if 0 <= value <= self._bound:
            self._bits[value >> 3] &= ~(1 << (value & 7)) & 0xFF

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int) or not 0 <= value <= self._bound:
            return False
        return bool(self._bits[value >> 3] & (1 << (value & 7)))


class HashSet:
    """Hashable keys (paths, inode pairs) as a sorted array of their 64-bit hashes; sealed before lookups."""

    def __init__(self) -> None:
        self._hashes = array("q")
        self._sealed = False

    def add(self, key: object) -> None:
        self._hashes.append(hash(key))

    def seal(self) -> None:
        self._hashes = array("q", sorted(self._hashes))
        self._sealed = True

    def __contains__(self, key: object) -> bool:
        if not self._sealed:
            raise RuntimeError("seal() a HashSet before looking keys up")
        value = hash(key)
        at = bisect_left(self._hashes, value)
        return at < len(self._hashes) and self._hashes[at] == value
