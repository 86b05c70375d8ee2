"""The purge job on a server-made database (SQLite and PostgreSQL) and real folders, hostile rows included."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine

from imgops.config import Config, load_config
from imgops.contracts import problems
from imgops.db import make_engine, transaction, utcnow
from imgops.db.models import PlatformBase, ScrapeJob, TrainingRun
from imgops.db.server_schema import read_server_schema
from imgops.fs import job_lock
from imgops.purge import run_purge
from imgops.purge.execute import execute_plan
from imgops.purge.journal import journal_path, read_journal, write_journal
from imgops.purge.plan import PurgePlan, measure_paths, plan_scrape
from imgops.result import JobResult
from imgops_testing.platform import DemoPlatform


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def config_with(platform: DemoPlatform, **overrides: Any) -> Config:
    """The demo's imgops.yml with some sections overridden, written beside it (relative paths keep working)."""
    raw = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = platform.root / "imgops-test.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(path, environ={})


def rows(platform: DemoPlatform, table: str, column: str) -> dict[int, Any]:
    engine = create_engine(platform.database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text(f"SELECT id, {column} FROM {table} ORDER BY id")).all())
    engine.dispose()
    return found


def add_scrape_rows(platform: DemoPlatform, outputs: dict[int, str], days_old: int = 90) -> None:
    engine = create_engine(platform.database_url)
    when = utcnow().replace(microsecond=0)
    with engine.begin() as conn:
        for job_id, output in outputs.items():
            conn.execute(insert(ScrapeJob).values(
                id=job_id, name=f"hostile {job_id}", status="completed", output_directory=output,
                created_at=when, completed_at=when.replace(year=when.year - 1) if days_old else when,
            ))  # fmt: skip
    engine.dispose()


def test_demo_dry_run_lists_every_path_then_the_run_purges_and_converges(demo_platform: DemoPlatform) -> None:
    """The demo keeps its logs under checkpoint_dir, outside the LoRA root: each is refused, its dataset still goes."""
    config = load_config(demo_platform.imgops_config, environ={})
    config.path("lora_dir").mkdir(parents=True)  # <model.cache_dir>/lora, as the server creates it
    scraped, precious = demo_platform.scraped_dir, demo_platform.root / "elsewhere" / "precious"
    before = listing(demo_platform.root / "mnt")

    planned = run_purge(config, dry_run=True)
    assert listing(demo_platform.root / "mnt") == before
    assert rows(demo_platform, "scrape_jobs", "output_directory")[1] == str(scraped / "job_1")
    removes = {a.target: a.detail for a in planned.actions if a.kind == "remove"}
    assert set(removes) == {
        str(scraped / "job_1"), str(scraped / "job_2"), str(scraped / "job_5"),
        str(demo_platform.training_dataset_dir / "training_run_1"),
    }  # fmt: skip
    assert all(detail["bytes"] > 0 and detail["files"] > 0 for detail in removes.values())
    assert removes[str(scraped / "job_1")]["files"] == 6  # the folder and its 5 files
    assert problems(planned.to_dict(), "purge_result") == []

    done = run_purge(config)
    assert problems(done.to_dict(), "purge_result") == []
    assert sorted(os.listdir(scraped)) == ["job_3", "job_4"]
    assert listing(precious) == ["item_000.bin", "item_001.bin", "item_002.bin"]
    assert sorted(os.listdir(demo_platform.training_dataset_dir)) == ["training_run_2", "training_run_3"]
    assert listing(demo_platform.checkpoint_dir / "run_1") == ["final.safetensors", "logs", "logs/training_1.log"]
    outputs = rows(demo_platform, "scrape_jobs", "output_directory")
    assert outputs == {1: "", 2: "", 3: str(scraped / "job_3"), 4: str(scraped / "job_4"), 5: "", 6: str(precious)}
    datasets = rows(demo_platform, "training_runs", "dataset_path")
    assert datasets[1] == "" and datasets[2].endswith("training_run_2")
    assert rows(demo_platform, "training_runs", "final_checkpoint")[1].endswith("final.safetensors")
    refused = [n for n in done.notices if n.get("reason")]
    assert [(n["row"], n["what"], n["reason"]) for n in refused] == [
        ("scrape_jobs/6", "scrape_output", "outside_root"),
        ("training_runs/1", "training_log", "outside_root"),
    ]
    summary = done.summary
    assert (summary["paths_removed"], summary["rows_updated"], summary["refused"]) == (4, 3, 2)
    assert {k: v for k, v in summary["refused_by_reason"].items() if v} == {"outside_root": 2}
    assert summary["bytes_freed"] == sum(d["bytes"] for d in removes.values())
    [filesystem] = summary["filesystems"]
    assert filesystem["bytes_freed"] == summary["bytes_freed"]
    written = sorted(p.name for p in (demo_platform.root / "metrics").iterdir())
    assert written == ["imgops_job_purge.prom", "imgops_job_purge_success.prom",
                       "imgops_purge_scrape.prom", "imgops_purge_training.prom"]  # fmt: skip
    prom = (demo_platform.root / "metrics" / "imgops_purge_scrape.prom").read_text(encoding="utf-8")
    assert "# TYPE imgops_purge_freed_bytes gauge" in prom
    assert 'imgops_purge_paths_removed{kind="scrape"} 3' in prom

    again = run_purge(config)
    assert again.changed is False and again.actions == []
    assert again.summary["refused"] == 2  # still reported, still untouched


