"""Disk usage and inode checks against thresholds, Prometheus textfile metrics, a fill forecast."""

from .job import nagios_exit, nagios_line, render_text, run_disk_check

__all__ = ["nagios_exit", "nagios_line", "render_text", "run_disk_check"]
