"""The imgops configuration: one YAML file, validated against ``shared/schema/config.json``.

Relative paths resolve against the file's folder. When ``platform_config``
names the server's own config.yaml, the paths the server owns default from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .contracts import problems
from .errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/imgops/imgops.yml")
ENV_CONFIG = "IMGOPS_CONFIG"
ENV_DATABASE_URL = "IMGOPS_DATABASE_URL"

PATH_KEYS = (
    "sets_dir",
    "outputs_dir",
    "reference_packs_dir",
    "legacy_root",
    "thumbnails_dir",
    "scraped_dir",
    "training_dataset_dir",
    "checkpoint_dir",
    "lora_dir",
    "bug_reports_dir",
    "state_dir",
)
# The server's config.yaml keys each imgops path defaults from (then a sub-folder, where the server derives one).
PLATFORM_PATHS: dict[str, tuple[str, ...]] = {
    "outputs_dir": ("outputs", "base_dir"),
    "scraped_dir": ("outputs", "scraped_dir"),
    "sets_dir": ("sets", "directory"),
    "checkpoint_dir": ("training", "checkpoint_dir"),
    "training_dataset_dir": ("dataset", "data_dir"),
    "lora_dir": ("model", "cache_dir", "lora"),
    "bug_reports_dir": ("bug_reports", "storage_path"),
}
SECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "retention": {"scrape_days": 30, "training_days": 30, "bug_reports_days": 30},
    "disk": {"warn_percent": 85, "crit_percent": 95, "targets": [], "forecast_window_days": 7},
    "sets": {"created_by": "imgops", "prune": False},
    "legacy": {"stage_mode": "hardlink", "created_by": "imgops"},
    "thumbnails": {"size": 256, "max_attempts": 3, "workers": 2},
    "purge": {"orphans": False, "purge_checkpoints": False, "workers": 4, "clear_missing": False},
    "bugs": {"expire_statuses": ["resolved", "closed"]},
}


@dataclass(frozen=True)
class Config:
    """A validated configuration. Paths are absolute; sections have defaults filled in."""

    source: Path | None
    database_url: str | None
    paths: dict[str, Path]
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock_timeout_seconds: float = 30.0
    log_level: str = "info"

    def path(self, key: str) -> Path:
        """The configured path ``paths.<key>``, or a ConfigError naming the key and file."""
        try:
            return self.paths[key]
        except KeyError:
            raise ConfigError(
                f"{self._where()}: key 'paths.{key}' is required by this job but not set",
                key=f"paths.{key}",
            ) from None

    def section(self, name: str) -> dict[str, Any]:
        return self.sections[name]

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError(
                f"{self._where()}: key 'database_url' is not set (nor database_url_file, "
                f"platform_config or env {ENV_DATABASE_URL})",
                key="database_url",
            )
        return self.database_url

    @property
    def state_dir(self) -> Path:
        return self.path("state_dir")

    def _where(self) -> str:
        return f"config {self.source}" if self.source else "config"


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to read: the argument, else env IMGOPS_CONFIG, else /etc/imgops/imgops.yml."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read, validate and resolve a configuration file."""
    environ = dict(os.environ) if environ is None else environ
    source = resolve_config_path(path)
    raw = _read_yaml_mapping(source, "config")
    return build_config(raw, source=source, environ=environ)


def build_config(raw: dict[str, Any], source: Path | None, environ: dict[str, str]) -> Config:
    """Validate a parsed configuration mapping and resolve it into a Config."""
    where = f"config {source}" if source else "config"
    found = problems(raw, "config")
    if found:
        raise ConfigError(f"{where}: " + "; ".join(f"key {p}" for p in found), problems=found)
    base = source.parent.resolve() if source else Path.cwd()
    platform = _platform_config(raw, base, where)
    paths = _resolve_paths(raw.get("paths") or {}, base, platform)
    sections = {name: {**defaults, **(raw.get(name) or {})} for name, defaults in SECTION_DEFAULTS.items()}
    if platform.data and "bug_reports_days" not in (raw.get("retention") or {}):
        days = (platform.data.get("bug_reports") or {}).get("retention_days")
        if isinstance(days, int) and days >= 0:
            sections["retention"]["bug_reports_days"] = days
    disk = sections["disk"]
    disk["targets"] = [{**target, "path": _absolute(target["path"], base)} for target in disk.get("targets", [])]
    if "textfile_dir" in disk:
        disk["textfile_dir"] = _absolute(disk["textfile_dir"], base)
    _check_threshold_order(disk, where)
    if "archive_dir" in sections["bugs"]:
        sections["bugs"]["archive_dir"] = _absolute(sections["bugs"]["archive_dir"], base)
    return Config(
        source=source,
        database_url=_database_url(raw, base, platform, environ, where),
        paths=paths,
        sections=sections,
        lock_timeout_seconds=float(raw.get("lock_timeout_seconds", 30)),
        log_level=raw.get("log_level", "info"),
    )


