#!/usr/bin/env python3
"""Benchmark: `imgops sets` first import and no-op re-run of N sets of R rows (default 2,000 x 200).

Both runs go through the CLI on the same database (SQLite by default, or --database-url). The no-op
re-run still validates every CSV and compares every album; it should cost well under a tenth of the
first import. For scale, `cat` of all the CSVs (reading the same bytes) is timed too.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import create_engine

from imgops_testing.platform import create_older_server_schema


def build(sets_dir: Path, count: int, rows: int) -> None:
    sets_dir.mkdir(parents=True)
    config = {}
    for i in range(count):
        name = f"set_{i:05d}.csv"
        with open(sets_dir / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["subject", "mood", "detail"])
            writer.writerows([f"subject {i}-{r}", "calm, bright", f'detail "{r}" with, commas'] for r in range(rows))
        config[f"set_{i:05d}"] = {"name": f"Set {i:05d}", "csv_path": name, "prompt_template": "{subject}, {mood}",
                                  "base_prompt": "bench", "width": 512, "height": 512}  # fmt: skip
    (sets_dir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    imgops = Path(sys.executable).parent / "imgops"
    with tempfile.TemporaryDirectory(prefix="imgops-bench-sets-") as tmp:
        base = Path(tmp)
        build(base / "sets", args.sets, args.rows)
        url = args.database_url or f"sqlite:///{base / 'bench.db'}"
        create_older_server_schema(url)
        create_engine(url).dispose()
        config = base / "imgops.yml"
        paths = {"sets_dir": str(base / "sets"), "state_dir": str(base / "state")}
        config.write_text(yaml.safe_dump({"database_url": url, "paths": paths}))
        command = [str(imgops), "--config", str(config), "sets"]
        first = timed(command)
        noop = timed(command)
        cat = timed(["sh", "-c", f"cat {base / 'sets'}/*.csv > /dev/null"])
        # The job itself, in this process (no interpreter start or imports): a fresh database each time.
        from imgops.config import load_config
        from imgops.sets import run_sets

        url = f"sqlite:///{base / 'inprocess.db'}"
        create_older_server_schema(url)
        loaded = load_config(config, environ={"IMGOPS_DATABASE_URL": url})
        started = time.perf_counter()
        run_sets(loaded)
        job_first = time.perf_counter() - started
        started = time.perf_counter()
        assert run_sets(loaded).changed is False
        job_noop = time.perf_counter() - started
    print(f"sets: {args.sets} x {args.rows} rows")
    print(f"CLI  first import: {first:6.2f} s   no-op re-run: {noop:6.2f} s   ratio {noop / first:5.3f}")
    print(
        f"job  first import: {job_first:6.2f} s   no-op re-run: {job_noop:6.2f} s   ratio {job_noop / job_first:5.3f}"
        " (target well under 0.1)"
    )
    print(f"cat *.csv: {cat:6.2f} s   CLI no-op/cat {noop / cat:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
