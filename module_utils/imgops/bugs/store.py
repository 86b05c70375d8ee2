"""Reading report files: a broken file becomes a ``corrupt`` entry, never an exception."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..contracts import problems
from ..errors import InputError

STATUSES = ("open", "in_progress", "resolved", "closed")
REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
DESCRIPTION_WIDTH = 60


@dataclass(frozen=True)
class ReportFile:
    """One file in the bug report folder, parsed or marked corrupt."""

    path: Path
    size: int
    mtime: datetime
    data: dict[str, Any] | None
    corrupt: str | None = None

    @property
    def report_id(self) -> str:
        return self.path.stem

    @property
    def status(self) -> str | None:
        return self.data.get("status") if self.data else None

    @property
    def submitted_at(self) -> datetime:
        """When the report was filed: ``submitted_at`` (UTC), else the file's time."""
        if self.data:
            parsed = parse_timestamp(self.data.get("submitted_at"))
            if parsed is not None:
                return parsed
        return self.mtime

    def contract_problems(self) -> list[str]:
        return problems(self.data, "bug_report_receipt") if self.data is not None else []

    def row(self) -> dict[str, Any]:
        """The short form shown in listings."""
        description = str((self.data or {}).get("description") or "")
        short = description if len(description) <= DESCRIPTION_WIDTH else description[: DESCRIPTION_WIDTH - 1] + "…"
        return {
            "id": self.report_id,
            "status": self.status if self.corrupt is None else "corrupt",
            "submitted_at": self.submitted_at.isoformat(),
            "submitted_by": (self.data or {}).get("submitted_by"),
            "size": self.size,
            "description": short,
            **({"corrupt": self.corrupt} if self.corrupt else {}),
        }


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; naive values are UTC, as the platform writes them."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def report_paths(folder: Path) -> list[Path]:
    """Report files directly in ``folder`` (temp files of an interrupted write are not reports)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        raise InputError(f"bug report folder {folder} does not exist", path=str(folder)) from None
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.name.endswith(".json") and not entry.name.startswith(".") and entry.is_file(follow_symlinks=False)
    )


def read_report(path: Path) -> ReportFile:
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            raw = handle.read()
    except OSError as exc:
        return ReportFile(path, 0, datetime.now(UTC), None, f"unreadable: {exc.strerror}")
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    if not raw.strip():
        return ReportFile(path, stat.st_size, mtime, None, "empty file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ReportFile(path, stat.st_size, mtime, None, f"not UTF-8 (byte {exc.start})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ReportFile(path, stat.st_size, mtime, None, f"invalid JSON: {exc.msg} at line {exc.lineno}")
    if not isinstance(data, dict):
        return ReportFile(path, stat.st_size, mtime, None, f"not a JSON object ({type(data).__name__})")
    return ReportFile(path, stat.st_size, mtime, data)


def load_reports(folder: Path) -> list[ReportFile]:
    return [read_report(path) for path in report_paths(folder)]


def report_path(folder: Path, report_id: str) -> Path:
    """The file of ``report_id``; the id may not name anything outside the folder."""
    if not REPORT_ID.match(report_id):
        raise InputError(f"invalid report id {report_id!r}", report_id=report_id)
    path = folder / f"{report_id.removesuffix('.json')}.json"
    if not path.is_file():
        raise InputError(f"no bug report {report_id!r} in {folder}", report_id=report_id)
    return path
