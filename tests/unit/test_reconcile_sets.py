"""The compact sets reconcile keeps instead of rows: id bitmaps and the walk's file index."""

from __future__ import annotations

import os
from array import array
from pathlib import Path

from imgops.reconcile.findings import FileIndex, IdSet, batches
from imgops.reconcile.scan_files import Thumbnails, is_image_name, walk_roots


def test_an_id_set_grows_past_its_bound_and_lists_its_ids_in_order() -> None:
    ids = IdSet(10)
    for value in (3, 10, 0, 5000, -1):
        ids.add(value)
    ids.add_all([7, 123_456, 3])
    assert list(ids) == [0, 3, 7, 10, 5000, 123_456]
    assert 5000 in ids and 4999 not in ids and -1 not in ids and "3" not in ids and 10**9 not in ids
    assert not IdSet(100) and list(IdSet(100)) == []


def test_the_file_index_finds_every_hash_even_when_they_share_a_slot() -> None:
    clashing = array("q", [16 * k + 5 for k in range(40)])  # all land in slot 5 of a small table
    index = FileIndex(clashing)
    assert [index.find(value) for value in clashing] == list(range(40))
    assert index.find(5 + 16 * 1000) == -1 and index.find(6) == -1
    assert FileIndex(array("q")).find(hash("anything")) == -1


def test_batches_cut_any_iterable() -> None:
    assert list(batches(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]] and list(batches([], 3)) == []


def test_image_names_follow_splitext() -> None:
    for name in ("a.png", "A.JPEG", ".x.webp", "b.tar.gif", "..a.bmp", "x.Jpg"):
        assert is_image_name(name) is (os.path.splitext(name)[1].lower() in {".png", ".jpg", ".jpeg", ".webp",
                                                                            ".gif", ".bmp"}), name  # fmt: skip
    assert not any(is_image_name(name) for name in (".png", "..png", "png", "a.png.txt", "a.", "noext"))


def test_the_walk_lists_image_files_once_and_never_into_a_symlinked_or_skipped_folder(tmp_path: Path) -> None:
    outputs, elsewhere = tmp_path / "outputs", tmp_path / "elsewhere"
    for folder in (outputs / "a" / "b", outputs / "thumbnails", elsewhere):
        folder.mkdir(parents=True)
    for path in (outputs / "a" / "1.png", outputs / "a" / "b" / "2.JPG", outputs / "thumbnails" / "3.webp",
                 elsewhere / "4.png", outputs / "notes.txt"):  # fmt: skip
        path.write_bytes(b"x")
    (outputs / "a" / "dir.png").mkdir()  # a folder with an image's name is walked, not counted
    (outputs / "a" / "dir.png" / "5.gif").write_bytes(b"x")
    (outputs / "linked").symlink_to(elsewhere, target_is_directory=True)
    (outputs / "a" / "link.png").symlink_to(elsewhere / "4.png")
    walk = walk_roots([outputs, outputs / "a"], [outputs / "thumbnails"])  # a nested root counts once
    listed = sorted(os.path.relpath(entry.path, outputs) for entry in walk.entries())
    assert listed == ["a/1.png", "a/b/2.JPG", "a/dir.png/5.gif", "a/link.png"]
    assert len(walk.named) == 4 and all(walk.index.find(hash(str(outputs / p))) >= 0 for p in listed)
    # the symlink and the file it points to share the inode key; the symlinked folder was not listed
    assert walk.inodes[walk.index.find(hash(str(outputs / "a" / "link.png")))] == (
        os.stat(elsewhere / "4.png").st_ino ^ hash(os.stat(elsewhere / "4.png").st_dev)
    )
    assert walk.listed(str(outputs / "a" / "gone.png")) and not walk.listed(str(outputs / "linked" / "4.png"))
    assert not walk.listed(str(outputs / "a" / "gone.txt")) and not walk.listed(str(outputs / "thumbnails" / "3.webp"))


def test_the_thumbnails_listing_reads_the_servers_names_and_tells_when_an_orphan_may_be_there(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    thumbnails = outputs / "thumbnails"
    thumbnails.mkdir(parents=True)
    for name in ("1.webp", "20.webp", "notes.txt", "x.webp"):
        (thumbnails / name).write_bytes(b"t")
    (thumbnails / "3.webp").mkdir()  # lexists sees a folder too
    listed = Thumbnails.list(thumbnails, outputs)
    assert listed.folders == {str(thumbnails), "thumbnails"} and list(listed.ids) == [1, 3, 20]
    present = IdSet()
    present.add_all([1, 3, 20, 21])
    assert not listed.may_hold_orphans(present, None)
    gone = IdSet()
    gone.add(20)
    assert listed.may_hold_orphans(present, gone)  # 20.webp goes with its row
    present_without_3 = IdSet()
    present_without_3.add_all([1, 20])
    assert listed.may_hold_orphans(present_without_3, None)
    for other in ("007.webp", "legacy-" + "a" * 64 + ".jpg"):
        (thumbnails / other).write_bytes(b"t")
        assert Thumbnails.list(thumbnails, outputs).may_hold_orphans(present, None), other
        (thumbnails / other).unlink()
    assert Thumbnails.list(thumbnails, tmp_path / "elsewhere").folders == {str(thumbnails)}
    assert Thumbnails.list(tmp_path / "none", outputs).ids.isdisjoint(present)
