"""What the purge must never remove: another row's folder, another filesystem, a folder in use; and trees of any depth.

Real mounts (the tests run as root: a bind mount and a tmpfs, always unmounted),
real child processes, and the demo platform on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from imgops.config import load_config
from imgops.contracts import problems
from imgops.contracts._schemas import SCHEMAS
from imgops.db import utcnow
from imgops.db.models import ScrapeJob, TrainingRun
from imgops.purge import run_purge
from imgops.purge.reasons import REFUSAL_REASONS
from imgops.result import JobResult
from imgops_testing.platform import DemoPlatform


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def outputs(platform: DemoPlatform) -> dict[int, str | None]:
    engine = create_engine(platform.database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, output_directory FROM scrape_jobs ORDER BY id")).all())
    engine.dispose()
    return found


def add_rows(platform: DemoPlatform, scrape: list[dict] = (), training: list[dict] = ()) -> None:
    """Scrape and training rows, old and completed unless the row says otherwise."""
    old = utcnow().replace(microsecond=0, year=utcnow().year - 1)
    engine = create_engine(platform.database_url)
    with engine.begin() as conn:
        for row in scrape:
            conn.execute(insert(ScrapeJob).values({"name": "extra", "status": "completed", "created_at": old,
                                                   "completed_at": old, **row}))  # fmt: skip
        for row in training:
            conn.execute(insert(TrainingRun).values({"name": "extra", "status": "completed", "created_at": old,
                                                     "completed_at": old, "output_path": "", **row}))  # fmt: skip
    engine.dispose()


def refusals(result: JobResult) -> dict[str, tuple[str, str]]:
    return {n["row"]: (n["reason"], n["message"]) for n in result.notices if n.get("reason")}


@contextmanager
def mounted(*args: str) -> Iterator[None]:
    """``mount ARGS...``, unmounted (lazily, so a failed test never leaves it behind) on the way out."""
    subprocess.run(["mount", *args], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", args[-1]], check=True, capture_output=True)


# -- claims ------------------------------------------------------------------------------------------------------


def test_a_folder_another_row_claims_is_refused_naming_that_row(demo_platform: DemoPlatform) -> None:
    scraped = demo_platform.scraped_dir
    (scraped / "batch" / "job_22").mkdir(parents=True)
    (scraped / "batch" / "job_22" / "a.jpg").write_bytes(b"a" * 100)
    (scraped / "job_3" / "sub").mkdir()
    (scraped / "shared").mkdir()
    (scraped / "shared" / "b.jpg").write_bytes(b"b" * 100)
    add_rows(
        demo_platform,
        scrape=[
            {"id": 20, "output_directory": str(scraped / "job_4")},  # the folder of running job 4
            {"id": 21, "output_directory": str(scraped / "batch")},  # holds recent job 22's folder
            {"id": 22, "output_directory": str(scraped / "batch" / "job_22"), "completed_at": utcnow()},
            {"id": 23, "output_directory": f"{scraped}/job_9/../job_3/sub"},  # inside recent job 3's folder
            {"id": 24, "output_directory": str(scraped / "shared")},  # two expiring rows: no claim
            {"id": 25, "output_directory": str(scraped / "shared")},
            {"id": 26, "output_directory": "/", "completed_at": utcnow()},  # recent rows naming a root or above:
            {"id": 27, "output_directory": str(scraped), "status": "running"},  # they own no folder in it
        ],
        training=[{"id": 9, "status": "running", "completed_at": None, "dataset_path": str(scraped / "job_2")}],
    )
    config = load_config(demo_platform.imgops_config, environ={})
    planned = run_purge(config, "scrape", dry_run=True)
    done = run_purge(config, "scrape")
    assert refusals(planned) == refusals(done)
    shared = [a for a in planned.actions if a.kind == "remove" and a.target == str(scraped / "shared")]
    assert len(shared) == 1  # named by two expiring rows: removed, and counted, once
    assert {a.target for a in done.actions if a.kind == "update_row"} >= {"scrape_jobs/24", "scrape_jobs/25"}
    found = refusals(done)
    assert {row: reason for row, (reason, _) in found.items()} == {
        "scrape_jobs/2": "claimed", "scrape_jobs/6": "outside_root", "scrape_jobs/20": "claimed",
        "scrape_jobs/21": "claimed", "scrape_jobs/23": "claimed",
    }  # fmt: skip
    assert "claimed by training_runs/9 (running)" in found["scrape_jobs/2"][1]  # the other kind counts too
    assert "claimed by scrape_jobs/4 (running)" in found["scrape_jobs/20"][1]
    assert "claimed by scrape_jobs/22 (completed)" in found["scrape_jobs/21"][1]
    assert "claimed by scrape_jobs/3 (completed)" in found["scrape_jobs/23"][1]
    assert done.summary["refused_by_reason"]["claimed"] == 4
    assert sorted(os.listdir(scraped)) == ["batch", "job_2", "job_3", "job_4"]
    assert listing(scraped / "batch") == ["job_22", "job_22/a.jpg"] and (scraped / "job_3" / "sub").is_dir()
    rows = outputs(demo_platform)
    assert (
        rows[2] == str(scraped / "job_2") and rows[20] == str(scraped / "job_4") and rows[21] == str(scraped / "batch")
    )
    assert rows[1] == "" and rows[24] == "" and rows[25] == ""
    assert problems(done.to_dict(), "purge_result") == []


def test_a_training_path_claimed_by_a_scrape_job_is_refused(demo_platform: DemoPlatform) -> None:
    datasets = demo_platform.training_dataset_dir
    add_rows(demo_platform, scrape=[{"id": 30, "status": "running", "completed_at": None,
                                     "output_directory": str(datasets / "training_run_1" / "extra")}])  # fmt: skip
    done = run_purge(load_config(demo_platform.imgops_config, environ={}), "training")
    reason, message = refusals(done)["training_runs/1"]
    assert reason == "claimed" and "claimed by scrape_jobs/30 (running)" in message
    assert (datasets / "training_run_1").is_dir()


# -- mount points ------------------------------------------------------------------------------------------------


def test_a_folder_holding_a_bind_mount_is_refused_whole(demo_platform: DemoPlatform) -> None:
    scraped, precious = demo_platform.scraped_dir, demo_platform.root / "elsewhere" / "precious"
    job_1 = scraped / "job_1"
    before = listing(job_1)
    (job_1 / "nested" / "mnt").mkdir(parents=True)  # deep enough that only the mount table can tell
    config = load_config(demo_platform.imgops_config, environ={})
    with mounted("--bind", str(precious), str(job_1 / "nested" / "mnt")):
        planned = run_purge(config, "scrape", dry_run=True)
        done = run_purge(config, "scrape")
        assert refusals(planned)["scrape_jobs/1"][0] == "mount_point"
        reason, message = refusals(done)["scrape_jobs/1"]
        assert reason == "mount_point" and str(job_1 / "nested" / "mnt") in message
        assert listing(job_1 / "nested" / "mnt") == ["item_000.bin", "item_001.bin", "item_002.bin"]
        assert listing(job_1) == sorted(
            [*before, "nested", "nested/mnt", *(f"nested/mnt/item_00{i}.bin" for i in range(3))]
        )
    assert listing(precious) == ["item_000.bin", "item_001.bin", "item_002.bin"]
    assert outputs(demo_platform)[1] == str(job_1) and outputs(demo_platform)[2] == ""
    assert done.summary["refused_by_reason"]["mount_point"] == 1


def test_a_tmpfs_inside_or_at_a_folder_is_refused(demo_platform: DemoPlatform) -> None:
    scraped = demo_platform.scraped_dir
    (scraped / "job_1" / "cache").mkdir()
    config = load_config(demo_platform.imgops_config, environ={})
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(scraped / "job_1" / "cache")):
        (scraped / "job_1" / "cache" / "keep.bin").write_bytes(b"k" * 100)
        with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(scraped / "job_2")):
            (scraped / "job_2" / "keep.bin").write_bytes(b"k" * 100)
            done = run_purge(config, "scrape")
            assert refusals(done)["scrape_jobs/1"][0] == "mount_point"
            assert refusals(done)["scrape_jobs/2"][0] == "mount_point"
            assert (scraped / "job_2" / "keep.bin").exists()
        assert (scraped / "job_1" / "cache" / "keep.bin").exists() and len(os.listdir(scraped / "job_1")) == 6
    assert outputs(demo_platform)[1] == str(scraped / "job_1") and outputs(demo_platform)[5] == ""


# -- files in use ------------------------------------------------------------------------------------------------


@contextmanager
def child(code: str, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """A live Python process running ``code`` in ``cwd``; it prints 'ready' once set up, and is killed after."""
    process = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_folder_with_an_open_file_or_a_working_directory_in_it_is_busy(demo_platform: DemoPlatform) -> None:
    scraped = demo_platform.scraped_dir
    log = scraped / "job_1" / "still_writing.log"
    writer = f"import time\nf = open({str(log)!r}, 'a')\nprint('ready', flush=True)\ntime.sleep(60)"
    sitter = "import time\nprint('ready', flush=True)\ntime.sleep(60)"
    config = load_config(demo_platform.imgops_config, environ={})
    with child(writer, demo_platform.root) as trainer, child(sitter, scraped / "job_2") as shell:
        planned = run_purge(config, "scrape", dry_run=True)
        done = run_purge(config, "scrape")
        for result in (planned, done):
            found = refusals(result)
            assert found["scrape_jobs/1"][0] == "busy" and found["scrape_jobs/2"][0] == "busy"
            assert f"process {trainer.pid}" in found["scrape_jobs/1"][1] and "open file" in found["scrape_jobs/1"][1]
            assert (
                f"process {shell.pid}" in found["scrape_jobs/2"][1] and "working directory" in found["scrape_jobs/2"][1]
            )
        assert log.exists() and (scraped / "job_2").is_dir()
        assert outputs(demo_platform)[1] == str(scraped / "job_1") and outputs(demo_platform)[5] == ""
    after = run_purge(config, "scrape")  # the processes are gone: the folders go now
    assert not (scraped / "job_1").exists() and not (scraped / "job_2").exists()
    assert after.summary["refused_by_reason"]["busy"] == 0


# -- any depth ---------------------------------------------------------------------------------------------------


def _deep_tree(top: Path, levels: int) -> None:
    """``levels`` nested folders below ``top`` (far past PATH_MAX), each step relative to its parent's descriptor."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=fd)
            next_fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        os.close(os.open("bottom.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def test_ten_thousand_levels_are_measured_and_removed(sqlite_platform: DemoPlatform) -> None:
    job_1 = sqlite_platform.scraped_dir / "job_1"
    _deep_tree(job_1, 10_000)
    config = load_config(sqlite_platform.imgops_config, environ={})
    start = time.monotonic()
    planned = run_purge(config, "scrape", dry_run=True)
    removes = {a.target: a.detail for a in planned.actions if a.kind == "remove"}
    assert removes[str(job_1)]["files"] == 1 + 5 + 10_000 + 1  # the folder, its 5 files, the levels, the bottom file
    assert (job_1 / "d").is_dir() and outputs(sqlite_platform)[1] == str(job_1)
    done = run_purge(config, "scrape")
    assert done.errors == [] and not job_1.exists() and outputs(sqlite_platform)[1] == ""
    assert {a.target: a.detail["files"] for a in done.actions if a.kind == "remove"}[str(job_1)] == 10_007
    assert time.monotonic() - start < 300


def test_the_reason_list_is_the_contracts(sqlite_platform: DemoPlatform) -> None:
    listed = SCHEMAS["purge_result"]["$defs"]["refusal_reason"]["enum"]
    assert listed == list(REFUSAL_REASONS)
    result = run_purge(load_config(sqlite_platform.imgops_config, environ={}), dry_run=True)
    assert list(result.summary["refused_by_reason"]) == listed
