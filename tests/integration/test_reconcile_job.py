"""Thumbnails the server serves, and the reconcile job, on the server's seed and current schemas.

Each test builds the server's tables with ``imgops_testing.server_ddl`` on SQLite and PostgreSQL,
writes rows and files in the shapes SERVER_FACTS describes (absolute, outputs-relative and empty
``file_path``; relative ``thumbnail_path``; purged scrape and training folders), and checks the rows,
the files and the bytes that the jobs leave.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image as PILImage
from sqlalchemy import Engine, MetaData, create_engine, insert, select, text

from imgops.config import Config, load_config
from imgops.contracts import problems
from imgops.db import migrations
from imgops.reconcile import run_reconcile
from imgops.thumbnails import run_thumbnails
from imgops_testing.server_ddl import create_server_schema

HOST = "test-host"
CASES = [("sqlite", "seed"), ("sqlite", "current"), ("postgresql", "seed"), ("postgresql", "current")]


@dataclass
class Server:
    """A server database of one generation and its folders, with an imgops configuration for them."""

    root: Path
    url: str
    engine: Engine
    outputs: Path
    legacy: Path
    scraped: Path
    datasets: Path
    config_path: Path

    @property
    def thumbnails(self) -> Path:
        return self.outputs / "thumbnails"

    def config(self, **sections: Any) -> Config:
        raw = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        raw.update(sections)
        path = self.root / "imgops-variant.yml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        return load_config(path, environ={})

    def table(self, name: str) -> Any:
        metadata = MetaData()
        metadata.reflect(self.engine, only=[name])
        return metadata.tables[name]

    def insert(self, name: str, *rows: dict[str, Any]) -> None:
        """Rows as the server's tools leave them, dangling ones too (foreign keys not enforced on SQLite;
        on PostgreSQL switched off for the session, as a restored dump or the seed's SQLite copy has them)."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET session_replication_role = replica"))
            keys = {key: None for row in rows for key in row}
            connection.execute(insert(self.table(name)), [{**keys, **row} for row in rows])
            if connection.dialect.name == "postgresql" and "id" in rows[0]:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                        f"(SELECT max(id) FROM {name}))"))  # fmt: skip

    def rows(self, name: str, *columns: str) -> list[tuple]:
        table = self.table(name)
        with self.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(select(*(table.c[c] for c in columns)).order_by(table.c.id))]


@pytest.fixture(params=CASES, ids=[f"{b}-{v}" for b, v in CASES])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    backend, variant = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'imagineer.db'}"
        name = None
    else:
        pg = request.getfixturevalue("postgres_server")
        name = pg.create_database()
        url = pg.url(name)
    create_server_schema(url, variant)
    engine = create_engine(url)
    migrations.upgrade(engine)
    folders = {key: tmp_path / key for key in ("outputs", "legacy", "scraped", "datasets")}
    for folder in folders.values():
        folder.mkdir()
    (folders["outputs"] / "thumbnails").mkdir()
    config_path = tmp_path / "imgops.yml"
    config_path.write_text(yaml.safe_dump({
        "database_url": url,
        "paths": {"outputs_dir": str(folders["outputs"]), "legacy_root": str(folders["legacy"]),
                  "scraped_dir": str(folders["scraped"]), "training_dataset_dir": str(folders["datasets"]),
                  "state_dir": str(tmp_path / "state")},
        "legacy": {"host": HOST},
        "thumbnails": {"workers": 1},
    }), encoding="utf-8")  # fmt: skip
    try:
        yield Server(tmp_path, url, engine, **folders, config_path=config_path)
    finally:
        engine.dispose()
        if name:
            request.getfixturevalue("postgres_server").drop_database(name)


