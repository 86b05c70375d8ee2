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


@dataclass(frozen=True)
class ReportEntry:
    """What a listing needs of one report file: a parsed report's fields, or why it is corrupt."""

    folder: Path
    name: str
    size: int
    submitted_at: datetime
    status: str | None
    submitted_by: str | None
    description: str
    corrupt: str | None
    contract_problem: str | None

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def report_id(self) -> str:
        return self.name.removesuffix(".json")

    @classmethod
    def from_file(cls, report: ReportFile) -> ReportEntry:
        data = report.data or {}
        found = problems(report.data, "bug_report_file") if report.data is not None else []
        submitted_by = data.get("submitted_by")
        return cls(
            folder=report.path.parent,
            name=report.path.name,
            size=report.size,
            submitted_at=report.submitted_at,
            status=report.status if isinstance(report.status, str) else None,
            submitted_by=submitted_by if isinstance(submitted_by, str) else None,
            description=str(data.get("description") or ""),
            corrupt=report.corrupt,
            contract_problem=found[0] if found else None,
        )

    def cacheable(self) -> dict[str, Any]:
        """The fields the index keeps (all but the folder)."""
        return {
            "name": self.name, "size": self.size, "submitted_at": self.submitted_at.isoformat(),
            "status": self.status, "submitted_by": self.submitted_by, "description": self.description,
            "corrupt": self.corrupt, "contract_problem": self.contract_problem,
        }  # fmt: skip

    @classmethod
    def from_cache(cls, folder: Path, cached: dict[str, Any]) -> ReportEntry:
        return cls(folder=folder, **{**cached, "submitted_at": datetime.fromisoformat(cached["submitted_at"])})

    def row(self) -> dict[str, Any]:
        """The short form shown in listings."""
        short = self.description
        if len(short) > DESCRIPTION_WIDTH:
            short = short[: DESCRIPTION_WIDTH - 1] + "…"
        return {
            "id": self.report_id,
            "status": self.status if self.corrupt is None else "corrupt",
            "submitted_at": self.submitted_at.isoformat(),
            "submitted_by": self.submitted_by,
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
        Path(entry.path) for entry in entries if is_report_name(entry.name) and entry.is_file(follow_symlinks=False)
    )


def is_report_name(name: str) -> bool:
    """Report files end in .json; dot files are temp files of an interrupted write."""
    return name.endswith(".json") and not name.startswith(".")


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
