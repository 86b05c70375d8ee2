"""The server's schema in every generation and upgrade variant, built the way the server built it.

Written from SERVER_FACTS 2, 3.1 and 3.3, independently of imgops' own models
and of ``imgops.db.server_schema`` (the code under test):

- ``seed`` and ``current``: ``create_all`` of the server's models at 25e9c42 and
  4c86b47, so SQLAlchemy's own DDL (no SQL defaults, ``DATETIME`` on SQLite,
  ``SERIAL`` and ``TIMESTAMP WITHOUT TIME ZONE`` on PostgreSQL).
- the steps after ``+``, applied in order, each as the server applied it:

  ``current-code``  a seed database started under current code: ``create_all``
                    creates only the missing tables (batch_templates,
                    batch_generation_runs, bug_reports), never a column.
  ``separation``    scripts/migrate_template_album_separation.py: raw DDL
                    (AUTOINCREMENT, ``TIMESTAMP``, SQL defaults), each table or
                    column only when absent, columns appended.
  ``removal``       scripts/migrate_remove_is_training_source.py: albums rebuilt
                    as albums_new and renamed (AUTOINCREMENT, SQL defaults,
                    source_* last). Needs ``separation`` first, as the script does.
  ``001``           migrations/001_add_scrape_job_album_id.sql, statement by
                    statement: on SQLite the ``ADD CONSTRAINT`` is a syntax error,
                    so album_id has no FK there; the index is created.
  ``002``           migrations/002_create_bug_reports_tables.sql: bug_reports by
                    raw DDL only when absent; its indexes ``IF NOT EXISTS``.

PostgreSQL translation (the scripts were written for SQLite; these are the
closest faithful equivalents, used only where SQLite syntax does not parse):
``INTEGER PRIMARY KEY AUTOINCREMENT`` -> ``SERIAL PRIMARY KEY``; ``DATETIME`` ->
``TIMESTAMP`` (without time zone, as SQLAlchemy maps DateTime); boolean
defaults ``1``/``0`` -> ``true``/``false``. ``TIMESTAMP``, ``TEXT``,
``VARCHAR(n)``, ``FLOAT`` and ``CURRENT_TIMESTAMP`` are kept as written. The
removal rebuild drops the old albums with ``CASCADE`` (PostgreSQL refuses to
drop a referenced table) and re-creates the foreign keys that pointed at it,
then moves the id sequence past the copied ids; SQLite keeps FKs by name.
On PostgreSQL ``CURRENT_TIMESTAMP`` in a ``TIMESTAMP WITHOUT TIME ZONE`` column
is the session's local wall clock, not UTC as on SQLite: a test that compares
such a default value must set the session's time zone to UTC.

The fixtures build schemas; rows are the tests' business (the removal step
copies any rows, as the script does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    inspect,
    text,
)

VARIANTS = (
    "seed",
    "current",
    "seed+separation",
    "seed+separation+removal",
    "seed+current-code",
    "seed+current-code+separation",
    "seed+separation+001+002",
    "current+002",
)
"""The variants the tests build on every backend: SERVER_FACTS 3.3's, plus the optional 001/002 files."""

STEPS = ("current-code", "separation", "removal", "001", "002")


