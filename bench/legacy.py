"""Benchmark the legacy import against standard tools on the same tree, in the same run.

(a) first import vs ``find SRC -type f -exec sha256sum {} +``;
(b) no-op re-import vs ``find SRC -type f -printf '%s %T@\\n'``;
and the import's peak memory (max RSS) at two tree sizes.

    .venv/bin/python bench/legacy.py [--files N] [--small]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def build_tree(root: Path, files: int) -> Path:
    outputs = root / "outputs"
    for i in range(files):
        kind = i % 4
        folder = (
            outputs
            if kind == 0
            else outputs / f"card_deck_20250101_{i % 50:06d}"
            if kind == 1
            else (outputs / f"zodiac_20250201_{i % 20:06d}" if kind == 2 else outputs / "lora_tests" / f"exp {i % 30}")
        )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"2025{1 + i % 12:02d}01_000000_img-{i}.png").write_bytes(os.urandom(1024))
    return outputs


def timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed:\n{errors.read().decode(errors='replace')[-2000:]}")
    return time.perf_counter() - start, usage.ru_maxrss


def run(files: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outputs = build_tree(root, files)
        config = root / "imgops.yml"
        paths = {"outputs_dir": outputs, "legacy_root": root / "legacy", "state_dir": root / "state"}
        config.write_text(
            yaml.safe_dump(
                {"database_url": f"sqlite:///{root / 'bench.db'}", "paths": {k: str(v) for k, v in paths.items()}}
            )
        )
        subprocess.run([BIN / "imgops", "--config", config, "db", "init"], check=True, capture_output=True)
        imgops = [str(BIN / "imgops"), "--config", str(config), "--json", "legacy", "import"]
        first, first_rss = timed(imgops)
        sha, _ = timed(["find", str(outputs), "-type", "f", "-exec", "sha256sum", "{}", "+"])
        noop, noop_rss = timed(imgops)
        stat, _ = timed(["find", str(outputs), "-type", "f", "-printf", "%s %T@\\n"])
    return {"files": files, "first": first, "sha256sum": sha, "noop": noop, "find_stat": stat,
            "peak_rss_mib": max(first_rss, noop_rss) / 1024}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="10x fewer files (and 10x fewer again for memory)")
    args = parser.parse_args()
    large = args.files // 10 if args.small else args.files
    for files in (large // 10, large):
        r = run(files)
        print(
            f"{files:>7} files: first import {r['first']:.2f}s vs find+sha256sum {r['sha256sum']:.2f}s "
            f"(ratio {r['first'] / r['sha256sum']:.1f}x); no-op {r['noop']:.2f}s vs find -printf "
            f"{r['find_stat']:.2f}s (ratio {r['noop'] / r['find_stat']:.1f}x); peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
