"""LBP sharpness (Yi & Eramian 2016): hand-worked codes, a scikit-image reference, the full pipeline."""

from __future__ import annotations

import sys
import tracemalloc
from itertools import product

import cv2
import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from dbdbench.baselines.imageops import as_rgb as as_rgb_uint8
from dbdbench.baselines.lbp import lbp_codes, lbp_matting, lbp_sharpness, sharp_fraction
from dbdbench.baselines.potts import potts_marginals
from dbdbench.baselines.registry import get_method
from dbdbench.errors import DbdError

T = 0.016 * 255  # 4.08 grey levels


def centre_code(patch: list[list[int]]) -> int:
    """Code of the centre pixel of a 3 x 3 patch."""
    return int(lbp_codes(np.array(patch, np.uint8), T)[1, 1])


# Hand-worked: diagonal neighbours are bilinear at (+-d, +-d), d = sqrt(2)/2, weights
# (1-d)^2 = 0.0858 (centre), d(1-d) = 0.2071 (each axial neighbour), d^2 = 0.5 (corner); then floored.
@pytest.mark.parametrize(
    ("patch", "code"),
    [
        # flat: no bit set -> uniform, 0 set bits
        ([[100, 100, 100], [100, 100, 100], [100, 100, 100]], 0),
        # right = 110: right bit (10 > 4.08); up-right diag = 8.58 + 22.78 + 20.71 + 50 = 102.07 -> 102,
        # 2 < 4.08: not set -> code 1
        ([[100, 100, 100], [100, 100, 110], [100, 100, 100]], 1),
        # threshold: right = 104 -> 4 > 4.08 is false -> 0; right = 105 -> 5 > 4.08 -> 1
        ([[100, 100, 100], [100, 100, 104], [100, 100, 100]], 0),
        ([[100, 100, 100], [100, 100, 105], [100, 100, 100]], 1),
        # corner only: diag = 100 + 0.5 (corner - 100). Corner 110 -> 105 -> set; corner 109 -> 104.5,
        # floored to 104 -> 4 is not > 4.08 (without the floor it would be set)
        ([[100, 100, 110], [100, 100, 100], [100, 100, 100]], 1),
        ([[100, 100, 109], [100, 100, 100], [100, 100, 100]], 0),
        # right and left = 120: both set; every diagonal = 8.58 + 24.85 + 20.71 + 50 = 104.14 -> 104,
        # not set; bits 1000 1000 around the circle: 4 transitions -> non-uniform -> 9
        ([[100, 100, 100], [120, 100, 120], [100, 100, 100]], 9),
        # top row, left, right = 200: up, left, right set; up diagonals = 8.58 + 41.42 + 41.42 + 100
        # = 191.4 -> set; down diagonals = 8.58 + 41.42 + 20.71 + 50 = 120.7 -> set; only "down" unset:
        # 7 set bits, 2 transitions -> uniform -> 7
        ([[200, 200, 200], [200, 100, 200], [100, 100, 100]], 7),
        # centre brighter than all neighbours: no bit -> 0
        ([[10, 10, 10], [10, 200, 10], [10, 10, 10]], 0),
        # centre darker than all: all 8 set -> 8
        ([[200, 200, 200], [200, 10, 200], [200, 200, 200]], 8),
        # up and down set (vertical line): 2 runs -> 4 transitions -> 9
        ([[100, 130, 100], [100, 100, 100], [100, 130, 100]], 9),
    ],
)
def test_hand_worked_codes(patch, code):
    assert centre_code(patch) == code


def test_uniform_histogram_matches_scikit_image():
    # skimage's 'uniform' LBP sets a bit when g_p >= g_c on the unfloored bilinear sample; for integer
    # grey levels that equals our floor(g_p) - g_c > T for any T in (-1, 0). Borders differ (skimage
    # samples zeros outside the image, we replicate), so the comparison is on the interior.
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (120, 160), dtype=np.uint8)
    ours = lbp_codes(grey, -0.5)[1:-1, 1:-1]
    ref = local_binary_pattern(grey, 8, 1, method="uniform")[1:-1, 1:-1].astype(int)
    np.testing.assert_array_equal(
        np.bincount(ours.ravel(), minlength=10), np.bincount(ref.ravel(), minlength=10)
    )
    assert (ours == ref).mean() == 1.0


def test_sharp_fraction_by_hand():
    codes = np.zeros((7, 7), np.uint8)
    codes[3, 3] = 7  # counts (6..9)
    codes[0, 0] = 5  # does not count
    frac = sharp_fraction(codes, 3)
    expected = np.zeros((7, 7), np.float32)
    expected[2:5, 2:5] = 1.0  # 1/9 in the 3 x 3 windows containing (3, 3), normalised by its max
    np.testing.assert_allclose(frac, expected)


def test_window_larger_than_image_is_clipped(check_map):
    img = np.random.default_rng(1).integers(0, 256, (12, 15, 3), dtype=np.uint8)
    m = lbp_sharpness(img, s=21)
    check_map(m, (12, 15))
    np.testing.assert_array_equal(m, lbp_sharpness(img, s=11))  # both clip to 11


def test_metric_polarity_synthetic(half_blurred, sharp_gap, check_map):
    m = lbp_sharpness(half_blurred)
    check_map(m, half_blurred.shape[:2])
    assert sharp_gap(m) > 0.3


