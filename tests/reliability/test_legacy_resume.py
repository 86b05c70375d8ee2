"""kill -9 the legacy import at several points; a re-run ends where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
        folder = (
            outputs if i % 3 == 0 else outputs / f"card_deck_2025010{i % 4}_000000" if i % 3 == 1 else packs / "Pack A"
        )
        folder.mkdir(parents=True, exist_ok=True)
        stamp = f"2025{1 + i % 12:02d}01_000000"
        (folder / f"{stamp}_img {i:04d}.png").write_bytes(os.urandom(2048) if i % 50 else b"shared bytes")
    return outputs, packs


def write_config(root: Path, name: str, outputs: Path, packs: Path, database_url: str) -> Path:
    path = root / f"{name}.yml"
    path.write_text(yaml.safe_dump({
        "database_url": database_url,
        "paths": {"outputs_dir": str(outputs), "reference_packs_dir": str(packs),
                  "legacy_root": str(root / name / "legacy"), "state_dir": str(root / name / "state")},
        "legacy": {"host": "node-1"},
    }))  # fmt: skip
    assert imgops("--config", str(path), "db", "init").wait() == 0  # the platform tables, as the server makes them
    return path


def imgops(*args: str) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).parent / "imgops"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def end_state(config: Path) -> dict:
    """Rows, links, labels, queue, asset records, staged files and manifests, free of ids and run times."""
    raw = yaml.safe_load(config.read_text())
    root = Path(raw["paths"]["legacy_root"])
    engine = create_engine(raw["database_url"])
    with engine.connect() as c:
        image_rows = c.execute(select(Image.id, Image.filename, Image.file_path, Image.prompt, Image.created_at))
        images = {
            r.id: (r.filename, r.file_path.replace(str(root), "ROOT"), r.prompt, r.created_at) for r in image_rows
        }
        album_rows = c.execute(select(Album.id, Album.name, Album.description, Album.is_public))
        albums = {r.id: (r.name, r.description, r.is_public) for r in album_rows}
        links = c.execute(select(AlbumImage.album_id, AlbumImage.image_id, AlbumImage.sort_order))
        labels = c.execute(select(Label.image_id, Label.label_text))
        jobs = c.execute(select(queue.c.dedupe_key, queue.c.status))
        records = c.execute(select(assets.c.source_path, assets.c.sha256, assets.c.staged_path, assets.c.manifested))
        state = {
            "images": sorted(images.values()),
            "albums": sorted(albums.values()),
            "links": sorted((albums[r.album_id][0], images[r.image_id][0], r.sort_order) for r in links),
            "labels": sorted((images[r.image_id][0], r.label_text) for r in labels),
            "queue": sorted((images[int(r.dedupe_key.split(":")[1])][0], r.status) for r in jobs),
            "assets": sorted(tuple(r) for r in records),
        }
    engine.dispose()
    staged = [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    state["files"] = sorted(
        (str(p.relative_to(root)), p.read_bytes() if p.name == "manifest.yaml" else p.stat().st_size) for p in staged
    )
    return state


@pytest.fixture
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases on the backend named by the test's ``backend`` parameter."""
    if request.node.callspec.params["backend"] == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.db'}", f"sqlite:///{tmp_path / 'killed.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    names = [server.create_database(), server.create_database()]
    try:
        yield server.url(names[0]), server.url(names[1])
    finally:
        for name in names:
            server.drop_database(name)


@pytest.mark.parametrize(("backend", "mode"), [("sqlite", "copy"), ("sqlite", "hardlink"), ("postgresql", "hardlink")])
def test_kill_9_at_several_points_then_rerun_equals_an_uninterrupted_run(
    tmp_path: Path, backend: str, mode: str, two_databases: tuple[str, str]
) -> None:
    outputs, packs = build_sources(tmp_path)
    reference = write_config(tmp_path, "reference", outputs, packs, two_databases[0])
    assert imgops("--config", str(reference), "legacy", "import", "--mode", mode).wait() == 0
    expected = end_state(reference)
    assert len(expected["images"]) == FILES - FILES // 50 + 1

    config = write_config(tmp_path, "killed", outputs, packs, two_databases[1])
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


KILLED_AT_MANIFEST_RENAME = """
import os, signal, sys
real_replace = os.replace
def replace(source, target, *args, **kwargs):
    if os.path.basename(target) == "manifest.yaml":  # the temporary is written and synced, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(source, target, *args, **kwargs)
os.replace = replace
from imgops.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_during_a_manifest_write_leaves_a_temporary_the_rerun_removes(
    tmp_path: Path, backend: str, two_databases: tuple[str, str]
) -> None:
    outputs, packs = build_sources(tmp_path)
    reference = write_config(tmp_path, "reference", outputs, packs, two_databases[0])
    assert imgops("--config", str(reference), "legacy", "import").wait() == 0
    expected = end_state(reference)

    config = write_config(tmp_path, "killed", outputs, packs, two_databases[1])
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_MANIFEST_RENAME, "--config", str(config), "legacy",
                             "import"], capture_output=True, timeout=300)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    root = tmp_path / "killed" / "legacy"
    left = [p for p in root.rglob(".manifest.yaml.*.tmp")]
    assert len(left) == 1 and not (left[0].parent / "manifest.yaml").exists()

    rerun = subprocess.run([str(Path(sys.executable).parent / "imgops"), "--config", str(config), "--json", "legacy",
                            "import"], capture_output=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["summary"]["temporaries_removed"] == 1
    assert end_state(config) == expected  # every file under legacy_root is compared: no temporary is left
