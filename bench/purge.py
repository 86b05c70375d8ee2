#!/usr/bin/env python3
"""Benchmark the purge against the standard tools on the same data, in the same run.

Builds N scrape-job folders of M files twice (one tree for imgops, an identical
copy for the tools), with a SQLite platform database whose rows name the first
tree's folders as old completed jobs. Times ``imgops purge scrape --dry-run``
against ``du -s`` of the copy, then the real purge against ``rm -rf`` of the
copy, and prints the ratios (imgops time / tool time).

    .venv/bin/python bench/purge.py            # 1,000 folders x 1,000 files
    .venv/bin/python bench/purge.py --small    # 100 folders x 100 files
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import create_engine, insert

from imgops.config import load_config
from imgops.db import utcnow
from imgops.db.models import PlatformBase, ScrapeJob
from imgops.purge import run_purge


def build_tree(root: Path, folders: int, files: int, payload: bytes) -> None:
    for job_id in range(1, folders + 1):
        folder = root / f"job_{job_id}"
        folder.mkdir(parents=True)
        for i in range(files):
            fd = os.open(folder / f"img_{i:04d}.jpg", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, payload)
            os.close(fd)


def seed_database(url: str, scraped: Path, folders: int) -> None:
    engine = create_engine(url)
    PlatformBase.metadata.create_all(engine)
    old = utcnow() - timedelta(days=90)
    with engine.begin() as conn:
        conn.execute(
            insert(ScrapeJob),
            [
                {"id": i, "status": "completed", "output_directory": str(scraped / f"job_{i}"),
                 "created_at": old, "completed_at": old}
                for i in range(1, folders + 1)
            ],
        )  # fmt: skip
    engine.dispose()


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100 folders x 100 files instead of 1,000 x 1,000")
    parser.add_argument("--folders", type=int, help="override the number of folders")
    parser.add_argument("--files", type=int, help="override the number of files per folder")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the trees (default: a temp folder)")
    args = parser.parse_args(argv)
    folders, files = (100, 100) if args.small else (1000, 1000)
    folders, files = args.folders or folders, args.files or files
    base = Path(tempfile.mkdtemp(prefix="imgops-bench-", dir=args.dir))
    try:
        scraped, copy = base / "scraped", base / "copy"
        started = time.perf_counter()
        build_tree(scraped, folders, files, b"\xff" * 512)
        build_tree(copy, folders, files, b"\xff" * 512)
        url = f"sqlite:///{base / 'imagineer.db'}"
        seed_database(url, scraped, folders)
        config_path = base / "imgops.yml"
        config_path.write_text(yaml.safe_dump({
            "database_url": url,
            "paths": {"scraped_dir": str(scraped), "state_dir": str(base / "state")},
            "retention": {"scrape_days": 30},
        }), encoding="utf-8")  # fmt: skip
        config = load_config(config_path, environ={})
        print(f"built 2 x {folders} folders x {files} files in {time.perf_counter() - started:.1f}s under {base}")
        os.sync()  # blocks allocated on disk for both trees: unlinking never-written-back files is nearly free
        subprocess.run(["du", "-s", str(scraped), str(copy)], check=True, capture_output=True)  # warm both alike

        plan_result = None

        def dry_run() -> None:
            nonlocal plan_result
            plan_result = run_purge(config, "scrape", dry_run=True)

        t_plan = timed(dry_run)
        t_du = timed(lambda: subprocess.run(["du", "-s", str(copy)], check=True, capture_output=True))
        t_purge = timed(lambda: run_purge(config, "scrape"))
        t_rm = timed(lambda: subprocess.run(["rm", "-rf", str(copy)], check=True))
        assert plan_result is not None and len(plan_result.actions) == 2 * folders
        assert not any(scraped.iterdir()) and not copy.exists()
        print(f"dry run (plan, sizes): imgops {t_plan:.2f}s  du -s {t_du:.2f}s  ratio {t_plan / t_du:.2f}x")
        print(f"purge (remove, rows):  imgops {t_purge:.2f}s  rm -rf {t_rm:.2f}s  ratio {t_purge / t_rm:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
