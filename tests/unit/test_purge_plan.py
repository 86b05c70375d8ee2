"""Planning a purge on real folders and a SQLite platform database: which paths go, which rows change, what is
refused and why. Nothing here removes anything: planning only reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from imgops.db import transaction, utcnow
from imgops.db.models import PlatformBase, ScrapeJob, TrainingRun
from imgops.db.server_schema import ServerSchema, read_server_schema
from imgops.purge.plan import PurgePlan, measure_paths, plan_orphans, plan_scrape, plan_training

RETENTION_DAYS = 30


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'imagineer.db'}")
    PlatformBase.metadata.create_all(engine)
    with transaction(engine) as session:
        yield session
    engine.dispose()


def schema_of(session: Session) -> ServerSchema:
    return read_server_schema(session.get_bind())


def new_plan(kind: str, now: datetime) -> PurgePlan:
    return PurgePlan(kind=kind, retention_days=RETENTION_DAYS, cutoff=now - timedelta(days=RETENTION_DAYS))


def fill(folder: Path, files: int = 3, size: int = 2048) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"img_{i}.jpg").write_bytes(b"x" * size)
    return folder


def add_scrape_job(
    session: Session, job_id: int, status: str, days_ago: int, output: str | None, now: datetime
) -> None:
    when = now - timedelta(days=days_ago)
    session.execute(insert(ScrapeJob).values(id=job_id, status=status, output_directory=output, created_at=when,
                                             completed_at=when if status == "completed" else None,
                                             last_error_at=when if status == "failed" else None))  # fmt: skip


def test_old_terminal_scrape_jobs_lose_their_folder_and_recent_or_running_ones_stay(
    session: Session, tmp_path: Path
) -> None:
    now, scraped = utcnow(), tmp_path / "scraped"
    fill(scraped / "job_1")
    fill(scraped / "job_2")  # NULL output_directory: the platform's default folder
    fill(scraped / "job_3")
    fill(scraped / "job_4")
    add_scrape_job(session, 1, "completed", 90, str(scraped / "job_1"), now)
    add_scrape_job(session, 2, "failed", 45, None, now)
    add_scrape_job(session, 3, "completed", 2, str(scraped / "job_3"), now)
    add_scrape_job(session, 4, "running", 60, str(scraped / "job_4"), now)
    plan = new_plan("scrape", now)
    plan_scrape(session, schema_of(session), scraped, plan, now)
    assert plan.refusals == []
    planned = {item.row: item for item in plan.items}
    assert sorted(planned) == ["scrape_jobs/1", "scrape_jobs/2"]
    job_1, job_2 = planned["scrape_jobs/1"], planned["scrape_jobs/2"]
    assert [(p.what, p.named) for p in job_1.paths] == [("scrape_output", str(scraped / "job_1"))]
    assert job_1.row_change(job_1.paths) == ({"output_directory": str(scraped / "job_1")},
                                             {"output_directory": ""})  # fmt: skip
    assert job_1.why == "completed 90 days ago (retention 30 days)"
    assert [p.named for p in job_2.paths] == [str(scraped / "job_2")]
    assert job_2.row_change(job_2.paths) == ({}, {})  # nothing to write back to a NULL column
    assert job_2.why == "failed 45 days ago (retention 30 days)"


def test_a_path_outside_the_root_or_through_a_symlink_refuses_its_row_with_the_reason(
    session: Session, tmp_path: Path
) -> None:
    now, scraped = utcnow(), tmp_path / "scraped"
    precious = fill(tmp_path / "elsewhere" / "precious")
    scraped.mkdir()
    (scraped / "job_8").symlink_to(precious, target_is_directory=True)
    add_scrape_job(session, 6, "completed", 100, str(precious), now)
    add_scrape_job(session, 7, "completed", 100, str(scraped / ".." / "elsewhere"), now)
    add_scrape_job(session, 8, "completed", 100, str(scraped / "job_8"), now)
    add_scrape_job(session, 9, "completed", 100, str(scraped), now)
    plan = new_plan("scrape", now)
    plan_scrape(session, schema_of(session), scraped, plan, now)
    assert plan.items == []
    refused = {r.row: (r.what, r.path, r.reason) for r in plan.refusals}
    assert refused == {
        "scrape_jobs/6": ("scrape_output", str(precious), "outside_root"),
        "scrape_jobs/7": ("scrape_output", str(scraped / ".." / "elsewhere"), "outside_root"),
        "scrape_jobs/8": ("scrape_output", str(scraped / "job_8"), "symlink"),
        "scrape_jobs/9": ("scrape_output", str(scraped), "is_root"),
    }
    assert all(str(scraped) in r.message for r in plan.refusals)
    assert sorted(p.name for p in precious.iterdir()) == ["img_0.jpg", "img_1.jpg", "img_2.jpg"]


def test_training_runs_lose_dataset_and_log_and_their_weights_only_when_asked(session: Session, tmp_path: Path) -> None:
    """The server's layout: weights in <lora>/trained_<id>, the log in <lora>/logs (its log rule)."""
    now = utcnow()
    datasets, lora = tmp_path / "training", tmp_path / "lora"
    dataset = fill(datasets / "training_run_1")
    trained = fill(lora / "trained_1", files=0)
    (trained / "run_1.safetensors").write_bytes(b"w" * 4096)
    fill(lora / "logs", files=0)
    (lora / "logs" / "training_1.log").write_text("step 1 loss 0.3\n", encoding="utf-8")
    when = now - timedelta(days=60)
    session.execute(insert(TrainingRun).values(
        id=1, status="completed", dataset_path=str(dataset), output_path=str(trained),
        final_checkpoint=str(trained / "run_1.safetensors"), created_at=when, completed_at=when,
    ))  # fmt: skip
    plan = new_plan("training", now)
    plan_training(session, schema_of(session), datasets, lora, plan, now, purge_checkpoints=False)
    assert plan.refusals == []
    [item] = plan.items
    assert [(p.what, p.named) for p in item.paths] == [
        ("training_dataset", str(dataset)),
        ("training_log", str(lora / "logs" / "training_1.log")),
    ]
    assert item.row_change(item.paths) == ({"dataset_path": str(dataset)}, {"dataset_path": ""})
    assert item.row_change(item.paths[1:]) == ({}, {})  # only the dataset's going clears dataset_path

    plan = new_plan("training", now)
    plan_training(session, schema_of(session), datasets, lora, plan, now, purge_checkpoints=True)
    [item] = plan.items
    # final_checkpoint lies in output_path: it goes with that folder, listed once; both columns become ''.
    assert [(p.what, p.named) for p in item.paths][1:] == [
        ("training_log", str(lora / "logs" / "training_1.log")),
        ("checkpoint", str(trained)),
    ]
    before = {"dataset_path": str(dataset), "output_path": str(trained)}
    before["final_checkpoint"] = str(trained / "run_1.safetensors")
    after = {"dataset_path": "", "output_path": "", "final_checkpoint": ""}
    assert item.row_change(item.paths) == (before, after)

    plan = new_plan("training", now)  # no LoRA root here: the log and weights are refused, the dataset still goes
    plan_training(session, schema_of(session), datasets, None, plan, now, purge_checkpoints=True)
    [item] = plan.items
    assert [p.what for p in item.paths] == ["training_dataset"]
    assert [(r.row, r.what, r.path, r.reason) for r in plan.refusals] == [
        ("training_runs/1", "training_log", str(lora / "logs" / "training_1.log"), "root_missing"),
        ("training_runs/1", "checkpoint", str(trained), "root_missing"),
        ("training_runs/1", "checkpoint", str(trained / "run_1.safetensors"), "root_missing"),
    ]
    assert item.row_change(item.paths) == ({"dataset_path": str(dataset)}, {"dataset_path": ""})


