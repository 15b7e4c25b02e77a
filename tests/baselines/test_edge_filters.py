"""The edge-preserving filters against direct implementations of the papers' equations, and against
the OpenCV contrib functions they replace where that module happens to be installed."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from dbdbench.baselines.edge_filters import domain_transform_rf, guided_filter, joint_bilateral_filter

ximgproc = getattr(cv2, "ximgproc", None)
needs_contrib = pytest.mark.skipif(
    ximgproc is None,
    reason="cv2.ximgproc (OpenCV contrib) not installed: dbdbench does not depend on it; the "
    "comparison with its filters runs only where opencv-contrib-python-headless is installed",
)


# -- guided filter ------------------------------------------------------------------------------------


def _guided_direct(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s eqs. (5)-(8) / (19) window by window: for every window k of the image extended
    by mirroring, the ridge regression ``p ~ a_k . I + b_k``; each pixel averages the windows
    covering it."""
    img = guide.astype(np.float64).reshape(guide.shape[0], guide.shape[1], -1)
    h, w, c = img.shape
    ip = np.pad(img, ((2 * r, 2 * r), (2 * r, 2 * r), (0, 0)), mode="symmetric")
    pp = np.pad(src.astype(np.float64), 2 * r, mode="symmetric")
    n = (2 * r + 1) ** 2
    coef = {}
    for ky in range(r, h + 3 * r):  # window centres in padded coordinates, image +- r
        for kx in range(r, w + 3 * r):
            wi = ip[ky - r : ky + r + 1, kx - r : kx + r + 1].reshape(n, c)
            wp = pp[ky - r : ky + r + 1, kx - r : kx + r + 1].ravel()
            mi, mp = wi.mean(axis=0), wp.mean()
            cov = (wi - mi).T @ (wi - mi) / n
            a = np.linalg.solve(cov + eps * np.eye(c), (wi - mi).T @ (wp - mp) / n)
            coef[ky, kx] = (a, mp - a @ mi)
    out = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            vals = [
                coef[ky, kx][0] @ img[y, x] + coef[ky, kx][1]
                for ky in range(y + r, y + 3 * r + 1)
                for kx in range(x + r, x + 3 * r + 1)
            ]
            out[y, x] = np.mean(vals)
    return out


@pytest.mark.parametrize("channels, r, eps", [(3, 2, 1e-3), (1, 3, 1e-2), (3, 1, 0.05)])
def test_guided_filter_equals_window_by_window_regression(channels, r, eps):
    rng = np.random.default_rng(channels + r)
    guide = rng.random((13, 17, channels))
    guide[:, 9:] *= 0.3  # an edge in the guide
    src = rng.random((13, 17))
    ours = guided_filter(guide if channels == 3 else guide[:, :, 0], src, r, eps)
    np.testing.assert_allclose(ours, _guided_direct(guide, src, r, eps), rtol=0, atol=1e-6)


def test_guided_filter_with_correlated_channels_equals_the_regression():
    """Photos' RGB channels are strongly correlated (a near-singular 3 x 3 covariance): the
    per-pixel inverse must still be the regression's."""
    rng = np.random.default_rng(6)
    base = rng.random((12, 16))
    guide = np.stack([base, 0.9 * base + 0.05, 0.8 * base + 0.1 + 0.01 * rng.random((12, 16))], axis=-1)
    src = rng.random((12, 16))
    np.testing.assert_allclose(
        guided_filter(guide, src, 2, 1e-3), _guided_direct(guide, src, 2, 1e-3), rtol=0, atol=1e-6
    )


def test_guided_filter_keeps_a_linear_function_of_the_guide():
    """If src = 2 I_r - I_g + 0.5 exactly, eps -> 0 reproduces it (the regression is exact)."""
    guide = np.random.default_rng(1).random((30, 40, 3))
    src = 2 * guide[:, :, 0] - guide[:, :, 1] + 0.5
    np.testing.assert_allclose(guided_filter(guide, src, 4, 1e-12), src, atol=1e-6)


