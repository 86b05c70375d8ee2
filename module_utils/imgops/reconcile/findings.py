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
    """Keys (paths, inode pairs) as sorted runs of their 64-bit hashes; ``seal()`` before any lookup.

    Sorting in runs of ``RUN`` keeps the sort's temporary list small however many keys there are;
    a lookup bisects each run.
    """

    RUN = 1 << 16

    def __init__(self) -> None:
        self._pending = array("q")
        self._runs: list[array] = []

    def add(self, key: object) -> None:
        self._pending.append(hash(key))

    def add_hash(self, value: int) -> None:
        self._pending.append(value)

    def seal(self) -> HashSet:
        for start in range(0, len(self._pending), self.RUN):
            self._runs.append(array("q", sorted(self._pending[start : start + self.RUN])))
        self._pending = array("q")
        return self

    def __contains__(self, key: object) -> bool:
        return self.has_hash(hash(key))

    def has_hash(self, value: int) -> bool:
        for run in self._runs:
            at = bisect_left(run, value)
            if at < len(run) and run[at] == value:
                return True
        return False
