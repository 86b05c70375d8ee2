"""Retention: which reports expire, and a durable archive written before anything is deleted."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from ..fs import atomic_write_bytes
from .store import ReportFile


def expires(report: ReportFile, cutoff: datetime, statuses: Iterable[str]) -> bool:
    """Corrupt files never expire; others when old enough and in an expiring status (``*`` = any)."""
    if report.corrupt is not None:
        return False
    statuses = set(statuses)
    return report.submitted_at < cutoff and ("*" in statuses or report.status in statuses)


def retention_cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def write_archive(archive_dir: Path, reports: list[ReportFile], now: datetime) -> Path:
    """A gzip tar of the reports' bytes, written atomically (and synced) before anyone deletes them."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    target = archive_dir / f"bug-reports-{now:%Y%m%dT%H%M%S%fZ}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for report in reports:
            payload = report.path.read_bytes()
            info = tarfile.TarInfo(report.path.name)
            info.size = len(payload)
            info.mtime = int(report.mtime.timestamp())
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(payload))
    atomic_write_bytes(target, buffer.getvalue(), mode=0o640)
    return target
