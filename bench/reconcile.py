#!/usr/bin/env python3
"""Benchmark reconcile against the standard tools on the same data, in the same run.

Builds N image files in folders of 1,000 under an outputs folder and a SQLite database of the
server's current schema whose images rows name them (absolute ``file_path``), then times
``run_reconcile`` (in this process, and as the ``imgops reconcile`` command) against
``find <outputs> -printf '%p\\n'`` plus ``SELECT file_path FROM images`` through the ``sqlite3``
shell, and prints the ratios: wall time and CPU time (the tools' CPU from ``RUSAGE_CHILDREN``, the
steadier measure on a shared machine), best and median of ``--runs``. ``--rss`` also runs reconcile
in child processes on 10,000, 200,000 (and with ``--million`` 1,000,000) rows whose files are missing,
and on 10,000 and ``--rows`` rows with their files, and prints their peak RSS.

    .venv/bin/python bench/reconcile.py            # 100,000 rows and files
    .venv/bin/python bench/reconcile.py --rows 10000 --rss
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``action``: this process's CPU plus that of the children it waited for."""

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    start_cpu, start = cpu(), time.perf_counter()
    action()
    return time.perf_counter() - start, cpu() - start_cpu


def spread(times: list[tuple[float, float]], index: int) -> tuple[float, float]:
    values = [t[index] for t in times]
    return min(values), statistics.median(values)


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
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side, alternating (default 5)")
    parser.add_argument("--rss", action="store_true", help="also compare peak RSS at 10,000 and 200,000 rows")
    parser.add_argument("--million", action="store_true", help="with --rss, also 1,000,000 rows (files missing)")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the data (default: a temp folder)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="imgops-bench-reconcile-", dir=args.dir))
    try:
        config_path = build(base / "data", args.rows)
        config = load_config(config_path, environ={})
        outputs, database = config.paths.outputs_dir, base / "data" / "imagineer.db"
        run_reconcile(config)  # warm the page cache for both sides alike
        env = {**os.environ, "PYTHONPATH": str(ROOT / "module_utils")}  # this tree's imgops, not an installed one
        argv = [sys.executable, "-m", "imgops.cli", "--config", str(config_path), "reconcile"]
        found: dict = {}
        tools, core, command = [], [], []
        for _ in range(args.runs):
            tools.append(timed(lambda: (
                subprocess.run(["find", str(outputs), "-printf", "%p\\n"], stdout=subprocess.DEVNULL, check=True),
                subprocess.run(["sqlite3", str(database), "SELECT file_path FROM images"], stdout=subprocess.DEVNULL,
                               check=True))))  # fmt: skip
            core.append(timed(lambda: found.update(run_reconcile(config).summary)))
            command.append(timed(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)))
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"rows and files: {args.rows:,}; cores: {os.cpu_count()}; load average: {load}; "
              f"best and median of {args.runs} runs")  # fmt: skip
        print(f"{'':34} {'wall s':>13} {'ratio':>11} {'CPU s':>13} {'ratio':>11}")
        base_wall, base_cpu = spread(tools, 0), spread(tools, 1)
        for label, times in (("find -printf + sqlite3 SELECT", tools), ("reconcile (in process)", core),
                             ("imgops reconcile (command)", command)):  # fmt: skip
            wall, cpu = spread(times, 0), spread(times, 1)
            print(f"{label:34} {wall[0]:6.3f} {wall[1]:6.3f} {wall[0] / base_wall[0]:5.2f} "
                  f"{wall[1] / base_wall[1]:5.2f} {cpu[0]:6.3f} {cpu[1]:6.3f} {cpu[0] / base_cpu[0]:5.2f} "
                  f"{cpu[1] / base_cpu[1]:5.2f}")  # fmt: skip
        print(f"findings: {found['found']} (expected 0)")
        if args.rss:
            sizes = [(10_000, False), (200_000, False)] + ([(1_000_000, False)] if args.million else [])
            for rows, files in [*sizes, (10_000, True), (args.rows, True)]:
                rss = peak_rss_kib(build(base / f"rss-{rows}-{files}", rows, files=files))
                shown = "with their files" if files else "files missing"
                print(f"peak RSS at {rows:>9,} rows ({shown}): {rss / 1024:6.1f} MiB")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
