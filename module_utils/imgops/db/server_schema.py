"""The server's schema as it is: which generation or upgrade variant a database is, and what each job can do there.

The server's tables exist in several shapes (SERVER_FACTS 2, 3.1, 3.3): the seed
``create_all``, the current one, and seed databases upgraded by some of the
server's scripts (``separation``: migrate_template_album_separation.py,
``removal``: migrate_remove_is_training_source.py, ``current-code``: a seed
database started under current code, whose ``create_all`` adds only the new
tables, ``001``/``002``: the SQL files in ``migrations/``). None of them records
itself, so the variant is read from the schema (SERVER_FACTS 11): which columns
exist, where ``ALTER TABLE`` appended them, and whether a table carries the SQL
defaults only raw DDL writes.

Every known variant is simulated here from those steps and the database is
matched against them. A database no variant matches is ``unknown`` and names
what it lacks. Jobs select and insert columns by name through ``table()``;
``require()`` turns a missing table or column into one clear error before any
SQL runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DatabaseError

EMPTY = "empty"
UNKNOWN = "unknown"
STEPS = ("current-code", "separation", "removal", "001", "002")
"""Upgrade steps in the order a variant's name lists them when the schema cannot tell their order."""


def _names(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_IMAGES = _names(
    "id filename file_path thumbnail_path prompt negative_prompt seed steps guidance_scale width height "
    "lora_config is_nsfw is_public created_at updated_at"
)
_LABELS = _names("id image_id label_text confidence label_type source_model source_prompt created_by created_at")
_TEMPLATE_COLUMNS = _names(
    "is_set_template csv_data base_prompt prompt_template style_suffix example_theme lora_config"
)
_ALBUM_HEAD = _names("id name description album_type is_public")
_ALBUM_GENERATION = _names("created_by generation_prompt generation_config")
_SEED_ALBUMS = (*_ALBUM_HEAD, "is_training_source", *_ALBUM_GENERATION, *_TEMPLATE_COLUMNS, "created_at", "updated_at")
_CURRENT_ALBUMS = (*_ALBUM_HEAD, *_ALBUM_GENERATION, *_TEMPLATE_COLUMNS, "source_type", "source_id", "created_at",
                   "updated_at")  # fmt: skip
_REBUILT_ALBUMS = (*_ALBUM_HEAD, *_ALBUM_GENERATION, *_TEMPLATE_COLUMNS, "created_at", "updated_at", "source_type",
                   "source_id")  # fmt: skip
_ALBUM_IMAGES = _names("id album_id image_id sort_order added_by created_at")
_SEED_SCRAPE_JOBS = _names(
    "id name description source_url scrape_config status progress images_scraped output_directory "
    "error_message last_error_at created_at started_at completed_at"
)
_CURRENT_SCRAPE_JOBS = (*_SEED_SCRAPE_JOBS[:9], "album_id", *_SEED_SCRAPE_JOBS[9:])
_TRAINING_RUNS = _names(
    "id name description dataset_path output_path training_config status progress final_checkpoint "
    "training_loss validation_loss error_message last_error_at created_at started_at "
    "completed_at"
)
_MIGRATION_HISTORY = _names("id name applied_at last_run_at details")
_BATCH_TEMPLATES = _names(
    "id name description csv_path csv_data base_prompt prompt_template style_suffix example_theme "
    "width height negative_prompt lora_config created_by created_at updated_at"
)
_BATCH_GENERATION_RUNS = _names(
    "id template_id album_id album_name user_theme steps seed width height guidance_scale "
    "negative_prompt status total_items completed_items failed_items created_by created_at "
    "started_at completed_at error_message"
)
_BUG_REPORTS = _names(
    "id report_id trace_id submitted_by submitted_at description expected_behavior actual_behavior "
    "steps_to_reproduce status automation_attempts environment client_meta app_state recent_logs "
    "network_events screenshot_path screenshot_error resolution_notes resolution_commit_sha "
    "resolution_actor_id events created_at updated_at"
)

_SEED_TABLES = {
    "images": _IMAGES,
    "labels": _LABELS,
    "albums": _SEED_ALBUMS,
    "album_images": _ALBUM_IMAGES,
    "scrape_jobs": _SEED_SCRAPE_JOBS,
    "training_runs": _TRAINING_RUNS,
    "migration_history": _MIGRATION_HISTORY,
}
_NEW_TABLES = {"batch_templates": _BATCH_TEMPLATES, "batch_generation_runs": _BATCH_GENERATION_RUNS,
               "bug_reports": _BUG_REPORTS}  # fmt: skip
SERVER_TABLES = (*_SEED_TABLES, *_NEW_TABLES)

# Traces only raw DDL leaves (create_all writes no SQL defaults, SERVER_FACTS 0.2), read from the live schema.
_RAW_BATCH_TEMPLATES = "batch_templates made by the separation script"  # width DEFAULT 512
_RAW_BATCH_RUNS = "batch_generation_runs made by the separation script"  # status DEFAULT 'queued'
_RAW_BUG_REPORTS = "bug_reports made by migrations/002"  # automation_attempts NOT NULL DEFAULT 0
_SUBMITTED_AT_INDEX = "index ix_bug_reports_submitted_at"  # only migrations/002 creates it


@dataclass(frozen=True)
class _Shape:
    """What decides a variant: each server table's columns in order, and the traces of raw DDL."""

    tables: Mapping[str, tuple[str, ...]]
    traces: frozenset[str] = frozenset()

    def key(self) -> tuple[Any, ...]:
        return tuple(sorted(self.tables.items())), self.traces


def _base(name: str) -> _Shape:
    tables = dict(_SEED_TABLES)
    if name == "current":
        tables |= {"albums": _CURRENT_ALBUMS, "scrape_jobs": _CURRENT_SCRAPE_JOBS, **_NEW_TABLES}
    return _Shape(tables)


def _appended(columns: tuple[str, ...], *new: str) -> tuple[str, ...]:
    return columns + tuple(c for c in new if c not in columns)


def _apply(shape: _Shape, step: str) -> _Shape | None:
    """The shape after the server's step, or None where the step fails on this shape (SERVER_FACTS 3.3)."""
    tables, traces = dict(shape.tables), set(shape.traces)
    if step == "current-code":  # create_all adds missing tables, never columns
        for name, columns in _NEW_TABLES.items():
            tables.setdefault(name, columns)
    elif step == "separation":  # each table and column only when absent, as the script checks
        for name, trace in (("batch_templates", _RAW_BATCH_TEMPLATES), ("batch_generation_runs", _RAW_BATCH_RUNS)):
            if name not in tables:
                tables[name] = _NEW_TABLES[name]
                traces.add(trace)
        tables["albums"] = _appended(tables["albums"], "source_type", "source_id")
        tables["scrape_jobs"] = _appended(tables["scrape_jobs"], "album_name")
    elif step == "removal":
        if "is_training_source" not in tables["albums"]:
            return shape  # the script stops: already removed
        if not {"source_type", "source_id"} <= set(tables["albums"]):
            return None  # its INSERT ... SELECT source_type fails and rolls back
        tables["albums"] = _REBUILT_ALBUMS
    elif step == "001":
        if "album_id" in tables["scrape_jobs"]:
            return None  # ADD COLUMN of an existing column fails
        tables["scrape_jobs"] = _appended(tables["scrape_jobs"], "album_id")
    elif step == "002":
        if "bug_reports" not in tables:
            tables["bug_reports"] = _BUG_REPORTS
            traces.add(_RAW_BUG_REPORTS)
        traces.add(_SUBMITTED_AT_INDEX)
    else:
        raise ValueError(f"unknown upgrade step {step!r}; expected one of {STEPS}")
    return _Shape(tables, frozenset(traces))


@cache
def known_variants() -> tuple[tuple[str, _Shape], ...]:
    """Every distinct shape the bases and steps can make, each under its shortest, canonically ordered name."""
    seen: dict[tuple[Any, ...], str] = {}
    variants: list[tuple[str, _Shape]] = []
    histories = [(base, steps) for base in ("seed", "current") for n in range(len(STEPS) + 1)
                 for steps in itertools.permutations(STEPS, n)]  # fmt: skip
    histories.sort(key=lambda h: (len(h[1]), h[0] != "seed", [STEPS.index(s) for s in h[1]]))
    for base, steps in histories:
        shape: _Shape | None = _base(base)
        for step in steps:
            previous, shape = shape, _apply(shape, step) if shape else None
            if shape is None or shape == previous:
                shape = None  # a failing step, or one that changes nothing, names no new variant
                break
        if shape is not None and shape.key() not in seen:
            name = "+".join((base, *steps))
            seen[shape.key()] = name
            variants.append((name, shape))
    return tuple(variants)


@dataclass(frozen=True)
class Evidence:
    """One table, column or index that decided the generation."""

    name: str
    present: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "present": self.present, "detail": self.detail}


