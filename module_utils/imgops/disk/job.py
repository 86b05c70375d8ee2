"""The ``disk`` job: usage and inodes per target against thresholds, metrics, and a fill forecast.

It only reads the platform: ``changed`` is always false. It writes monitoring
output (the ``imgops_disk.prom`` textfile and the history in ``state_dir``),
which is not a change to what it watches; a dry run writes neither.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import PATH_KEYS, Config
from ..fs import job_lock
from ..jsonlog import log_event
from ..result import JobResult
from . import forecast as fc
from .textfile import Metric, write_textfile
from .thresholds import SEVERITIES, evaluate, thresholds_for, worst
from .usage import measure, mount_point

_LOG_LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL, "unknown": logging.ERROR}


@dataclass(frozen=True)
class Target:
    label: str
    path: Path
    settings: dict[str, Any]


def collect_targets(config: Config) -> list[Target]:
    """``disk.targets`` as configured, then one target per other filesystem holding a configured root.

    imgops' own ``state_dir`` is not a platform root and is left out.
    """
    targets = [
        Target(entry.get("label") or str(entry["path"]), Path(entry["path"]), entry)
        for entry in config.section("disk")["targets"]
    ]
    covered = {mount_point(t.path) for t in targets if t.path.exists()}
    for key in PATH_KEYS:
        path = config.paths.get(key) if key != "state_dir" else None
        if path is None or not path.exists():
            continue
        mount = mount_point(path)
        if mount not in covered:
            covered.add(mount)
            targets.append(Target(key, path, {}))
    return targets


def _check_target(
    target: Target, section: dict[str, Any], history: dict[str, list[list[float]]], now: float
) -> dict[str, Any]:
    limits = thresholds_for(section, target.settings)
    entry: dict[str, Any] = {"target": target.label, "path": str(target.path), "thresholds": limits.to_dict()}
    try:
        usage = measure(target.path)
    except OSError as exc:
        reason = f"cannot read {target.path}: {exc.strerror}"
        return {**entry, "mount": None, "severity": "unknown", "reasons": [reason]}
    severity, reasons = evaluate(usage, limits)
    samples = fc.record(history, str(usage.mount), now, usage.used_bytes, float(section["forecast_window_days"]))
    outlook = fc.forecast(samples, usage.free_bytes)
    return {
        **entry,
        "mount": str(usage.mount),
        "severity": severity,
        "reasons": reasons,
        "size_bytes": usage.size_bytes,
        "used_bytes": usage.used_bytes,
        "free_bytes": usage.free_bytes,
        "used_percent": round(usage.used_percent, 2),
        "inodes_total": usage.inodes_total,
        "inodes_free": usage.inodes_free,
        "inode_used_percent": None if usage.inode_used_percent is None else round(usage.inode_used_percent, 2),
        "growth_bytes_per_day": outlook.growth_bytes_per_day,
        "days_until_full": outlook.days_until_full,
    }


def run_disk_check(config: Config, *, dry_run: bool = False, now: datetime | None = None) -> JobResult:
    """Check every target; log one line each; write metrics and history unless ``dry_run``."""
    section = config.section("disk")
    result = JobResult(job="disk", dry_run=dry_run)
    stamp = (now or datetime.now(UTC)).timestamp()
    history_path = config.state_dir / fc.HISTORY_FILE
    with job_lock(config.state_dir, "disk", config.lock_timeout_seconds):
        history, problem = fc.load_history(history_path)
        if problem:
            result.notice(problem, path=str(history_path))
        checked = [_check_target(target, section, history, stamp) for target in collect_targets(config)]
        for entry in checked:
            fields = {k: v for k, v in entry.items() if k != "thresholds"}
            log_event("disk_usage", _LOG_LEVELS[entry["severity"]], **fields)
            if entry["severity"] == "unknown":
                result.error(f"disk target {entry['target']}: {'; '.join(entry['reasons'])}", target=entry["target"])
        textfile = None
        if not dry_run:
            fc.save_history(history_path, history)
            if section.get("textfile_dir"):
                textfile = write_textfile(Path(section["textfile_dir"]), "imgops_disk", _metrics(checked, stamp))
    severities = [entry["severity"] for entry in checked]
    result.summary = {
        "severity": worst(severities),
        **{name: severities.count(name) for name in SEVERITIES},
        "alerts": sum(severity != "ok" for severity in severities),
        "targets": checked,
        "textfile": str(textfile) if textfile else None,
        "history": None if dry_run else str(history_path),
    }
    return result


_GAUGES = (
    ("size_bytes", "imgops_disk_size_bytes", "Filesystem size in bytes.", 1),
    ("used_bytes", "imgops_disk_used_bytes", "Bytes used on the filesystem.", 1),
    ("free_bytes", "imgops_disk_free_bytes", "Bytes available to unprivileged users.", 1),
    ("used_percent", "imgops_disk_used_ratio", "Used space as a ratio of used plus available (as df).", 0.01),
    ("inodes_total", "imgops_disk_inodes_total", "Inodes on the filesystem.", 1),
    ("inodes_free", "imgops_disk_inodes_free", "Inodes available.", 1),
    ("inode_used_percent", "imgops_disk_inodes_used_ratio", "Used inodes as a ratio of all inodes.", 0.01),
    ("growth_bytes_per_day", "imgops_disk_growth_bytes_per_day", "Recent growth of used bytes per day.", 1),
    ("days_until_full", "imgops_disk_days_until_full", "Days until full at the recent growth rate.", 1),
)


def _metrics(checked: list[dict[str, Any]], stamp: float) -> list[Metric]:
    """node_exporter textfile metrics: base units and ratios, labels target, path and mount."""
    gauges = [(key, Metric(name, help_text), scale) for key, name, help_text, scale in _GAUGES]
    severity = Metric("imgops_disk_severity", "Check result: 0 ok, 1 warning, 2 critical, 3 unknown.")
    warn = Metric("imgops_disk_warn_ratio", "Space warning threshold as a ratio.")
    crit = Metric("imgops_disk_crit_ratio", "Space critical threshold as a ratio.")
    for entry in checked:
        labels = {"target": entry["target"], "path": entry["path"], "mount": entry["mount"] or ""}
        severity.add(SEVERITIES.index(entry["severity"]), **labels)
        warn.add(entry["thresholds"]["warn_percent"] / 100, **labels)
        crit.add(entry["thresholds"]["crit_percent"] / 100, **labels)
        for key, metric, scale in gauges:
            if entry.get(key) is not None:
                metric.add(round(entry[key] * scale, 6), **labels)
    last = Metric("imgops_disk_last_check_timestamp_seconds", "When the disk check last ran, unix time.")
    last.add(stamp)
    return [*(metric for _, metric, _ in gauges), severity, warn, crit, last]
