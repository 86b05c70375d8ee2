"""The playbook's run summary: a line per job per host, and the fleet report with its totals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .safe import printable
from .text import summary_line

# Where each headline figure lives: (job, key in that job's summary). Missing jobs count as 0.
FIGURES: dict[str, tuple[str, str]] = {
    "bytes_freed": ("purge", "bytes_freed"),
    "alerts": ("disk", "alerts"),
    "images_imported": ("legacy", "ingested"),
    "reports_expired": ("bugs", "expired"),
}


def _ran(result: Any) -> bool:
    return isinstance(result, Mapping) and not result.get("skipped")


def summary_lines(results: Mapping[str, Any]) -> list[str]:
    """One line per job that ran on a host, as the CLI's headline shows it."""
    lines = [summary_line(job, result) for job, result in sorted(results.items()) if _ran(result)]
    return lines or ["no imgops job ran on this host"]


def host_figures(results: Mapping[str, Any]) -> dict[str, int]:
    """The headline figures of one host's results."""
    figures = {}
    for name, (job, key) in FIGURES.items():
        result = results.get(job)
        value = (result.get("summary") or {}).get(key, 0) if _ran(result) else 0
        figures[name] = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return figures


def fleet_report(hostvars: Any, hosts_all: list[str], hosts_ok: list[str], generated_at: str) -> dict[str, Any]:
    """The run's report: a row per host (status, figures, jobs) and the totals."""
    rows = []
    for host in hosts_all:
        results = dict(hostvars[host].get("imgops_results") or {})
        jobs = {
            job: {
                "changed": bool(result.get("changed")),
                "failed": bool(result.get("failed")),
                "dry_run": bool(result.get("dry_run")),
            }
            for job, result in sorted(results.items())
            if _ran(result)
        }
        status = "ok" if host in hosts_ok and not any(j["failed"] for j in jobs.values()) else "failed"
        rows.append({"host": host, "status": status, **host_figures(results), "jobs": jobs})
    totals = {name: sum(row[name] for row in rows) for name in FIGURES}
    totals["hosts"] = len(rows)
    totals["failed_hosts"] = sum(row["status"] == "failed" for row in rows)
    return {"generated_at": generated_at, "hosts": rows, "totals": totals}


def size_text(count: int) -> str:
    """Bytes in binary units, as people read them."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def fleet_lines(report: Mapping[str, Any]) -> list[str]:
    """The report as aligned terminal lines: one per host, then the totals."""
    width = max([len(printable(row["host"])) for row in report["hosts"]] + [len("TOTAL")])

    def line(name: str, status: str, row: Mapping[str, Any]) -> str:
        return (
            f"{name:<{width}}  {status:<6}  freed {size_text(row['bytes_freed']):>10}  alerts {row['alerts']:>3}  "
            f"imported {row['images_imported']:>6}  expired {row['reports_expired']:>4}"
        )

    lines = [line(printable(row["host"]), printable(row["status"]), row) for row in report["hosts"]]
    totals = report["totals"]
    lines.append(line("TOTAL", f"{totals['hosts'] - totals['failed_hosts']}/{totals['hosts']}", totals))
    return lines