@dataclass(frozen=True)
class JobRequirement:
    """Whether a job can run on this database; ``missing`` names each table or ``table.column`` it lacks."""

    job: str
    runnable: bool
    missing: tuple[str, ...]
    tables: tuple[str, ...]
    """The server tables the job reads or writes here."""

    def to_dict(self) -> dict[str, Any]:
        return {"runnable": self.runnable, "missing": list(self.missing), "tables": list(self.tables)}


_HISTORY_NEEDS = {"migration_history": ("name", "applied_at", "last_run_at", "details")}
_ALBUM_NEEDS = ("name", "description", "album_type", "is_public", "created_by", "created_at", "updated_at")
_PURGE_AGE = ("completed_at", "last_error_at", "created_at")


def _job_needs(job: str, present: set[str]) -> dict[str, tuple[str, ...]]:
    """Tables and columns a job uses, by name. Where the server moved data, the generation's home is chosen."""
    if job == "sets":
        if "batch_templates" in present:
            return {"batch_templates": _BATCH_TEMPLATES[1:], **_HISTORY_NEEDS}
        # The set-template columns are not needed: `imgops sets` adds them to albums older than the seed.
        return {"albums": (*_ALBUM_NEEDS, "generation_prompt", "generation_config"), **_HISTORY_NEEDS}
    if job == "legacy":
        return {
            "images": _IMAGES[1:],
            "albums": (*_ALBUM_NEEDS, "generation_config"),  # legacy_slug: how either importer knows its albums
            "album_images": _ALBUM_IMAGES[1:],
            "labels": ("image_id", "label_text", "confidence", "label_type", "created_by", "created_at"),
            **_HISTORY_NEEDS,
        }
    if job == "thumbnails":
        return {"images": ("id", "filename", "file_path", "thumbnail_path", "updated_at")}
    if job == "purge":
        return {
            "scrape_jobs": ("id", "status", "output_directory", *_PURGE_AGE),
            "training_runs": ("id", "status", "dataset_path", "output_path", "final_checkpoint", *_PURGE_AGE),
        }
    if job == "reconcile":
        return {
            "images": ("id", "filename", "file_path", "thumbnail_path"),
            "albums": ("id",),
            "album_images": ("id", "album_id", "image_id"),
            "labels": ("id", "image_id"),
            "scrape_jobs": ("id", "status", "output_directory"),
            "training_runs": ("id", "dataset_path"),
        }
    if job == "bugs":  # the database where the server keeps reports there, else the report files
        return {"bug_reports": _BUG_REPORTS} if "bug_reports" in present else {}
    if job in ("disk", "db"):
        return {}
    raise ValueError(f"unknown job {job!r}")


