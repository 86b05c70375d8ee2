"""The roles' filters: the host's effective paths agree with imgops' own configuration; quoting; wheel order."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
import yaml

from imgops.config import build_config

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "imgops_runtime_filters", ROOT / "roles" / "imgops_runtime" / "filter_plugins" / "imgops_runtime.py"
)
filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(filters)

SHIPPED = {  # the server's shipped config.yaml (SERVER_FACTS 1)
    "model": {"cache_dir": "/mnt/speedy/imagineer/models"},
    "outputs": {"base_dir": "/mnt/speedy/imagineer/outputs", "scraped_dir": "/mnt/storage/imagineer/scraped"},
    "sets": {"directory": "/mnt/speedy/imagineer/sets"},
    "training": {"checkpoint_dir": "/mnt/speedy/imagineer/checkpoints"},
    "dataset": {"data_dir": "/mnt/speedy/imagineer/data/training"},
    "bug_reports": {"storage_path": "/mnt/storage/imagineer/bug_reports"},
}
CASES = {
    "shipped, no overrides": (SHIPPED, {}),
    "relative roots, a space, overrides": (
        {"outputs": {"base_dir": "media/image outputs", "scraped_dir": "scraped"}, "dataset": {"data_dir": "data"}},
        {"scraped_dir": "/mnt/storage/scrapes", "reference_packs_dir": "/mnt/speedy/image packs", "state_dir": "st"},
    ),
    "no server config": (None, {"outputs_dir": "/data/out"}),
}


@pytest.mark.parametrize("case", CASES)
def test_effective_paths_match_what_imgops_reads(case: str, tmp_path: Path) -> None:
    platform, paths = CASES[case]
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    raw: dict = {"paths": paths, "database_url": "postgresql://db/imagineer"}
    server = ""
    if platform is not None:
        server = str(tmp_path / "srv" / "config.yaml")
        Path(server).parent.mkdir()
        Path(server).write_text(yaml.safe_dump(platform), encoding="utf-8")
        raw["platform_config"] = server
    config = build_config(raw, source=config_dir / "imgops.yml", environ={})
    ours = filters.effective_paths(platform, server, paths, str(config_dir), "postgresql://db/imagineer")
    theirs = {key: str(value) for key, value in config.paths.configured().items()}
    assert {key: ours[key] for key in theirs} == theirs
    if platform is SHIPPED:
        assert ours["lora_dir"] == "/mnt/speedy/imagineer/models/lora"


def test_database_folder_is_writable_for_sqlite_only() -> None:
    sqlite = filters.effective_paths({}, "/srv/i/config.yaml", {}, "/etc/imgops", "sqlite:////srv/i/instance/x.db")
    assert sqlite["database_dir"] == "/srv/i/instance"
    default = filters.effective_paths({}, "/srv/i/config.yaml", {}, "/etc/imgops", "")
    assert default["database_dir"] == "/srv/i/instance"  # imgops' default: the server's SQLite file
    assert "database_dir" not in filters.effective_paths({}, "", {}, "/etc/imgops", "postgresql://db/x")


def test_systemd_paths_survive_spaces_quotes_and_percent_signs(tmp_path: Path) -> None:
    value = filters.systemd_paths(["/mnt/image packs", '/srv/a"b', "/srv/100%", "/mnt/image packs"])
    assert value == '"-/mnt/image packs" "-/srv/a\\"b" "-/srv/100%%"'
    unit = tmp_path / "probe.service"
    unit.write_text(f"[Service]\nExecStart=/bin/true\nReadWritePaths={value}\n", encoding="utf-8")
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert run.stdout + run.stderr == ""
    with pytest.raises(Exception, match="not an absolute path"):
        filters.systemd_paths(["relative/root"])


def test_the_newest_wheel_is_chosen_by_version_not_by_name() -> None:
    wheels = ["/w/imgops-0.9.0-py3-none-any.whl", "/w/imgops-0.10.0-py3-none-any.whl", "/w/PyYAML-6.0-cp311.whl"]
    assert filters.newest_wheel(wheels) == "/w/imgops-0.10.0-py3-none-any.whl"
    assert sorted(wheels)[-1] == "/w/imgops-0.9.0-py3-none-any.whl"  # what a string sort would have picked
