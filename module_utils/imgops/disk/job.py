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

from ..config import Config, DiskSection, Thresholds
from ..fs import job_lock
from ..fs.usage import measure, mount_point
from ..jsonlog import log_event
from ..metrics import Metric, records_metrics, textfile_dir
from ..result import JobResult
from . import forecast as fc
from .thresholds import SEVERITIES, evaluate, worst

_LOG_LEVELS = {"ok": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL, "unknown": logging.ERROR}


@dataclass(frozen=True)
class Target:
    label: str
    path: Path
    thresholds: Thresholds


def collect_targets(config: Config) -> list[Target]:
    """``disk.targets`` as configured, then one target per other filesystem holding a configured root.

    imgops' own ``state_dir`` is not a platform root and is left out.
    """
    targets = [Target(entry.label or str(entry.path), entry.path, entry.thresholds) for entry in config.disk.targets]
    covered = {mount_point(t.path) for t in targets if t.path.exists()}
    for key, path in config.paths.configured().items():
        if key == "state_dir" or not path.exists():
            continue
        mount = mount_point(path)
        if mount not in covered:
            covered.add(mount)
            targets.append(Target(key, path, config.disk.thresholds))
    return targets


def _check_target(
    target: Target, section: DiskSection, history: dict[str, list[list[float]]], now: float
) -> dict[str, Any]:
    limits = target.thresholds
    entry: dict[str, Any] = {"target": target.label, "path": str(target.path), "thresholds": limits.to_dict()}
    try:
        usage = measure(target.path)
    except OSError as exc:
        reason = f"cannot read {target.path}: {exc.strerror}"
        return {**entry, "mount": None, "severity": "unknown", "reasons": [reason]}
    severity, reasons = evaluate(usage, limits)
    samples = fc.record(history, str(usage.mount), now, usage.used_bytes, section.forecast_window_days)
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


@records_metrics("disk")
def run_disk_check(config: Config, *, dry_run: bool = False, now: datetime | None = None) -> JobResult:
    """Check every target; log one line each; write metrics and history unless ``dry_run``."""
    section = config.disk
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
        if not dry_run:
            try:
                fc.save_history(history_path, history)
            except OSError as exc:  # a full state folder: the check itself stands, only the forecast waits
                result.notice(
                    f"disk history not saved to {history_path}: {exc.strerror or exc}", path=str(history_path)
                )
    result.metrics = {"imgops_disk": _metrics(checked, float(section.forecast_window_days))}
    folder = textfile_dir(config)
    textfile = folder / "imgops_disk.prom" if folder and not dry_run else None
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


def _metrics(checked: list[dict[str, Any]], window_days: float) -> list[Metric]:
    """Per filesystem (label ``mountpoint``, as node_exporter's): what node_exporter cannot know.

    Sizes and used ratios are node_exporter's own series; these join them on ``mountpoint``. Targets
    sharing a filesystem give one series: the worst severity and the strictest thresholds.
    """
    severity = Metric("imgops_disk_severity", "Disk check result: 0 ok, 1 warning, 2 critical, 3 unknown.")
    warning = Metric("imgops_disk_warning_ratio", "Used ratio at which the disk check warns.")
    critical = Metric("imgops_disk_critical_ratio", "Used ratio at which the disk check is critical.")
    growth = Metric("imgops_disk_growth_bytes_per_second", "Recent growth of used bytes (least squares).")
    full_in = Metric("imgops_disk_full_in_seconds", "Time until full at the recent growth, only while growing.")
    horizon = Metric("imgops_disk_forecast_horizon_seconds", "How far the fill forecast reaches (its window).")
    by_mount: dict[str, list[dict[str, Any]]] = {}
    for entry in checked:
        by_mount.setdefault(entry["mount"] or str(mount_point(entry["path"])), []).append(entry)
    for mount, entries in by_mount.items():
        severity.add(max(SEVERITIES.index(e["severity"]) for e in entries), mountpoint=mount)
        for resource, prefix in (("space", ""), ("inodes", "inode_")):
            warning.add(min(e["thresholds"][f"{prefix}warn_percent"] for e in entries) / 100,
                        mountpoint=mount, resource=resource)  # fmt: skip
            critical.add(min(e["thresholds"][f"{prefix}crit_percent"] for e in entries) / 100,
                         mountpoint=mount, resource=resource)  # fmt: skip
        measured = next((e for e in entries if e["mount"] is not None), None)
        if measured is None:
            continue
        horizon.add(window_days * 86400, mountpoint=mount)
        if measured["growth_bytes_per_day"] is not None:
            growth.add(round(measured["growth_bytes_per_day"] / 86400, 6), mountpoint=mount)
        if measured["days_until_full"] is not None:
            full_in.add(round(measured["days_until_full"] * 86400), mountpoint=mount)
    return [severity, warning, critical, growth, full_in, horizon]
