"""Simple focus operators against direct per-window computations, and their parameters."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import stats

from dbdbench.baselines import focus_operators as F
from dbdbench.baselines.registry import get_method
from dbdbench.errors import DbdError

OPERATORS = ("lapvar", "tenengrad", "kurtosis", "dct")


def _image(h=48, w=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _window(a, r, c, window):
    half = window // 2
    p = cv2.copyMakeBorder(a, half, half, half, half, cv2.BORDER_REFLECT_101)
    return p[r : r + window, c : c + window]


def test_lapvar_and_tenengrad_equal_direct_window_statistics():
    img = _image()
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, borderType=cv2.BORDER_REFLECT_101)
    direct_lv = np.array([[_window(lap, r, c, 7).std() for c in range(64)] for r in range(48)])
    direct_tg = np.array(
        [[np.sqrt((_window(gx**2 + gy**2, r, c, 7)).mean()) for c in range(64)] for r in range(48)]
    )
    for name, direct in (("lapvar", direct_lv), ("tenengrad", direct_tg)):
        ours = get_method(name).func(img, window=7)
        expected = (direct - direct.min()) / (direct.max() - direct.min())
        np.testing.assert_allclose(ours, expected, atol=2e-3, err_msg=name)


def test_local_kurtosis_equals_scipy():
    d = np.random.default_rng(1).standard_t(3, size=(30, 30)).astype(np.float32)
    ours = F._local_kurtosis(d, 9)
    for r, c in ((15, 15), (4, 20), (25, 3)):
        ref = stats.kurtosis(_window(d, r, c, 9).ravel(), fisher=False)
        assert ours[r, c] == pytest.approx(ref, rel=1e-3)


def test_block_dct_energy_equals_scipy_dct():
    from scipy.fft import dctn

    g = np.random.default_rng(2).random((24, 32)).astype(np.float32)
    ac, high = F._block_dct_energy(g, cutoff=4)
    u, v = np.indices((8, 8))
    for i, j in ((0, 0), (2, 3), (4, 6)):
        e = dctn(g[4 * i : 4 * i + 8, 4 * j : 4 * j + 8].astype(np.float64), norm="ortho") ** 2
        assert ac[i, j] == pytest.approx(e.sum() - e[0, 0], rel=1e-4)
        assert high[i, j] == pytest.approx(e[u + v >= 4].sum(), rel=1e-4)


@pytest.mark.parametrize("name", OPERATORS)
def test_window_refine_and_bad_input(name):
    func = get_method(name).func
    img = _image()
    small, large = func(img, window=9), func(img, window=21)
    assert not np.allclose(small, large)  # the window matters
    refined = func(img, window=9, refine=True)
    assert refined.dtype == np.float32 and refined.min() >= 0 and refined.max() <= 1
    assert not np.allclose(refined, small)
    with pytest.raises(DbdError, match="smaller than its 21x21 window"):
        func(img[:20, :30], window=21)
    with pytest.raises(DbdError, match=r"window must be an integer >= \d, got 1"):
        func(img, window=1)


def test_large_photo_runs_in_bounded_memory():
    import tracemalloc

    img = np.zeros((2000, 3000, 3), np.uint8)
    img[::7] = 255
    tracemalloc.start()
    out = get_method("tenengrad").func(img)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (2000, 3000)
    assert peak < 12 * out.nbytes  # a handful of full-size float32 planes, nothing per window