def _seed_tables(metadata: MetaData, *, current: bool) -> None:
    """The seven tables both generations share, with the albums and scrape_jobs of the chosen one."""
    Table(
        "images", metadata,
        Column("id", Integer, primary_key=True),
        Column("filename", String(255), nullable=False, unique=True),
        Column("file_path", String(500), nullable=False),
        Column("thumbnail_path", String(500)),
        Column("prompt", Text),
        Column("negative_prompt", Text),
        Column("seed", Integer),
        Column("steps", Integer),
        Column("guidance_scale", Float),
        Column("width", Integer),
        Column("height", Integer),
        Column("lora_config", Text),
        Column("is_nsfw", Boolean),
        Column("is_public", Boolean),
        Column("created_at", DateTime),
        Column("updated_at", DateTime),
    )  # fmt: skip
    Table(
        "labels", metadata,
        Column("id", Integer, primary_key=True),
        Column("image_id", Integer, ForeignKey("images.id"), nullable=False),
        Column("label_text", Text, nullable=False),
        Column("confidence", Float),
        Column("label_type", String(50)),
        Column("source_model", String(100)),
        Column("source_prompt", Text),
        Column("created_by", String(255)),
        Column("created_at", DateTime),
    )  # fmt: skip
    template_columns = [
        Column("is_set_template", Boolean),
        Column("csv_data", Text),
        Column("base_prompt", Text),
        Column("prompt_template", Text),
        Column("style_suffix", Text),
        Column("example_theme", Text),
        Column("lora_config", Text),
    ]
    Table(
        "albums", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("description", Text),
        Column("album_type", String(50)),
        Column("is_public", Boolean),
        *([] if current else [Column("is_training_source", Boolean)]),
        Column("created_by", String(255)),
        Column("generation_prompt", Text),
        Column("generation_config", Text),
        *template_columns,
        *([Column("source_type", String(50)), Column("source_id", Integer)] if current else []),
        Column("created_at", DateTime),
        Column("updated_at", DateTime),
    )  # fmt: skip
    Table(
        "album_images", metadata,
        Column("id", Integer, primary_key=True),
        Column("album_id", Integer, ForeignKey("albums.id"), nullable=False),
        Column("image_id", Integer, ForeignKey("images.id"), nullable=False),
        Column("sort_order", Integer),
        Column("added_by", String(255)),
        Column("created_at", DateTime),
        UniqueConstraint("album_id", "image_id", name="unique_album_image"),
    )  # fmt: skip
    Table(
        "scrape_jobs", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("description", Text),
        Column("source_url", String(500)),
        Column("scrape_config", Text),
        Column("status", String(50)),
        Column("progress", Integer),
        Column("images_scraped", Integer),
        Column("output_directory", String(500)),
        *([Column("album_id", Integer, ForeignKey("albums.id"))] if current else []),
        Column("error_message", Text),
        Column("last_error_at", DateTime),
        Column("created_at", DateTime),
        Column("started_at", DateTime),
        Column("completed_at", DateTime),
    )  # fmt: skip
    Table(
        "training_runs", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("description", Text),
        Column("dataset_path", String(500), nullable=False),
        Column("output_path", String(500), nullable=False),
        Column("training_config", Text),
        Column("status", String(50)),
        Column("progress", Integer),
        Column("final_checkpoint", String(500)),
        Column("training_loss", Float),
        Column("validation_loss", Float),
        Column("error_message", Text),
        Column("last_error_at", DateTime),
        Column("created_at", DateTime),
        Column("started_at", DateTime),
        Column("completed_at", DateTime),
    )  # fmt: skip
    Table(
        "migration_history", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False, unique=True),
        Column("applied_at", DateTime, nullable=False),
        Column("last_run_at", DateTime, nullable=False),
        Column("details", Text),
    )  # fmt: skip


def _new_tables(metadata: MetaData) -> None:
    """The tables current code adds (SERVER_FACTS 3.1), as its create_all makes them."""
    Table(
        "batch_templates", metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(255), nullable=False),
        Column("description", Text),
        Column("csv_path", String(500), nullable=False),
        Column("csv_data", Text),
        Column("base_prompt", Text),
        Column("prompt_template", Text, nullable=False),
        Column("style_suffix", Text),
        Column("example_theme", Text),
        Column("width", Integer),
        Column("height", Integer),
        Column("negative_prompt", Text),
        Column("lora_config", Text),
        Column("created_by", String(255)),
        Column("created_at", DateTime),
        Column("updated_at", DateTime),
    )  # fmt: skip
    Table(
        "batch_generation_runs", metadata,
        Column("id", Integer, primary_key=True),
        Column("template_id", Integer, ForeignKey("batch_templates.id"), nullable=False),
        Column("album_id", Integer, ForeignKey("albums.id")),
        Column("album_name", String(255), nullable=False),
        Column("user_theme", Text, nullable=False),
        Column("steps", Integer),
        Column("seed", Integer),
        Column("width", Integer),
        Column("height", Integer),
        Column("guidance_scale", Float),
        Column("negative_prompt", Text),
        Column("status", String(50)),
        Column("total_items", Integer),
        Column("completed_items", Integer),
        Column("failed_items", Integer),
        Column("created_by", String(255)),
        Column("created_at", DateTime),
        Column("started_at", DateTime),
        Column("completed_at", DateTime),
        Column("error_message", Text),
    )  # fmt: skip
    Table(
        "bug_reports", metadata,
        Column("id", Integer, primary_key=True),
        Column("report_id", String(100), nullable=False, unique=True, index=True),
        Column("trace_id", String(100), index=True),
        Column("submitted_by", String(255)),
        Column("submitted_at", DateTime, nullable=False),
        Column("description", Text, nullable=False),
        Column("expected_behavior", Text),
        Column("actual_behavior", Text),
        Column("steps_to_reproduce", Text),
        Column("status", String(20), nullable=False, index=True),
        Column("automation_attempts", Integer),
        Column("environment", Text),
        Column("client_meta", Text),
        Column("app_state", Text),
        Column("recent_logs", Text),
        Column("network_events", Text),
        Column("screenshot_path", String(500)),
        Column("screenshot_error", Text),
        Column("resolution_notes", Text),
        Column("resolution_commit_sha", String(40)),
        Column("resolution_actor_id", String(255)),
        Column("events", Text),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )  # fmt: skip


