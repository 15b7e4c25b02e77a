"""Building blocks of the btbnet recipe: compositing (halo or not), mask families, sources."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from dbdbench.generators.btbnet import composite
from dbdbench.generators.masks import FAMILIES, draw_region, superpixels
from dbdbench.generators.sources import dead_leaves, sharpness


def _square_scene():
    img = np.full((64, 64, 3), 40, np.uint8)
    img[20:44, 20:44] = 220
    m = np.zeros((64, 64), np.float32)
    m[20:44, 20:44] = 1  # the bright square is in focus
    return img, m


def test_normalized_compositing_has_no_halo():
    img, m = _square_scene()
    out = composite(img, m, 3.0, method="normalized")
    np.testing.assert_array_equal(out[m == 1], img[m == 1])  # in-focus pixels untouched
    np.testing.assert_array_equal(out[m == 0], 40)  # no bright light leaks into the blurred side


def test_naive_compositing_halos_like_a_gaussian():
    img, m = _square_scene()
    out = composite(img, m, 3.0, method="naive")
    np.testing.assert_array_equal(out[m == 1], img[m == 1])
    # next to the square the blurred side equals scipy's Gaussian of the whole image: a bright halo
    ref = ndimage.gaussian_filter(img[..., 0].astype(np.float64), 3.0, mode="mirror", truncate=3.0)
    np.testing.assert_allclose(out[m == 0, 0], np.rint(ref[m == 0]), atol=1)
    assert out[32, 19, 0] > 100 and out[32, 18, 0] > 60 and out[32, 5, 0] == 40


SHAPES = {f.name: f.draw for f in FAMILIES.entries() if not f.inputs}


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_shape_families_are_binary_and_seeded(family):
    a = SHAPES[family](np.random.default_rng(5), 80)
    b = SHAPES[family](np.random.default_rng(5), 80)
    assert a.dtype == np.float32 and a.shape == (80, 80)
    assert set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    fractions = [SHAPES[family](np.random.default_rng(s), 80).mean() for s in range(20)]
    assert 0.05 < np.median(fractions) < 0.95  # not degenerate on average


def test_superpixels_region_is_seeded_and_sized():
    img = dead_leaves(np.random.default_rng(0), 96)
    for seed in range(5):
        m = superpixels(np.random.default_rng(seed), 96, img)
        np.testing.assert_array_equal(m, superpixels(np.random.default_rng(seed), 96, img))
        assert set(np.unique(m)) == {0.0, 1.0}
        # the union of the superpixels nearest the drawn point: 20-70% of the area, plus at most one more
        assert 0.15 < m.mean() < 0.85
        assert ndimage.label(m)[1] <= 3  # a compact region, not scattered cells


def test_superpixel_labels_stop_at_colour_edges():
    """On a photo made of flat colour regions every superpixel lies inside one region, but for a
    pixel of the watershed lines here and there: the lines fall on the colour edges (a label
    straddling an edge would mix two colours)."""
    from dbdbench.generators.masks import superpixel_labels

    rng = np.random.default_rng(2)
    truth = np.zeros((90, 110), np.int32)
    truth[:, 47:] = 1
    truth[30:70, 20:80] = 2  # a rectangle across the first edge
    truth[(np.indices(truth.shape).sum(axis=0) > 150)] = 3  # and a diagonal edge
    colours = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    img = colours[truth]
    labels = superpixel_labels(img)
    assert labels.shape == truth.shape and labels.min() == 0 and labels.max() < 100
    assert len(np.unique(labels)) > 80  # nearly every seed keeps a region
    majority = 0
    for lab in np.unique(labels):
        counts = np.bincount(truth[labels == lab], minlength=4)
        assert counts.max() >= 0.95 * counts.sum(), (lab, counts)  # a watershed-line pixel may stray
        majority += counts.max()
    assert majority >= 0.998 * truth.size
    np.testing.assert_array_equal(labels, superpixel_labels(img))  # deterministic


def test_draw_region_weights_and_user_masks(tmp_path):
    from dbdbench.imageio import write_image

    disk = np.zeros((40, 40), np.uint8)
    disk[10:30, 10:30] = 255
    write_image(tmp_path / "m.png", disk)
    img = dead_leaves(np.random.default_rng(0), 64)
    m, kind = draw_region(
        np.random.default_rng(1), 64, {"user": 1.0, "band": 0.0}, img, (str(tmp_path / "m.png"),)
    )
    assert kind == "user:m.png" and 0.1 < m.mean() < 0.7
    _, kind = draw_region(np.random.default_rng(1), 64, {"user": 1.0, "band": 1.0}, img, ())
    assert kind == "band"  # without --masks the user family is not drawn


def test_dead_leaves_is_sharp_and_sharpness_screen_ranks_blur():
    import cv2

    tex = dead_leaves(np.random.default_rng(3), 128)
    assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
    s = sharpness(tex)
    assert s > 0.01 and sharpness(cv2.GaussianBlur(tex, (0, 0), 2)) < s / 5
