"""Benchmark the legacy import against standard tools on the same tree, in the same run (issue 16's aims).

(a) first import of N small files vs ``find SRC -type f -exec sha256sum {} +`` (aim: at most 3x);
(b) no-op re-import vs ``find SRC -type f -printf '%s %T@\\n'`` (aim: at most 3x);
(c) the import's peak memory (max RSS) with a quarter of the files in one folder (aim: at most 128 MiB);
(d) first import of M large images vs ``find -exec sha256sum`` (aim: at most 1.0x: parallel hashing).

    .venv/bin/python bench/legacy.py [--files N] [--images M] [--image-mib S] [--small]
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


def build_tree(root: Path, files: int, size: int = 1024) -> Path:
    """A quarter of the files at the root (one folder of singles), the rest in deck, zodiac and LoRA folders."""
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
        (folder / f"2025{1 + i % 12:02d}01_000000_img-{i}.png").write_bytes(os.urandom(size))
    return outputs


def timed(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds (user and system, all threads) of a child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed:\n{errors.read().decode(errors='replace')[-2000:]}")
    return time.perf_counter() - start, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def run(files: int, size: int = 1024) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outputs = build_tree(root, files, size)
        config = root / "imgops.yml"
        paths = {"outputs_dir": outputs, "legacy_root": root / "legacy", "state_dir": root / "state"}
        config.write_text(
            yaml.safe_dump(
                {"database_url": f"sqlite:///{root / 'bench.db'}", "paths": {k: str(v) for k, v in paths.items()}}
            )
        )
        subprocess.run([BIN / "imgops", "--config", config, "db", "init"], check=True, capture_output=True)
        imgops = [str(BIN / "imgops"), "--config", str(config), "--json", "legacy", "import"]
        sha, _, _ = timed(["find", str(outputs), "-type", "f", "-exec", "sha256sum", "{}", "+"])  # also warms the cache
        first, first_rss, first_cpu = timed(imgops)
        noop, noop_rss, noop_cpu = timed(imgops)
        stat, _, _ = timed(["find", str(outputs), "-type", "f", "-printf", "%s %T@\\n"])
    return {"files": files, "first": first, "first_cpu": first_cpu, "sha256sum": sha, "noop": noop,
            "noop_cpu": noop_cpu, "find_stat": stat, "peak_rss_mib": max(first_rss, noop_rss) / 1024}  # fmt: skip


def verdict(value: float, aim: float, unit: str = "x") -> str:
    return f"{value:.1f}{unit} (aim <= {aim:g}{unit}: {'met' if value <= aim else 'NOT met'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000, help="small files (1 KiB) for the first and no-op runs")
    parser.add_argument("--images", type=int, default=2_000, help="large images for the hashing run")
    parser.add_argument("--image-mib", type=float, default=2.0)
    parser.add_argument("--small", action="store_true", help="10x fewer files and images")
    args = parser.parse_args()
    files, images = (args.files // 10, args.images // 10) if args.small else (args.files, args.images)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{len(os.sched_getaffinity(0))} cores, load average {load} at start")
    r = run(files)
    print(
        f"{files:>7} files of 1 KiB: first import {r['first']:.2f}s ({r['first_cpu']:.2f}s CPU) vs find+sha256sum "
        f"{r['sha256sum']:.2f}s, {verdict(r['first'] / r['sha256sum'], 3)}; no-op {r['noop']:.2f}s "
        f"({r['noop_cpu']:.2f}s CPU) vs find -printf {r['find_stat']:.2f}s, "
        f"{verdict(r['noop'] / r['find_stat'], 3)}; peak RSS {verdict(r['peak_rss_mib'], 128, ' MiB')}"
    )
    r = run(images, int(args.image_mib * 2**20))
    print(
        f"{images:>7} images of {args.image_mib:g} MiB: first import {r['first']:.2f}s ({r['first_cpu']:.2f}s CPU) "
        f"vs find+sha256sum {r['sha256sum']:.2f}s, {verdict(r['first'] / r['sha256sum'], 1.0)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