def seed_metadata() -> MetaData:
    metadata = MetaData()
    _seed_tables(metadata, current=False)
    return metadata


def current_metadata() -> MetaData:
    metadata = MetaData()
    _seed_tables(metadata, current=True)
    _new_tables(metadata)
    return metadata


def _dialect_sql(sql: str, dialect: str) -> str:
    """The SQLite DDL the scripts wrote, translated for PostgreSQL as the module docstring says."""
    if dialect != "postgresql":
        return sql
    for sqlite, postgres in (
        ("INTEGER PRIMARY KEY AUTOINCREMENT", "SERIAL PRIMARY KEY"),
        ("DATETIME", "TIMESTAMP"),
        ("BOOLEAN DEFAULT 1", "BOOLEAN DEFAULT true"),
        ("BOOLEAN DEFAULT 0", "BOOLEAN DEFAULT false"),
    ):
        sql = sql.replace(sqlite, postgres)
    return sql


def _columns(connection: Connection, table: str) -> list[str]:
    return [c["name"] for c in inspect(connection).get_columns(table)]


def _has_table(connection: Connection, table: str) -> bool:
    return inspect(connection).has_table(table)


_SEPARATION_TABLES = {
    "batch_templates": """
        CREATE TABLE batch_templates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name VARCHAR(255) NOT NULL,
            description TEXT,
            csv_path VARCHAR(500) NOT NULL,
            csv_data TEXT,
            base_prompt TEXT,
            prompt_template TEXT NOT NULL,
            style_suffix TEXT,
            example_theme TEXT,
            width INTEGER DEFAULT 512,
            height INTEGER DEFAULT 512,
            negative_prompt TEXT,
            lora_config TEXT,
            created_by VARCHAR(255),
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
        )""",
    "batch_generation_runs": """
        CREATE TABLE batch_generation_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            template_id INTEGER NOT NULL,
            album_id INTEGER,
            album_name VARCHAR(255) NOT NULL,
            user_theme TEXT NOT NULL,
            steps INTEGER,
            seed INTEGER,
            width INTEGER,
            height INTEGER,
            guidance_scale FLOAT,
            negative_prompt TEXT,
            status VARCHAR(50) DEFAULT 'queued',
            total_items INTEGER,
            completed_items INTEGER DEFAULT 0,
            failed_items INTEGER DEFAULT 0,
            created_by VARCHAR(255),
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            started_at TIMESTAMP,
            completed_at TIMESTAMP,
            error_message TEXT,
            FOREIGN KEY (template_id) REFERENCES batch_templates(id),
            FOREIGN KEY (album_id) REFERENCES albums(id)
        )""",
}


def _separation(connection: Connection, dialect: str) -> None:
    for table, ddl in _SEPARATION_TABLES.items():
        if not _has_table(connection, table):
            connection.execute(text(_dialect_sql(ddl, dialect)))
    albums = _columns(connection, "albums")
    if "source_type" not in albums:
        connection.execute(text("ALTER TABLE albums ADD COLUMN source_type VARCHAR(50) DEFAULT 'manual'"))
    if "source_id" not in albums:
        connection.execute(text("ALTER TABLE albums ADD COLUMN source_id INTEGER"))
    if "album_name" not in _columns(connection, "scrape_jobs"):
        connection.execute(text("ALTER TABLE scrape_jobs ADD COLUMN album_name VARCHAR(255)"))


_REBUILT_ALBUMS = """
    CREATE TABLE albums_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name VARCHAR(255) NOT NULL,
        description TEXT,
        album_type VARCHAR(50) DEFAULT 'batch',
        is_public BOOLEAN DEFAULT 1,
        created_by VARCHAR(255),
        generation_prompt TEXT,
        generation_config TEXT,
        is_set_template BOOLEAN DEFAULT 0,
        csv_data TEXT,
        base_prompt TEXT,
        prompt_template TEXT,
        style_suffix TEXT,
        example_theme TEXT,
        lora_config TEXT,
        created_at DATETIME,
        updated_at DATETIME,
        source_type VARCHAR(50) DEFAULT 'manual',
        source_id INTEGER
    )"""
_REBUILT_COLUMNS = (
    "id, name, description, album_type, is_public, created_by, generation_prompt, generation_config, "
    "is_set_template, csv_data, base_prompt, prompt_template, style_suffix, example_theme, lora_config, "
    "created_at, updated_at, source_type, source_id"
)