@needs_contrib
def test_guided_filter_matches_opencv_contrib():
    """Same conventions (window, border, eps) as contrib's guidedFilter. Compared on independent
    random channels only: with correlated channels (real photos) contrib's colour path departs
    from the regression (by up to 0.15 on the guide of the test above), ours does not."""
    rng = np.random.default_rng(2)
    guide = rng.random((60, 75, 3)).astype(np.float32)
    src = rng.random((60, 75)).astype(np.float32)
    for g, r, eps in ((guide, 8, 1e-3), (np.ascontiguousarray(guide[:, :, 1]), 4, 1e-2)):
        ref = ximgproc.guidedFilter(g, src, r, eps)
        np.testing.assert_allclose(guided_filter(g, src, r, eps), ref, atol=2e-5)  # OpenCV: float32


# -- domain-transform recursive filter ---------------------------------------------------------------


def _rf_direct(src: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float, iterations: int):
    """Gastal & Oliveira's RF with scalar loops: eq. 11 (domain transform derivative, L1 over
    channels), eq. 14 (sigma_H per iteration), eq. 21 (causal then anti-causal recursion, a^d)."""
    g = guide.reshape(guide.shape[0], guide.shape[1], -1).astype(np.float64)
    f = src.astype(np.float64).copy()
    h, w = f.shape
    n = iterations
    for i in range(1, n + 1):
        sigma_h = sigma_s * math.sqrt(3) * 2 ** (n - i) / math.sqrt(4**n - 1)
        a = math.exp(-math.sqrt(2) / sigma_h)

        def feedback(p, q, a=a):
            return a ** (1 + sigma_s / sigma_r * sum(abs(g[p][c] - g[q][c]) for c in range(g.shape[2])))

        for y in range(h):
            for x in range(1, w):
                v = feedback((y, x), (y, x - 1))
                f[y, x] = (1 - v) * f[y, x] + v * f[y, x - 1]
            for x in range(w - 2, -1, -1):
                v = feedback((y, x + 1), (y, x))
                f[y, x] = (1 - v) * f[y, x] + v * f[y, x + 1]
        for x in range(w):
            for y in range(1, h):
                v = feedback((y, x), (y - 1, x))
                f[y, x] = (1 - v) * f[y, x] + v * f[y - 1, x]
            for y in range(h - 2, -1, -1):
                v = feedback((y + 1, x), (y, x))
                f[y, x] = (1 - v) * f[y, x] + v * f[y + 1, x]
    return f


@pytest.mark.parametrize("channels, sigma_s, sigma_r, iterations", [(1, 15, 0.25, 3), (3, 6, 0.5, 2)])
def test_recursive_filter_equals_the_papers_loops(channels, sigma_s, sigma_r, iterations):
    rng = np.random.default_rng(channels)
    guide = rng.random((11, 14, channels))
    guide[4:, :] += 1.0  # a strong horizontal edge
    src = rng.random((11, 14))
    ours = domain_transform_rf(src, guide if channels == 3 else guide[:, :, 0], sigma_s, sigma_r, iterations)
    expected = _rf_direct(src, guide, sigma_s, sigma_r, iterations)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


def test_recursive_filter_keeps_edges_and_constants():
    guide = np.zeros((40, 40))
    guide[:, 20:] = 1.0  # a strong guide edge between columns 19 and 20
    out = domain_transform_rf(guide.copy(), guide, 15, 0.25, 3)
    assert np.abs(out - guide).max() < 1e-3  # nothing leaks across the edge
    flat = domain_transform_rf(np.full((30, 30), 0.7), np.zeros((30, 30)), 15, 0.25, 3)
    np.testing.assert_allclose(flat, 0.7, atol=1e-5)
    noisy = np.random.default_rng(0).random((40, 40))
    assert domain_transform_rf(noisy, np.zeros((40, 40)), 15, 0.25, 3).std() < 0.2 * noisy.std()


