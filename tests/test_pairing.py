"""Listing folders and pairing by stem."""

from __future__ import annotations

import pytest

from dbdbench.errors import DbdError
from dbdbench.pairing import list_images, pair_by_stem


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")
    return folder


def test_list_images_by_stem_any_extension(tmp_path):
    d = touch(tmp_path / "d", "b.PNG", "a.jpg", "notes.txt", ".hidden.png", "c.JPG")
    assert list(list_images(d)) == ["a", "b", "c"]


def test_duplicate_stems_error(tmp_path):
    d = touch(tmp_path / "d", "a.png", "a.jpg")
    with pytest.raises(DbdError, match="duplicate stems .*a.jpg, a.png"):
        list_images(d)


def test_missing_folder(tmp_path):
    with pytest.raises(DbdError, match="does not exist"):
        list_images(tmp_path / "nope", what="--pred folder")


def test_pair_with_suffix_and_missing(tmp_path):
    pred = list_images(touch(tmp_path / "p", "x1_Map.png", "x2_Map.png"))
    gt = list_images(touch(tmp_path / "g", "x1.png", "x2.png", "x3.png"))
    with pytest.raises(DbdError, match="1 ground-truth masks have no matching predictions: x3"):
        pair_by_stem(pred, gt, suffix="_Map")
    res = pair_by_stem(pred, gt, suffix="_Map", allow_missing=True)
    assert [p[0] for p in res.pairs] == ["x1", "x2"] and res.missing == ["x3"]


def test_extra_predictions_error_lists_names_and_count(tmp_path):
    pred = list_images(touch(tmp_path / "p", *[f"e{i}.png" for i in range(7)], "x1.png"))
    gt = list_images(touch(tmp_path / "g", "x1.png"))
    with pytest.raises(
        DbdError, match=r"7 predictions have no matching .*e0, e1, e2, e3, e4, \.\.\. \(7 in all\)"
    ):
        pair_by_stem(pred, gt)


def test_affix_collision(tmp_path):
    pred = list_images(touch(tmp_path / "p", "x1_Map.png", "x1.jpg"))
    gt = list_images(touch(tmp_path / "g", "x1.png"))
    with pytest.raises(DbdError, match="both map to 'x1'"):
        pair_by_stem(pred, gt, suffix="_Map")