JOBS = ("sets", "legacy", "thumbnails", "purge", "reconcile", "bugs", "disk", "db")


@dataclass(frozen=True)
class ServerSchema:
    """The server's tables as reflected from one database, with the generation they make."""

    dialect: str
    columns: Mapping[str, tuple[str, ...]]
    """Each server table present: its column names in table order."""
    generation: str
    """``seed``, ``current``, a variant such as ``seed+separation``, ``empty`` or ``unknown``."""
    evidence: tuple[Evidence, ...]
    missing: tuple[str, ...]
    """For ``unknown``: the tables and ``table.column`` the nearest variant has and this database lacks."""
    nearest: str
    metadata: MetaData = field(compare=False, repr=False)

    def has(self, table: str, column: str | None = None) -> bool:
        return table in self.columns and (column is None or column in self.columns[table])

    def table(self, name: str) -> Table:
        """The reflected table, for selects and inserts by column name."""
        if name not in self.metadata.tables:
            raise DatabaseError(f"the database has no table {name} (generation {self.generation})", table=name)
        return self.metadata.tables[name]

    def requirement(self, job: str) -> JobRequirement:
        needs = _job_needs(job, set(self.columns))
        missing = [t if t not in self.columns else f"{t}.{c}" for t, cols in needs.items() for c in cols
                   if not self.has(t, c)]  # fmt: skip
        return JobRequirement(job, not missing, tuple(dict.fromkeys(missing)), tuple(needs))

    @property
    def requirements(self) -> dict[str, JobRequirement]:
        return {job: self.requirement(job) for job in JOBS}

    def require(self, job: str) -> None:
        """Raise one DatabaseError naming what ``job`` lacks here, before any of its SQL runs."""
        needed = self.requirement(job)
        if not needed.runnable:
            raise DatabaseError(
                f"imgops {job} cannot run on this database (generation {self.generation}): "
                f"missing {', '.join(needed.missing)}",
                generation=self.generation,
                missing=list(needed.missing),
            )

    @property
    def unknown_message(self) -> str:
        return (f"the database matches no known server schema (nearest: {self.nearest}); "
                f"missing {', '.join(self.missing)}")  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The keys ``imgops db status`` reports: generation, evidence, and each job's requirement."""
        return {
            "generation": self.generation,
            "evidence": [item.to_dict() for item in self.evidence],
            "jobs": {job: needed.to_dict() for job, needed in self.requirements.items()},
        }


