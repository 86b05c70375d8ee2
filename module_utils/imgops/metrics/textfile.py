"""Prometheus text exposition for node_exporter's textfile collector.

One ``<name>.prom`` file per producer in the collector's folder, replaced
atomically (the temporary file starts with a dot and ends in ``.tmp``, which the
collector ignores), every metric with HELP and TYPE lines, label values escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..fs import atomic_write_text


@dataclass
class Metric:
    """One metric family: its samples are (labels, value) pairs."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def render(metrics: list[Metric]) -> str:
    lines: list[str] = []
    for metric in metrics:
        if not metric.samples:
            continue
        lines.append(f"# HELP {metric.name} {metric.help}")
        lines.append(f"# TYPE {metric.name} {metric.type}")
        for labels, value in metric.samples:
            text = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
            lines.append(f"{metric.name}{{{text}}} {_number(value)}" if text else f"{metric.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_textfile(folder: Path, name: str, metrics: list[Metric]) -> Path:
    """Write ``<folder>/<name>.prom`` atomically (mode 0644, readable by node_exporter)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.prom"
    atomic_write_text(path, render(metrics), mode=0o644)
    return path
