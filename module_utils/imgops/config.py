"""The imgops configuration: one YAML file, validated against ``shared/schema/config.json``.

The schema is the one source of every default. ``Config`` holds one frozen dataclass per
section (``config.purge.workers``, ``config.paths.scraped_dir``, ``config.disk.thresholds``);
each field mirrors a property of the schema (tests/unit/test_config.py keeps the two equal) and
takes its default from the property's ``default`` keyword, read when this module is imported.
They are written here rather than generated because they hold resolved values (absolute
``Path``s, tuples, merged thresholds), where the generated TypedDicts in ``contracts/types.py``
describe the raw YAML. Rules the schema cannot say stay in code beside the type they belong to:
where an unset path defaults from (the server's config.yaml, or which folder its default is
relative to), and the disk thresholds' inheritance and order (``Thresholds``).

Relative paths resolve against the file's folder.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from .contracts import SCHEMAS, json_pointer, problems
from .errors import ConfigError, ImgopsError
from .fs.read import SIZE_LIMITS, read_regular_text
from .masking import remember_url
from .parsing import load_yaml

DEFAULT_CONFIG_PATH = Path("/etc/imgops/imgops.yml")
ENV_CONFIG = "IMGOPS_CONFIG"
ENV_DATABASE_URL = "IMGOPS_DATABASE_URL"

PathKey = Literal[
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
]
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


def schema_default(*keys: str) -> Any:
    """The ``default`` keyword of the config schema's property at ``keys`` (lists as tuples, to stay frozen)."""
    node = SCHEMAS["config"]
    for key in keys:
        node = node["properties"][key]
    value = node["default"]
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True, kw_only=True)
class PathsSection:
    """``paths``: absolute, or None when neither set nor defaulted. ``state_dir`` always has a value."""

    sets_dir: Path | None = None
    outputs_dir: Path | None = None
    reference_packs_dir: Path | None = None
    legacy_root: Path | None = None
    thumbnails_dir: Path | None = None
    scraped_dir: Path | None = None
    training_dataset_dir: Path | None = None
    checkpoint_dir: Path | None = None
    lora_dir: Path | None = None
    bug_reports_dir: Path | None = None
    state_dir: Path

    def configured(self) -> dict[str, Path]:
        """The paths that have a value, by key, in the schema's order."""
        found = {f.name: getattr(self, f.name) for f in fields(self)}
        return {key: path for key, path in found.items() if path is not None}


@dataclass(frozen=True, kw_only=True)
class RetentionSection:
    scrape_days: int = schema_default("retention", "scrape_days")
    training_days: int = schema_default("retention", "training_days")
    bug_reports_days: int = schema_default("retention", "bug_reports_days")


# The check results thresholds lead to, in Nagios exit-code order (the disk job, its views and metrics).
SEVERITIES = ("ok", "warning", "critical", "unknown")


