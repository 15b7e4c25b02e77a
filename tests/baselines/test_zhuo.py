"""Zhuo & Sim defocus map: blur of analytic step edges, Canny semantics, propagation, the detector."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.special import ndtr

from dbdbench.baselines import matting
from dbdbench.baselines.registry import get_method
from dbdbench.baselines.zhuo import canny_matlab, edge_blur, zhuo_sim
from dbdbench.errors import DbdError


def step_edge(sigma: float, width: int = 100) -> np.ndarray:
    """(40, width) vertical step edge 0.2 -> 0.8 at x = 50, blurred analytically by a Gaussian of sigma."""
    x = np.arange(width, dtype=np.float64)
    return np.tile(0.2 + 0.6 * ndtr((x - 50) / sigma), (40, 1))


@pytest.mark.parametrize("sigma", [0.8, 1.0, 1.5, 2.0, 2.5])
def test_step_edge_blur_is_recovered(sigma):
    # Hand-worked: re-blurs of 1 and 1.5 give edge gradients A / sqrt(2 pi (sigma^2 + s_k^2)), e.g. for
    # sigma = 2: R^2 = (4 + 2.25) / (4 + 1) = 1.25 and sqrt((1.25 * 1 - 2.25) / (1 - 1.25)) = 2.
    img = step_edge(sigma)
    edges = canny_matlab(img)
    cols = np.nonzero(edges[20])[0]
    assert list(cols) == [50]
    est, valid = edge_blur(img, edges, max_blur=10.0)
    assert valid[20, 50]
    assert est[20, 50] == pytest.approx(sigma, rel=0.1)


def test_blur_formula_limits():
    # sharp edge (sigma -> 0): R -> 1.5 = sigma2 / sigma1; estimates are clipped at max_blur
    est, valid = edge_blur(step_edge(6.0), canny_matlab(step_edge(6.0)), max_blur=3.0)
    assert valid.any() and est[valid].max() == pytest.approx(3.0)
    sharp = np.tile(np.r_[np.full(50, 0.2), np.full(50, 0.8)], (40, 1))
    est, valid = edge_blur(sharp, canny_matlab(sharp), max_blur=3.0)
    assert valid.any() and est[valid].max() < 0.6
    # R > sigma2 / sigma1 (sharper than the model) is left out (the authors' code), or counts as
    # sigma = 0 on request
    noise = np.random.default_rng(5).uniform(0, 1, (40, 40))
    edges = canny_matlab(noise)
    kept, valid_kept = edge_blur(noise, edges, include_sharp=True)
    _, valid_strict = edge_blur(noise, edges)
    assert valid_strict.sum() < valid_kept.sum()
    assert (kept[valid_kept & ~valid_strict] == 0).all()


def test_canny_threshold_is_relative_to_the_maximum_gradient():
    # MATLAB edge(I, 'canny', 0.1, 1) normalises the gradient by its maximum: scaling the image
    # contrast must not change the edges (skimage's absolute thresholds alone would)
    rng = np.random.default_rng(0)
    img = np.clip(step_edge(1.0) + rng.normal(0, 0.01, (40, 100)), 0, 1)
    img[:, 20] += 0.05  # a weak line, 1/12 of the main step: below 0.1 of the maximum
    np.testing.assert_array_equal(canny_matlab(img), canny_matlab(0.25 * img))
    assert not canny_matlab(img)[:, 18:23].any()


def test_propagation_constants_and_data_weight():
    rgb = np.random.default_rng(1).uniform(0, 1, (20, 24, 3))
    known = np.zeros((20, 24), bool)
    known[::5, ::6] = True
    x = matting.propagate("zhuo", rgb, known, np.full((20, 24), 2.0), 0.001)
    np.testing.assert_allclose(x, 2.0, atol=1e-3)  # L 1 = 0: a constant is the exact solution
    # a large data weight pins the known pixels to their values
    vals = rgb[:, :, 0] * 5
    x = matting.propagate("zhuo", rgb, known, vals, 1e4)
    np.testing.assert_allclose(x[known], vals[known], atol=1e-3)


def test_linear_upsample_reproduces_a_colour_affine_map():
    rng = np.random.default_rng(2)
    small = rng.uniform(0, 1, (16, 16, 3))
    full = matting.resize(small, (48, 48))
    coef, off = np.array([0.3, 0.5, -0.2]), 0.1
    up = matting.linear_upsample(small @ coef + off, small, full, eps=1e-8)
    np.testing.assert_allclose(up, full @ coef + off, atol=1e-3)


def test_detector_synthetic(half_blurred, sharp_gap, check_map):
    m = zhuo_sim(half_blurred)
    check_map(m, half_blurred.shape[:2])
    assert sharp_gap(m) > 0.2


def test_detector_real(cuhk_photo, check_map):
    img, gt = cuhk_photo("out_of_focus0223")
    m = zhuo_sim(img)
    check_map(m, gt.shape)
    assert m[gt > 0.5].mean() > m[gt < 0.5].mean() + 0.25


def test_large_and_flat(check_map):
    # a photo larger than max_side is processed small and upsampled to its own size
    # (16 px blocks of random colour, right half blurred with sigma 6: sigma 1.5 at the working size)
    blocks = np.random.default_rng(3).integers(0, 256, (38, 50, 3), dtype=np.uint8)
    big = cv2.resize(blocks, (800, 600), interpolation=cv2.INTER_NEAREST)
    big[:, 400:] = cv2.GaussianBlur(big, (0, 0), 6)[:, 400:]
    m = zhuo_sim(big, max_side=200)
    check_map(m, (600, 800))
    assert m[:, :350].mean() > m[:, 450:].mean() + 0.08
    # no edges: nothing to propagate, an all-zero map
    flat = zhuo_sim(np.full((30, 30, 3), 90, np.uint8))
    assert flat.shape == (30, 30) and flat.dtype == np.float32 and not flat.any()


def test_bad_inputs():
    with pytest.raises(DbdError, match="too small"):
        zhuo_sim(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DbdError, match=r"sigma2 \(1.0\) must exceed sigma1 \(1.0\)"):
        zhuo_sim(np.zeros((20, 20, 3), np.uint8), sigma2=1)
    assert get_method("zhuo").func is zhuo_sim
