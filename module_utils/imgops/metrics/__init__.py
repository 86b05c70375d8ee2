"""Prometheus metrics for node_exporter's textfile collector, written the same way by every job."""

from .job import records_metrics, textfile_dir
from .textfile import Metric, render, write_textfile

__all__ = ["Metric", "records_metrics", "render", "textfile_dir", "write_textfile"]
