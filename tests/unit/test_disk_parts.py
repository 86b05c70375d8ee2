"""Disk parts without a filesystem: threshold inheritance, severities, the textfile format, the forecast."""

from __future__ import annotations

from pathlib import Path

from imgops.config import Thresholds
from imgops.disk.forecast import forecast
from imgops.disk.thresholds import evaluate
from imgops.fs.usage import FilesystemUsage
from imgops.metrics.textfile import Metric, render


def usage(used: int, free: int, inodes_total: int = 100, inodes_free: int = 100) -> FilesystemUsage:
    return FilesystemUsage(Path("/mnt"), used + free, used, free, inodes_total, inodes_free)


def test_target_keys_win_and_inode_thresholds_follow_the_space_ones() -> None:
    section = {"warn_percent": 85, "crit_percent": 95, "min_free_bytes": 10}
    limits = Thresholds.resolve(section, {"warn_percent": 60})
    assert (limits.warn_percent, limits.crit_percent, limits.inode_warn_percent, limits.inode_crit_percent) == (
        60, 95, 60, 95,
    )  # fmt: skip
    assert Thresholds.resolve({**section, "inode_warn_percent": 90}, {"warn_percent": 60}).inode_warn_percent == 90
    assert evaluate(usage(59, 41), limits) == ("ok", [])
    assert evaluate(usage(60, 40), limits)[0] == "warning"
    assert evaluate(usage(95, 5), limits) == (
        "critical", ["space 95.0% used >= critical 95%", "5 bytes free < floor 10"],
    )  # fmt: skip
    assert evaluate(usage(0, 100, inodes_total=0, inodes_free=0), limits) == ("ok", [])  # no inode table


def test_textfile_has_help_type_and_escaped_labels() -> None:
    metric = Metric("imgops_disk_free_bytes", "Bytes available.")
    metric.add(12.0, target='we"ird\\name', path="/mnt/a\nb")
    empty = Metric("imgops_unused", "No samples, no lines.")
    assert render([metric, empty]) == (
        "# HELP imgops_disk_free_bytes Bytes available.\n"
        "# TYPE imgops_disk_free_bytes gauge\n"
        'imgops_disk_free_bytes{target="we\\"ird\\\\name",path="/mnt/a\\nb"} 12\n'
    )


def test_forecast_needs_an_hour_of_growth() -> None:
    assert forecast([[0, 100], [60, 200]], 1000).days_until_full is None
    assert forecast([[0, 100], [86400, 100]], 1000).days_until_full is None  # flat: never full
    outlook = forecast([[0, 0], [43200, 50], [86400, 100]], 1000)
    assert (outlook.growth_bytes_per_day, outlook.days_until_full) == (100.0, 10.0)
