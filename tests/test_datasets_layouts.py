"""Every layout of docs/datasets.md, built as tiny fixtures, is recognised with the right polarity."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dbdbench.datasets import list_specs, load_dataset, resolve
from dbdbench.errors import DbdError
from dbdbench.imageio import write_image

H, W = 24, 32


def focus_mask() -> np.ndarray:
    """In-focus = a central box (what photos of a focused subject look like), uint8 0/255."""
    m = np.zeros((H, W), np.uint8)
    m[6:18, 8:24] = 255
    return m


def make_layout(
    root: Path,
    image_dir: str,
    gt_dir: str,
    names,
    *,
    polarity: str = "focus-white",
    image_ext: str = ".jpg",
    gt_ext: str = ".png",
    photos: bool = True,
    rgba: bool = False,
) -> Path:
    """Write one photo and one mask per name; masks stored with ``polarity``."""
    mask = focus_mask()
    stored = 255 - mask if polarity == "blurred-white" else mask
    for i, n in enumerate(names):
        ext = image_ext[i] if isinstance(image_ext, tuple) else image_ext
        if photos:
            img = np.full((H, W, 3), 40 * (i % 6), np.uint8)
            write_image(root / image_dir / f"{n}{ext}", img)
        if rgba:
            from PIL import Image

            (root / gt_dir).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.dstack([stored] * 3 + [np.full_like(stored, 255)]), "RGBA").save(
                root / gt_dir / f"{n}{gt_ext}"
            )
        else:
            write_image(root / gt_dir / f"{n}{gt_ext}", stored)
    return root


def example_names(pattern: str | None, count: int, avoid=()) -> list[str]:
    """``count`` distinct names that fully match a spec's name pattern, none of them in ``avoid``.

    Name ``k`` takes alternative ``k`` of each ``(a|b)`` and digit ``k % 10`` for each ``\\d``; the
    patterns in use are literal text, digits, fixed or open repeats and alternatives. A new kind of
    pattern fails here, saying what to extend.
    """
    import re._parser as sre  # the parser of the re module (its tree of a pattern)

    def build(tree, k: int) -> str:
        out = []
        for op, arg in tree:
            if op is sre.LITERAL:
                out.append(chr(arg))
            elif op is sre.IN and arg == [(sre.CATEGORY, sre.CATEGORY_DIGIT)]:
                out.append(str(k % 10))
            elif op is sre.MAX_REPEAT:
                low, _, sub = arg
                out.append(build(sub, k) * max(low, 1))
            elif op is sre.SUBPATTERN:
                out.append(build(arg[-1], k))
            elif op is sre.BRANCH:
                out.append(build(arg[1][k % len(arg[1])], k))
            else:
                raise NotImplementedError(f"example_names: extend it for {op} in {pattern!r}")
        return "".join(out)

    names, k = [], 0
    while len(names) < count:
        name = f"s{k}" if pattern is None else build(sre.parse(pattern), k)
        assert pattern is None or re.fullmatch(pattern, name), (pattern, name)
        if name not in avoid and name not in names:
            names.append(name)
        k += 1
    return names


def _registry_layouts():
    for spec in list_specs():
        for split in spec.splits.values():
            for layout in split.layouts:
                yield pytest.param(spec, split, layout, id=f"{spec.name}-{split.name}-{layout.describe()}")


@pytest.mark.parametrize(("spec", "split", "layout"), list(_registry_layouts()))
def test_every_registered_layout_resolves_with_polarity_normalised(tmp_path, spec, split, layout):
    """Each layout of each split of each registered dataset, as a tiny fixture: found, listed in
    order, counted as the registry says, masks read back with 1 = in-focus whatever the disk holds."""
    from dbdbench.datasets.index import _read_names

    if split.names_file:
        names = _read_names(split.names_file)
    else:
        avoid = set(_read_names(split.exclude_file)) if split.exclude_file else ()
        names = example_names(spec.pattern, 2, avoid)
    side_by_side = layout.image_dir == layout.gt_dir
    assert not side_by_side or (layout.image_exts and layout.gt_exts), "side by side needs extensions"
    make_layout(
        tmp_path,
        layout.image_dir,
        layout.gt_dir,
        names,
        polarity=spec.polarity,
        image_ext=layout.image_exts[0] if layout.image_exts else ".jpg",
        gt_ext=layout.gt_exts[0] if layout.gt_exts else ".png",
    )
    if spec.manifest:
        (tmp_path / spec.manifest).write_text("name\n" + "".join(f"{n}\n" for n in names))
    ix = resolve(spec.name, tmp_path, split.name)
    assert [s.name for s in ix.samples] == sorted(names)
    assert ix.split == split.name and ix.gt_polarity == spec.polarity and ix.layout == layout
    assert ix.expected_count == (len(names) if spec.manifest else split.count)
    assert all(s.image_path is not None and s.image_path.exists() for s in ix.samples)
    assert ix.other_files == [] and ix.orphan_images == [] and ix.foreign_names == []
    expected = focus_mask().astype(np.float32) / 255
    for loaded in load_dataset(ix):
        assert loaded.mask.dtype == np.float32
        np.testing.assert_array_equal(loaded.mask, expected)  # 1 = in-focus whatever the disk says
        assert loaded.image.shape == (H, W, 3)


def test_folder_names_are_matched_case_insensitively(tmp_path):
    make_layout(tmp_path, "dut500s-testing", "dut500gt-testing", ["1"])
    ix = resolve("dut", tmp_path, "test")
    assert ix.gt_dir.name == "dut500gt-testing" and len(ix) == 1


def test_cuhk_splits_upper_case_jpg_rgba_and_motion(tmp_path):
    from dbdbench.datasets.index import _read_names

    te1 = _read_names("cuhk-te-1.txt")
    assert len(te1) == 100 and len(set(te1)) == 100
    others = [f"out_of_focus{i:04d}" for i in range(1, 705) if f"out_of_focus{i:04d}" not in te1][:3]
    names = te1 + others + ["motion0001"]
    exts = tuple(".JPG" if n in ("out_of_focus0026", "out_of_focus0103") else ".jpg" for n in names)
    make_layout(tmp_path, "image", "gt", names, polarity="blurred-white", image_ext=exts)
    make_layout(
        tmp_path, "image", "gt", ["out_of_focus0099"], polarity="blurred-white", photos=False, rgba=True
    )
    ix = resolve("cuhk", tmp_path, "te1")
    assert len(ix) == 100 and ix.expected_count == 100
    by_name = {s.name: s for s in ix.samples}
    assert by_name["out_of_focus0026"].image_path.name == "out_of_focus0026.JPG"
    assert by_name["out_of_focus0099"].image_path.name == "out_of_focus0099.jpg"
    np.testing.assert_array_equal(by_name["out_of_focus0099"].read_mask(), focus_mask() / np.float32(255))
    tr1 = resolve("cuhk", tmp_path, "tr1")
    assert [s.name for s in tr1.samples] == sorted(others)  # complement of te1, no motion images
    assert [s.name for s in resolve("cuhk-motion", tmp_path).samples] == ["motion0001"]


def test_gt_only_folder_resolves_with_no_image_paths(tmp_path):
    make_layout(tmp_path, "image", "gt", ["out_of_focus0003", "out_of_focus0004"], photos=False)
    ix = resolve("cuhk", tmp_path)
    assert ix.image_dir is None and [s.image_path for s in ix.samples] == [None, None]
    sample = next(load_dataset(ix))
    assert sample.mask.shape == (H, W)
    with pytest.raises(DbdError, match="no photo"):
        _ = sample.image


def test_ebd_partial_split_drops_fully_sharp_images(tmp_path):
    make_layout(tmp_path, "image", "gt", ["p1", "p2"])
    write_image(tmp_path / "image" / "s1.jpg", np.zeros((H, W, 3), np.uint8))
    write_image(tmp_path / "gt" / "s1.png", np.full((H, W), 255, np.uint8))
    assert len(resolve("ebd", tmp_path, "all")) == 3
    assert [s.name for s in resolve("ebd", tmp_path, "partial").samples] == ["p1", "p2"]


def test_sim_expected_count_comes_from_manifest(tmp_path):
    make_layout(tmp_path, "image", "gt", ["000000", "000001"], image_ext=".png")
    (tmp_path / "manifest.csv").write_text("name,sigma\n000000,1.0\n000001,2.0\n000002,3.0\n")
    assert resolve("sim", tmp_path).expected_count == 3


def test_registry_entries_are_complete():
    specs = {s.name: s for s in list_specs()}
    assert {
        "cuhk",
        "cuhk-motion",
        "xu100",
        "dut",
        "dut500",
        "ctcug",
        "ebd",
        "defbd+",
        "sim",
        "folder",
    } <= set(specs)
    assert {k: v.count for k, v in specs["cuhk"].splits.items()} == {"all": 704, "te1": 100, "tr1": 604}
    assert {k: v.count for k, v in specs["dut"].splits.items()} == {"test": 500, "train": 600}
    assert {k: v.count for k, v in specs["ebd"].splits.items()} == {"all": 1605, "partial": 1305}
    assert set(specs["defbd+"].splits) == {"train", "cuhk+", "dut+"}
    assert specs["cuhk"].polarity == "blurred-white" and specs["ctcug"].polarity == "blurred-white"
    assert specs["dut"].polarity == "focus-white"
    assert all(s.citation for s in specs.values())


# ---- bad input: clear DbdError messages that say what is missing and where ----


def test_root_does_not_exist(tmp_path):
    with pytest.raises(DbdError, match="does not exist"):
        resolve("cuhk", tmp_path / "nope")


def test_unknown_dataset_and_split(tmp_path):
    with pytest.raises(DbdError, match="unknown dataset 'cuhkk'.*cuhk"):
        resolve("cuhkk", tmp_path)
    with pytest.raises(DbdError, match="no split 'te2'.*all, te1, tr1"):
        resolve("cuhk", tmp_path, "te2")


def test_missing_layout_lists_what_was_looked_for(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(
        DbdError, match=r"DUT500S-Testing/ \+ DUT500GT-Testing/.*image/ \+ gt/.*holds: photos"
    ):
        resolve("dut", tmp_path, "test")


def test_root_pointing_at_the_mask_folder_says_give_parent(tmp_path):
    make_layout(tmp_path, "image", "gt", ["1"])
    with pytest.raises(DbdError, match="give its parent as --root"):
        resolve("dut500", tmp_path / "gt")


def test_wrong_dataset_for_folder_names_the_likely_one(tmp_path):
    make_layout(tmp_path, "image", "gt", ["out_of_focus0001", "out_of_focus0002"])
    with pytest.raises(DbdError, match="split is empty.*look like dataset 'cuhk'"):
        resolve("xu100", tmp_path)


def test_empty_mask_folder(tmp_path):
    (tmp_path / "gt").mkdir()
    with pytest.raises(DbdError, match="split is empty.*no masks"):
        resolve("folder", tmp_path)


def test_te1_with_missing_masks_names_them(tmp_path):
    make_layout(tmp_path, "image", "gt", ["out_of_focus0037"], polarity="blurred-white")
    with pytest.raises(
        DbdError, match=r"99 of the 100 cuhk 'te1' masks are missing from .*gt.*out_of_focus0117"
    ):
        resolve("cuhk", tmp_path, "te1")


def test_side_by_side_layout_reports_other_files(tmp_path):
    make_layout(tmp_path, "Imgs", "Imgs", ["a1", "a2"], polarity="blurred-white")
    write_image(tmp_path / "Imgs" / "a3.bmp", focus_mask())
    (tmp_path / "Imgs" / "list.txt").write_text("a1\n")
    ix = resolve("ctcug", tmp_path)
    assert [s.name for s in ix.samples] == ["a1", "a2"] and ix.image_dir == ix.gt_dir
    assert sorted(p.name for p in ix.other_files) == ["a3.bmp", "list.txt"]
