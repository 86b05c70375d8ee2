"""An index of absolute paths answering "what lies at, below or above this path" without a scan per question.

Paths are compared as normalised strings (``os.path.normpath``), component by
component: ``/a/b`` contains ``/a/b/c`` but not ``/a/bc``. Sorting once makes
"at or below" a range lookup; "above" walks the path's own ancestors.
"""

from __future__ import annotations

import bisect
import os
from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class PathIndex(Generic[T]):
    """Values filed under normalised absolute paths (several values may share one path)."""

    def __init__(self, entries: Iterable[tuple[str, T]] = ()) -> None:
        self._by_path: dict[str, list[T]] = defaultdict(list)
        for path, value in entries:
            self._by_path[os.path.normpath(path)].append(value)
        self._sorted = sorted(self._by_path)

    def __len__(self) -> int:
        return sum(len(values) for values in self._by_path.values())

    def within(self, path: str) -> list[T]:
        """Values filed at ``path`` or anywhere below it."""
        path = os.path.normpath(path)
        below = path.rstrip("/") + "/"
        found: list[T] = list(self._by_path.get(path, ()))
        start = bisect.bisect_left(self._sorted, below)
        for key in self._sorted[start:]:
            if not key.startswith(below):
                break
            found.extend(self._by_path[key])
        return found

    def above(self, path: str) -> list[T]:
        """Values filed at a strict ancestor of ``path``."""
        found: list[T] = []
        current = os.path.normpath(path)
        while True:
            parent = os.path.dirname(current)
            if parent == current:
                return found
            found.extend(self._by_path.get(parent, ()))
            current = parent

    def overlapping(self, path: str) -> list[T]:
        """Values filed at ``path``, below it or above it: everything removing ``path`` would touch or cut."""
        return self.above(path) + self.within(path)