def read_server_schema(engine: Engine) -> ServerSchema:
    """Reflect the server's tables (imgops' own and any others are ignored) and name their generation."""
    try:
        inspector = inspect(engine)
        present = [name for name in SERVER_TABLES if inspector.has_table(name)]
        reflected = {name: inspector.get_columns(name) for name in present}
        indexes = {i["name"] for i in inspector.get_indexes("bug_reports")} if "bug_reports" in present else set()
        leftover = inspector.has_table("albums_new")
        metadata = MetaData()
        metadata.reflect(bind=engine, only=present, resolve_fks=False)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseError(f"cannot read the database schema: {reason}") from None
    columns = {name: tuple(c["name"] for c in cols) for name, cols in reflected.items()}
    live = _Shape(columns, frozenset(_traces(reflected, indexes)))
    generation, nearest, missing, differences = _match(live)
    evidence = [*_evidence(reflected, indexes), *differences]
    if leftover:
        evidence.append(Evidence("albums_new", True, "left behind by a failed run of the removal script; ignored"))
    return ServerSchema(engine.dialect.name, columns, generation, tuple(evidence), tuple(missing), nearest, metadata)


def _traces(reflected: Mapping[str, list[dict[str, Any]]], indexes: set[str]) -> Iterable[str]:
    def column(table: str, name: str) -> dict[str, Any]:
        return next((c for c in reflected.get(table, ()) if c["name"] == name), {})

    if column("batch_templates", "width").get("default") is not None:
        yield _RAW_BATCH_TEMPLATES
    if column("batch_generation_runs", "status").get("default") is not None:
        yield _RAW_BATCH_RUNS
    if column("bug_reports", "automation_attempts").get("nullable") is False:
        yield _RAW_BUG_REPORTS
    if "ix_bug_reports_submitted_at" in indexes:
        yield _SUBMITTED_AT_INDEX


def _match(live: _Shape) -> tuple[str, str, list[str], list[Evidence]]:
    """(generation, nearest variant, what it lacks, how it differs) for the closest known variant."""
    if not live.tables:
        return EMPTY, EMPTY, [], []
    best: tuple[int, int] | None = None
    found: tuple[str, list[str], list[Evidence]] = ("", [], [])
    for name, shape in known_variants():
        missing, differences = _compare(live, shape, name)
        score = (len(missing), len(differences))
        if best is None or score < best:
            best, found = score, (name, missing, differences)
        if score == (0, 0):
            break
    name, missing, differences = found
    return (UNKNOWN if missing else name), name, missing, differences


