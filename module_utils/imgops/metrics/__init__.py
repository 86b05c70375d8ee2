"""Prometheus metrics for node_exporter's textfile collector, written the same way by every job."""

from .textfile import Metric, render, write_textfile

__all__ = ["Metric", "render", "write_textfile"]
