"""Every server generation and upgrade variant, built from SERVER_FACTS on SQLite and PostgreSQL: its layout,
the generation imgops reads from it, what each job can do there, and ``imgops db status`` on it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, inspect, select, text

from imgops.config import load_config
from imgops.contracts import problems
from imgops.db.server_schema import JOBS, known_variants, read_server_schema
from imgops.db_job import run_db
from imgops.errors import DatabaseError
from imgops_testing.platform import DemoPlatform
from imgops_testing.server_ddl import VARIANTS, create_server_schema, upgrade_server_schema

# SERVER_FACTS 2.3, 3.1 and 3.3, written out here so the fixtures and the code under test are both checked.
TEMPLATE = ["is_set_template", "csv_data", "base_prompt", "prompt_template", "style_suffix", "example_theme",
            "lora_config"]  # fmt: skip
SEED_ALBUMS = ["id", "name", "description", "album_type", "is_public", "is_training_source", "created_by",
               "generation_prompt", "generation_config", *TEMPLATE, "created_at", "updated_at"]  # fmt: skip
CURRENT_ALBUMS = ["id", "name", "description", "album_type", "is_public", "created_by", "generation_prompt",
                  "generation_config", *TEMPLATE, "source_type", "source_id", "created_at", "updated_at"]  # fmt: skip
REBUILT_ALBUMS = ["id", "name", "description", "album_type", "is_public", "created_by", "generation_prompt",
                  "generation_config", *TEMPLATE, "created_at", "updated_at", "source_type", "source_id"]  # fmt: skip
SEED_SCRAPE = ["id", "name", "description", "source_url", "scrape_config", "status", "progress", "images_scraped",
               "output_directory", "error_message", "last_error_at", "created_at", "started_at",
               "completed_at"]  # fmt: skip
CURRENT_SCRAPE = [*SEED_SCRAPE[:9], "album_id", *SEED_SCRAPE[9:]]

SEPARATED_ALBUMS = [*SEED_ALBUMS, "source_type", "source_id"]

LAYOUT = {  # variant: (albums, scrape_jobs, made by raw DDL: batch_templates, bug_reports (None: absent))
    "seed": (SEED_ALBUMS, SEED_SCRAPE, None, None),
    "current": (CURRENT_ALBUMS, CURRENT_SCRAPE, False, False),
    "seed+separation": (SEPARATED_ALBUMS, [*SEED_SCRAPE, "album_name"], True, None),
    "seed+separation+removal": (REBUILT_ALBUMS, [*SEED_SCRAPE, "album_name"], True, None),
    "seed+current-code": (SEED_ALBUMS, SEED_SCRAPE, False, False),
    "seed+current-code+separation": (
        SEPARATED_ALBUMS,
        [*SEED_SCRAPE, "album_name"],
        False,
        False,
    ),
    "seed+separation+001+002": (
        SEPARATED_ALBUMS,
        [*SEED_SCRAPE, "album_name", "album_id"],
        True,
        True,
    ),
    "current+002": (CURRENT_ALBUMS, CURRENT_SCRAPE, False, False),
}


def columns(url: str, table: str) -> list[tuple[str, bool, str | None, str]]:
    """(name, NOT NULL, SQL default, declared type) in table order, from PRAGMA or information_schema."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text(f"PRAGMA table_info({table})")).all()
            found = [(r.name, bool(r.notnull) or bool(r.pk), r.dflt_value, r.type) for r in rows]
        else:
            rows = conn.execute(
                text("SELECT column_name, is_nullable, column_default, data_type FROM information_schema.columns "
                     "WHERE table_name = :t ORDER BY ordinal_position"), {"t": table}
            ).all()  # fmt: skip
            found = [(name, nullable == "NO", default, kind) for name, nullable, default, kind in rows]
    engine.dispose()
    return found


def default_of(url: str, table: str, column: str) -> str | None:
    value = next(d for name, _, d, _ in columns(url, table) if name == column)
    return None if value is None else value.split("::")[0].strip("'").lower()


def not_null(url: str, table: str) -> set[str]:
    return {name for name, required, _, _ in columns(url, table) if required and name != "id"}