def test_hostile_rows_are_refused_and_left_alone(demo_platform: DemoPlatform) -> None:
    scraped, precious = demo_platform.scraped_dir, demo_platform.root / "elsewhere" / "precious"
    (scraped / "job_13").symlink_to(precious, target_is_directory=True)
    links = scraped / "job_14"
    (links / "sub").mkdir(parents=True)
    (links / "sub" / "data.bin").write_bytes(b"d" * 5000)
    (links / "to_file").symlink_to(precious / "item_000.bin")
    (links / "sub" / "to_dir").symlink_to(precious, target_is_directory=True)
    add_scrape_rows(demo_platform, {
        10: "/",
        11: str(scraped),
        12: f"{scraped}/job_3/../../../../elsewhere/precious",
        13: str(scraped / "job_13"),
        14: str(links),
        15: str(scraped / "job_13" / "item_000.bin"),
    })  # fmt: skip
    result = run_purge(load_config(demo_platform.imgops_config, environ={}), "scrape")

    reasons = {n["row"]: n["reason"] for n in result.notices if n.get("reason")}
    assert reasons == {
        "scrape_jobs/6": "outside_root", "scrape_jobs/10": "outside_root", "scrape_jobs/11": "is_root",
        "scrape_jobs/12": "outside_root", "scrape_jobs/13": "symlink", "scrape_jobs/15": "symlink",
    }  # fmt: skip
    assert listing(precious) == ["item_000.bin", "item_001.bin", "item_002.bin"]
    assert (scraped / "job_13").is_symlink() and (scraped / "job_3").is_dir()
    assert not links.exists() and not links.is_symlink()  # links inside removed as links
    assert sorted(os.listdir(scraped)) == ["job_13", "job_3", "job_4"]
    outputs = rows(demo_platform, "scrape_jobs", "output_directory")
    assert outputs[10] == "/" and outputs[11] == str(scraped) and outputs[13] == str(scraped / "job_13")
    assert outputs[14] == "" and outputs[1] == ""
    assert result.errors == []


