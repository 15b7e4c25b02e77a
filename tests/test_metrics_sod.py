"""The sod metrics against PySODMetrics (the reference implementation) as an oracle."""

from __future__ import annotations

import warnings

import numpy as np
import py_sod_metrics as psm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbdbench.errors import DbdError
from dbdbench.metrics.sod import s_measure, sod_scores, weighted_f_measure

TOL = 1e-9


def reference(pred: np.ndarray, gt: np.ndarray) -> dict:
    handlers = {
        "iou": psm.IOUHandler(with_dynamic=False, with_adaptive=False, with_binary=True),
        "dice": psm.DICEHandler(with_dynamic=False, with_adaptive=False, with_binary=True),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, mae, sm, em = psm.Fmeasure(), psm.MAE(), psm.Smeasure(), psm.Emeasure()
        wfm = psm.WeightedFmeasure()
        fv2 = psm.FmeasureV2(handlers)
        for m in (fm, mae, sm, em, wfm, fv2):
            m.step(pred, gt)
        f, e, v = fm.get_results(), em.get_results(), fv2.get_results()
    return {
        "precision": f["pr"]["p"],
        "recall": f["pr"]["r"],
        "f": f["fm"]["curve"],
        "adaptive_f": f["fm"]["adp"],
        "mae": mae.get_results()["mae"],
        "s_measure": sm.get_results()["sm"],
        "e": e["em"]["curve"],
        "adaptive_e": e["em"]["adp"],
        "weighted_f": wfm.get_results()["wfm"],
        "iou": v["iou"]["binary"],
        "dice": v["dice"]["binary"],
    }


def assert_matches(pred: np.ndarray, gt: np.ndarray) -> None:
    ref = reference(pred, gt)
    ours = sod_scores(pred, gt)
    for key, expected in ref.items():
        expected = np.asarray(expected, dtype=np.float64)
        got = np.asarray(ours[key], dtype=np.float64)
        assert got.shape == expected.shape, key
        if key == "s_measure" and np.isnan(expected):
            # documented deviation: the reference's empty quadrant gives NaN; ours stays finite
            assert 0 <= got <= 1
            continue
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, err_msg=key)
    assert abs(weighted_f_measure(pred, gt) - ref["weighted_f"]) <= TOL


@st.composite
def pairs(draw):
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    gt_kind = draw(st.sampled_from(["binary", "empty", "full", "grey", "blob"]))
    if gt_kind == "binary":
        gt = (rng.random((h, w)) < draw(st.floats(0.05, 0.95))).astype(np.uint8) * 255
    elif gt_kind == "empty":
        gt = np.zeros((h, w), np.uint8)
    elif gt_kind == "full":
        gt = np.full((h, w), 255, np.uint8)
    elif gt_kind == "grey":
        gt = rng.integers(0, 256, (h, w), dtype=np.uint8)
    else:
        gt = np.zeros((h, w), np.uint8)
        gt[rng.integers(0, h) :, : rng.integers(1, w + 1)] = 255
    pred_kind = draw(st.sampled_from(["random", "constant", "mask01", "perfect", "few", "smooth"]))
    if pred_kind == "random":
        pred = rng.integers(0, 256, (h, w), dtype=np.uint8)
    elif pred_kind == "constant":
        pred = np.full((h, w), draw(st.integers(0, 255)), np.uint8)
    elif pred_kind == "mask01":
        pred = (rng.random((h, w)) < 0.5).astype(np.uint8) * 255
    elif pred_kind == "perfect":
        pred = np.where(gt > 128, 255, 0).astype(np.uint8)
    elif pred_kind == "few":
        values = draw(st.lists(st.integers(0, 255), min_size=1, max_size=3))
        pred = rng.choice(np.array(values, np.uint8), (h, w))
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        pred = (255 * (yy + xx) / max(h + w - 2, 1)).astype(np.uint8)
    return pred, gt


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs())
def test_sod_matches_pysodmetrics(pair):
    assert_matches(*pair)


