"""The disk check for people and for monitoring: the terminal view and the monitoring-plugin line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import SEVERITIES
from .safe import printable
from .text import problem_lines

NAGIOS_UNKNOWN = SEVERITIES.index("unknown")


def nagios_exit(result: Mapping[str, Any]) -> int:
    """Monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    return SEVERITIES.index(result["summary"].get("severity", "unknown"))


def _perf_label(text: str) -> str:
    return "'" + printable(text).replace("'", "_").replace("=", "_").replace("|", "_") + "'"


def nagios_line(result: Mapping[str, Any]) -> str:
    """One status line with perfdata, as monitoring plugins print it."""
    severity = result["summary"].get("severity", "unknown")
    targets = result["summary"].get("targets", [])
    problems = [t for t in targets if t["severity"] != "ok"]
    shown = problems or targets
    text = printable("; ".join(
        f"{t['target']} {', '.join(t['reasons'])}" if t["reasons"] else f"{t['target']} {t['used_percent']:.1f}% used"
        for t in shown
    )).replace("|", "/")  # fmt: skip
    perf = []
    for t in targets:
        if t["mount"] is None:
            continue
        limits = t["thresholds"]
        perf.append(f"{_perf_label(t['target'])}={t['used_percent']}%;{limits['warn_percent']:g};"
                    f"{limits['crit_percent']:g};0;100")  # fmt: skip
        if t["inode_used_percent"] is not None:
            perf.append(f"{_perf_label(t['target'] + ' inodes')}={t['inode_used_percent']}%;"
                        f"{limits['inode_warn_percent']:g};{limits['inode_crit_percent']:g};0;100")  # fmt: skip
        perf.append(f"{_perf_label(t['target'] + ' free')}={t['free_bytes']}B;;;0;{t['size_bytes']}")
    return f"DISK {severity.upper()} - {text or 'no targets'}" + (" | " + " ".join(perf) if perf else "")


def nagios_error(message: str) -> str:
    """The status line when the check could not run (bad configuration, lock held)."""
    return f"DISK UNKNOWN - {printable(message).replace('|', '/')}"


def render_disk(result: Mapping[str, Any]) -> str:
    """The terminal view: one line per target."""
    summary = result["summary"]
    lines = [f"imgops disk: {summary.get('severity', 'unknown')}" + (" (dry run)" if result["dry_run"] else "")]
    for entry in summary.get("targets", []):
        t = {key: printable(value) if isinstance(value, str) else value for key, value in entry.items()}
        t["reasons"] = [printable(reason) for reason in entry.get("reasons", [])]
        if t["mount"] is None:
            lines.append(f"  {t['severity']:<8} {t['target']} ({t['path']}): {'; '.join(t['reasons'])}")
            continue
        inodes = "-" if t["inode_used_percent"] is None else f"{t['inode_used_percent']:.1f}%"
        full = "-" if t["days_until_full"] is None else f"{t['days_until_full']:g} days"
        lines.append(
            f"  {t['severity']:<8} {t['target']} ({t['path']} on {t['mount']}): {t['used_percent']:.1f}% used, "
            f"{t['free_bytes']} bytes free, inodes {inodes}, full in {full}"
            + (f" [{'; '.join(t['reasons'])}]" if t["reasons"] else "")
        )
    lines.extend(problem_lines(result))
    return "\n".join(lines)