def test_a_folder_swapped_for_a_symlink_after_planning_is_refused(demo_platform: DemoPlatform) -> None:
    config = load_config(demo_platform.imgops_config, environ={})
    scraped, precious = demo_platform.scraped_dir, demo_platform.root / "elsewhere" / "precious"
    engine = make_engine(demo_platform.database_url)
    now = utcnow()
    plan = PurgePlan("scrape", 30, now - timedelta(days=30))
    schema = read_server_schema(engine)
    with transaction(engine, dry_run=True) as session:
        plan_scrape(session, schema, config.path("scraped_dir"), plan, now)
    measure_paths(plan, sizes=False)
    assert [item.row for item in plan.items] == ["scrape_jobs/1", "scrape_jobs/2", "scrape_jobs/5"]
    # The attacker swaps job_1 for a symlink to precious data between plan and removal.
    os.rename(scraped / "job_1", scraped / "job_1.moved")
    (scraped / "job_1").symlink_to(precious, target_is_directory=True)
    result, freed = JobResult(job="purge"), Counter()
    statuses = execute_plan(engine, schema, plan.items, result, freed, dry_run=False, workers=2)
    engine.dispose()
    assert statuses == ["refused", "done", "done"]
    assert result.notices[0]["reason"] == "symlink" and result.notices[0]["row"] == "scrape_jobs/1"
    assert listing(precious) == ["item_000.bin", "item_001.bin", "item_002.bin"]
    assert (scraped / "job_1").is_symlink() and len(os.listdir(scraped / "job_1.moved")) == 5
    outputs = rows(demo_platform, "scrape_jobs", "output_directory")
    assert outputs[1] == str(scraped / "job_1") and outputs[2] == ""


def test_a_crash_between_removal_and_row_update_converges(demo_platform: DemoPlatform) -> None:
    """The folder is gone and the journal names its row, as a run killed between the two leaves them."""
    config = load_config(demo_platform.imgops_config, environ={})
    shutil.rmtree(demo_platform.scraped_dir / "job_1")
    write_journal(config.state_dir, "scrape", {"scrape_jobs/1"})
    result = run_purge(config, "scrape")
    by_target = {(a.kind, a.target) for a in result.actions}
    assert ("update_row", "scrape_jobs/1") in by_target
    assert not any(kind == "remove" and target.endswith("job_1") for kind, target in by_target)
    assert rows(demo_platform, "scrape_jobs", "output_directory")[1] == ""
    assert read_journal(config.state_dir, "scrape") == set()
    assert run_purge(config, "scrape").changed is False


def test_a_folder_missing_here_is_left_to_the_host_that_holds_it(demo_platform: DemoPlatform) -> None:
    """On a fleet sharing one database, another host may hold the folder: its row is not this host's to clear."""
    shutil.rmtree(demo_platform.scraped_dir / "job_1")
    config = load_config(demo_platform.imgops_config, environ={})
    result = run_purge(config, "scrape")
    assert result.summary["missing"] == 1
    assert "scrape_jobs/1" not in {a.target for a in result.actions}
    assert rows(demo_platform, "scrape_jobs", "output_directory")[1] == str(demo_platform.scraped_dir / "job_1")
    sole_holder = config_with(demo_platform, purge={"clear_missing": True})
    cleared = run_purge(sole_holder, "scrape")
    assert ("update_row", "scrape_jobs/1") in {(a.kind, a.target) for a in cleared.actions}
    assert cleared.summary["missing"] == 0
    assert rows(demo_platform, "scrape_jobs", "output_directory")[1] == ""


def test_an_unreadable_journal_stops_the_purge_naming_the_file(demo_platform: DemoPlatform) -> None:
    config = load_config(demo_platform.imgops_config, environ={})
    journal_path(config.state_dir, "scrape").parent.mkdir(parents=True, exist_ok=True)
    journal_path(config.state_dir, "scrape").write_text("{not json", encoding="utf-8")
    result = run_purge(config, "scrape")  # the kind fails (another kind would still run)
    assert result.failed and str(journal_path(config.state_dir, "scrape")) in result.message
    assert "job_1" in os.listdir(demo_platform.scraped_dir)