def _check_threshold_order(disk: dict[str, Any], where: str) -> None:
    """A warning threshold above its critical one, in ``disk`` or a target, is an error (JSON Schema cannot say so).

    The thresholds are read as the disk check reads them (inode thresholds default to the space ones).
    """
    from .disk.thresholds import thresholds_for  # here, not at the top: the disk job imports this module

    scopes = [("disk", {}), *((f"disk.targets[{i}]", target) for i, target in enumerate(disk["targets"]))]
    for name, target in scopes:
        limits = thresholds_for(disk, target).to_dict()
        for prefix in ("", "inode_"):
            warn, crit = limits[f"{prefix}warn_percent"], limits[f"{prefix}crit_percent"]
            if warn > crit:
                raise ConfigError(
                    f"{where}: key '{name}.{prefix}warn_percent' ({warn:g}) is above {prefix}crit_percent ({crit:g})",
                    key=f"{name}.{prefix}warn_percent",
                )


@dataclass(frozen=True)
class _Platform:
    folder: Path | None
    data: dict[str, Any]


def _platform_config(raw: dict[str, Any], base: Path, where: str) -> _Platform:
    name = raw.get("platform_config")
    if not name:
        return _Platform(None, {})
    path = _absolute(name, base)
    data = _read_yaml_mapping(path, f"platform_config (named by {where})")
    return _Platform(path.parent, data)


def _resolve_paths(raw_paths: dict[str, str], base: Path, platform: _Platform) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for key, (section, sub, *below) in PLATFORM_PATHS.items():
        value = (platform.data.get(section) or {}).get(sub)
        if isinstance(value, str) and value:
            paths[key] = _absolute(value, platform.folder or base).joinpath(*below)
    paths.update({key: _absolute(value, base) for key, value in raw_paths.items()})
    paths.setdefault("state_dir", base / "state")
    paths.setdefault("legacy_root", (platform.folder or base) / "data" / "legacy")
    if "outputs_dir" in paths:
        paths.setdefault("thumbnails_dir", paths["outputs_dir"] / "thumbnails")
    return paths


def _database_url(
    raw: dict[str, Any], base: Path, platform: _Platform, environ: dict[str, str], where: str
) -> str | None:
    if environ.get(ENV_DATABASE_URL):
        return environ[ENV_DATABASE_URL]
    credential = _systemd_credential(environ, "database_url")
    if credential:
        return credential
    if raw.get("database_url"):
        return raw["database_url"]
    if raw.get("database_url_file"):
        secret = _absolute(raw["database_url_file"], base)
        try:
            url = secret.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{where}: key 'database_url_file': cannot read {secret}: {exc.strerror}",
                key="database_url_file",
            ) from None
        if not url:
            raise ConfigError(f"{where}: key 'database_url_file': {secret} is empty", key="database_url_file")
        return url
    if platform.folder is not None:
        return f"sqlite:///{platform.folder / 'instance' / 'imagineer.db'}"
    return None


def _systemd_credential(environ: dict[str, str], name: str) -> str | None:
    """A credential systemd passed with LoadCredential= (the secret file itself stays root-only)."""
    folder = environ.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return None
    try:
        return (Path(folder) / name).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _absolute(value: str, base: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc}", file=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: invalid YAML: {exc}", file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: top level must be a mapping, not {type(data).__name__}", file=str(path))
    return data