def _compare(live: _Shape, shape: _Shape, name: str) -> tuple[list[str], list[Evidence]]:
    missing: list[str] = []
    differences: list[Evidence] = []
    for table, expected in shape.tables.items():
        if table not in live.tables:
            missing.append(table)
            continue
        actual = live.tables[table]
        if table == "albums" and not set(_TEMPLATE_COLUMNS) & set(actual):
            expected = tuple(c for c in expected if c not in _TEMPLATE_COLUMNS)  # older albums: `imgops sets` adds them
        missing += [f"{table}.{c}" for c in expected if c not in actual]
        differences += [Evidence(f"{table}.{c}", True, f"not a column of {table} in {name}; ignored")
                        for c in actual if c not in expected]  # fmt: skip
        common = [c for c in actual if c in expected]
        if common != [c for c in expected if c in actual]:
            differences.append(Evidence(table, True, f"columns in another order than in {name}"))
    differences += [Evidence(t, True, f"a table {name} does not have") for t in live.tables if t not in shape.tables]
    differences += [Evidence(t, True, f"{name} does not have this trace") for t in sorted(live.traces - shape.traces)]
    differences += [Evidence(t, False, f"{name} has this trace") for t in sorted(shape.traces - live.traces)]
    return missing, differences


def _evidence(reflected: Mapping[str, list[dict[str, Any]]], indexes: set[str]) -> list[Evidence]:
    """The tables and columns SERVER_FACTS 11 names as the marks of each upgrade, as found here."""
    names = {table: [c["name"] for c in cols] for table, cols in reflected.items()}
    albums, scrape_jobs = names.get("albums", []), names.get("scrape_jobs", [])
    items = [
        Evidence("albums.is_training_source", "is_training_source" in albums,
                 "seed albums" if "is_training_source" in albums else "dropped (current albums or the removal script)"),
        Evidence("scrape_jobs.album_name", "album_name" in scrape_jobs,
                 "added by the separation script" if "album_name" in scrape_jobs else "no separation script"),
    ]  # fmt: skip
    if "source_type" in albums:
        appended = "updated_at" in albums and albums.index("source_type") > albums.index("updated_at")
        detail = "after updated_at: added by the separation script" if appended else "before created_at: create_all"
        items.append(Evidence("albums.source_type", True, detail))
    else:
        items.append(Evidence("albums.source_type", False, "seed albums without the separation script"))
    if "album_id" in scrape_jobs:
        after_output = scrape_jobs.index("album_id") == scrape_jobs.index("output_directory") + 1 if (
            "output_directory" in scrape_jobs) else False  # fmt: skip
        detail = "after output_directory: create_all" if after_output else "appended by migrations/001"
        items.append(Evidence("scrape_jobs.album_id", True, detail))
    else:
        items.append(Evidence("scrape_jobs.album_id", False, "no current create_all of scrape_jobs, no 001"))
    traces = set(_traces(reflected, indexes))
    for table, trace, raw in (
        ("batch_templates", _RAW_BATCH_TEMPLATES, "raw DDL of the separation script (width DEFAULT 512)"),
        ("batch_generation_runs", _RAW_BATCH_RUNS, "raw DDL of the separation script (status DEFAULT 'queued')"),
        ("bug_reports", _RAW_BUG_REPORTS, "raw DDL of migrations/002 (automation_attempts NOT NULL)"),
    ):
        if table not in reflected:
            items.append(Evidence(table, False, "absent: no current code, script or migration created it"))
        else:
            items.append(Evidence(table, True, raw if trace in traces else "made by create_all of current code"))
    if "albums" in names and not set(_TEMPLATE_COLUMNS) & set(albums):
        items.append(Evidence("albums.is_set_template", False, "albums older than the seed: `imgops sets` adds the "
                              "set-template columns"))  # fmt: skip
    indexed = _SUBMITTED_AT_INDEX in traces
    items.append(Evidence("ix_bug_reports_submitted_at", indexed, "made by migrations/002" if indexed else "no 002"))
    return items


def refusal(engine: Engine, action: str) -> ServerSchema | None:
    """The schema, when ``imgops db <action>`` must write nothing because no server variant matches it.

    ``init`` still creates whole missing tables (its purpose, for demos and
    tests); a table lacking columns is refused by every action.
    """
    schema = read_server_schema(engine)
    if schema.generation != UNKNOWN:
        return None
    if action == "init" and all("." not in item for item in schema.missing):
        return None
    return schema


def server_schema_summary(engine: Engine) -> dict[str, Any]:
    """``generation``, ``evidence`` and ``jobs`` for a job's summary (``imgops db status``)."""
    return read_server_schema(engine).summary()
