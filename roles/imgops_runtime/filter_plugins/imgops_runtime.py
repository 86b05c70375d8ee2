"""Filters of the imgops roles: the host's effective paths, systemd path quoting, the newest wheel.

The effective paths follow the rules imgops' configuration applies when a job starts (keys of
``paths`` win; the others default from the server's config.yaml, SERVER_FACTS 1 and 5), so a
unit's ``ReadWritePaths=`` names exactly the folders its job will write.
``tests/roles/test_effective_paths.py`` holds the two to the same answers.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ansible.errors import AnsibleFilterError
from packaging.version import InvalidVersion, Version

# imgops path key -> the server's config.yaml (section, key) it defaults from.
PLATFORM_PATHS = {
    "outputs_dir": ("outputs", "base_dir"),
    "scraped_dir": ("outputs", "scraped_dir"),
    "sets_dir": ("sets", "directory"),
    "checkpoint_dir": ("training", "checkpoint_dir"),
    "training_dataset_dir": ("dataset", "data_dir"),
    "bug_reports_dir": ("bug_reports", "storage_path"),
}


def _absolute(value: str, base: str) -> str:
    return posixpath.normpath(value if posixpath.isabs(value) else posixpath.join(base, value))


def effective_paths(
    platform: dict[str, Any] | None,
    platform_config: str,
    paths: dict[str, str],
    config_dir: str,
    database_url: str = "",
    sections: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Every folder imgops may write on the host, by name: its ``paths`` plus the derived roots.

    ``lora_dir`` (``<model.cache_dir>/lora``) holds training logs and outputs; ``database_dir`` is the
    folder of a SQLite database (SQLite writes its journal beside the file); ``bugs_archive_dir`` is
    where expired reports are archived when configured.
    """
    platform = platform or {}
    platform_dir = posixpath.dirname(platform_config) if platform_config else ""
    found: dict[str, str] = {}
    for key, (section, sub) in PLATFORM_PATHS.items():
        value = (platform.get(section) or {}).get(sub)
        if isinstance(value, str) and value:
            found[key] = _absolute(value, platform_dir or config_dir)
    cache_dir = (platform.get("model") or {}).get("cache_dir")
    if isinstance(cache_dir, str) and cache_dir:
        found["lora_dir"] = _absolute(posixpath.join(cache_dir, "lora"), platform_dir or config_dir)
    found.update({key: _absolute(value, config_dir) for key, value in (paths or {}).items() if value})
    found.setdefault("state_dir", _absolute("state", config_dir))
    found.setdefault("legacy_root", _absolute("data/legacy", platform_dir or config_dir))
    if "outputs_dir" in found:
        found.setdefault("thumbnails_dir", posixpath.join(found["outputs_dir"], "thumbnails"))
    archive = ((sections or {}).get("bugs") or {}).get("archive_dir")
    if archive:
        found["bugs_archive_dir"] = _absolute(archive, config_dir)
    sqlite_file = database_url.partition(":///")[2] if database_url.startswith("sqlite") else ""
    if posixpath.isabs(sqlite_file):
        found["database_dir"] = posixpath.dirname(sqlite_file.partition("?")[0])
    elif not database_url and platform_dir:
        found["database_dir"] = posixpath.join(platform_dir, "instance")
    return found


def systemd_paths(paths: list[str] | str, prefix: str = "-") -> str:
    """A space-separated path list for a systemd directive, each path quoted so spaces survive.

    Inside quotes systemd unescapes ``\\`` and ``"``; ``%`` starts a specifier anywhere and is doubled.
    The ``-`` prefix lets the unit start while a root does not exist yet.
    """
    words = []
    for path in dict.fromkeys([paths] if isinstance(paths, str) else paths):
        if not isinstance(path, str) or not posixpath.isabs(path):
            raise AnsibleFilterError(f"systemd_paths: {path!r} is not an absolute path")
        escaped = (prefix + path).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
        words.append(f'"{escaped}"')
    return " ".join(words)


def newest_wheel(paths: list[str], project: str = "imgops") -> str:
    """The wheel of ``project`` with the highest version (``0.10.0`` beats ``0.9.0``)."""

    def version(path: str) -> Version:
        try:
            return Version(posixpath.basename(path).split("-")[1])
        except (IndexError, InvalidVersion):
            raise AnsibleFilterError(f"newest_wheel: cannot read a version from {path}") from None

    wheels = [p for p in paths if posixpath.basename(p).startswith(f"{project}-") and p.endswith(".whl")]
    if not wheels:
        raise AnsibleFilterError(f"newest_wheel: no {project} wheel among {paths}")
    return max(wheels, key=version)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "imgops_effective_paths": effective_paths,
            "imgops_systemd_paths": systemd_paths,
            "imgops_newest_wheel": newest_wheel,
        }
