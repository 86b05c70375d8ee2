"""Hostile set configs through the real CLI (issue 18 classes 1, 2 and 6): templates that would reach object
internals or allocate without bound, CSV paths that leave the sets folder, files that are not regular files.
Each is a validation error naming the set and key, exit 1, nothing written, no file content in any output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, Table, create_engine, select

from imgops.contracts import problems
from imgops_testing.server_ddl import create_server_schema

SECRET = "SECRET-LINE-root:x:0:0"


@pytest.fixture
def platform(tmp_path: Path) -> dict[str, Any]:
    """A seed database, a sets folder with one CSV, and imgops configs with and without CSVs outside allowed."""
    url = f"sqlite:///{tmp_path / 'imagineer.db'}"
    create_server_schema(url, "seed")
    sets_dir = tmp_path / "sets"
    sets_dir.mkdir()
    (sets_dir / "cards.csv").write_text("value,suit\nAce,Hearts\n", encoding="utf-8")
    (tmp_path / "outside.csv").write_text(f"value,suit\n{SECRET},x\n", encoding="utf-8")
    configs = {}
    for name, allow in (("confined", False), ("allowed", True)):
        settings = {"database_url": url, "paths": {"sets_dir": str(sets_dir), "state_dir": str(tmp_path / "state")},
                    "sets": {"allow_csv_outside": allow}}  # fmt: skip
        configs[name] = tmp_path / f"{name}.yml"
        configs[name].write_text(yaml.safe_dump(settings), encoding="utf-8")
    return {"sets_dir": sets_dir, "url": url, **configs}


def write_sets(platform: dict[str, Any], sets: dict[str, Any]) -> None:
    (platform["sets_dir"] / "config.yaml").write_text(yaml.safe_dump(sets), encoding="utf-8")


def run(venv_bin: Path, config: Path) -> tuple[int, dict[str, Any], str]:
    ran = subprocess.run([venv_bin / "imgops", "--config", str(config), "--json", "sets"], capture_output=True,
                         text=True, check=False, timeout=60)  # fmt: skip  # a FIFO must not hang it
    assert "Traceback" not in ran.stderr, ran.stderr
    result = json.loads(ran.stdout)
    assert problems(result, "sets_result") == []
    return ran.returncode, result, ran.stdout + ran.stderr


def album_names(platform: dict[str, Any]) -> list[str]:
    engine = create_engine(platform["url"])
    try:
        albums = Table("albums", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            return sorted(conn.execute(select(albums.c.name)).scalars())
    finally:
        engine.dispose()


def errors_by_set(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for error in result["errors"]:
        found.setdefault(error["set"], []).append(error)
    return found


def test_templates_may_use_plain_column_placeholders_only(platform: dict[str, Any], venv_bin: Path) -> None:
    hostile = {
        "attribute": "{value.__class__}",
        "index": "{suit[99999]}",
        "spec": "{value:>999999999}",
        "conversion": "{value!r}",
        "auto_number": "A {} card",
        "positional": "{0} card",
        "unbalanced": "{value of {suit}",
    }
    write_sets(platform, {key: {"name": key, "csv_path": "cards.csv", "prompt_template": template}
                          for key, template in {**hostile, "plain": "{value} of {suit}"}.items()})  # fmt: skip
    code, result, _output = run(venv_bin, platform["confined"])
    assert code == 1 and result["changed"] is False
    found = errors_by_set(result)
    assert set(found) == set(hostile)  # the plain one is fine
    for errors in found.values():
        assert [e["column"] for e in errors] == ["prompt_template"], errors
        assert all(e["file"] == str(platform["sets_dir"] / "config.yaml") for e in errors)
    reasons = {key: errors[0]["message"] for key, errors in found.items()}
    assert "{value.__class__} uses attribute or index access" in reasons["attribute"]
    assert "{suit[99999]} uses attribute or index access" in reasons["index"]
    assert "{value:>999999999} has a format spec" in reasons["spec"]
    assert "{value!r} has a conversion" in reasons["conversion"]
    assert "is positional" in reasons["auto_number"] and "{0} is positional" in reasons["positional"]
    assert "not a valid template" in reasons["unbalanced"]
    assert all("only plain {column} placeholders" in reasons[key] for key in hostile if key != "unbalanced")
    assert album_names(platform) == []


def test_csv_paths_leaving_the_sets_folder_are_refused_unread(
    platform: dict[str, Any], venv_bin: Path, tmp_path: Path
) -> None:
    (platform["sets_dir"] / "link.csv").symlink_to(tmp_path / "outside.csv")
    escapes = {"relative": "../outside.csv", "absolute": str(tmp_path / "outside.csv"), "symlink": "link.csv",
               "passwd": "../../../../../../etc/passwd", "dotted": "./sub/../../outside.csv"}  # fmt: skip
    write_sets(platform, {key: {"name": key, "csv_path": path, "prompt_template": "{value}"}
                          for key, path in escapes.items()})  # fmt: skip
    code, result, output = run(venv_bin, platform["confined"])
    assert code == 1 and album_names(platform) == []
    found = errors_by_set(result)
    assert set(found) == set(escapes)
    for errors in found.values():
        assert [(e["column"], "leaves the sets folder" in e["message"]) for e in errors] == [("csv_path", True)]
        assert "sets.allow_csv_outside" in errors[0]["message"]
    assert SECRET not in output and "root:" not in output

    write_sets(platform, {"outside": {"name": "Outside", "csv_path": str(tmp_path / "outside.csv"),
                                      "prompt_template": "{value} of {suit}"}})  # fmt: skip
    code, result, _output = run(venv_bin, platform["allowed"])
    assert code == 0 and result["summary"]["created"] == 1 and album_names(platform) == ["Outside"]


def test_files_that_are_not_regular_files_are_problems_not_hangs(platform: dict[str, Any], venv_bin: Path) -> None:
    os.mkfifo(platform["sets_dir"] / "fifo.csv")
    write_sets(platform, {
        "fifo": {"name": "Fifo", "csv_path": "fifo.csv", "prompt_template": "{value}"},
        "device": {"name": "Device", "csv_path": "/dev/zero", "prompt_template": "{value}"},
        "folder": {"name": "Folder", "csv_path": ".", "prompt_template": "{value}"},
    })  # fmt: skip
    code, result, _output = run(venv_bin, platform["allowed"])  # allowed outside, so /dev/zero is opened
    assert code == 1 and album_names(platform) == []
    reasons = {key: errors[0]["message"] for key, errors in errors_by_set(result).items()}
    assert "is a FIFO, not a regular file" in reasons["fifo"]
    assert "is a character device, not a regular file" in reasons["device"]
    assert "is a directory, not a regular file" in reasons["folder"]

    config = platform["sets_dir"] / "config.yaml"
    config.unlink()
    os.mkfifo(config)
    code, result, _output = run(venv_bin, platform["confined"])
    assert code == 1 and "is a FIFO, not a regular file" in result["msg"]


def test_no_error_quotes_a_file(platform: dict[str, Any], venv_bin: Path) -> None:
    sets_dir = platform["sets_dir"]
    (sets_dir / "twice.csv").write_text(f"{SECRET},{SECRET}\n1,2\n", encoding="utf-8")
    (sets_dir / "other.csv").write_text(f"{SECRET}\n1\n", encoding="utf-8")
    write_sets(platform, {
        "twice": {"name": "Twice", "csv_path": "twice.csv", "prompt_template": "x"},
        "other": {"name": "Other", "csv_path": "other.csv", "prompt_template": "{value}"},
    })  # fmt: skip
    code, result, output = run(venv_bin, platform["confined"])
    assert code == 1 and SECRET not in output
    reasons = {key: [(e.get("column"), e["message"]) for e in errors] for key, errors in errors_by_set(result).items()}
    assert reasons["twice"] == [(2, "column 2 repeats the name of column 1 in the header")]
    assert reasons["other"] == [("value", "placeholder {value} in prompt_template is not a CSV column")]


def test_a_yaml_alias_bomb_is_refused_at_once(platform: dict[str, Any], venv_bin: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (platform["sets_dir"] / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, result, _output = run(venv_bin, platform["confined"])
    assert code == 1 and "expands to more than" in result["msg"] and album_names(platform) == []