@pytest.mark.parametrize("shape", [(320, 320), (96, 128), (1, 7), (7, 1), (1, 1), (5, 2050)])
def test_sod_matches_on_sizes(shape):
    rng = np.random.default_rng(sum(shape))
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    disc = (yy - shape[0] / 2) ** 2 + (xx - shape[1] / 3) ** 2 < (min(shape) / 3) ** 2
    gt = disc.astype(np.uint8) * 255
    pred = np.clip(gt.astype(int) // 2 + rng.integers(0, 128, shape), 0, 255).astype(np.uint8)
    assert_matches(pred, gt)


@pytest.mark.parametrize(
    "pred_value, gt_value", [(0, 0), (0, 255), (255, 0), (255, 255), (100, 0), (100, 255), (1, 255)]
)
def test_constant_maps(pred_value, gt_value):
    assert_matches(np.full((9, 13), pred_value, np.uint8), np.full((9, 13), gt_value, np.uint8))


def test_perfect_map_scores():
    gt = np.zeros((20, 30), np.uint8)
    gt[5:15, 10:25] = 255
    scores = sod_scores(gt, gt)
    assert scores["f"].max() == pytest.approx(1.0)
    assert scores["mae"] == 0
    assert scores["s_measure"] == pytest.approx(1.0)
    assert scores["iou"] == scores["dice"] == 1.0
    # the threshold-0 entry counts every pixel positive, so the mean F of a perfect map is below 1
    assert scores["f"].mean() < 1


@pytest.mark.parametrize("side", ["inside", "outside"])
def test_binary_map_with_errors_on_one_side_only(side):
    # errors only on the GT (no distance weights needed) or only off it (no filtering needed)
    gt = np.zeros((30, 40), np.uint8)
    gt[6:24, 8:30] = 255
    pred = gt.copy()
    if side == "inside":
        pred[10:20, 12:20] = 0
    else:
        pred[2:5, 2:38] = 255
    assert_matches(pred, gt)
    assert_matches(np.where(gt > 0, 180, 0).astype(np.uint8), gt)


def test_reference_nan_case_is_finite_here():
    # GT centroid on the last row: the reference returns NaN for S, dbdbench a finite score
    gt = np.zeros((5, 6), np.uint8)
    gt[4, :] = 255
    pred = np.arange(30, dtype=np.uint8).reshape(5, 6) * 8
    assert np.isnan(reference(pred, gt)["s_measure"])
    assert 0 <= s_measure(pred, gt) <= 1


def test_float_and_uint16_inputs():
    rng = np.random.default_rng(3)
    pred8 = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    gt = (rng.random((30, 40)) < 0.4).astype(np.uint8) * 255
    as_float = pred8.astype(np.float32) / 255
    # a float map in [0, 1] is rounded to 8 bits: the reference's numbers for the 8-bit map
    ref = reference(pred8, gt)
    assert s_measure(as_float, gt) == pytest.approx(ref["s_measure"], abs=TOL)
    assert weighted_f_measure(as_float, gt) == pytest.approx(ref["weighted_f"], abs=TOL)
    nudged = np.minimum(as_float + np.float32(0.4 / 255), 1)  # still rounds to the same levels
    assert sod_scores(nudged, gt)["mae"] == pytest.approx(ref["mae"], abs=TOL)
    pred16 = pred8.astype(np.uint16) * 257  # the same map at 16 bits normalises to the same values
    a, b = sod_scores(pred8, gt), sod_scores(pred16, gt)
    for key in ("mae", "s_measure", "weighted_f", "adaptive_f", "iou"):
        assert a[key] == pytest.approx(b[key], abs=1e-12)
    np.testing.assert_allclose(a["f"], b["f"], atol=1e-12)


def test_nan_and_bad_inputs_are_errors():
    gt = np.zeros((4, 4), np.uint8)
    with pytest.raises(DbdError, match="NaN"):
        sod_scores(np.full((4, 4), np.nan, np.float32), gt)
    with pytest.raises(DbdError, match="outside"):
        sod_scores(np.full((4, 4), 2.0), gt)
    with pytest.raises(DbdError, match="shape"):
        sod_scores(np.zeros((4, 5), np.uint8), gt)


def test_sod_matches_on_real_cuhk_maps(real_data):
    # real GT boundaries (many equidistant-pixel ties in the weighted F-measure) and real maps
    from dbdbench.imageio import read_grey

    cuhk = real_data / "cuhk"
    for stem in ("out_of_focus0011", "motion0138"):
        pred = read_grey(cuhk / "results" / "hifst" / f"{stem}_HiFSTBlurMap.png")
        gt = 255 - read_grey(cuhk / "gt" / f"{stem}.png")
        assert_matches(pred, gt)
