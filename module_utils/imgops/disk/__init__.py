"""Disk usage and inode checks against thresholds, Prometheus textfile metrics, a fill forecast."""

from .job import run_disk_check

__all__ = ["run_disk_check"]
