"""Real data: the 1000 CUHK masks as distributed, the CUHK-TE-1 split, the DENets 320x320 samples."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.datasets import load_dataset, resolve, te1_names
from dbdbench.datasets.verify import verify
from dbdbench.imageio import read_grey

RGBA_MASKS = {"motion0014", "motion0233"} | {
    f"out_of_focus{i:04d}" for i in (56, 144, 305, 425, 441, 447, 464, 489, 490, 491, 502, 535, 547, 553)
}  # the 16 files Pillow opens as RGBA (equal colour channels, opaque)


@pytest.fixture(scope="module")
def cuhk_masks(real_data):
    """All 1000 CUHK masks loaded once: name -> float32 in-focus mask."""
    masks = {}
    for name in ("cuhk", "cuhk-motion"):
        for s in load_dataset(name, real_data / "cuhk"):
            masks[s.name] = s.mask
    return masks


def test_all_1000_cuhk_masks_load_inverted(real_data, cuhk_masks):
    assert len(cuhk_masks) == 1000
    assert sum(n.startswith("out_of_focus") for n in cuhk_masks) == 704
    gt = real_data / "cuhk" / "gt"
    for name, mask in cuhk_masks.items():
        raw = read_grey(gt / f"{name}.png")
        assert mask.dtype == np.float32 and mask.shape == raw.shape
        # distributed white = blurred; dbdbench hands out white = in-focus
        np.testing.assert_array_equal(mask, 1 - raw.astype(np.float32) / 255, err_msg=name)


def test_rgba_cuhk_masks_read_like_the_others(real_data, cuhk_masks):
    from PIL import Image

    gt = real_data / "cuhk" / "gt"
    for name in RGBA_MASKS:
        with Image.open(gt / f"{name}.png") as im:
            assert im.mode == "RGBA"
            red = np.asarray(im)[..., 0]
        np.testing.assert_array_equal(cuhk_masks[name], 1 - red.astype(np.float32) / 255)
        assert set(np.unique(cuhk_masks[name])) <= {0.0, 1.0}


def test_te1_resolves_100_names_with_upper_case_photos(real_data):
    ix = resolve("cuhk", real_data / "cuhk", "te1")
    listed = [line.split()[1] for line in (real_data / "cuhk/splits/cuhk-te-1.txt").read_text().splitlines()]
    assert sorted(s.name for s in ix.samples) == sorted(n.rsplit(".", 1)[0] for n in listed)
    assert len(ix) == 100 and ix.citation.startswith("J. Shi")
    # the shared folder has 9 photos; the te1 ones found must include none spurious
    photos = {s.name: s.image_path.name for s in ix.samples if s.image_path is not None}
    on_disk = {p.stem: p.name for p in (real_data / "cuhk/image").iterdir()}
    assert photos == {k: v for k, v in on_disk.items() if k in photos} and photos
    upper = {n for n in listed if n.endswith(".JPG")}
    assert upper == {f"out_of_focus{i:04d}.JPG" for i in (26, 27, 28, 99, 103)}
    tr1 = resolve("cuhk", real_data / "cuhk", "tr1")
    assert len(tr1) == 604 and not {s.name for s in tr1.samples} & {s.name for s in ix.samples}
    both = resolve("cuhk", real_data / "cuhk", "all")
    assert photos_of(both)["out_of_focus0080"].endswith(".JPG")


def photos_of(ix):
    return {s.name: s.image_path.name for s in ix.samples if s.image_path is not None}


def test_gt_only_copy_resolves_and_verifies_clean(real_data, tmp_path):
    (tmp_path / "gt").symlink_to(real_data / "cuhk" / "gt")
    ix = resolve("cuhk", tmp_path, "te1")
    assert len(ix) == 100 and all(s.image_path is None for s in ix.samples)
    res = CliRunner().invoke(main, ["datasets", "verify", "cuhk", "--root", str(tmp_path), "--split", "te1"])
    assert res.exit_code == 0, res.output
    assert "100 masks, as expected" in res.output and "polarity plausible" in res.output


def test_verify_flags_inverted_polarity_on_real_masks(real_data, tmp_path, cuhk_masks):
    """CUHK's te1 masks read as if white were in focus (the 'folder' convention) look inverted."""
    te1 = [s.name for s in resolve("cuhk", real_data / "cuhk", "te1").samples]
    (tmp_path / "gt").mkdir()
    for n in te1:
        (tmp_path / "gt" / f"{n}.png").symlink_to(real_data / "cuhk" / "gt" / f"{n}.png")
    rep = verify("folder", tmp_path)
    assert not rep.ok and any("look inverted" in p for p in rep.problems)
    right = verify("cuhk", tmp_path, "te1")
    assert right.ok, right.render()
    np.testing.assert_allclose(
        np.sort(right.fractions), np.sort([cuhk_masks[n].mean() for n in te1]), rtol=1e-6
    )
    # in-focus share of all 1000 masks, measured once: median 0.322
    assert np.median([m.mean() for m in cuhk_masks.values()]) == pytest.approx(0.322, abs=0.001)


@pytest.mark.parametrize("name", ["xu100", "dut500"])
def test_denets_samples_load(real_data, name):
    root = real_data / "denets-samples" / name
    samples = list(load_dataset(name, root))
    if name == "xu100":  # README of the shared data: xu100 1..5 = out_of_focus0037, 0117, 0126, 0127, 0132
        assert te1_names()[:5] == [f"out_of_focus{i:04d}" for i in (37, 117, 126, 127, 132)]
    assert [s.name for s in samples] == ["1", "2", "3", "4", "5"]
    for s in samples:
        assert s.mask.shape == (320, 320) and s.image.shape == (320, 320, 3)
        raw = read_grey(s.gt_path).astype(np.float32) / 255
        np.testing.assert_array_equal(s.mask, raw)  # already white = in-focus
    rep = verify(name, root)
    # only 5 of 100/500: the count is reported as a problem, everything else passes
    assert rep.problems == [p for p in rep.problems if "expected" in p] and len(rep.problems) == 1
    # 5 masks are too few for the statistical polarity check (20 needed): it says so
    assert any("polarity not checked: 5 masks" in f.message for f in rep.findings)
