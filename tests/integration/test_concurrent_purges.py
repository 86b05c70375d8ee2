"""Two purges on different state folders (two hosts' timers sharing one database and one scrape volume)
run at once: whichever removes an entry first, the other finds it gone and that is no error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import create_engine, insert, text

from imgops.db import utcnow
from imgops.db.models import ScrapeJob
from imgops_testing.platform import DemoPlatform


def add_stale_scrape_jobs(platform: DemoPlatform, count: int, files: int) -> list[Path]:
    folders = []
    for job in range(100, 100 + count):
        folder = platform.scraped_dir / f"job_{job}"
        for sub in range(files // 20):
            (folder / f"part_{sub}").mkdir(parents=True, exist_ok=True)
            for i in range(20):
                (folder / f"part_{sub}" / f"img_{i}.png").write_bytes(b"p" * 64)
        folders.append(folder)
    engine = create_engine(platform.database_url)
    when = utcnow().replace(microsecond=0)
    with engine.begin() as conn:
        for job, folder in enumerate(folders, start=100):
            conn.execute(insert(ScrapeJob).values(
                id=job, name=f"stale {job}", status="completed", output_directory=str(folder),
                created_at=when, completed_at=when.replace(year=when.year - 1),
            ))  # fmt: skip
    engine.dispose()
    return folders


def host_config(platform: DemoPlatform, host: str) -> Path:
    raw = yaml.safe_load(platform.imgops_config.read_text(encoding="utf-8"))
    raw["paths"] = {**raw.get("paths", {}), "state_dir": f"state-{host}"}
    raw["purge"] = {"workers": 4}
    path = platform.root / f"imgops-{host}.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_two_purges_at_once_both_succeed_without_spurious_errors(sqlite_platform: DemoPlatform) -> None:
    folders = add_stale_scrape_jobs(sqlite_platform, count=30, files=400)
    runs = [
        subprocess.Popen([sys.executable, "-m", "imgops.cli", "--config", str(host_config(sqlite_platform, host)),
                          "--json", "purge", "scrape"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for host in ("a", "b")
    ]  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert "Traceback" not in stderr, stderr
        envelope = json.loads(stdout)
        assert envelope["errors"] == [] and run.returncode == 0, envelope["errors"]
    assert not any(folder.exists() for folder in folders)
    engine = create_engine(sqlite_platform.database_url)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM scrape_jobs WHERE id >= 100 AND output_directory != ''"))
        assert left.scalar() == 0
    engine.dispose()
