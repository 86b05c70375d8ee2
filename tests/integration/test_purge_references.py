"""Referenced images: a scrape folder that images rows point into is kept, or goes with those rows.

The server's own tables (seed and current, built by imgops_testing.server_ddl) on
SQLite and PostgreSQL; images whose file_path is absolute, relative to the outputs
folder and relative to the server's folder (SERVER_FACTS 9).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import MetaData, create_engine, insert, select, text

from imgops.config import Config, load_config
from imgops.contracts import problems
from imgops.db import utcnow
from imgops.purge import run_purge
from imgops.purge.journal import read_journal, write_journal
from imgops_testing.server_ddl import create_server_schema


@dataclass(frozen=True)
class Site:
    root: Path
    config: Path
    database_url: str
    scraped: Path
    generation: str


@pytest.fixture(params=["seed", "current"])
def site(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Site:
    """Scrape job 1 (a year old) whose folder holds three imported images; job 2's folder holds none.

    Albums: 10 'scraped' (images 1-3), 11 'manual' (images 2 and 4), 12 'batch' but made by the scrape
    where the schema says so (source_type 'scrape', current only; image 3).
    """
    generation = request.param
    create_server_schema(database_url, generation)
    root = tmp_path / "host"
    server, outputs, scraped = root / "server", root / "speedy" / "outputs", root / "storage" / "scraped"
    for folder in (server, outputs, scraped / "job_1", scraped / "job_2"):
        folder.mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (scraped / "job_1" / name).write_bytes(b"\xff\xd8" + bytes(300))
    (scraped / "job_2" / "d.jpg").write_bytes(bytes(200))
    (outputs / "keep.png").write_bytes(bytes(100))
    server_config = {"outputs": {"base_dir": str(outputs), "scraped_dir": str(scraped)}}
    (server / "config.yaml").write_text(yaml.safe_dump(server_config), encoding="utf-8")
    config = root / "imgops.yml"
    config.write_text(yaml.safe_dump({"database_url": database_url, "platform_config": "server/config.yaml",
                                      "paths": {"state_dir": "state"}}), encoding="utf-8")  # fmt: skip
    old = utcnow().replace(microsecond=0) - timedelta(days=365)
    engine = create_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    current = "source_type" in t["albums"].c
    with engine.begin() as conn:
        albums = ((10, "scraped", "scrape"), (11, "manual", "manual"), (12, "batch", "scrape"))
        for album_id, album_type, source in albums:
            album = {"id": album_id, "name": f"album {album_id}", "album_type": album_type}
            if current:
                album["source_type"] = source
            conn.execute(insert(t["albums"]).values(album))
        for job_id in (1, 2):
            job = {"id": job_id, "name": f"scrape {job_id}", "source_url": "https://example.org",
                   "status": "completed", "output_directory": str(scraped / f"job_{job_id}"), "created_at": old,
                   "completed_at": old}  # fmt: skip
            if "album_id" in t["scrape_jobs"].c:
                job["album_id"] = 10 if job_id == 1 else None
            conn.execute(insert(t["scrape_jobs"]).values(job))
        paths = {
            1: str(scraped / "job_1" / "a.jpg"),  # absolute
            2: os.path.relpath(scraped / "job_1" / "b.jpg", outputs),  # relative to outputs.base_dir
            3: os.path.relpath(scraped / "job_1" / "c.jpg", server),  # relative to the server's folder
            4: "keep.png",  # relative to outputs, elsewhere
        }
        for image_id, file_path in paths.items():
            conn.execute(insert(t["images"]).values(id=image_id, filename=f"image_{image_id}.jpg", file_path=file_path))
        for label_id, image_id in ((1, 1), (2, 1), (3, 3), (4, 4)):
            conn.execute(insert(t["labels"]).values(id=label_id, image_id=image_id, label_text="a caption"))
        members = ((10, 1), (10, 2), (10, 3), (11, 2), (11, 4), (12, 3))
        for n, (album_id, image_id) in enumerate(members, start=1):
            conn.execute(insert(t["album_images"]).values(id=n, album_id=album_id, image_id=image_id))
    engine.dispose()
    return Site(root, config, database_url, scraped, generation)


def _config(site: Site, **purge: object) -> Config:
    if purge:
        raw = yaml.safe_load(site.config.read_text(encoding="utf-8"))
        site.config.write_text(yaml.safe_dump({**raw, "purge": purge}), encoding="utf-8")
    return load_config(site.config, environ={})


def _ids(site: Site, table: str) -> list[int]:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        found = sorted(conn.execute(text(f"SELECT id FROM {table}")).scalars())
    engine.dispose()
    return found


def _scrape_jobs(site: Site) -> dict[int, dict[str, object]]:
    engine = create_engine(site.database_url)
    meta = MetaData()
    meta.reflect(engine, only=["scrape_jobs"])
    with engine.connect() as conn:
        found = {row.id: dict(row._mapping) for row in conn.execute(select(meta.tables["scrape_jobs"]))}
    engine.dispose()
    return found


def _snapshot(site: Site) -> dict[str, list[int]]:
    return {table: _ids(site, table) for table in ("images", "labels", "album_images", "albums")}


def test_by_default_a_referenced_folder_is_kept_and_reported_with_its_counts(site: Site) -> None:
    before = _snapshot(site)
    config = _config(site)
    planned = run_purge(config, "scrape", dry_run=True)
    done = run_purge(config, "scrape")
    for result in (planned, done):
        assert problems(result.to_dict(), "purge_result") == []
        refused = [n for n in result.notices if n.get("reason")]
        assert [(n["row"], n["reason"], n["images"], n["albums"], n["labels"]) for n in refused] == [
            ("scrape_jobs/1", "referenced", 3, 3, 3)
        ]
        assert "purge.referenced_images: delete" in refused[0]["message"]
        assert result.summary["refused_by_reason"]["referenced"] == 1
        assert {a.target for a in result.actions if a.kind == "remove"} == {str(site.scraped / "job_2")}
        assert not [a for a in result.actions if a.kind == "delete_rows"]
    assert sorted(os.listdir(site.scraped / "job_1")) == ["a.jpg", "b.jpg", "c.jpg"]
    assert not (site.scraped / "job_2").exists()
    assert _snapshot(site) == before
    jobs = _scrape_jobs(site)
    assert jobs[1]["output_directory"] == str(site.scraped / "job_1") and jobs[2]["output_directory"] == ""


def test_with_delete_the_folder_goes_and_then_its_rows_as_the_servers_cleanup_does(site: Site) -> None:
    before = _snapshot(site)
    config = _config(site, referenced_images="delete")
    planned = run_purge(config, "scrape", dry_run=True)
    assert problems(planned.to_dict(), "purge_result") == [] and planned.notices == []
    assert _snapshot(site) == before and (site.scraped / "job_1" / "a.jpg").exists()
    emptied = 2 if site.generation == "current" else 1  # album 12 counts as the scrape's only by source_type
    counts = {"images": 3, "labels": 3, "album_images": 5, "albums": 3, "albums_emptied": emptied}
    deletes = [(a.target, {k: a.detail[k] for k in counts}) for a in planned.actions if a.kind == "delete_rows"]
    assert deletes == [(str(site.scraped / "job_1"), counts)]

    done = run_purge(config, "scrape")
    assert problems(done.to_dict(), "purge_result") == [] and done.errors == [] and done.notices == []
    assert [(a.target, {k: a.detail[k] for k in counts}) for a in done.actions if a.kind == "delete_rows"] == deletes
    assert not (site.scraped / "job_1").exists() and not (site.scraped / "job_2").exists()
    after = _snapshot(site)
    assert after["images"] == [4] and after["labels"] == [4] and after["album_images"] == [5]
    assert after["albums"] == ([11] if site.generation == "current" else [11, 12])
    jobs = _scrape_jobs(site)
    assert jobs[1]["output_directory"] == ""
    if "album_id" in jobs[1]:  # the server leaves it naming the deleted album; imgops clears it
        assert jobs[1]["album_id"] is None
    assert (site.root / "speedy" / "outputs" / "keep.png").exists()
    assert read_journal(config.state_dir, "scrape") == set()
    again = run_purge(config, "scrape")
    assert again.changed is False


def test_a_crash_between_the_files_and_the_rows_is_finished_by_the_next_run(site: Site) -> None:
    """The run removed job_1 and died before deleting its images rows: its journal names them."""
    config = _config(site, referenced_images="delete")
    folder = site.scraped / "job_1"
    for name in os.listdir(folder):
        (folder / name).unlink()
    folder.rmdir()
    write_journal(config.state_dir, "scrape", {"scrape_jobs/1:scrape_output"}, {str(folder): [1, 2, 3]})
    planned = run_purge(config, "scrape", dry_run=True)
    assert [a.detail["images"] for a in planned.actions if a.kind == "delete_rows"] == [3]
    assert _ids(site, "images") == [1, 2, 3, 4]
    done = run_purge(_config(site, referenced_images="keep"), "scrape")  # decided before: finished either way
    assert problems(done.to_dict(), "purge_result") == [] and done.errors == []
    assert [a.target for a in done.actions if a.kind == "delete_rows"] == [str(folder)]
    assert _ids(site, "images") == [4] and _ids(site, "labels") == [4]
    assert _scrape_jobs(site)[1]["output_directory"] == ""
    assert read_journal(config.state_dir, "scrape") == set()
