#!/usr/bin/env python3
"""Benchmark: wall time of a no-op `ansible-playbook maintenance.yml` for 1, 3 and 6 hosts.

Each host is an inventory host on this machine (local connection) with its own platform tree and
configuration, all sharing one PostgreSQL database, as in tests/integration/test_fleet.py. After a
first run converges, the no-op run is timed; forks run the hosts in parallel, so the time should stay
near flat. For scale, `ansible all -m ansible.builtin.ping` on the same inventory is timed too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imgops_testing.fleet import build_fleet
from imgops_testing.pg_server import start_server

ROOT = Path(__file__).resolve().parent.parent


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 3, 6])
    args = parser.parse_args()
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    server = start_server()
    rows = []
    try:
        for count in args.hosts:
            database = server.create_database()
            with tempfile.TemporaryDirectory(prefix="imgops-bench-fleet-") as tmp:
                names = [f"host-{i:02d}" for i in range(1, count + 1)]
                inventory, _ = build_fleet(Path(tmp), names, server.url(database))
                playbook = ["ansible-playbook", "maintenance.yml", "-i", str(inventory)]
                timed(playbook, env)  # converge
                noop = timed(playbook, env)
                ping = timed(["ansible", "all", "-i", str(inventory), "-m", "ansible.builtin.ping"], env)
                rows.append((count, noop, ping))
            server.drop_database(database)
    finally:
        server.stop()
    base = rows[0][1]
    print(f"{'hosts':>5}  {'no-op run':>10}  {'vs first':>8}  {'ping all':>9}  {'run/ping':>8}")
    for count, noop, ping in rows:
        print(f"{count:>5}  {noop:>9.2f}s  {noop / base:>7.2f}x  {ping:>8.2f}s  {noop / ping:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