def test_a_log_or_weights_outside_the_lora_root_are_refused_and_the_dataset_still_goes(
    session: Session, tmp_path: Path
) -> None:
    now = utcnow()
    datasets, lora, elsewhere = tmp_path / "training", tmp_path / "lora", tmp_path / "elsewhere" / "trained_2"
    dataset = fill(datasets / "training_run_2")
    lora.mkdir()
    fill(elsewhere.parent / "logs", files=0)
    (elsewhere.parent / "logs" / "training_2.log").write_text("not in the LoRA root\n", encoding="utf-8")
    when = now - timedelta(days=60)
    session.execute(insert(TrainingRun).values(
        id=2, status="failed", dataset_path=str(dataset), output_path=str(elsewhere),
        created_at=when, last_error_at=when,
    ))  # fmt: skip
    plan = new_plan("training", now)
    plan_training(session, schema_of(session), datasets, lora, plan, now, purge_checkpoints=True)
    [item] = plan.items
    assert [(p.what, p.named) for p in item.paths] == [("training_dataset", str(dataset))]
    assert [(r.row, r.what, r.path, r.reason) for r in plan.refusals] == [
        ("training_runs/2", "training_log", str(elsewhere.parent / "logs" / "training_2.log"), "outside_root"),
        ("training_runs/2", "checkpoint", str(elsewhere), "outside_root"),
    ]
    assert all(str(lora) in r.message for r in plan.refusals)
    assert item.row_change(item.paths) == ({"dataset_path": str(dataset)}, {"dataset_path": ""})


