"""Configuration: defaults from the schema and the server's config.yaml, relative paths, typed frozen sections,
and errors that name file and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from imgops.config import (
    BugsSection,
    Config,
    DiskSection,
    LegacySection,
    PathKey,
    PathsSection,
    PressureSection,
    PurgeSection,
    ReconcileSection,
    RetentionSection,
    SetsSection,
    Thresholds,
    ThumbnailsSection,
    load_config,
)
from imgops.contracts import SCHEMAS
from imgops.errors import ConfigError

SCHEMA = SCHEMAS["config"]["properties"]
# The sections whose fields are the schema's properties one to one (paths and disk are resolved further).
PLAIN_SECTIONS = {
    "retention": RetentionSection,
    "sets": SetsSection,
    "legacy": LegacySection,
    "thumbnails": ThumbnailsSection,
    "purge": PurgeSection,
    "reconcile": ReconcileSection,
    "bugs": BugsSection,
}


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_paths_default_from_platform_config_and_resolve_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    write(tmp_path / "srv" / "config.yaml", {
        "outputs": {"base_dir": "/mnt/speedy/outputs", "scraped_dir": "/mnt/storage/scraped"},
        "sets": {"directory": "sets"},
        "bug_reports": {"storage_path": "/mnt/storage/bugs", "retention_days": 14},
    })  # fmt: skip
    config = load_config(write(tmp_path / "imgops.yml", {
        "platform_config": "srv/config.yaml",
        "paths": {"scraped_dir": "override/scraped", "state_dir": "/var/lib/imgops"},
    }), environ={})  # fmt: skip
    assert config.path("outputs_dir") == Path("/mnt/speedy/outputs")
    assert config.path("scraped_dir") == tmp_path / "override" / "scraped"
    assert config.path("sets_dir") == tmp_path / "srv" / "sets"
    assert config.path("thumbnails_dir") == Path("/mnt/speedy/outputs/thumbnails")
    assert config.path("legacy_root") == tmp_path / "srv" / "data" / "legacy"
    assert config.state_dir == config.paths.state_dir == Path("/var/lib/imgops")
    assert config.paths.reference_packs_dir is None
    assert config.retention == RetentionSection(scrape_days=30, training_days=30, bug_reports_days=14)
    assert config.database_url == f"sqlite:///{tmp_path / 'srv' / 'instance' / 'imagineer.db'}"


def test_unknown_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "imgops.yml", {"paths": {"scrapeddir": "/x"}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(path) in caught.value.message
    assert "paths" in caught.value.message and "scrapeddir" in caught.value.message


def test_wrong_type_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "imgops.yml", {"retention": {"scrape_days": "thirty"}})
    with pytest.raises(ConfigError, match=r"retention\.scrape_days: 'thirty' is not of type 'integer'"):
        load_config(path, environ={})


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "imgops.yml", {"retention": {"scrape_days": -1}, "disk": {"warn_percent": 120}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert "retention.scrape_days" in caught.value.message
    assert "disk.warn_percent" in caught.value.message


@pytest.mark.parametrize(("content", "expected"), [
    ("paths: [unclosed", "invalid YAML"),
    ("- a list\n", "top level must be a mapping"),
])  # fmt: skip
def test_unreadable_files_name_the_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "imgops.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path, environ={})
    assert str(path) in caught.value.message


def test_missing_file_and_missing_platform_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yml", environ={})
    path = write(tmp_path / "imgops.yml", {"platform_config": "nowhere.yaml"})
    with pytest.raises(ConfigError, match=r"platform_config .*nowhere\.yaml: file not found"):
        load_config(path, environ={})


def test_a_job_is_told_which_required_key_is_missing(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "imgops.yml", {}), environ={})
    with pytest.raises(ConfigError, match=r"'paths\.scraped_dir' is required"):
        config.path("scraped_dir")
    with pytest.raises(ConfigError, match="'database_url' is not set"):
        config.require_database_url()


def test_database_url_precedence_env_then_key_then_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "db.secret"
    secret.write_text("postgresql://imgops:s3cret@db/imagineer\n", encoding="utf-8")
    path = write(tmp_path / "imgops.yml", {"database_url_file": "db.secret"})
    assert load_config(path, environ={}).database_url == "postgresql://imgops:s3cret@db/imagineer"
    env = {"IMGOPS_DATABASE_URL": "sqlite:///env.db"}
    assert load_config(path, environ=env).database_url == "sqlite:///env.db"
    path = write(tmp_path / "imgops.yml", {"database_url": "sqlite:///key.db", "database_url_file": "db.secret"})
    assert load_config(path, environ={}).database_url == "sqlite:///key.db"
    credentials = tmp_path / "credentials"  # systemd's LoadCredential=database_url:/etc/imgops/database_url
    credentials.mkdir()
    (credentials / "database_url").write_text("postgresql://from-credential/db\n", encoding="utf-8")
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    assert load_config(path, environ=env).database_url == "postgresql://from-credential/db"


@pytest.mark.parametrize(
    ("disk", "key"),
    [
        ({"warn_percent": 96}, "disk.warn_percent"),  # above the default critical 95
        ({"crit_percent": 60, "inode_warn_percent": 50}, "disk.warn_percent"),
        ({"targets": [{"path": "/", "crit_percent": 80}]}, "disk.targets[0].warn_percent"),
        ({"inode_crit_percent": 70, "targets": [{"path": "/"}]}, "disk.inode_warn_percent"),
    ],
)
def test_a_warning_threshold_above_its_critical_one_is_refused(tmp_path: Path, disk: dict, key: str) -> None:
    path = write(tmp_path / "imgops.yml", {"disk": disk})
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    assert raised.value.details["key"] == key and str(path) in raised.value.message
    ordered = {**disk, "warn_percent": 10, "crit_percent": 99, "inode_warn_percent": 10, "inode_crit_percent": 99}
    assert load_config(write(tmp_path / "ok.yml", {"disk": ordered}), environ={}).disk.thresholds.warn_percent == 10


def default_of(node: dict[str, Any]) -> Any:
    value = node["default"]
    return tuple(value) if isinstance(value, list) else value


def expected_default(node: dict[str, Any]) -> Any:
    """A key's default; a nested object (purge.pressure) as the mapping of its own keys' defaults."""
    if node.get("type") == "object" and "properties" in node:
        return {key: expected_default(child) for key, child in node["properties"].items()}
    return default_of(node) if "default" in node else None


def plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def test_an_empty_file_gives_every_default_of_the_schema(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "imgops.yml", {}), environ={})
    assert config.purge.workers == SCHEMA["purge"]["properties"]["workers"]["default"]
    for name in PLAIN_SECTIONS:
        for key, node in SCHEMA[name]["properties"].items():
            assert plain(getattr(getattr(config, name), key)) == expected_default(node), key
    disk = SCHEMA["disk"]["properties"]
    assert config.disk.thresholds == Thresholds(
        warn_percent=disk["warn_percent"]["default"],
        crit_percent=disk["crit_percent"]["default"],
        inode_warn_percent=disk["warn_percent"]["default"],  # inode thresholds follow the space ones
        inode_crit_percent=disk["crit_percent"]["default"],
        min_free_bytes=None,
    )
    assert config.disk.forecast_window_days == disk["forecast_window_days"]["default"]
    assert config.disk.targets == default_of(disk["targets"]) and config.disk.textfile_dir is None
    assert config.lock_timeout_seconds == SCHEMAS["config"]["properties"]["lock_timeout_seconds"]["default"]
    assert config.log_level == SCHEMAS["config"]["properties"]["log_level"]["default"]
    assert config.state_dir == tmp_path / SCHEMA["paths"]["properties"]["state_dir"]["default"]
    assert config.paths.legacy_root == tmp_path / SCHEMA["paths"]["properties"]["legacy_root"]["default"]
    assert config.paths.thumbnails_dir is None  # its default is relative to outputs_dir, which is unset
    outputs = load_config(write(tmp_path / "outputs.yml", {"paths": {"outputs_dir": "out"}}), environ={})
    assert outputs.paths.thumbnails_dir == tmp_path / "out" / SCHEMA["paths"]["properties"]["thumbnails_dir"]["default"]


@pytest.mark.parametrize("name", sorted(PLAIN_SECTIONS))
def test_each_section_has_the_schemas_keys_and_defaults(name: str) -> None:
    kind = PLAIN_SECTIONS[name]
    properties = SCHEMA[name]["properties"]
    assert {f.name for f in dataclasses.fields(kind)} == set(properties)
    built = kind()
    for key, node in properties.items():
        assert plain(getattr(built, key)) == expected_default(node), key


def test_paths_and_disk_cover_the_schemas_keys() -> None:
    assert {f.name for f in dataclasses.fields(PathsSection)} == set(SCHEMA["paths"]["properties"])
    assert set(get_args(PathKey)) == set(SCHEMA["paths"]["properties"])
    threshold_keys = {f.name for f in dataclasses.fields(Thresholds)}
    disk_keys = {f.name for f in dataclasses.fields(DiskSection)} - {"thresholds"}
    assert threshold_keys | disk_keys == set(SCHEMA["disk"]["properties"])
    target = SCHEMA["disk"]["properties"]["targets"]["items"]["properties"]
    assert threshold_keys | {"path", "label"} == set(target)


def test_a_set_value_wins_over_the_default_and_sections_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "imgops.yml", {
        "purge": {"workers": 9, "orphans": True},
        "bugs": {"expire_statuses": ["closed"], "archive_dir": "archive"},
        "disk": {"warn_percent": 70, "textfile_dir": "metrics", "targets": [{"path": "data", "crit_percent": 80}]},
    }), environ={})  # fmt: skip
    assert config.purge == dataclasses.replace(PurgeSection(), workers=9, orphans=True)
    assert config.bugs == BugsSection(expire_statuses=("closed",), archive_dir=tmp_path / "archive")
    assert config.disk.textfile_dir == tmp_path / "metrics"
    (target,) = config.disk.targets
    assert (target.path, target.label) == (tmp_path / "data", None)
    assert target.thresholds == Thresholds(70, 80, 70, 80, None)
    for section, key in [
        (config, "purge"),
        (config.paths, "scraped_dir"),
        (config.purge, "workers"),
        (config.retention, "scrape_days"),
        (config.disk, "textfile_dir"),
        (config.disk.thresholds, "warn_percent"),
        (target, "path"),
        (config.bugs, "archive_dir"),
    ]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(section, key, None)
    assert isinstance(config, Config) and isinstance(config.bugs.expire_statuses, tuple)


def test_the_defaults_table_in_the_docs_is_generated_from_the_schema() -> None:
    from imgops_testing.codegen import CONFIG_DOC, load_schemas, with_defaults_table

    doc = CONFIG_DOC.read_text(encoding="utf-8")
    assert with_defaults_table(doc, load_schemas()["config"]) == doc, "run `make types`"
    assert "| `purge.workers` | `4` |" in doc.splitlines()


def test_purge_pressure_and_referenced_images_are_read_and_checked(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "imgops.yml", {"purge": {
        "referenced_images": "delete", "pressure": {"high_percent": 90, "min_age_hours": 6}}}), environ={})  # fmt: skip
    assert config.purge.referenced_images == "delete"
    assert config.purge.pressure == PressureSection(high_percent=90, low_percent=80, min_age_hours=6)
    assert PurgeSection().pressure.high_percent is None and PurgeSection().referenced_images == "keep"
    for bad, key in [
        ({"pressure": {"high_percent": 70}}, "purge.pressure.low_percent"),  # the default low (80) is above it
        ({"pressure": {"high_percent": 90, "low_percent": 95}}, "purge.pressure.low_percent"),
        ({"referenced_images": "drop"}, "purge.referenced_images"),
        ({"pressure": {"high": 90}}, "purge.pressure"),
    ]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(write(tmp_path / "bad.yml", {"purge": bad}), environ={})
