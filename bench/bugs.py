#!/usr/bin/env python3
"""Benchmark: `imgops bugs list --status open` against `grep -l '"status": "open"' -r` on the same folder.

Builds N reports of about 20 KB (default 20,000), runs each command a few times with a warm page
cache, and prints the best times and their ratio. Both produce the list of open reports.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

STATUSES = ("open", "in_progress", "resolved", "closed")


def build(folder: Path, count: int) -> None:
    rng = random.Random(1)
    now = datetime(2025, 11, 1, tzinfo=UTC)
    for i in range(count):
        when = now - timedelta(minutes=i)
        report_id = f"bug_{when:%Y%m%d_%H%M%S}_{i:08x}"
        report = {
            "report_id": report_id, "trace_id": f"{i:08x}-0000", "submitted_at": when.isoformat(),
            "submitted_by": f"user{i % 50}@example.com", "user_role": "admin", "status": rng.choice(STATUSES),
            "description": f"Gallery fails to load, case {i}", "environment": {"mode": "production"},
            "clientMeta": {"locationHref": "https://imagineer.example/gallery"}, "appState": {},
            "recentLogs": [{"level": "info", "message": f"request {n} took {rng.random():.6f}s",
                            "ts": when.isoformat()} for n in range(190)],
            "networkEvents": [],
        }  # fmt: skip
        (folder / f"{report_id}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


def best_of(runs: int, argv: list[str]) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - started)
        out = done.stdout
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    imgops = Path(sys.executable).parent / "imgops"
    with tempfile.TemporaryDirectory(prefix="imgops-bench-bugs-") as tmp:
        folder = Path(tmp) / "bug_reports"
        folder.mkdir()
        build(folder, args.reports)
        size = sum(p.stat().st_size for p in folder.iterdir())
        config = Path(tmp) / "imgops.yml"
        config.write_text(f"paths:\n  bug_reports_dir: {folder}\n  state_dir: {tmp}/state\n", encoding="utf-8")
        command = [str(imgops), "--config", str(config), "--json", "bugs", "list", "--status", "open"]
        grep_time, grep_out = best_of(args.runs, ["grep", "-l", '"status": "open"', "-r", str(folder)])
        cold_time, _ = best_of(1, command)  # no index yet: every file is parsed and validated
        warm_time, ours_out = best_of(args.runs, command)  # the index answers for unchanged files
        found = len(json.loads(ours_out)["reports"])
        assert found == len(grep_out.split()), (found, len(grep_out.split()))
        print(f"reports: {args.reports} ({size / 2**20:.0f} MiB, {found} open)")
        print(f"grep -l -r:                          {grep_time:8.3f} s")
        print(f"imgops bugs list --status open, cold: {cold_time:8.3f} s  ratio {cold_time / grep_time:6.2f}x")
        print(f"imgops bugs list --status open, warm: {warm_time:8.3f} s  ratio {warm_time / grep_time:6.2f}x"
              " (target <= 3x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
