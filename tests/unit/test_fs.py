"""Confinement and removal: nothing outside a root is ever touched, whatever the path or the race."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgops.errors import SafetyError
from imgops.fs import confine, remove_confined, tree_usage


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "scraped"
    outside = tmp_path / "precious"
    (root / "job_1" / "sub").mkdir(parents=True)
    (root / "job_1" / "a.bin").write_bytes(b"x" * 5000)
    (root / "job_1" / "sub" / "b.bin").write_bytes(b"y" * 3000)
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", encoding="utf-8")
    return root, outside


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("candidate", "reason"), [
    ("/", "outside_root"),
    ("{outside}", "outside_root"),
    ("{root}", "is_root"),
    ("{root}/", "is_root"),
    ("{root}/job_1/../..", "outside_root"),
    ("{root}/../precious", "outside_root"),
    ("../precious/keep.txt", "outside_root"),
    ("", "invalid"),
    ("{root}/job_9", "missing"),
])  # fmt: skip
def test_refusals_name_the_reason(layout: tuple[Path, Path], candidate: str, reason: str) -> None:
    root, outside = layout
    with pytest.raises(SafetyError) as caught:
        confine(candidate.format(root=root, outside=outside), root)
    assert caught.value.details["reason"] == reason
    assert listing(outside) == ["keep.txt"]


def test_dotdot_that_stays_inside_is_accepted(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    target = confine(f"{root}/job_1/sub/../sub", root)
    assert target.path == root.resolve() / "job_1" / "sub"


def test_symlinks_on_the_way_or_at_the_end_are_refused(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "job_link").symlink_to(outside)
    (root / "job_1" / "via").symlink_to(outside)
    for candidate in (root / "job_link", root / "job_link" / "keep.txt", root / "job_1" / "via" / "keep.txt"):
        with pytest.raises(SafetyError) as caught:
            confine(candidate, root)
        assert caught.value.details["reason"] == "symlink"


def test_a_root_reached_through_a_symlink_still_confines(layout: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = layout
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    target = confine(alias / "job_1", alias)
    assert target.path == root.resolve() / "job_1"
    target = confine(root.resolve() / "job_1", alias)
    assert target.relative.as_posix() == "job_1"


def test_remove_measures_then_removes_the_tree(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    target = confine(root / "job_1", root)
    usage = tree_usage(target)
    assert usage.apparent_bytes >= 8000
    assert usage.entries == 4
    assert remove_confined(target) == usage
    assert not (root / "job_1").exists()
    assert root.is_dir()
    assert remove_confined(target).entries == 0
    assert listing(outside) == ["keep.txt"]


def test_links_inside_a_removed_tree_go_as_links(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (outside / "big.bin").write_bytes(b"b" * 100_000)
    before = tree_usage(confine(root / "job_1", root))
    (root / "job_1" / "link_dir").symlink_to(outside)
    (root / "job_1" / "link_file").symlink_to(outside / "big.bin")
    after = tree_usage(confine(root / "job_1", root))
    assert after.entries == before.entries + 2
    assert after.apparent_bytes - before.apparent_bytes < 1000  # the links' targets are not counted
    remove_confined(confine(root / "job_1", root))
    assert not (root / "job_1").exists()
    assert listing(outside) == ["big.bin", "keep.txt"]


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    (root / "job_2" / "inner").mkdir(parents=True)
    (root / "job_2" / "inner" / "data.bin").write_bytes(b"z")
    target = confine(root / "job_2" / "inner", root)
    # The race: between the check and the removal, an attacker swaps job_2 for a link to precious/.
    os.rename(root / "job_2", root / "job_2.moved")
    (root / "job_2").symlink_to(outside)
    (outside / "inner").mkdir()
    (outside / "inner" / "victim.txt").write_text("must survive", encoding="utf-8")
    with pytest.raises(SafetyError) as caught:
        remove_confined(target)
    assert caught.value.details["reason"] == "swapped"
    assert (outside / "inner" / "victim.txt").read_text(encoding="utf-8") == "must survive"


def test_the_target_itself_swapped_for_a_symlink_removes_only_the_link(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    target = confine(root / "job_1", root)
    os.rename(root / "job_1", root / "job_1.moved")
    (root / "job_1").symlink_to(outside)
    assert remove_confined(target).entries == 1
    assert not (root / "job_1").is_symlink()
    assert listing(outside) == ["keep.txt"]