def picture(path: Path, size: tuple[int, int], color: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", size, color).save(path)
    return path


def queue_thumbnails(server: Server, *image_ids: int, host: str = HOST) -> None:
    now = datetime(2026, 1, 1)
    server.insert("imgops_queue", *({
        "kind": "thumbnail", "dedupe_key": f"thumbnail:{i}", "status": "pending", "attempts": 0, "max_attempts": 3,
        "payload": json.dumps({"image_id": i, "host": host}), "created_at": now, "updated_at": now,
    } for i in image_ids))  # fmt: skip


# ---------------------------------------------------------------- thumbnails


def test_thumbnails_are_the_servers_own_webp_and_an_existing_one_is_never_replaced(server: Server) -> None:
    picture(server.outputs / "wide.png", (640, 480))
    picture(server.outputs / "sub" / "tall.png", (200, 800), "blue")
    picture(server.outputs / "small.png", (120, 90))
    server.insert("images",
        {"id": 1, "filename": "wide.png", "file_path": str(server.outputs / "wide.png")},
        {"id": 2, "filename": "tall.png", "file_path": "sub/tall.png"},  # relative: against the outputs base
        {"id": 3, "filename": "small.png", "file_path": ""},  # empty: the filename, against the base
        {"id": 4, "filename": "served.png", "file_path": str(server.outputs / "wide.png")},
    )  # fmt: skip
    served = server.thumbnails / "4.webp"
    served.write_bytes(b"the server rendered this one first")
    stale = server.thumbnails / ".1.webp.k3x_9q.tmp"  # left by a run killed mid-write
    stale.write_bytes(b"half")
    queue_thumbnails(server, 1, 2, 3, 4)
    config = server.config()

    planned = run_thumbnails(config, dry_run=True)
    assert planned.summary["pending"] == 4 and sorted(p.name for p in server.thumbnails.iterdir()) == [
        ".1.webp.k3x_9q.tmp", "4.webp"]  # fmt: skip

    done = run_thumbnails(config)
    assert problems(done.to_dict(), "thumbnails_result") == []
    assert (done.summary["written"], done.summary["existing"], done.summary["size"]) == (3, 1, 300)
    assert sorted(p.name for p in server.thumbnails.iterdir()) == ["1.webp", "2.webp", "3.webp", "4.webp"]
    assert served.read_bytes() == b"the server rendered this one first"
    for image_id, expected in ((1, (300, 225)), (2, (75, 300)), (3, (120, 90))):
        data = (server.thumbnails / f"{image_id}.webp").read_bytes()
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        with PILImage.open(io.BytesIO(data)) as made:
            assert (made.format, made.size) == ("WEBP", expected)
    assert server.rows("images", "id", "thumbnail_path") == [(i, f"thumbnails/{i}.webp") for i in (1, 2, 3, 4)]
    assert run_thumbnails(config).changed is False


def test_thumbnails_ignore_the_old_size_setting_with_a_notice(server: Server) -> None:
    picture(server.outputs / "wide.png", (640, 480))
    server.insert("images", {"id": 1, "filename": "wide.png", "file_path": "wide.png"})
    queue_thumbnails(server, 1)
    result = run_thumbnails(server.config(thumbnails={"size": 256, "workers": 1}))
    assert any(n.get("key") == "thumbnails.size" for n in result.notices)
    with PILImage.open(server.thumbnails / "1.webp") as made:
        assert made.size == (300, 225)


# ---------------------------------------------------------------- reconcile

OLD_NAMED = "legacy-" + "a" * 64
OLD_ORPHAN = "legacy-" + "b" * 64


def seed_disagreements(server: Server) -> None:
    """One or two of every kind reconcile looks for, beside rows and files that are fine."""
    picture(server.outputs / "a.png", (10, 10))
    os.link(server.outputs / "a.png", server.outputs / "a-hardlink.png")  # same inode: referenced
    picture(server.outputs / "b.png", (10, 10))
    picture(server.outputs / "d.png", (10, 10))
    picture(server.legacy / "x" / f"{OLD_NAMED}.png", (10, 10))
    picture(server.outputs / "stray.png", (10, 10))  # no row
    picture(server.legacy / "other.jpg", (10, 10))  # no row
    (server.outputs / "notes.txt").write_text("not an image", encoding="utf-8")
    for name in ("1.webp", "3.webp", "500.webp", f"{OLD_NAMED}.jpg", f"{OLD_ORPHAN}.jpg", "readme.txt"):
        (server.thumbnails / name).write_bytes(b"thumb")
    server.insert("images",
        {"id": 1, "filename": "a.png", "file_path": str(server.outputs / "a.png"),
         "thumbnail_path": "thumbnails/1.webp"},
        {"id": 2, "filename": "b.png", "file_path": "b.png", "thumbnail_path": "thumbnails/99.webp"},
        {"id": 3, "filename": "c.png", "file_path": str(server.outputs / "gone" / "c.png"),
         "thumbnail_path": "thumbnails/3.webp"},
        {"id": 4, "filename": "d.png", "file_path": ""},
        {"id": 5, "filename": "e.jpg", "file_path": str(server.scraped / "job_7" / "e.jpg")},
        {"id": 6, "filename": f"{OLD_NAMED}.png", "file_path": str(server.legacy / "x" / f"{OLD_NAMED}.png"),
         "thumbnail_path": str(server.thumbnails / f"{OLD_NAMED}.jpg")},
    )  # fmt: skip
    server.insert("albums", {"id": 1, "name": "Kept"})
    server.insert("album_images", {"id": 1, "album_id": 1, "image_id": 1}, {"id": 2, "album_id": 1, "image_id": 42},
                  {"id": 3, "album_id": 77, "image_id": 1}, {"id": 4, "album_id": 1, "image_id": 3})  # fmt: skip
    server.insert("labels", {"id": 1, "image_id": 1, "label_text": "ok"}, {"id": 2, "image_id": 42, "label_text": "x"},
                  {"id": 3, "image_id": 3, "label_text": "of a missing file"})  # fmt: skip
    server.insert(
        "scrape_jobs",
        {"id": 7, "name": "purged", "status": "completed", "output_directory": ""},
        {"id": 8, "name": "live", "status": "completed", "output_directory": str(server.scraped / "job_8")},
    )
    server.insert("training_runs", {"id": 3, "name": "purged", "dataset_path": "", "output_path": ""})
    queue_thumbnails(server, 1, 42)


EXPECTED_COUNTS = {
    "missing_image_files": 2,
    "orphan_thumbnails": 2,
    "dangling_thumbnail_paths": 1,
    "dangling_album_images": 2,
    "dangling_labels": 1,
    "images_in_purged_folders": 1,
    "unreferenced_files": 2,
    "queue_rows_for_vanished_images": 1,
}


def state(server: Server) -> tuple:
    """Everything reconcile may change: the rows and the thumbnails folder."""
    return (server.rows("images", "id", "thumbnail_path"), server.rows("album_images", "id"),
            server.rows("labels", "id"), sorted(p.name for p in server.thumbnails.iterdir()))  # fmt: skip


def test_reconcile_finds_each_kind_with_counts_and_samples(server: Server) -> None:
    seed_disagreements(server)
    before = state(server)
    result = run_reconcile(server.config())
    assert problems(result.to_dict(), "reconcile_result") == []
    findings = result.summary["findings"]
    assert {kind: f["count"] for kind, f in findings.items()} == EXPECTED_COUNTS
    assert result.changed is False and result.summary["fixed"] == 0 and state(server) == before
    assert sorted(s["id"] for s in findings["missing_image_files"]["samples"]) == [3, 5]
    assert sorted(Path(s["path"]).name for s in findings["orphan_thumbnails"]["samples"]) == [
        "500.webp", f"{OLD_ORPHAN}.jpg"]  # fmt: skip
    assert findings["dangling_thumbnail_paths"]["samples"] == [{"id": 2, "thumbnail_path": "thumbnails/99.webp"}]
    assert sorted(s["id"] for s in findings["dangling_album_images"]["samples"]) == [2, 3]
    assert findings["dangling_labels"]["samples"] == [{"id": 2, "image_id": 42}]
    assert findings["images_in_purged_folders"]["samples"] == [
        {"id": 5, "file_path": str(server.scraped / "job_7" / "e.jpg"), "folder": "scrape_jobs/7"}]  # fmt: skip
    assert sorted(Path(s["path"]).name for s in findings["unreferenced_files"]["samples"]) == ["other.jpg", "stray.png"]
    assert [s["image_id"] for s in findings["queue_rows_for_vanished_images"]["samples"]] == [42]
    assert result.summary["generation"] in ("seed", "current")


def test_reconcile_fix_changes_exactly_what_it_should_and_its_dry_run_nothing(server: Server) -> None:
    seed_disagreements(server)
    config = server.config()
    before = state(server)
    plan = run_reconcile(config, fix=True, dry_run=True)
    assert state(server) == before
    fixed = {"orphan_thumbnails": 2, "dangling_thumbnail_paths": 1, "dangling_album_images": 2, "dangling_labels": 1}
    assert {k: f["fixed"] for k, f in plan.summary["findings"].items() if f["fixed"]} == fixed
    done = run_reconcile(config, fix=True)
    assert problems(done.to_dict(), "reconcile_result") == []
    assert [a.to_dict() for a in done.actions] == [a.to_dict() for a in plan.actions]
    images, links, labels, thumbnails = state(server)
    assert images == [(1, "thumbnails/1.webp"), (2, None), (3, "thumbnails/3.webp"), (4, None), (5, None),
                      (6, str(server.thumbnails / f"{OLD_NAMED}.jpg"))]  # fmt: skip
    assert links == [(1,), (4,)] and labels == [(1,), (3,)]
    assert thumbnails == sorted(["1.webp", "3.webp", f"{OLD_NAMED}.jpg", "readme.txt"])
    assert (server.outputs / "stray.png").exists()  # unreferenced files are reported only
    again = run_reconcile(config, fix=True)
    assert again.changed is False and again.summary["findings"]["missing_image_files"]["count"] == 2


def test_missing_images_are_deleted_only_when_configured(server: Server) -> None:
    seed_disagreements(server)
    config = server.config(reconcile={"delete_missing_images": True})
    done = run_reconcile(config, fix=True)
    assert [i for i, _ in server.rows("images", "id", "thumbnail_path")] == [1, 2, 4, 6]
    assert server.rows("album_images", "id") == [(1,)] and server.rows("labels", "id") == [(1,)]
    assert "3.webp" not in {p.name for p in server.thumbnails.iterdir()}  # the deleted image's thumbnail
    [deleted] = [a for a in done.actions if a.kind == "delete_missing_images"]
    assert deleted.detail == {"count": 2, "album_images": 1, "labels": 1}
    assert run_reconcile(config, fix=True).changed is False


def test_the_cli_json_validates_against_reconcile_result(server: Server, venv_bin: Path) -> None:
    seed_disagreements(server)
    ran = subprocess.run([str(venv_bin / "imgops"), "--config", str(server.config_path), "--json", "reconcile"],
                         capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert problems(data, "reconcile_result") == [] and data["summary"]["found"] == sum(EXPECTED_COUNTS.values())


def test_reconcile_refuses_a_database_without_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    create_engine(url).connect().close()
    config_path = tmp_path / "imgops.yml"
    config_path.write_text(yaml.safe_dump({"database_url": url, "paths": {"state_dir": str(tmp_path)}}))
    from imgops.errors import DatabaseError

    with pytest.raises(DatabaseError, match="imgops reconcile cannot run"):
        run_reconcile(load_config(config_path, environ={}))


def test_a_file_the_listing_cannot_see_is_looked_up_not_reported_missing(server: Server) -> None:
    """Rows naming files through a symlinked folder, a non-image file, a path with ``..`` or ``//``, and
    a file in a folder listed whole that is gone: only the last is missing. Thumbnail paths the listing
    of the thumbnails folder answers, and one it cannot (a name the server does not write)."""
    elsewhere = server.root / "elsewhere"
    picture(elsewhere / "via-link.png", (10, 10))
    (server.outputs / "linked").symlink_to(elsewhere, target_is_directory=True)
    picture(server.outputs / "sub" / "kept.png", (10, 10))
    (server.outputs / "sub" / "scan.tiff").write_bytes(b"not listed: no image suffix reconcile lists")
    for name in ("007.webp", "3.webp"):
        (server.thumbnails / name).write_bytes(b"thumb")
    server.insert("images",
        {"id": 1, "filename": "via-link.png", "file_path": str(server.outputs / "linked" / "via-link.png"),
         "thumbnail_path": "thumbnails/007.webp"},  # not the server's way of naming 7: stat'ed, there
        {"id": 2, "filename": "scan.tiff", "file_path": str(server.outputs / "sub" / "scan.tiff"),
         "thumbnail_path": "thumbnails/2.webp"},  # the server's way, not listed: dangling
        {"id": 3, "filename": "kept.png", "file_path": str(server.outputs) + "/sub/../sub//kept.png",
         "thumbnail_path": str(server.thumbnails / "3.webp")},  # absolute, listed
        {"id": 4, "filename": "gone.png", "file_path": str(server.outputs / "sub" / "gone.png")},
    )  # fmt: skip
    findings = run_reconcile(server.config()).summary["findings"]
    assert [s["id"] for s in findings["missing_image_files"]["samples"]] == [4]
    assert findings["dangling_thumbnail_paths"]["samples"] == [{"id": 2, "thumbnail_path": "thumbnails/2.webp"}]
    assert findings["unreferenced_files"]["count"] == 0  # kept.png is named, if not in normal form


def test_a_fix_killed_at_any_point_then_rerun_ends_where_an_uninterrupted_run_ends(
    server: Server, venv_bin: Path
) -> None:
    seed_disagreements(server)
    many = range(1000, 4000)
    server.insert("labels", *({"id": i, "image_id": 50_000 + i, "label_text": "dangling"} for i in many))
    server.insert("album_images", *({"id": i, "album_id": 1, "image_id": 50_000 + i} for i in many))
    for i in many:
        (server.thumbnails / f"{50_000 + i}.webp").write_bytes(b"orphan")
    config = server.config(reconcile={"delete_missing_images": True})
    argv = [str(venv_bin / "imgops"), "--config", str(config.source), "reconcile", "--fix"]
    for delay in (0.4, 0.8, 1.2):
        running = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        running.send_signal(signal.SIGKILL)
        running.wait()
    run_reconcile(config, fix=True)
    images, links, labels, thumbnails = state(server)
    assert [i for i, _ in images] == [1, 2, 4, 6] and links == [(1,)] and labels == [(1,)]
    assert thumbnails == sorted(["1.webp", f"{OLD_NAMED}.jpg", "readme.txt"])  # no temp file either
    assert run_reconcile(config, fix=True).changed is False


def test_memory_does_not_grow_with_the_rows(tmp_path: Path) -> None:
    """Peak RSS of a run over 10,000 and over 200,000 images rows (their files missing) differs by little:
    rows are streamed and leave bits behind, not bytes. Holding 8 bytes per row (as a sorted hash array
    of the paths rows name did) grows by over 7 MiB here, holding the rows by far more."""
    peaks = {}
    for rows in (10_000, 200_000):
        url = f"sqlite:///{tmp_path / f'{rows}.db'}"
        create_server_schema(url, "current")
        engine = create_engine(url)
        metadata = MetaData()
        metadata.reflect(engine, only=["images"])
        with engine.begin() as connection:
            rows_data = [{"id": i, "filename": f"{i}.png", "file_path": f"/gone/{i}.png"} for i in range(1, rows + 1)]
            connection.execute(insert(metadata.tables["images"]), rows_data)
        engine.dispose()
        config = tmp_path / f"{rows}.yml"
        config.write_text(yaml.safe_dump({"database_url": url, "paths": {"state_dir": str(tmp_path / "state")}}))
        code = ("import sys; from imgops.config import load_config; from imgops.reconcile import run_reconcile; "
                "assert run_reconcile(load_config(sys.argv[1])).summary['found'] == int(sys.argv[2]); "
                "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")  # fmt: skip
        ran = subprocess.run([sys.executable, "-c", code, str(config), str(rows)], capture_output=True, text=True,
                             check=True)  # fmt: skip
        peaks[rows] = int(ran.stdout) / 1024
    assert peaks[200_000] - peaks[10_000] < 4, peaks  # MiB; SQLite's own page cache (2 MiB) is most of what grows


@pytest.mark.ansible
def test_the_module_in_check_mode_is_the_plan_and_fix_true_repairs(server: Server, ansible_env: dict[str, str]) -> None:
    seed_disagreements(server)
    before = state(server)
    env = {**ansible_env, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}

    def module(*extra: str) -> dict[str, Any]:
        argv = ["ansible", "localhost", "-m", "imgops_reconcile", "-a", f"config={server.config_path} fix=true", *extra]
        ran = subprocess.run(argv, cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                             check=False)  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return json.loads(ran.stdout.split(" => ", 1)[1])

    planned = module("--check")
    assert planned["changed"] is True and planned["dry_run"] is True and state(server) == before
    done = module()
    assert done["changed"] is True and done["summary"]["fixed"] == planned["summary"]["fixed"] == 6
    assert problems({k: v for k, v in done.items() if k not in ("invocation", "warnings")}, "reconcile_result") == []


@pytest.mark.parametrize("generation", ["seed", "current"])
def test_a_thumbnail_whose_id_a_row_took_since_the_scan_is_kept(tmp_path: Path, generation: str) -> None:
    """The server may insert a row (ids are reused) and render its thumbnail after reconcile read the rows."""
    from imgops.reconcile.findings import IdSet
    from imgops.reconcile.fix import thumbnail_remover

    url = f"sqlite:///{tmp_path / 'imagineer.db'}"
    create_server_schema(url, generation)
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine, only=["images"])
    images = metadata.tables["images"]
    thumbnails = tmp_path / "thumbnails"
    thumbnails.mkdir()
    for name in ("7.webp", "8.webp"):
        (thumbnails / name).write_bytes(b"RIFF")
    with engine.begin() as connection:  # row 7 arrived after the scan, which saw neither id
        connection.execute(insert(images).values(id=7, filename="new.png", file_path="/srv/new.png"))
    refusals: list[str] = []
    remove = thumbnail_remover(thumbnails, engine, images, IdSet(0), False, refusals)
    assert remove("7.webp") is False and remove("8.webp") is True
    gone = IdSet(0)
    gone.add(7)  # in a dry run, a row the same run deletes counts as absent, as it will be
    assert thumbnail_remover(thumbnails, engine, images, gone, True, refusals)("7.webp") is True
    engine.dispose()
    assert sorted(p.name for p in thumbnails.iterdir()) == ["7.webp"] and refusals == []