def _removal(connection: Connection, dialect: str) -> None:
    albums = _columns(connection, "albums")
    if "is_training_source" not in albums:
        return  # the script stops: already removed
    if not {"source_type", "source_id"} <= set(albums):
        raise ValueError("the removal script needs the separation script first (its INSERT selects source_type)")
    referencing = [
        (table, fk["name"], fk["constrained_columns"])
        for table in inspect(connection).get_table_names()
        for fk in inspect(connection).get_foreign_keys(table)
        if fk["referred_table"] == "albums"
    ]
    connection.execute(text(_dialect_sql(_REBUILT_ALBUMS, dialect)))
    connection.execute(text(f"INSERT INTO albums_new ({_REBUILT_COLUMNS}) SELECT {_REBUILT_COLUMNS} FROM albums"))
    connection.execute(text("DROP TABLE albums" + (" CASCADE" if dialect == "postgresql" else "")))
    connection.execute(text("ALTER TABLE albums_new RENAME TO albums"))
    if dialect == "postgresql":
        for table, name, columns in referencing:
            connection.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                                    f"FOREIGN KEY ({', '.join(columns)}) REFERENCES albums (id)"))  # fmt: skip
        connection.execute(text("SELECT setval(pg_get_serial_sequence('albums', 'id'), "
                                "COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM albums"))  # fmt: skip


def _migration_001(connection: Connection, dialect: str) -> None:
    connection.execute(text("ALTER TABLE scrape_jobs ADD COLUMN album_id INTEGER"))
    if dialect == "postgresql":  # a syntax error on SQLite: skipped there, as running it statement by statement does
        connection.execute(text("ALTER TABLE scrape_jobs ADD CONSTRAINT fk_scrape_jobs_album_id "
                                "FOREIGN KEY (album_id) REFERENCES albums(id)"))  # fmt: skip
    connection.execute(text("CREATE INDEX idx_scrape_jobs_album_id ON scrape_jobs(album_id)"))


_BUG_REPORTS_002 = """
    CREATE TABLE IF NOT EXISTS bug_reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id TEXT NOT NULL UNIQUE,
        trace_id TEXT,
        submitted_by TEXT,
        submitted_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        description TEXT NOT NULL,
        expected_behavior TEXT,
        actual_behavior TEXT,
        steps_to_reproduce TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        automation_attempts INTEGER NOT NULL DEFAULT 0,
        environment TEXT,
        client_meta TEXT,
        app_state TEXT,
        recent_logs TEXT,
        network_events TEXT,
        screenshot_path TEXT,
        screenshot_error TEXT,
        resolution_notes TEXT,
        resolution_commit_sha TEXT,
        resolution_actor_id TEXT,
        events TEXT,
        created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
    )"""
_MIGRATION_HISTORY_002 = """
    CREATE TABLE IF NOT EXISTS migration_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        last_run_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        details TEXT
    )"""


def _migration_002(connection: Connection, dialect: str) -> None:
    connection.execute(text(_dialect_sql(_BUG_REPORTS_002, dialect)))
    for column in ("report_id", "trace_id", "status", "submitted_at"):
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS ix_bug_reports_{column} ON bug_reports({column})"))
    connection.execute(text(_dialect_sql(_MIGRATION_HISTORY_002, dialect)))


def _current_code(connection: Connection, _dialect: str) -> None:
    current_metadata().create_all(connection, checkfirst=True)


_STEP_FUNCTIONS = {
    "current-code": _current_code,
    "separation": _separation,
    "removal": _removal,
    "001": _migration_001,
    "002": _migration_002,
}


def create_server_schema(url_or_engine: str | Engine, variant: str) -> None:
    """Build ``variant`` (``seed``, ``current``, then ``+step`` for each step in order) in an empty database.

    Raises ValueError for an unknown base or step, and where a step fails on the
    schema before it (the removal script without the separation script).
    """
    base, *steps = variant.split("+")
    if base not in ("seed", "current"):
        raise ValueError(f"variant {variant!r} must start with seed or current")
    _check_steps(steps)
    with _connected(url_or_engine) as connection:
        (current_metadata() if base == "current" else seed_metadata()).create_all(connection)
    upgrade_server_schema(url_or_engine, *steps)


def upgrade_server_schema(url_or_engine: str | Engine, *steps: str) -> None:
    """Apply the server's upgrade steps, in order, to a database that may hold rows (they are kept)."""
    _check_steps(steps)
    with _connected(url_or_engine) as connection:
        for step in steps:
            _STEP_FUNCTIONS[step](connection, connection.dialect.name)


def _check_steps(steps: Sequence[str]) -> None:
    unknown = [step for step in steps if step not in _STEP_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown upgrade steps {unknown}; expected {STEPS}")


@contextmanager
def _connected(url_or_engine: str | Engine) -> Iterator[Connection]:
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
