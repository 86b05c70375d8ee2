"""Hostile input files: FIFOs, devices, oversized, deep, huge numbers, aliases. One clear error, no hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgops.errors import ConfigError, InputError
from imgops.fs.read import read_regular, read_regular_text
from imgops.parsing import load_json, load_yaml


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "20250101_000000_x.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a FIFO, not a regular file"):
        read_regular(fifo, "sidecar")


def test_a_device_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"/dev/zero: is a character device"):
        read_regular("/dev/zero", "csv", error=ConfigError)


def test_a_directory_and_a_missing_file_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_regular(tmp_path, "manifest")
    with pytest.raises(InputError, match=r"nothing\.json: file not found"):
        read_regular(tmp_path / "nothing.json", "sidecar")


def test_a_file_over_its_cap_is_refused_without_its_content(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"SECRET" * 1000)
    with pytest.raises(InputError) as caught:
        read_regular(big, "sidecar", limit=100)
    assert "100-byte limit" in caught.value.message and "SECRET" not in caught.value.message
    assert read_regular(big, "sidecar", limit=6000) == b"SECRET" * 1000


def test_text_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "set.csv"
    bad.write_bytes(b"a,b\n\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_regular_text(bad, "csv")


def test_json_nested_a_million_deep_is_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"nested too deeply|nested deeper"):
        load_json("[" * 1_000_000 + "]" * 1_000_000, "bug_x.json")
    with pytest.raises(InputError, match="nested deeper than 64"):
        load_json("[" * 100 + "]" * 100, "bug_x.json")


def test_json_huge_integers_non_finite_numbers_and_duplicate_keys_are_refused() -> None:
    with pytest.raises(InputError, match="too many digits"):
        load_json('{"n": ' + "9" * 100_000 + "}", "r.json")
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(InputError, match="not a JSON number"):
            load_json('{"n": ' + constant + "}", "r.json")
    with pytest.raises(InputError, match="duplicate key 'a'"):
        load_json('{"a": 1, "a": 2}', "r.json")
    assert load_json('{"a": [1, 2.5, "x"]}', "r.json") == {"a": [1, 2.5, "x"]}


def test_yaml_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    with pytest.raises(InputError, match="expands to more than"):
        load_yaml("\n".join(lines), "config.yaml")


def test_yaml_deep_nesting_and_self_reference_are_refused() -> None:
    with pytest.raises(InputError, match="nested"):
        load_yaml("[" * 100_000 + "]" * 100_000, "config.yaml")
    with pytest.raises(InputError, match="refers to its own anchor"):
        load_yaml("a: &x [*x]", "config.yaml")


def test_yaml_errors_name_the_position_but_not_the_line() -> None:
    with pytest.raises(InputError) as caught:
        load_yaml("key: value\npassword: [hunter2\n", "config.yaml")
    assert "line" in caught.value.message and "hunter2" not in caught.value.message
    assert load_yaml("a: &x 1\nb: *x\n", "ok.yaml") == {"a": 1, "b": 1}
