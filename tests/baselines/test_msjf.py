"""MSJF (our reading): multi-scale fusion of a base detector, refined by a guided filter."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dbdbench.baselines.lbp import lbp_sharpness
from dbdbench.baselines.msjf import msjf
from dbdbench.baselines.registry import get_method
from dbdbench.errors import DbdError


def test_fusion_by_hand(half_blurred):
    # scales 1 and 0.5 with a guided filter so strongly regularised (eps huge) that it reduces to two
    # box means: check against the fused mean computed here from the base detector directly
    h, w = half_blurred.shape[:2]
    half = cv2.resize(half_blurred, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    fused = (lbp_sharpness(half_blurred) + cv2.resize(lbp_sharpness(half), (w, h))) / 2
    expected = cv2.blur(
        cv2.blur(fused, (5, 5), borderType=cv2.BORDER_REFLECT), (5, 5), borderType=cv2.BORDER_REFLECT
    )
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    out = msjf(half_blurred, base="lbp", scales="1,0.5", radius=2, eps=1e9)
    np.testing.assert_allclose(out, expected, atol=2e-3)


def test_polarity_synthetic(half_blurred, sharp_gap, check_map):
    m = msjf(half_blurred)
    check_map(m, half_blurred.shape[:2])
    assert sharp_gap(m) > 0.3


def test_polarity_real(cuhk_photo, check_map):
    img, gt = cuhk_photo("out_of_focus0011")
    m = msjf(img)
    check_map(m, gt.shape)
    assert m[gt > 0.5].mean() > m[gt < 0.5].mean() + 0.2


def test_other_base_and_scale_list(half_blurred, sharp_gap):
    m = msjf(half_blurred, base="lbp-matting", scales=[1.0, 0.75])
    assert m.dtype == np.float32 and sharp_gap(m) > 0.3


def test_tiny_scales_are_skipped(half_blurred):
    # 12 x 12: the 0.6 scale (7 px) is below the minimum side and is skipped
    small = half_blurred[:12, :12]
    np.testing.assert_array_equal(msjf(small, scales="1,0.6"), msjf(small, scales="1"))


def test_large_photo(check_map):
    rng = np.random.default_rng(7)
    big = rng.integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    big[:, 1000:] = cv2.GaussianBlur(big, (0, 0), 3)[:, 1000:]
    m = msjf(big)
    check_map(m, (1500, 2000))
    assert m[:, :900].mean() > m[:, 1100:].mean() + 0.3


def test_bad_parameters(half_blurred):
    with pytest.raises(DbdError, match="unknown method 'nope'"):
        msjf(half_blurred, base="nope")
    with pytest.raises(DbdError, match="base=msjf"):
        msjf(half_blurred, base="msjf")
    with pytest.raises(DbdError, match="scales must be a list of finite numbers.*got '1,x'"):
        msjf(half_blurred, scales="1,x")
    with pytest.raises(
        DbdError, match=r"scales must be one or more values, each in \(0, 4\], got \(0.0, 1.0\)"
    ):
        msjf(half_blurred, scales="0,1")
    with pytest.raises(DbdError, match="base=btbcrl is a deep model"):
        msjf(half_blurred, base="btbcrl")
    with pytest.raises(DbdError, match="below 8 px"):
        msjf(half_blurred[:10, :10], scales="0.5")
    assert get_method("msjf").params["base"] == "lbp"