@pytest.mark.parametrize("stem", ["out_of_focus0011", "out_of_focus0223"])
def test_metric_polarity_real(cuhk_photo, check_map, stem):
    img, gt = cuhk_photo(stem)
    m = lbp_sharpness(img)
    check_map(m, gt.shape)
    assert m[gt > 0.5].mean() > m[gt < 0.5].mean() + 0.2


def test_float_photos_are_converted(half_blurred):
    np.testing.assert_array_equal(as_rgb_uint8(half_blurred.astype(np.float32) / 255), half_blurred)


def test_bad_inputs():
    with pytest.raises(DbdError, match="too small"):
        lbp_sharpness(np.zeros((5, 40, 3), np.uint8))
    with pytest.raises(DbdError, match="not an image"):
        lbp_sharpness(np.zeros((20, 20, 2), np.uint8))
    with pytest.raises(DbdError, match=r"blur_seed \(0.5\) must not exceed sharp_seed \(0.3\)"):
        lbp_matting(np.zeros((20, 20, 3), np.uint8), blur_seed=0.5)


def test_large_photo_memory_is_bounded():
    # 3000 x 4000 grey photo: codes are computed in strips; numpy's peak stays near the size of a few
    # full-size maps (uint8 codes, float32 fractions) instead of ~20 float64 maps (about 2 GB)
    img = np.random.default_rng(2).integers(0, 256, (3000, 4000), dtype=np.uint8)
    tracemalloc.start()
    m = lbp_sharpness(img)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert m.shape == (3000, 4000)
    assert peak < 40 * img.size, f"peak {peak / 1e6:.0f} MB"


def test_registered():
    assert get_method("lbp").func is lbp_sharpness
    assert get_method("lbp-matting").params["alpha"] == 0.5


# ---------------------------------------------------------------- multiscale Potts inference


def _brute_force(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exact P(sharp) by enumerating every labelling of a small layered grid."""
    n_s, h, w = x.shape
    nodes = [(s, i, j) for s in range(n_s) for i in range(h) for j in range(w)]
    edges = [((s, i, j), (s, i, j + 1)) for s, i, j in nodes if j + 1 < w]
    edges += [((s, i, j), (s, i + 1, j)) for s, i, j in nodes if i + 1 < h]
    edges += [((s, i, j), (s + 1, i, j)) for s, i, j in nodes if s + 1 < n_s]
    num = np.zeros(x.shape)
    z = 0.0
    for labels in product((0, 1), repeat=len(nodes)):
        lab = dict(zip(nodes, labels, strict=True))
        energy = sum(abs(lab[n] - x[n]) for n in nodes) + alpha * sum(lab[a] != lab[b] for a, b in edges)
        p = np.exp(-energy)
        z += p
        for n in nodes:
            num[n] += p * lab[n]
    return num / z


@pytest.mark.parametrize("shape", [(1, 1, 7), (3, 1, 1), (1, 6, 1)])
def test_potts_exact_on_trees(shape):
    # belief propagation is exact on trees (a row, a column, a chain across scales)
    x = np.random.default_rng(4).uniform(0, 1, shape)
    ours = potts_marginals(x, alpha=0.5, standardise=False, tol=1e-10, max_iter=500)
    np.testing.assert_allclose(ours, _brute_force(x, 0.5), atol=1e-5)


def test_potts_loopy_close_to_exact():
    # on a loopy 3 x 2 x 2 grid BP is approximate; for weak coupling it is close
    x = np.random.default_rng(5).uniform(0, 1, (3, 2, 2))
    ours = potts_marginals(x, alpha=0.5, standardise=False, tol=1e-10, max_iter=500)
    np.testing.assert_allclose(ours, _brute_force(x, 0.5), atol=0.03)


# ---------------------------------------------------------------- full pipeline


def test_matting_pipeline_synthetic(half_blurred, sharp_gap, check_map):
    m = lbp_matting(half_blurred)
    check_map(m, half_blurred.shape[:2])
    assert sharp_gap(m) > 0.5


def test_matting_pipeline_real(cuhk_photo, check_map):
    img, gt = cuhk_photo("out_of_focus0223")
    m = lbp_matting(img, max_side=200)
    check_map(m, gt.shape)
    assert m[gt > 0.5].mean() > m[gt < 0.5].mean() + 0.3


def test_matting_pipeline_large_photo_runs_at_working_size():
    # 2048 x 1536 noise, right half blurred (sigma 3): matting and inference run at 128 px
    big = np.random.default_rng(6).integers(0, 256, (1536, 2048, 3), dtype=np.uint8)
    big[:, 1024:] = cv2.GaussianBlur(big, (0, 0), 3)[:, 1024:]
    m = lbp_matting(big, max_side=128)
    assert m.shape == (1536, 2048) and m.dtype == np.float32
    assert m[:, :896].mean() > m[:, 1152:].mean() + 0.3


def test_matting_without_pymatting_is_a_clear_error(monkeypatch, half_blurred):
    monkeypatch.setitem(sys.modules, "pymatting", None)  # import now fails
    with pytest.raises(DbdError, match=r"lbp-matting needs pymatting: pip install 'dbdbench\[matting\]'"):
        lbp_matting(half_blurred)
