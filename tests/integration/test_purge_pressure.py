"""Relieving a filling volume: a real small tmpfs (the tests run as root), filled past the high mark.

The scrape root lies on the tmpfs. Job 1 is past its retention; jobs 2-4 are younger
(10, 5 and 2 days), job 5 an hour old. Job 2's folder holds the folder of a running job,
so no rule may remove it. The server's seed tables, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import MetaData, create_engine, insert, text

from imgops.config import Config, load_config
from imgops.contracts import problems
from imgops.db import utcnow
from imgops.fs.usage import measure
from imgops.purge import run_purge
from imgops_testing.server_ddl import create_server_schema

MiB = 1024 * 1024
JOB_BYTES = MiB // 2


@dataclass(frozen=True)
class Volume:
    mount: Path
    scraped: Path
    config: Path
    database_url: str


@pytest.fixture
def volume(tmp_path: Path, database_url: str) -> Iterator[Volume]:
    mount = tmp_path / "volume"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True, capture_output=True)
    try:
        yield _fill(tmp_path, mount, database_url)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True, capture_output=True)


def _fill(tmp_path: Path, mount: Path, database_url: str) -> Volume:
    scraped = mount / "scraped"
    create_server_schema(database_url, "seed")
    now = utcnow().replace(microsecond=0)
    ages = {1: timedelta(days=60), 2: timedelta(days=10), 3: timedelta(days=5), 4: timedelta(days=2),
            5: timedelta(hours=1)}  # fmt: skip
    engine = create_engine(database_url)
    table = MetaData()
    table.reflect(engine, only=["scrape_jobs"])
    with engine.begin() as conn:
        for job_id, age in ages.items():
            folder = scraped / f"job_{job_id}"
            folder.mkdir(parents=True)
            (folder / "image.jpg").write_bytes(os.urandom(JOB_BYTES))
            conn.execute(insert(table.tables["scrape_jobs"]).values(
                id=job_id, name=f"scrape {job_id}", source_url="https://example.org", status="completed",
                output_directory=str(folder), created_at=now - age, completed_at=now - age))  # fmt: skip
        (scraped / "job_2" / "sub").mkdir()
        conn.execute(insert(table.tables["scrape_jobs"]).values(
            id=6, name="scrape 6", source_url="https://example.org", status="running",
            output_directory=str(scraped / "job_2" / "sub"), created_at=now))  # fmt: skip
    engine.dispose()
    usage = measure(mount)
    filler = int((usage.used_bytes + usage.free_bytes) * 0.9) - usage.used_bytes  # 90% used, not a purge root
    (mount / "filler").write_bytes(os.urandom(filler))
    config = tmp_path / "imgops.yml"
    config.write_text(yaml.safe_dump({"database_url": database_url, "paths": {"scraped_dir": str(scraped),
                                      "state_dir": str(tmp_path / "state")}}), encoding="utf-8")  # fmt: skip
    return Volume(mount, scraped, config, database_url)


def _config(volume: Volume, pressure: dict[str, object] | None) -> Config:
    raw = yaml.safe_load(volume.config.read_text(encoding="utf-8"))
    if pressure is not None:
        raw["purge"] = {"pressure": pressure}
    volume.config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_config(volume.config, environ={})


def _outputs(volume: Volume) -> dict[int, str]:
    engine = create_engine(volume.database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, output_directory FROM scrape_jobs")).all())
    engine.dispose()
    return found


PRESSURE = {"high_percent": 85, "low_percent": 60, "min_age_hours": 24}


def test_a_volume_above_the_high_mark_loses_younger_folders_oldest_first_down_to_the_low_mark(volume: Volume) -> None:
    assert measure(volume.mount).used_percent > 85
    config = _config(volume, PRESSURE)
    planned = run_purge(config, "scrape", dry_run=True)
    assert problems(planned.to_dict(), "purge_result") == []
    rules = {a.target: a.detail["rule"] for a in planned.actions if a.kind == "remove"}
    assert rules == {str(volume.scraped / "job_1"): "retention", str(volume.scraped / "job_3"): "pressure",
                     str(volume.scraped / "job_4"): "pressure"}  # fmt: skip
    [plan] = planned.summary["pressure"]
    assert plan["mount"] == str(volume.mount) and plan["kind"] == "scrape" and plan["used_percent"] > 85
    assert plan["planned_bytes"] == 2 * JOB_BYTES and plan["freed_bytes"] == 2 * JOB_BYTES
    assert plan["used_percent_after"] < 60  # estimated from the measured sizes
    assert sorted(os.listdir(volume.scraped)) == [f"job_{n}" for n in range(1, 6)]  # a dry run removes nothing

    done = run_purge(config, "scrape")
    assert problems(done.to_dict(), "purge_result") == [] and done.errors == []
    assert {a.target: a.detail["rule"] for a in done.actions if a.kind == "remove"} == rules
    rows = {a.target: a.detail["rule"] for a in done.actions if a.kind == "update_row"}
    assert rows == {"scrape_jobs/1": "retention", "scrape_jobs/3": "pressure", "scrape_jobs/4": "pressure"}
    # job 2 holds a running job's folder (claimed), job 5 is younger than min_age_hours: neither goes
    assert sorted(os.listdir(volume.scraped)) == ["job_2", "job_5"]
    assert done.notices == []  # a candidate the rules refuse was never due: not reported
    [relieved] = done.summary["pressure"]
    assert relieved["freed_bytes"] == 2 * JOB_BYTES and relieved["used_percent_after"] < 60
    assert measure(volume.mount).used_percent < 60
    outputs = _outputs(volume)
    assert outputs[1] == outputs[3] == outputs[4] == "" and outputs[2] == str(volume.scraped / "job_2")
    assert run_purge(config, "scrape").changed is False  # below the high mark now: retention only


def test_without_the_mark_or_below_it_only_retention_removes(volume: Volume) -> None:
    off = run_purge(_config(volume, None), "scrape", dry_run=True)
    below = run_purge(_config(volume, {**PRESSURE, "high_percent": 95}), "scrape", dry_run=True)
    for result in (off, below):
        assert [a.target for a in result.actions if a.kind == "remove"] == [str(volume.scraped / "job_1")]
        assert result.summary["pressure"] == []


def test_never_younger_than_min_age_hours(volume: Volume) -> None:
    """With every younger row allowed by age but most of them too young, the volume stays above the low mark."""
    done = run_purge(_config(volume, {**PRESSURE, "min_age_hours": 24 * 4}), "scrape")
    assert sorted(os.listdir(volume.scraped)) == ["job_2", "job_4", "job_5"]
    [relieved] = done.summary["pressure"]
    assert relieved["freed_bytes"] == JOB_BYTES and relieved["used_percent_after"] > 60