def test_measuring_keeps_what_exists_and_leaves_rows_whose_folders_are_elsewhere(
    session: Session, tmp_path: Path
) -> None:
    now, scraped = utcnow(), tmp_path / "scraped"
    fill(scraped / "job_1", files=3, size=2048)
    add_scrape_job(session, 1, "completed", 90, str(scraped / "job_1"), now)
    add_scrape_job(session, 2, "completed", 90, str(scraped / "job_2"), now)  # its folder is on another host
    plan = new_plan("scrape", now)
    plan_scrape(session, schema_of(session), scraped, plan, now)
    measure_paths(plan, sizes=True)
    [item] = plan.items
    usage = item.paths[0].usage
    assert item.row == "scrape_jobs/1" and usage is not None
    assert usage.entries == 4 and usage.apparent_bytes >= 3 * 2048  # the folder and its three files
    assert plan.missing == ["scrape_jobs/2"]

    for cleared in ({"clear_missing": True}, {"finish": {"scrape_jobs/2:scrape_output"}}):
        # asked to clear missing folders, or this host removed it itself in a run that stopped (its journal)
        plan = new_plan("scrape", now)
        plan_scrape(session, schema_of(session), scraped, plan, now)
        measure_paths(plan, sizes=False, **cleared)
        assert [(item.row, [(p.named, p.exists) for p in item.paths]) for item in plan.items] == [
            ("scrape_jobs/1", [(str(scraped / "job_1"), True)]),
            ("scrape_jobs/2", [(str(scraped / "job_2"), False)]),  # kept only to clear its row
        ]
        job_2 = plan.items[1]
        assert job_2.row_change(job_2.paths) == ({"output_directory": str(scraped / "job_2")},
                                                 {"output_directory": ""})  # fmt: skip
        assert plan.missing == []


def test_orphans_are_old_folders_no_row_names(session: Session, tmp_path: Path) -> None:
    now, scraped = utcnow(), tmp_path / "scraped"
    old = (now - timedelta(days=90)).replace(tzinfo=UTC).timestamp()  # now is naive UTC, as the platform stores it
    for name in ("job_1", "job_2", "forgotten", "recent"):
        fill(scraped / name, files=1)
    (scraped / "stray.txt").write_text("a file, not a folder", encoding="utf-8")
    for name in ("job_1", "job_2", "forgotten", "stray.txt"):
        os.utime(scraped / name, (old, old))
    add_scrape_job(session, 1, "running", 1, str(scraped / "job_1"), now)  # named by a row of any status
    add_scrape_job(session, 2, "completed", 1, None, now)  # NULL names the default folder job_2
    plan = new_plan("scrape", now)
    plan_orphans(session, schema_of(session), "scrape", scraped, plan, now)
    [orphan] = plan.items
    assert (orphan.row, orphan.row_id) == (None, None)
    assert [(p.what, p.named) for p in orphan.paths] == [("orphan", str(scraped / "forgotten"))]
    assert orphan.why == "orphan: no row of scrape_jobs names it, modified 90 days ago"