def test_retention_zero_disables_and_orphans_and_checkpoints_are_opt_in(demo_platform: DemoPlatform) -> None:
    scraped = demo_platform.scraped_dir
    for name, age_days in (("stray_old", 60), ("stray_new", 1)):
        (scraped / name).mkdir()
        (scraped / name / "x.bin").write_bytes(b"x" * 100)
        stamp = time.time() - age_days * 86400
        os.utime(scraped / name, (stamp, stamp))
    disabled = config_with(demo_platform, retention={"scrape_days": 0, "training_days": 0})
    off = run_purge(disabled, orphans=True, purge_checkpoints=True)
    assert off.changed is False and off.summary["disabled"] == ["scrape", "training"]
    assert "stray_old" in os.listdir(scraped) and "job_1" in os.listdir(scraped)

    config = load_config(demo_platform.imgops_config, environ={})
    result = run_purge(config, orphans=True, purge_checkpoints=True)
    assert sorted(os.listdir(scraped)) == ["job_3", "job_4", "stray_new"]
    orphan = [a for a in result.actions if a.detail.get("what") == "orphan"]
    assert [(a.target, a.detail["row"]) for a in orphan] == [(str(scraped / "stray_old"), None)]
    # The demo's weights lie under checkpoint_dir, outside the LoRA root: refused, the row keeps naming them.
    weights = [(n["row"], n["reason"]) for n in result.notices if n.get("what") == "checkpoint"]
    assert weights == [("training_runs/1", "root_missing")]  # the demo has no <model.cache_dir>/lora
    assert listing(demo_platform.checkpoint_dir / "run_1") == ["final.safetensors", "logs", "logs/training_1.log"]
    assert rows(demo_platform, "training_runs", "final_checkpoint")[1].endswith("final.safetensors")
    assert rows(demo_platform, "training_runs", "dataset_path")[1] == ""
    assert run_purge(config, orphans=True, purge_checkpoints=True).changed is False


