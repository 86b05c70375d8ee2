"""Every job's Prometheus textfiles after a real run: promtool-clean, the catalogue's names, failures kept apart.

The names are the catalogue in docs/metrics.md, which the alert rules and the dashboard query.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from imgops.bugs import run_bugs_purge
from imgops.config import Config, load_config
from imgops.db_job import run_db
from imgops.disk import run_disk_check
from imgops.errors import DatabaseError, LockHeldError
from imgops.fs import job_lock
from imgops.legacy import run_legacy_import
from imgops.purge import run_purge
from imgops.reconcile import run_reconcile
from imgops.sets import run_sets
from imgops.thumbnails import run_thumbnails
from imgops_testing.platform import DemoPlatform

JOB_FAMILIES = (
    "imgops_job_last_run_timestamp_seconds",
    "imgops_job_duration_seconds",
    "imgops_job_failed",
)
JOB_FILES = {
    "db": {},
    "sets": {"imgops_sets.prom": ["imgops_sets_templates_changed"]},
    "legacy": {"imgops_legacy.prom": ["imgops_legacy_images_imported"]},
    "thumbnails": {
        "imgops_thumbnails.prom": [
            "imgops_thumbnails_queue_pending",
            "imgops_thumbnails_queue_failed",
            "imgops_thumbnails_rendered",
        ]
    },
    "purge": {
        f"imgops_purge_{kind}.prom": [
            "imgops_purge_freed_bytes",
            "imgops_purge_paths_removed",
            "imgops_purge_rows_updated",
            "imgops_purge_refused",
            "imgops_purge_errors",
        ]
        for kind in ("scrape", "training")
    },
    "reconcile": {"imgops_reconcile.prom": ["imgops_reconcile_findings", "imgops_reconcile_fixed"]},
    "disk": {
        "imgops_disk.prom": [
            "imgops_disk_severity",
            "imgops_disk_warning_ratio",
            "imgops_disk_critical_ratio",
            "imgops_disk_forecast_horizon_seconds",
        ]
    },
    "bugs": {"imgops_bugs.prom": ["imgops_bugs_reports_open", "imgops_bugs_reports_expired"]},
}


def metrics_config(platform: DemoPlatform, folder: Path, **overrides: object) -> Config:
    raw = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
    raw["metrics"] = {"textfile_dir": str(folder)}
    raw["disk"].pop("textfile_dir")
    raw.update(overrides)
    path = platform.root / "imgops-metrics.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path, environ={})


def promtool_problems(path: Path) -> str:
    with path.open("rb") as handle:
        checked = subprocess.run(["promtool", "check", "metrics"], stdin=handle, capture_output=True, check=False)
    return (
        ""
        if checked.returncode == 0 and not checked.stdout and not checked.stderr
        else (f"{path.name}: exit {checked.returncode}: {(checked.stdout + checked.stderr).decode()}")
    )


def families(path: Path) -> set[str]:
    return {line.split()[2] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# TYPE ")}


def test_every_job_writes_promtool_clean_metrics_with_the_catalogue_names(
    sqlite_platform: DemoPlatform, tmp_path: Path
) -> None:
    assert shutil.which("promtool"), "promtool is missing: apt-get install prometheus (make system-packages)"
    folder = tmp_path / "textfiles"
    config = metrics_config(sqlite_platform, folder)
    runs = {
        "db": lambda: run_db(config, "upgrade"),
        "sets": lambda: run_sets(config),
        "legacy": lambda: run_legacy_import(config),
        "thumbnails": lambda: run_thumbnails(config),
        "purge": lambda: run_purge(config),
        "reconcile": lambda: run_reconcile(config),
        "disk": lambda: run_disk_check(config),
        "bugs": lambda: run_bugs_purge(config),
    }
    for job, run in runs.items():
        result = run()
        assert not result.notices or all("metrics" not in n["message"] for n in result.notices), result.notices
        expected = {f"imgops_job_{job}.prom": list(JOB_FAMILIES),
                    f"imgops_job_{job}_success.prom": ["imgops_job_last_success_timestamp_seconds"],
                    **JOB_FILES[job]}  # fmt: skip
        for name, names in expected.items():
            path = folder / name
            assert path.is_file(), f"{job} wrote no {name}"
            assert set(names) <= families(path), (name, families(path))
            assert f'imgops_job="{job}"' in path.read_text(encoding="utf-8") or not name.startswith("imgops_job_")
    problems = [problem for path in sorted(folder.glob("*.prom")) if (problem := promtool_problems(path))]
    assert problems == []
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".prom")) == []  # no temp file left

    text = (folder / "imgops_job_legacy.prom").read_text(encoding="utf-8")
    assert 'imgops_job_failed{imgops_job="legacy"} 0' in text
    assert "imgops_legacy_images_imported 48" in (folder / "imgops_legacy.prom").read_text(encoding="utf-8")
    rendered = (folder / "imgops_thumbnails.prom").read_text(encoding="utf-8")
    assert "imgops_thumbnails_rendered 48" in rendered and "imgops_thumbnails_queue_pending 0" in rendered
    findings = (folder / "imgops_reconcile.prom").read_text(encoding="utf-8")
    assert 'imgops_reconcile_findings{kind="orphan_thumbnails"}' in findings
    disk = (folder / "imgops_disk.prom").read_text(encoding="utf-8")
    assert 'mountpoint="' in disk and "imgops_disk_used_ratio" not in disk and "_days" not in disk
    assert 'resource="inodes"' in disk and "target=" not in disk


def test_a_failed_run_says_so_and_keeps_the_last_success(sqlite_platform: DemoPlatform, tmp_path: Path) -> None:
    folder = tmp_path / "textfiles"
    run_db(metrics_config(sqlite_platform, folder), "upgrade")
    success = (folder / "imgops_job_db_success.prom").read_text(encoding="utf-8")
    (tmp_path / "x.db").mkdir()  # a folder where the database should be: it cannot be opened
    broken = metrics_config(sqlite_platform, folder, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(DatabaseError):
        run_db(broken, "upgrade")
    assert 'imgops_job_failed{imgops_job="db"} 1' in (folder / "imgops_job_db.prom").read_text(encoding="utf-8")
    assert (folder / "imgops_job_db_success.prom").read_text(encoding="utf-8") == success
    assert not promtool_problems(folder / "imgops_job_db.prom")


def test_metrics_that_cannot_be_written_are_a_notice_and_a_dry_run_writes_none(
    sqlite_platform: DemoPlatform, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "textfiles"
    not_a_folder.write_text("a file where the folder should be", encoding="utf-8")
    result = run_db(metrics_config(sqlite_platform, not_a_folder), "upgrade")
    assert not result.failed and result.summary["pending_revisions"] == []
    [notice] = [n for n in result.notices if n["message"].startswith("metrics not written")]
    assert notice["path"] == str(not_a_folder)

    folder = tmp_path / "dry"
    planned = run_purge(metrics_config(sqlite_platform, folder), dry_run=True)
    assert planned.dry_run and not folder.exists()


def test_a_run_that_finds_its_lock_held_did_not_run_and_writes_nothing(
    sqlite_platform: DemoPlatform, tmp_path: Path
) -> None:
    folder = tmp_path / "textfiles"
    config = metrics_config(sqlite_platform, folder, lock_timeout_seconds=0)
    with job_lock(config.state_dir, "disk", 0), pytest.raises(LockHeldError):
        run_disk_check(config)
    assert not folder.exists()
