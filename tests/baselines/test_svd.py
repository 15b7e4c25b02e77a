"""Su et al. SVD blur metric against numpy's SVD of every patch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dbdbench.baselines.registry import get_method
from dbdbench.baselines.svd import svd_beta
from dbdbench.errors import DbdError


def test_beta_equals_numpy_svd_of_each_patch():
    g = np.random.default_rng(0).random((23, 29))
    ours = svd_beta(g, window=20, k=3, tile_pixels=50)  # several batches
    padded = cv2.copyMakeBorder(g, 10, 9, 10, 9, cv2.BORDER_REFLECT_101)
    for r in range(23):
        for c in range(29):
            s = np.linalg.svd(padded[r : r + 20, c : c + 20], compute_uv=False)
            assert ours[r, c] == pytest.approx(s[:3].sum() / s.sum(), abs=1e-7)


def test_rank_one_and_flat_patches_count_as_blurred():
    x = np.linspace(0.1, 1, 40)
    rank_one = np.outer(x, x[::-1])  # every patch has a single non-zero singular value
    np.testing.assert_allclose(svd_beta(rank_one, window=8, k=3), 1.0, atol=1e-6)
    np.testing.assert_allclose(svd_beta(np.zeros((12, 12)), window=8, k=3), 1.0)


def test_parameters_and_errors():
    svd = get_method("svd").func
    img = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    a, b = svd(img), svd(img, window=10, k=2)
    assert a.dtype == np.float32 and a.shape == (40, 50) and a.min() == 0 and a.max() == 1
    assert not np.allclose(a, b)
    with pytest.raises(DbdError, match="k must be"):
        svd(img, k=20)
    with pytest.raises(DbdError, match="smaller than its 20x20 window"):
        svd(img[:15])


def test_memory_is_bounded_by_the_batch_size():
    import tracemalloc

    g = np.random.default_rng(2).random((60, 400))
    tracemalloc.start()
    svd_beta(g, window=20, k=3, tile_pixels=2000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    all_grams = g.size * 20 * 20 * 8  # what decomposing the whole image at once would hold
    assert peak < all_grams / 2
