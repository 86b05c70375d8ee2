#!/usr/bin/env python3
"""Benchmark reconcile against the standard tools on the same data, in the same run.

Builds N image files in folders of 1,000 under an outputs folder and a SQLite database of the
server's current schema whose images rows name them (absolute ``file_path``), then times
``run_reconcile`` (in this process, and as the ``imgops reconcile`` command) against
``find <outputs> -printf '%p\\n'`` plus ``SELECT file_path FROM images`` through the ``sqlite3``
shell, and prints the ratios. ``--rss`` also runs reconcile in child processes on 10,000 and
200,000 rows and prints their peak RSS, to show memory does not grow with the rows.

    .venv/bin/python bench/reconcile.py            # 100,000 rows and files
    .venv/bin/python bench/reconcile.py --rows 10000 --rss
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import MetaData, create_engine, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "module_utils"), str(ROOT / "tests" / "support")]

from imgops.config import load_config  # noqa: E402
from imgops.reconcile import run_reconcile  # noqa: E402
from imgops_testing.server_ddl import create_server_schema  # noqa: E402

PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 56


def build(base: Path, rows: int, files: bool = True) -> Path:
    """The outputs folder, the database and a configuration; returns the configuration's path."""
    outputs = base / "outputs"
    (outputs / "thumbnails").mkdir(parents=True)
    url = f"sqlite:///{base / 'imagineer.db'}"
    create_server_schema(url, "current")
    names = []
    for i in range(1, rows + 1):
        folder = outputs / f"batch_{i // 1000:04d}"
        if i % 1000 in (0, 1) or not folder.is_dir():
            folder.mkdir(exist_ok=True)
        path = folder / f"img_{i:07d}.png"
        if files:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, PAYLOAD)
            os.close(fd)
        names.append(str(path))
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine, only=["images"])
    rows_data = [{"id": i, "filename": Path(p).name, "file_path": p} for i, p in enumerate(names, 1)]
    with engine.begin() as connection:
        connection.execute(insert(metadata.tables["images"]), rows_data)
    engine.dispose()
    config = base / "imgops.yml"
    paths = {"outputs_dir": str(outputs), "legacy_root": str(base / "legacy"), "state_dir": str(base / "state")}
    config.write_text(yaml.safe_dump({"database_url": url, "paths": paths}))
    return config


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def peak_rss_kib(config: Path) -> int:
    """Peak RSS (VmHWM; ru_maxrss would carry the parent's peak over the fork) of a child running reconcile."""
    code = ("import sys; sys.path[:0] = sys.argv[2:]; from imgops.config import load_config; "
            "from imgops.reconcile import run_reconcile; run_reconcile(load_config(sys.argv[1])); "
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")  # fmt: skip
    ran = subprocess.run([sys.executable, "-c", code, str(config), str(ROOT / "module_utils")],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return int(ran.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows and files (default 100,000)")
    parser.add_argument("--rss", action="store_true", help="also compare peak RSS at 10,000 and 200,000 rows")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the data (default: a temp folder)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="imgops-bench-reconcile-", dir=args.dir))
    try:
        config_path = build(base / "data", args.rows)
        config = load_config(config_path, environ={})
        outputs, database = config.paths.outputs_dir, base / "data" / "imagineer.db"
        run_reconcile(config)  # warm the page cache for both sides alike
        tools = timed(lambda: (
            subprocess.run(["find", str(outputs), "-printf", "%p\\n"], stdout=subprocess.DEVNULL, check=True),
            subprocess.run(["sqlite3", str(database), "SELECT file_path FROM images"], stdout=subprocess.DEVNULL,
                           check=True)))  # fmt: skip
        found: dict = {}
        core = timed(lambda: found.update(run_reconcile(config).summary))
        env = {**os.environ, "PYTHONPATH": str(ROOT / "module_utils")}  # this tree's imgops, not an installed one
        argv = [sys.executable, "-m", "imgops.cli", "--config", str(config_path), "reconcile"]
        command = timed(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env))
        print(f"rows and files: {args.rows:,} (cores: {os.cpu_count()})")
        print(f"find -printf + sqlite3 SELECT:  {tools:7.3f} s")
        print(f"reconcile (in process):         {core:7.3f} s   ratio {core / tools:5.2f}x")
        print(f"imgops reconcile (command):     {command:7.3f} s   ratio {command / tools:5.2f}x")
        print(f"findings: {found['found']} (expected 0)")
        if args.rss:
            for rows in (10_000, 200_000):
                rss = peak_rss_kib(build(base / f"rss-{rows}", rows, files=False))
                print(f"peak RSS at {rows:>7,} rows (files missing): {rss / 1024:6.1f} MiB")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
