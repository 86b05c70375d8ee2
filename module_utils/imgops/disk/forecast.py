"""Days until a filesystem is full, from a small history of used bytes kept in ``state_dir``.

The history is one JSON file, ``{"filesystems": {mount: [[unix_time, used_bytes], ...]}}``,
trimmed to the forecast window and replaced atomically on every check. The growth
rate is the least-squares slope of used bytes over the window's samples.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from ..fs import atomic_write_text

HISTORY_FILE = "disk_history.json"
MIN_SPAN_SECONDS = 3600.0  # a rate over less than an hour says more about noise than growth
MAX_SAMPLES = 2000


@dataclass(frozen=True)
class Forecast:
    growth_bytes_per_day: float | None
    days_until_full: float | None


def load_history(path: Path) -> tuple[dict[str, list[list[float]]], str | None]:
    """The stored samples per mount, and a problem to report when the file was unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        filesystems = data["filesystems"]
        return {str(mount): [[float(t), float(u)] for t, u in samples] for mount, samples in filesystems.items()}, None
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {}, f"disk history {path} is unreadable ({exc.__class__.__name__}); starting a new one"


def record(
    history: dict[str, list[list[float]]], mount: str, now: float, used_bytes: int, window_days: float
) -> list[list[float]]:
    """Add a sample for ``mount`` and drop those older than the window; the samples kept."""
    oldest = now - window_days * 86400
    samples = [s for s in history.get(mount, []) if oldest <= s[0] < now] + [[now, float(used_bytes)]]
    history[mount] = samples[-MAX_SAMPLES:]
    return history[mount]


def forecast(samples: list[list[float]], free_bytes: int) -> Forecast:
    """Growth per day over the samples and, when growing, the days until ``free_bytes`` is used up."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < MIN_SPAN_SECONDS:
        return Forecast(None, None)
    times, used = zip(*samples, strict=True)
    slope_per_second = statistics.linear_regression(times, used).slope
    per_day = slope_per_second * 86400
    days = free_bytes / per_day if per_day > 0 else None
    return Forecast(round(per_day, 1), round(days, 2) if days is not None else None)


def save_history(path: Path, history: dict[str, list[list[float]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"filesystems": history}, separators=(",", ":")) + "\n")
