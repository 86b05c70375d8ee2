"""kill -9 the legacy import at several points; a re-run ends where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from imgops.db.imgops_tables import assets, queue
from imgops.db.models import Album, AlbumImage, Image, Label

FILES = 1200


def build_sources(root: Path) -> tuple[Path, Path]:
    outputs, packs = root / "outputs", root / "packs"
    for i in range(FILES):
        folder = outputs if i % 3 == 0 else outputs / f"card_deck_2025010{i % 4}_000000" if i % 3 == 1 else packs / "Pack A"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = f"2025{1 + i % 12:02d}01_000000"
        (folder / f"{stamp}_img {i:04d}.png").write_bytes(os.urandom(2048) if i % 50 else b"shared bytes")
    return outputs, packs


def write_config(root: Path, name: str, outputs: Path, packs: Path) -> Path:
    path = root / f"{name}.yml"
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{root / name}.db",
        "paths": {"outputs_dir": str(outputs), "reference_packs_dir": str(packs),
                  "legacy_root": str(root / name / "legacy"), "state_dir": str(root / name / "state")},
        "legacy": {"host": "node-1"},
    }))  # fmt: skip
    assert imgops("--config", str(path), "db", "init").wait() == 0  # the platform tables, as the server makes them
    return path


def imgops(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(Path(os.sys.executable).parent / "imgops"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def end_state(config: Path) -> dict:
    raw = yaml.safe_load(config.read_text())
    root = Path(raw["paths"]["legacy_root"])
    engine = create_engine(raw["database_url"])
    with engine.connect() as c:
        images = {r.id: (r.filename, r.file_path.replace(str(root), "ROOT"), r.prompt, r.created_at)
                  for r in c.execute(select(Image.id, Image.filename, Image.file_path, Image.prompt, Image.created_at))}  # fmt: skip
        albums = {r.id: (r.name, r.description, r.is_public) for r in c.execute(
            select(Album.id, Album.name, Album.description, Album.is_public))}  # fmt: skip
        state = {
            "images": sorted(images.values()),
            "albums": sorted(albums.values()),
            "links": sorted((albums[r.album_id][0], images[r.image_id][0], r.sort_order)
                            for r in c.execute(select(AlbumImage.album_id, AlbumImage.image_id, AlbumImage.sort_order))),  # fmt: skip
            "labels": sorted((images[r.image_id][0], r.label_text) for r in c.execute(select(Label.image_id, Label.label_text))),  # fmt: skip
            "queue": sorted((images[int(r.dedupe_key.split(":")[1])][0], r.status)
                            for r in c.execute(select(queue.c.dedupe_key, queue.c.status))),  # fmt: skip
            "assets": sorted((r.source_path, r.sha256, r.staged_path, r.manifested) for r in c.execute(
                select(assets.c.source_path, assets.c.sha256, assets.c.staged_path, assets.c.manifested))),  # fmt: skip
        }
    engine.dispose()
    state["files"] = sorted(
        (str(p.relative_to(root)), p.read_bytes() if p.name == "manifest.yaml" else p.stat().st_size)
        for p in root.rglob("*") if p.is_file() or p.is_symlink()
    )  # fmt: skip
    return state


@pytest.mark.parametrize("mode", ["copy", "hardlink"])
def test_kill_9_at_several_points_then_rerun_equals_an_uninterrupted_run(tmp_path: Path, mode: str) -> None:
    outputs, packs = build_sources(tmp_path)
    reference = write_config(tmp_path, "reference", outputs, packs)
    assert imgops("--config", str(reference), "legacy", "import", "--mode", mode).wait() == 0
    expected = end_state(reference)
    assert len(expected["images"]) == FILES - FILES // 50 + 1

    config = write_config(tmp_path, "killed", outputs, packs)
    root = tmp_path / "killed" / "legacy"
    kills = 0
    for staged_before_kill in (1, 300, 700, 1100):
        process = imgops("--config", str(config), "legacy", "import", "--mode", mode)
        while process.poll() is None:
            staged = sum(len(files) for _, _, files in os.walk(root)) if root.exists() else 0
            if staged >= staged_before_kill:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        if process.wait() == -signal.SIGKILL:
            kills += 1
    assert kills >= 2, "the import finished before it could be killed; the test proved nothing"
    assert imgops("--config", str(config), "legacy", "import", "--mode", mode).wait() == 0
    assert end_state(config) == expected
