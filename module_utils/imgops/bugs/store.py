"""Report files of every era: a broken or hostile file becomes a ``corrupt`` entry, never an exception.

The server wrote ``<storage>/<report_id>.json`` (seed), later with a screenshot folder
``<storage>/<report_id>/`` beside it and the keys ``screenshot_path``, ``screenshot_error``,
``updated_at`` and ``resolution{}`` (interim, SERVER_FACTS 5.6), and found them recursively as
``bug_*.json``. Every file is read with ``fs.read.read_regular`` (a FIFO or device named like a
report is a problem item, not a hang) and parsed with ``jsontext.loads`` (depth, digits, NaN,
duplicate keys and non-finite numbers bounded), so one bad file never ends a listing.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..contracts import problems
from ..errors import InputError
from ..fs.read import read_regular
from . import jsontext

STATUSES = ("open", "in_progress", "resolved")
"""The server's status vocabulary (SERVER_FACTS 6): the only statuses imgops writes."""
REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
DESCRIPTION_WIDTH = 60
MAX_FOLDER_DEPTH = 16
FILE_KIND = "bug report"


@dataclass(frozen=True)
class ReportFile:
    """One report file, parsed (``data`` and its ``text``) or marked corrupt."""

    path: Path
    size: int
    mtime: datetime
    data: dict[str, Any] | None
    corrupt: str | None = None
    text: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def report_id(self) -> str:
        return self.path.name.removesuffix(".json")

    @property
    def status(self) -> str | None:
        value = self.data.get("status") if self.data else None
        return value if isinstance(value, str) else None

    @property
    def submitted_at(self) -> datetime:
        """When the report was filed: ``submitted_at`` (UTC), else the file's time."""
        if self.data:
            parsed = parse_timestamp(self.data.get("submitted_at"))
            if parsed is not None:
                return parsed
        return self.mtime

    @property
    def screenshot_folder(self) -> Path:
        """``<storage>/<report_id>/``: where the server put the report's screenshot, beside its file."""
        return self.path.parent / self.report_id


@dataclass(frozen=True)
class ReportEntry:
    """What a listing needs of one report file: a parsed report's fields, or why it is corrupt."""

    folder: Path
    name: str
    """The file's path relative to the folder (reports may lie in sub-folders)."""
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
        return PurePosixPath(self.name).name.removesuffix(".json")

    @classmethod
    def from_file(cls, report: ReportFile, folder: Path | None = None) -> ReportEntry:
        """The entry of ``report``, named by its path in ``folder`` (default: the file's own folder)."""
        folder = report.path.parent if folder is None else folder
        data = report.data or {}
        found = problems(report.data, "bug_report_file") if report.data is not None else []
        submitted_by = data.get("submitted_by")
        description = data.get("description")
        return cls(
            folder=folder,
            name=report.path.relative_to(folder).as_posix(),
            size=report.size,
            submitted_at=report.submitted_at,
            status=report.status,
            submitted_by=submitted_by if isinstance(submitted_by, str) else None,
            description=description if isinstance(description, str) else "",
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
        return listing_row(self.report_id, self.status, self.submitted_at, self.submitted_by, self.size,
                           self.description, self.corrupt)  # fmt: skip


def listing_row(
    report_id: str,
    status: str | None,
    submitted_at: datetime | None,
    submitted_by: str | None,
    size: int,
    description: str,
    corrupt: str | None = None,
) -> dict[str, Any]:
    """One row of ``bugs list``, the same for files and database rows."""
    short = description
    if len(short) > DESCRIPTION_WIDTH:
        short = short[: DESCRIPTION_WIDTH - 1] + "…"
    return {
        "id": report_id,
        "status": "corrupt" if corrupt is not None else (status or "-"),
        "submitted_at": submitted_at.isoformat() if submitted_at else None,
        "submitted_by": submitted_by,
        "size": size,
        "description": short,
        **({"corrupt": corrupt} if corrupt else {}),
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


def is_report_name(name: str) -> bool:
    """The server's pattern ``bug_*.json`` (temp files of an interrupted write start with a dot)."""
    return name.startswith("bug_") and name.endswith(".json")


def report_paths(folder: Path) -> list[Path]:
    """Every entry named ``bug_*.json`` in ``folder`` and its sub-folders, whatever its file type.

    Sub-folders are entered without following symlinks, at most MAX_FOLDER_DEPTH deep; entries that
    are not regular files are returned too, so that reading them reports them as problems.
    """
    if not os.path.isdir(folder):
        raise InputError(f"bug report folder {folder} does not exist", path=str(folder))
    found: list[Path] = []
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:
            if current == folder:
                raise InputError(f"bug report folder {folder} cannot be read", path=str(folder)) from None
            continue  # a sub-folder removed or closed meanwhile holds nothing to list
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_FOLDER_DEPTH and not entry.name.startswith("."):
                    pending.append((Path(entry.path), depth + 1))
            elif is_report_name(entry.name):
                found.append(Path(entry.path))
    return sorted(found)


def _reason(exc: InputError, path: Path) -> str:
    """The reason of a read or parse error, without the file name the listing shows anyway."""
    for prefix in (f"{FILE_KIND} {path}: ", f"{path}: "):
        if exc.message.startswith(prefix):
            return exc.message[len(prefix) :]
    return exc.message


def read_report(path: Path) -> ReportFile:
    """The report at ``path``; anything but a regular file holding a JSON object is ``corrupt``."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return ReportFile(path, 0, datetime.now(UTC), None, f"unreadable: {exc.strerror}")
    mtime = datetime.fromtimestamp(st.st_mtime, UTC)
    if stat.S_ISLNK(st.st_mode):
        return ReportFile(path, 0, mtime, None, "is a symlink; symlinks are never followed")
    try:
        raw = read_regular(path, FILE_KIND)
    except InputError as exc:
        return ReportFile(path, st.st_size if stat.S_ISREG(st.st_mode) else 0, mtime, None, _reason(exc, path))
    if not raw.strip():
        return ReportFile(path, len(raw), mtime, None, "empty file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ReportFile(path, len(raw), mtime, None, f"not UTF-8 (byte {exc.start})")
    try:
        data = jsontext.loads(text, str(path))
    except InputError as exc:
        return ReportFile(path, len(raw), mtime, None, _reason(exc, path))
    if not isinstance(data, dict):
        return ReportFile(path, len(raw), mtime, None, f"not a JSON object ({type(data).__name__})")
    return ReportFile(path, len(raw), mtime, data, text=text)


def load_reports(folder: Path) -> list[ReportFile]:
    return [read_report(path) for path in report_paths(folder)]


def check_report_id(report_id: str) -> str:
    """``report_id`` if it is a plain id (no path, nothing outside the folder), else an InputError."""
    if not REPORT_ID.match(report_id):
        raise InputError(f"invalid report id {report_id!r}", report_id=report_id)
    return report_id.removesuffix(".json")


def report_path(folder: Path, report_id: str) -> Path:
    """The file of ``report_id``: ``<folder>/<id>.json``, else the one of that name in a sub-folder."""
    report_id = check_report_id(report_id)
    name = f"{report_id}.json"
    direct = folder / name
    if os.path.lexists(direct):
        return direct
    nested = [path for path in report_paths(folder) if path.name == name]
    if not nested:
        raise InputError(f"no bug report {report_id!r} in {folder}", report_id=report_id)
    return nested[0]
