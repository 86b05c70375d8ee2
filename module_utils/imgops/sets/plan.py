"""What a sync of the sets plans, whichever table holds the templates: one change per set, and the removed sets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .load import SetTemplate


@dataclass
class SetChange:
    """What one set needs: a new row, an update (with the changed columns), or nothing."""

    template: SetTemplate
    row_id: int | None
    adopted: bool
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.row_id is None:
            return "create"
        return "update" if self.changes or self.adopted else "unchanged"


@dataclass
class SyncPlan:
    changes: list[SetChange]
    removed: list[dict[str, Any]]
    """Rows of sets no longer in the config: ``{"row_id", "name", "set"}``."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """Sets that cannot be written without breaking a rule (a second template of one name): ``{"message", "set"}``."""


def shown(column: str, value: Any) -> Any:
    """A value as diff output shows it: CSV data summarised, not dumped."""
    if column == "csv_data" and isinstance(value, str):
        try:
            count: int | str = len(json.loads(value))
        except ValueError:
            count = "?"
        return f"{count} rows, sha256 {hashlib.sha256(value.encode()).hexdigest()[:12]}"
    return value


def json_rows(template: SetTemplate) -> str:
    """``csv_data``: the CSV rows as a JSON list of objects, every value a string (SERVER_FACTS 4.3)."""
    return json.dumps(list(template.rows), ensure_ascii=False)
