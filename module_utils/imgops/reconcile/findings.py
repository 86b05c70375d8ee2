"""Findings: one count and up to ``SAMPLES`` examples per kind, and the compact sets the stages share.

Nothing here holds a row: sets of ids are bitmaps (one bit per id up to the largest), and the
files listed are 64-bit hashes found through an open-addressing table of their positions
(``FileIndex``). A hash collision can only make a missing file look present or an unreferenced file
look referenced, which hides it from a report; it never makes reconcile change anything (every
repair re-checks on disk or in SQL).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
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

_NONZERO = re.compile(rb"[^\x00]")


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
    """Non-negative ids, one bit each; grows to the largest id added (a row inserted during the scan too)."""

    def __init__(self, bound: int = 0) -> None:
        self._bits = bytearray((max(bound, 0) >> 3) + 1)

    def add(self, value: int) -> None:
        if value < 0:
            return
        at = value >> 3
        if at >= len(self._bits):
            self._bits.extend(bytes(at + 1 - len(self._bits) + (len(self._bits) >> 2)))
        self._bits[at] |= 1 << (value & 7)

    def add_all(self, values: Sequence[int]) -> None:
        """``add`` for each value, the bitmap grown once for the largest."""
        if not values:
            return
        if min(values) < 0:
            values = [value for value in values if value >= 0]
        self.add(max(values, default=0))
        bits = self._bits
        for value in values:
            bits[value >> 3] |= 1 << (value & 7)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int) or value < 0 or value >> 3 >= len(self._bits):
            return False
        return bool(self._bits[value >> 3] & (1 << (value & 7)))

    def __iter__(self) -> Iterator[int]:
        """The ids in ascending order (only the non-zero bytes are looked at)."""
        for match in _NONZERO.finditer(bytes(self._bits)):
            byte, base = match.group()[0], match.start() << 3
            yield from (base + bit for bit in range(8) if byte & (1 << bit))

    def __bool__(self) -> bool:
        return any(self._bits)

    def _number(self) -> int:
        return int.from_bytes(self._bits, "little")

    def issubset(self, other: IdSet) -> bool:
        return self._number() & ~other._number() == 0

    def isdisjoint(self, other: IdSet) -> bool:
        return self._number() & other._number() == 0


class FileIndex:
    """Where a path hash sits in the walk's list of files: linear probing over a table of positions.

    The table has at least twice as many slots as files (4 bytes each), so a lookup costs one or two
    probes and building it needs no sort and no temporary list.
    """

    def __init__(self, hashes: array) -> None:
        size = 1 << max(4, (2 * len(hashes)).bit_length())
        mask = size - 1
        slots = array("i", [-1]) * size
        for at, value in enumerate(hashes):
            slot = value & mask
            while slots[slot] >= 0:
                slot = (slot + 1) & mask
            slots[slot] = at
        self.hashes, self.slots, self.mask = hashes, slots, mask

    def find(self, value: int) -> int:
        """The position of the file whose path hashes to ``value``, or -1."""
        hashes, slots, mask = self.hashes, self.slots, self.mask
        slot = value & mask
        while True:
            at = slots[slot]
            if at < 0 or hashes[at] == value:
                return at
            slot = (slot + 1) & mask


def batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    """``ids`` in lists of at most ``size``."""
    batch: list[int] = []
    for value in ids:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