@dataclass(frozen=True)
class Thresholds:
    """Percent thresholds for space and inodes, and an absolute floor of free bytes (critical below)."""

    warn_percent: float
    crit_percent: float
    inode_warn_percent: float
    inode_crit_percent: float
    min_free_bytes: int | None

    @classmethod
    def resolve(cls, section: Mapping[str, Any], target: Mapping[str, Any] | None = None) -> Thresholds:
        """A target's own keys win over the ``disk`` section's, which win over the schema's defaults;
        inode thresholds default to the space ones."""
        own = target or {}

        def pick(key: str, fallback: Any = None) -> Any:
            return own.get(key, section.get(key, fallback))

        warn = pick("warn_percent", schema_default("disk", "warn_percent"))
        crit = pick("crit_percent", schema_default("disk", "crit_percent"))
        return cls(
            warn_percent=warn,
            crit_percent=crit,
            inode_warn_percent=pick("inode_warn_percent", warn),
            inode_crit_percent=pick("inode_crit_percent", crit),
            min_free_bytes=pick("min_free_bytes"),
        )

    def check_order(self, scope: str, where: str) -> None:
        """A warning threshold above its critical one is a ConfigError naming ``<scope>.<key>``.

        JSON Schema cannot compare two values, so this rule lives here, with the type.
        """
        for prefix in ("", "inode_"):
            warn, crit = getattr(self, f"{prefix}warn_percent"), getattr(self, f"{prefix}crit_percent")
            if warn > crit:
                raise ConfigError(
                    f"{where}: key '{scope}.{prefix}warn_percent' ({warn:g}) is above {prefix}crit_percent ({crit:g})",
                    key=f"{scope}.{prefix}warn_percent",
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DiskTarget:
    """One ``disk.targets`` entry, its thresholds merged with the section's."""

    path: Path
    label: str | None
    thresholds: Thresholds


@dataclass(frozen=True, kw_only=True)
class DiskSection:
    """``disk``: the section's own thresholds (for filesystems that are not a target) and the targets."""

    thresholds: Thresholds = field(default_factory=lambda: Thresholds.resolve({}))
    targets: tuple[DiskTarget, ...] = schema_default("disk", "targets")
    textfile_dir: Path | None = None
    forecast_window_days: float = schema_default("disk", "forecast_window_days")


@dataclass(frozen=True, kw_only=True)
class SetsSection:
    created_by: str = schema_default("sets", "created_by")
    prune: bool = schema_default("sets", "prune")
    allow_csv_outside: bool = schema_default("sets", "allow_csv_outside")


@dataclass(frozen=True, kw_only=True)
class LegacySection:
    stage_mode: str = schema_default("legacy", "stage_mode")
    created_by: str = schema_default("legacy", "created_by")
    host: str | None = None  # the job falls back to the host name


@dataclass(frozen=True, kw_only=True)
class ThumbnailsSection:
    size: int | None = None  # ignored (the server's size is fixed at 300); set only by older files
    max_attempts: int = schema_default("thumbnails", "max_attempts")
    workers: int = schema_default("thumbnails", "workers")


@dataclass(frozen=True, kw_only=True)
class CheckpointsSection:
    """``purge.checkpoints``: keep an aged run's newest ``keep_last`` step checkpoints, remove the rest."""

    enabled: bool = schema_default("purge", "checkpoints", "enabled")
    keep_last: int = schema_default("purge", "checkpoints", "keep_last")


@dataclass(frozen=True, kw_only=True)
class PressureSection:
    """``purge.pressure``: relieve a volume above ``high_percent`` used down to ``low_percent`` (None: off)."""

    high_percent: float | None = schema_default("purge", "pressure", "high_percent")
    low_percent: float = schema_default("purge", "pressure", "low_percent")
    min_age_hours: float = schema_default("purge", "pressure", "min_age_hours")


@dataclass(frozen=True, kw_only=True)
class PurgeSection:
    """``purge``; also the options of one purge run (a run may override ``orphans`` and ``purge_checkpoints``)."""

    orphans: bool = schema_default("purge", "orphans")
    purge_checkpoints: bool = schema_default("purge", "purge_checkpoints")
    workers: int = schema_default("purge", "workers")
    clear_missing: bool = schema_default("purge", "clear_missing")
    referenced_images: str = schema_default("purge", "referenced_images")  # keep | delete
    checkpoints: CheckpointsSection = CheckpointsSection()
    pressure: PressureSection = PressureSection()


@dataclass(frozen=True, kw_only=True)
class ReconcileSection:
    delete_missing_images: bool = schema_default("reconcile", "delete_missing_images")


@dataclass(frozen=True, kw_only=True)
class BugsSection:
    expire_statuses: tuple[str, ...] = schema_default("bugs", "expire_statuses")
    archive_dir: Path | None = None


@dataclass(frozen=True, kw_only=True)
class MetricsSection:
    """``metrics``: node_exporter's textfile folder every job writes to after a real run; None: no metrics."""

    textfile_dir: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    """A validated configuration. Paths are absolute; every section has its defaults filled in."""

    source: Path | None
    database_url: str | None
    paths: PathsSection
    platform_dir: Path | None = None
    """The server's folder (that of ``platform_config``), against which its scripts' relative paths resolve."""
    retention: RetentionSection = RetentionSection()
    disk: DiskSection = DiskSection()
    sets: SetsSection = SetsSection()
    legacy: LegacySection = LegacySection()
    thumbnails: ThumbnailsSection = ThumbnailsSection()
    purge: PurgeSection = PurgeSection()
    reconcile: ReconcileSection = ReconcileSection()
    bugs: BugsSection = BugsSection()
    metrics: MetricsSection = MetricsSection()
    lock_timeout_seconds: float = schema_default("lock_timeout_seconds")
    log_level: str = schema_default("log_level")

    def path(self, key: PathKey) -> Path:
        """The configured path ``paths.<key>``, or a ConfigError naming the key and file."""
        path = getattr(self.paths, key, None)
        if path is None:
            raise ConfigError(
                f"{self._where()}: key 'paths.{key}' is required by this job but not set",
                key=f"paths.{key}",
            )
        return path

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
        return self.paths.state_dir

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
    found = non_finite_numbers(raw) or problems(raw, "config")
    if found:
        raise ConfigError(f"{where}: " + "; ".join(f"key {p}" for p in found), problems=found)
    base = source.parent.resolve() if source else Path.cwd()
    platform = _platform_config(raw, base, where)
    retention = dict(raw.get("retention") or {})
    if platform.data and "bug_reports_days" not in retention:
        days = (platform.data.get("bug_reports") or {}).get("retention_days")
        if isinstance(days, int) and 0 <= days <= MAX_RETENTION_DAYS:
            retention["bug_reports_days"] = days
    bugs = dict(raw.get("bugs") or {})
    if "archive_dir" in bugs:
        bugs["archive_dir"] = _absolute(bugs["archive_dir"], base)
    metrics_dir = (raw.get("metrics") or {}).get("textfile_dir")
    database_url = _database_url(raw, base, platform, environ, where)
    if database_url:
        remember_url(database_url)  # its credentials are masked in every message from now on
    return Config(
        source=source,
        database_url=database_url,
        paths=_resolve_paths(raw.get("paths") or {}, base, platform),
        platform_dir=platform.folder,
        retention=_build_section(RetentionSection, retention),
        disk=_disk(raw.get("disk") or {}, base, where),
        sets=_build_section(SetsSection, raw.get("sets")),
        legacy=_build_section(LegacySection, raw.get("legacy")),
        thumbnails=_build_section(ThumbnailsSection, raw.get("thumbnails")),
        purge=_purge(raw.get("purge") or {}, where),
        reconcile=_build_section(ReconcileSection, raw.get("reconcile")),
        bugs=_build_section(BugsSection, bugs),
        metrics=MetricsSection(textfile_dir=_absolute(metrics_dir, base) if metrics_dir else None),
        lock_timeout_seconds=float(raw.get("lock_timeout_seconds", schema_default("lock_timeout_seconds"))),
        log_level=raw.get("log_level", schema_default("log_level")),
    )


MAX_RETENTION_DAYS: int = SCHEMAS["config"]["$defs"]["days"]["maximum"]


def non_finite_numbers(data: Any) -> list[str]:
    """``key: ...`` problems for every NaN or infinity in ``data`` (walked without recursion).

    YAML reads ``.nan`` and ``.inf`` as floats, and JSON Schema's ``type: number`` accepts NaN (every
    comparison with it is false, so no ``minimum`` or ``maximum`` refuses it): a NaN threshold would
    silently turn alerting off. So each one is refused here, by its key.
    """
    found = []
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        node, where = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            found.append(f"{json_pointer(where)}: {node!r} is not a finite number")
        elif isinstance(node, dict):
            stack.extend((value, [*where, str(key)]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*where, i]) for i, value in enumerate(node))
    return sorted(found)