def test_a_second_purge_while_one_runs_exits_75(sqlite_platform: DemoPlatform, venv_bin: Path) -> None:
    config = config_with(sqlite_platform, lock_timeout_seconds=0.3)
    with job_lock(config.state_dir, "purge-scrape", 1):
        ran = subprocess.run([venv_bin / "imgops", "--config", str(config.source), "purge", "scrape"],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 75, ran.stderr
    assert "already running" in ran.stderr
    assert "job_1" in os.listdir(sqlite_platform.scraped_dir)


def _engine(platform: DemoPlatform) -> Engine:
    return create_engine(platform.database_url)


@pytest.mark.parametrize("kind", ["scrape", "training"])
def test_the_cli_json_is_the_result_contract(sqlite_platform: DemoPlatform, venv_bin: Path, kind: str) -> None:
    ran = subprocess.run([venv_bin / "imgops", "--config", str(sqlite_platform.imgops_config), "--json", "--dry-run",
                          "purge", kind], capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert problems(data, "purge_result") == []
    assert data["dry_run"] is True and data["summary"]["kinds"] == [kind]
    engine = _engine(sqlite_platform)
    with engine.connect() as conn:
        assert conn.execute(select(TrainingRun.dataset_path).where(TrainingRun.id == 1)).scalar_one() != ""
    engine.dispose()


def test_an_intermediate_folder_swapped_after_planning_is_refused(demo_platform: DemoPlatform) -> None:
    config = load_config(demo_platform.imgops_config, environ={})
    scraped, precious = demo_platform.scraped_dir, demo_platform.root / "elsewhere" / "precious"
    (scraped / "batch" / "job_20").mkdir(parents=True)
    (scraped / "batch" / "job_20" / "a.bin").write_bytes(b"a" * 100)
    (precious / "job_20").mkdir()
    (precious / "job_20" / "keep.bin").write_bytes(b"k" * 100)
    add_scrape_rows(demo_platform, {20: str(scraped / "batch" / "job_20")})
    engine = make_engine(demo_platform.database_url)
    now = utcnow()
    plan = PurgePlan("scrape", 30, now - timedelta(days=30))
    schema = read_server_schema(engine)
    with transaction(engine, dry_run=True) as session:
        plan_scrape(session, schema, config.path("scraped_dir"), plan, now)
    measure_paths(plan, sizes=False)
    os.rename(scraped / "batch", scraped / "batch.moved")
    (scraped / "batch").symlink_to(precious, target_is_directory=True)
    result = JobResult(job="purge")
    statuses = execute_plan(engine, schema, plan.items, result, Counter(), dry_run=False, workers=2)
    engine.dispose()
    assert dict(zip([i.row for i in plan.items], statuses, strict=True))["scrape_jobs/20"] == "refused"
    assert listing(precious / "job_20") == ["keep.bin"]
    assert rows(demo_platform, "scrape_jobs", "output_directory")[20] == str(scraped / "batch" / "job_20")


def test_kill_9_mid_purge_then_rerun_ends_as_uninterrupted(sqlite_platform: DemoPlatform, venv_bin: Path) -> None:
    scraped = sqlite_platform.scraped_dir
    for job_id in range(100, 300):
        folder = scraped / f"job_{job_id}"
        folder.mkdir()
        for i in range(60):
            (folder / f"f{i}").write_bytes(b"z" * 64)
    add_scrape_rows(sqlite_platform, {i: str(scraped / f"job_{i}") for i in range(100, 300)})
    command = [str(venv_bin / "imgops"), "--config", str(sqlite_platform.imgops_config), "purge", "scrape"]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len(os.listdir(scraped)) > 150 and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.005)
    victim.kill()
    assert victim.wait() == -signal.SIGKILL, "the purge finished before it could be killed"
    left = len(os.listdir(scraped))
    assert 2 < left < 205  # killed part way: some folders gone, some not
    rerun = subprocess.run(command, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(os.listdir(scraped)) == ["job_3", "job_4"]
    outputs = rows(sqlite_platform, "scrape_jobs", "output_directory")
    assert all(outputs[i] == "" for i in range(100, 300)) and outputs[3] == str(scraped / "job_3")
    final = subprocess.run([*command[:3], "--json", *command[3:]], capture_output=True, text=True, check=True)
    assert json.loads(final.stdout)["changed"] is False


def test_a_kind_whose_root_is_absent_here_is_skipped_unless_asked_for(
    sqlite_platform: DemoPlatform, venv_bin: Path
) -> None:
    elsewhere = sqlite_platform.root / "not-on-this-host"
    config = config_with(sqlite_platform, paths={"scraped_dir": str(elsewhere)})
    result = run_purge(config)
    assert result.summary["absent"] == {"scrape": f"root {elsewhere} does not exist on this host"}
    assert result.summary["kinds"] == ["scrape", "training"] and result.summary["rows_updated"] == 1  # training ran
    assert rows(sqlite_platform, "scrape_jobs", "output_directory")[1] == str(sqlite_platform.scraped_dir / "job_1")

    unset = sqlite_platform.root / "bare.yml"
    unset.write_text(yaml.safe_dump({"database_url": sqlite_platform.database_url}), encoding="utf-8")
    ran = subprocess.run([venv_bin / "imgops", "--config", str(unset), "purge", "scrape"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 2 and "paths.scraped_dir" in ran.stderr


def test_a_schema_the_job_cannot_read_is_one_clear_database_error(tmp_path: Path, venv_bin: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    PlatformBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE scrape_jobs DROP COLUMN output_directory"))
    engine.dispose()
    (tmp_path / "scraped").mkdir()
    config = tmp_path / "imgops.yml"
    config.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'odd.db'}",
                                      "paths": {"scraped_dir": str(tmp_path / "scraped"),
                                                "state_dir": str(tmp_path / "state")}}))  # fmt: skip
    ran = subprocess.run([venv_bin / "imgops", "--config", str(config), "--json", "purge", "scrape"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
    failure = json.loads(ran.stdout)
    assert failure["failed"] is True and failure["errors"][0]["missing"] == ["scrape_jobs.output_directory"]
    assert (
        failure["msg"] == "imgops purge cannot run on this database (generation unknown): "
        "missing scrape_jobs.output_directory"
    )  # before any of its SQL ran