def config_for(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "imgops.yml"
    path.write_text(yaml.safe_dump({"database_url": url, "paths": {"state_dir": str(tmp_path / "state")}}))
    return path


@pytest.mark.parametrize("variant", VARIANTS)
def test_layout_column_order_nullability_and_defaults_match_the_facts(database_url: str, variant: str) -> None:
    create_server_schema(database_url, variant)
    albums, scrape_jobs, raw_templates, raw_bugs = LAYOUT[variant]
    assert [c[0] for c in columns(database_url, "albums")] == albums
    assert [c[0] for c in columns(database_url, "scrape_jobs")] == scrape_jobs
    assert not_null(database_url, "albums") == {"name"}
    assert not_null(database_url, "scrape_jobs") == {"name"}
    assert not_null(database_url, "training_runs") == {"name", "dataset_path", "output_path"}
    album_defaults = {name: default_of(database_url, "albums", name) for name in albums if name != "id"}
    if variant.startswith("seed+separation+removal"):
        assert {k: v for k, v in album_defaults.items() if v is not None} == {
            "album_type": "batch", "is_public": album_defaults["is_public"], "is_set_template":
            album_defaults["is_set_template"], "source_type": "manual"}  # fmt: skip
        assert album_defaults["is_public"] in ("1", "true") and album_defaults["is_set_template"] in ("0", "false")
    elif "separation" in variant:
        assert {k: v for k, v in album_defaults.items() if v is not None} == {"source_type": "manual"}
    else:  # create_all writes no SQL default (SERVER_FACTS 0.2)
        assert set(album_defaults.values()) == {None}
    if raw_templates is None:
        assert not inspect(create_engine(database_url)).has_table("batch_templates")
    else:
        assert not_null(database_url, "batch_templates") == {"name", "csv_path", "prompt_template"}
        assert default_of(database_url, "batch_templates", "width") == ("512" if raw_templates else None)
        created_at = next(c for c in columns(database_url, "batch_templates") if c[0] == "created_at")
        if database_url.startswith("sqlite"):
            assert created_at[3] == ("TIMESTAMP" if raw_templates else "DATETIME")
        assert (created_at[2] or "").lower() == ("current_timestamp" if raw_templates else "")
    if raw_bugs is None:
        assert not inspect(create_engine(database_url)).has_table("bug_reports")
    else:
        required = {"report_id", "submitted_at", "description", "status", "created_at", "updated_at"}
        assert not_null(database_url, "bug_reports") == required | ({"automation_attempts"} if raw_bugs else set())
        assert default_of(database_url, "bug_reports", "status") == ("open" if raw_bugs else None)


@pytest.mark.parametrize("variant", VARIANTS)
def test_detection_names_the_variant_with_its_evidence(database_url: str, variant: str) -> None:
    create_server_schema(database_url, variant)
    engine = create_engine(database_url)
    schema = read_server_schema(engine)
    assert schema.generation == variant
    assert schema.missing == ()
    evidence = {item.name: item for item in schema.evidence}
    assert evidence["albums.is_training_source"].present is ("removal" not in variant and variant[:4] == "seed")
    assert evidence["scrape_jobs.album_name"].present is ("separation" in variant)
    source_type = evidence["albums.source_type"]
    if variant.startswith("current"):
        assert source_type.detail.startswith("before created_at")
    elif "separation" in variant:
        assert source_type.detail.startswith("after updated_at")
    else:
        assert source_type.present is False
    if "001" in variant:
        assert evidence["scrape_jobs.album_id"].detail == "appended by migrations/001"
    assert evidence["ix_bug_reports_submitted_at"].present is ("002" in variant)
    raw_templates = LAYOUT[variant][2]
    if raw_templates is not None:
        assert ("separation script" in evidence["batch_templates"].detail) is raw_templates
    assert {name for name, item in evidence.items() if "ignored" in item.detail or "trace" in item.detail} == set()
    engine.dispose()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_job_can_run_and_selects_its_tables_by_name(database_url: str, variant: str) -> None:
    create_server_schema(database_url, variant)
    engine = create_engine(database_url)
    schema = read_server_schema(engine)
    needs = schema.requirements
    assert set(needs) == set(JOBS)
    assert all(needed.runnable and needed.missing == () for needed in needs.values())
    assert needs["sets"].tables == (("albums",) if variant == "seed" else ("batch_templates",)) + ("migration_history",)
    assert needs["bugs"].tables == (("bug_reports",) if LAYOUT[variant][3] is not None else ())
    assert needs["purge"].tables == ("scrape_jobs", "training_runs")
    albums = schema.table("albums")
    with engine.begin() as conn:  # an insert naming only columns the table has; SQL defaults where raw DDL set them
        conn.execute(albums.insert().values(name="Imported"))
        row = conn.execute(select(albums).where(albums.c.name == "Imported")).one()._mapping
    assert row["name"] == "Imported"
    assert row.get("source_type") == ("manual" if "separation" in variant else None)
    assert ("is_training_source" in row) is schema.has("albums", "is_training_source")
    with pytest.raises(DatabaseError, match="no table nothing_here"):
        schema.table("nothing_here")
    engine.dispose()


@pytest.mark.parametrize("variant", VARIANTS)
def test_cli_db_status_reports_the_generation_and_exits_0(
    tmp_path: Path, database_url: str, variant: str, venv_bin: Path
) -> None:
    create_server_schema(database_url, variant)
    ran = subprocess.run([venv_bin / "imgops", "--config", config_for(tmp_path, database_url), "--json", "db",
                          "status"], capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert problems(result, "db_result") == []
    assert result["summary"]["generation"] == variant
    assert result["summary"]["jobs"]["sets"]["runnable"] is True
    assert {item["name"] for item in result["summary"]["evidence"]} >= {"albums.source_type", "batch_templates"}
    text_run = subprocess.run([venv_bin / "imgops", "--config", config_for(tmp_path, database_url), "db", "status"],
                              capture_output=True, text=True, check=False)  # fmt: skip
    assert text_run.returncode == 0
    assert f"  generation: {variant}\n" in text_run.stdout
    assert "\nevidence:\n" in text_run.stdout and "\n  sets: can run (" in text_run.stdout


def test_upgrading_a_seed_database_with_rows_keeps_them_and_reads_as_each_step(database_url: str) -> None:
    """The scripts run on a populated seed database: rows survive, new columns get the scripts' defaults."""
    create_server_schema(database_url, "seed")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO albums (id, name, is_training_source) VALUES (7, 'Packs', :yes)"), {"yes": True})
        conn.execute(text("INSERT INTO images (id, filename, file_path) VALUES (1, 'a.png', '/o/a.png')"))
        conn.execute(text("INSERT INTO album_images (album_id, image_id) VALUES (7, 1)"))
    for steps, generation in ((("separation",), "seed+separation"), (("removal",), "seed+separation+removal")):
        upgrade_server_schema(engine, *steps)
        assert read_server_schema(engine).generation == generation
    schema = read_server_schema(engine)
    albums = schema.table("albums")
    with engine.begin() as conn:
        assert conn.execute(select(albums.c.id, albums.c.name, albums.c.source_type)).all() == [(7, "Packs", "manual")]
        new_id = conn.execute(albums.insert().values(name="Next").returning(albums.c.id)).scalar_one()
        assert conn.execute(text("SELECT album_id, image_id FROM album_images")).all() == [(7, 1)]
    assert new_id == 8  # the rebuilt table's ids continue after the copied ones
    if engine.dialect.name == "postgresql":  # the foreign keys that pointed at the old albums point at the new one
        referring = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("album_images")}
        assert referring == {"albums", "images"}
    engine.dispose()


def test_the_variant_names_are_the_canonical_ones_and_a_failing_history_is_none(tmp_path: Path) -> None:
    known = [name for name, _ in known_variants()]
    assert set(VARIANTS) <= set(known)
    assert known[:2] == ["seed", "current"]
    assert "seed+removal" not in known  # the removal script fails without the separation script
    assert "current+current-code" not in known  # changes nothing: named "current"
    with pytest.raises(ValueError, match="needs the separation script"):
        create_server_schema(f"sqlite:///{tmp_path / 'server.db'}", "seed+removal")


def drop_album_name(url: str) -> None:
    """A seed database whose albums lost ``name``: no variant has that shape."""
    create_server_schema(url, "seed")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE albums DROP COLUMN name"))
    engine.dispose()


def test_an_unknown_shape_names_what_is_missing_and_which_jobs_cannot_run(database_url: str) -> None:
    drop_album_name(database_url)
    engine = create_engine(database_url)
    schema = read_server_schema(engine)
    engine.dispose()
    assert schema.generation == "unknown"
    assert schema.nearest == "seed" and schema.missing == ("albums.name",)
    assert schema.requirement("sets").missing == ("albums.name",)
    assert schema.requirement("legacy").runnable is False
    assert schema.requirement("purge").runnable and schema.requirement("thumbnails").runnable
    with pytest.raises(DatabaseError, match=r"imgops sets cannot run .*generation unknown.*missing albums\.name"):
        schema.require("sets")


@pytest.mark.parametrize("action", ["status", "upgrade"])
def test_cli_on_an_unknown_shape_exits_1_names_the_column_and_writes_nothing(
    tmp_path: Path, database_url: str, venv_bin: Path, action: str
) -> None:
    drop_album_name(database_url)
    ran = subprocess.run([venv_bin / "imgops", "--config", config_for(tmp_path, database_url), "--json", "db",
                          action], capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)
    assert result["summary"]["generation"] == "unknown"
    assert result["changed"] is False and result["actions"] == []
    [error] = result["errors"]
    assert "matches no known server schema" in error["message"] and "albums.name" in error["message"]
    assert error["missing"] == ["albums.name"]
    assert result["summary"]["jobs"]["sets"] == {"runnable": False, "missing": ["albums.name"],
                                                 "tables": ["albums", "migration_history"]}  # fmt: skip
    assert not inspect(create_engine(database_url)).has_table("imgops_alembic_version")


def test_the_demo_platform_still_reads_as_seed(demo_platform: DemoPlatform) -> None:
    """The demo's tables come from imgops' models (scrape_jobs.album_id after output_directory): seed, noted."""
    result = run_db(load_config(demo_platform.imgops_config, environ={}), "status")
    assert result.errors == []
    assert result.summary["generation"] == "seed"
    deviations = [e for e in result.summary["evidence"] if "ignored" in e["detail"]]
    assert [e["name"] for e in deviations] == ["scrape_jobs.album_id"]
    assert {"name": "albums.is_set_template", "present": False}.items() <= next(
        e for e in result.summary["evidence"] if e["name"] == "albums.is_set_template"
    ).items()