_Section = TypeVar("_Section")


def _purge(raw: Mapping[str, Any], where: str) -> PurgeSection:
    """``purge`` with its nested sections, the ``pressure`` marks in order (low below high)."""
    pressure = _build_section(PressureSection, raw.get("pressure"))
    high = pressure.high_percent
    if high is not None and pressure.low_percent >= high:
        raise ConfigError(
            f"{where}: key purge.pressure.low_percent ({pressure.low_percent}) must be below "
            f"purge.pressure.high_percent ({high})",
            key="purge.pressure.low_percent",
        )
    checkpoints = _build_section(CheckpointsSection, raw.get("checkpoints"))
    return _build_section(PurgeSection, {**raw, "pressure": pressure, "checkpoints": checkpoints})


def _build_section(kind: type[_Section], raw: Mapping[str, Any] | None) -> _Section:
    """A section from its validated mapping; the keys it leaves out keep the schema's defaults."""
    return kind(**{key: tuple(value) if isinstance(value, list) else value for key, value in (raw or {}).items()})


def _disk(raw: Mapping[str, Any], base: Path, where: str) -> DiskSection:
    """``disk`` with each target's thresholds merged and every threshold's order checked, section first."""
    thresholds = Thresholds.resolve(raw)
    thresholds.check_order("disk", where)
    targets = []
    for i, entry in enumerate(raw.get("targets", schema_default("disk", "targets"))):
        limits = Thresholds.resolve(raw, entry)
        limits.check_order(f"disk.targets[{i}]", where)
        targets.append(DiskTarget(_absolute(entry["path"], base), entry.get("label"), limits))
    textfile_dir = raw.get("textfile_dir")
    return DiskSection(
        thresholds=thresholds,
        targets=tuple(targets),
        textfile_dir=_absolute(textfile_dir, base) if textfile_dir else None,
        forecast_window_days=float(raw.get("forecast_window_days", schema_default("disk", "forecast_window_days"))),
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


def _resolve_paths(raw_paths: dict[str, str], base: Path, platform: _Platform) -> PathsSection:
    """Set paths, else the server's, else the schema's defaults (each relative to its own folder)."""
    paths: dict[str, Path] = {}
    for key, (section, sub, *below) in PLATFORM_PATHS.items():
        value = (platform.data.get(section) or {}).get(sub)
        if isinstance(value, str) and value:
            paths[key] = _absolute(value, platform.folder or base).joinpath(*below)
    paths.update({key: _absolute(value, base) for key, value in raw_paths.items()})
    paths.setdefault("state_dir", _absolute(schema_default("paths", "state_dir"), base))
    paths.setdefault("legacy_root", _absolute(schema_default("paths", "legacy_root"), platform.folder or base))
    if "outputs_dir" in paths:
        paths.setdefault("thumbnails_dir", _absolute(schema_default("paths", "thumbnails_dir"), paths["outputs_dir"]))
    return PathsSection(**paths)


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
            url = read_regular_text(secret, "database URL file", limit=SIZE_LIMITS["config"], error=ConfigError).strip()
        except ConfigError as exc:
            raise ConfigError(f"{where}: key 'database_url_file': {exc.message}", key="database_url_file") from None
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
        return read_regular_text(Path(folder) / name, "credential", limit=SIZE_LIMITS["config"]).strip() or None
    except ImgopsError:
        return None


def _absolute(value: str, base: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML mapping from ``path``: a regular file within the config size cap, parsed with bounded
    depth and alias expansion (a FIFO, a device or an alias bomb is a ConfigError, never a hang)."""
    text = read_regular_text(path, what, limit=SIZE_LIMITS["config"], error=ConfigError)
    data = load_yaml(text, f"{what} {path}", error=ConfigError)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: top level must be a mapping, not {type(data).__name__}", file=str(path))
    return data