@needs_contrib
def test_recursive_filter_matches_opencv_contrib():
    rng = np.random.default_rng(3)
    src = rng.random((50, 64)).astype(np.float32)
    for guide, ss, sr, n in ((rng.random((50, 64)), 15.0, 0.25, 3), (rng.random((50, 64, 3)), 8.0, 0.4, 2)):
        g = guide.astype(np.float32)
        ref = ximgproc.dtFilter(g, src, ss, sr, mode=ximgproc.DTF_RF, numIters=n)
        np.testing.assert_allclose(domain_transform_rf(src, g, ss, sr, n), ref, atol=1e-5)


@needs_contrib
def test_recursive_filter_matches_opencv_contrib_on_the_cuhk_photos(real_data):
    """HiFST's last stage on real inputs: the authors' map of each of the 9 CUHK photos filtered
    with HiFST's guide of the photo (sigma_s 15, sigma_r 0.25, 3 iterations)."""
    from dbdbench.baselines.hifst import _smoothed_grey, filter_guide
    from dbdbench.imageio import read_rgb, read_unit
    from dbdbench.pairing import list_images

    images = list_images(real_data / "cuhk" / "image")
    assert len(images) == 9
    for name, path in images.items():
        guide = filter_guide(_smoothed_grey(read_rgb(path))).astype(np.float32)
        src = read_unit(real_data / "cuhk/results/hifst" / f"{name}_HiFSTBlurMap.png").astype(np.float32)
        ref = ximgproc.dtFilter(guide, src, 15.0, 0.25, mode=ximgproc.DTF_RF, numIters=3)
        ours = domain_transform_rf(src, guide, 15.0, 0.25, 3)
        assert np.abs(ours - ref).max() < 1e-5, name
        assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 1 - 1e-9, name


# -- joint bilateral filter --------------------------------------------------------------------------


def _reflect101(i: int, n: int) -> int:
    while not 0 <= i < n:
        i = -i if i < 0 else 2 * (n - 1) - i
    return i


def _jbf_direct(guide, src, sigma_colour, sigma_space):
    """The weighted mean over the disc, pixel by pixel, with explicit mirrored indices."""
    h, w, c = guide.shape
    r = max(1, math.floor(1.5 * sigma_space + 0.5))
    out = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            num = den = 0.0
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dy * dy + dx * dx > r * r:
                        continue
                    yy, xx = _reflect101(y + dy, h), _reflect101(x + dx, w)
                    d = sum(abs(guide[yy, xx, k] - guide[y, x, k]) for k in range(c))
                    space = (dy * dy + dx * dx) / (2 * sigma_space**2)
                    wgt = math.exp(-space - d * d / (2 * sigma_colour**2))
                    num += wgt * src[yy, xx]
                    den += wgt
            out[y, x] = num / den
    return out


def test_joint_bilateral_equals_pixel_by_pixel_sum():
    rng = np.random.default_rng(4)
    guide = rng.random((9, 12, 3))
    guide[:, 6:] += 0.5
    src = rng.random((9, 12))
    both = np.stack([src, src**2], axis=-1)
    ours = joint_bilateral_filter(guide, both, 0.3, 2.0)  # radius 3: wider than the border
    np.testing.assert_allclose(ours[:, :, 0], _jbf_direct(guide, src, 0.3, 2.0), atol=1e-9)
    np.testing.assert_allclose(ours[:, :, 1], _jbf_direct(guide, src**2, 0.3, 2.0), atol=1e-9)
    np.testing.assert_allclose(joint_bilateral_filter(guide, src, 0.3, 2.0), ours[:, :, 0])


@needs_contrib
def test_joint_bilateral_matches_opencv_contrib():
    rng = np.random.default_rng(5)
    guide = rng.random((40, 50, 3)).astype(np.float32)
    src = rng.random((40, 50)).astype(np.float32)
    ref = ximgproc.jointBilateralFilter(guide, src, -1, 0.1, 5.0)
    np.testing.assert_allclose(joint_bilateral_filter(guide, src, 0.1, 5.0), ref, atol=1e-5)
