"""Hand-worked cases that pin each rule of the protocols in docs/evaluation.md, and the published
HiFST curve reproduced from the authors' own maps."""

from __future__ import annotations

import numpy as np
import pytest

from dbdbench.metrics.protocol import stack
from dbdbench.metrics.protocols import get_protocol
from dbdbench.metrics.resize import matlab_bicubic_matrix

U8 = np.uint8


def run(protocol, pairs, polarity="focus-white"):
    proto = get_protocol(protocol)
    stacked = stack([proto.score_image(np.asarray(p, U8), np.asarray(g, U8), polarity) for p, g in pairs])
    return proto.summarize(stacked), proto.curves(stacked), stacked


# ---------------------------------------------------------------- hifst
def test_hifst_rules():
    # blurred-white GT as CUHK stores it: left pixel blurred; the map says left is blurry (low)
    summary, curves, _ = run("hifst", [([[0, 255]], [[255, 0]])], "blurred-white")
    p, r = curves["precision"], curves["recall"]
    assert curves["thresholds"] == list(range(256))
    # m = 255 - 255 p = [255, 0]: t = 0 takes both pixels, t >= 1 only the blurred one
    assert (p[0], r[0]) == (0.5, 1.0)
    assert all(pi == 1.0 for pi in p[1:]) and all(ri == 1.0 for ri in r[1:])
    assert summary["max_f"] == pytest.approx(1.0)


def test_hifst_same_physical_gt_either_polarity():
    rng = np.random.default_rng(0)
    pred = rng.integers(0, 256, (12, 9), dtype=U8)
    blurred_white = np.where(rng.random((12, 9)) < 0.4, 255, 0).astype(U8)
    a = run("hifst", [(pred, blurred_white)], "blurred-white")[1]
    b = run("hifst", [(pred, 255 - blurred_white)], "focus-white")[1]
    assert a == b


def test_hifst_images_without_hits_count_in_the_mean():
    # second image: GT has no blurred pixel, so TP = 0 at every threshold; it adds 0 but counts
    _, curves, _ = run("hifst", [([[0, 255]], [[255, 0]]), ([[0, 255]], [[0, 0]])], "blurred-white")
    assert curves["precision"][1] == 0.5 and curves["recall"][1] == 0.5


def test_hifst_constant_map_is_all_positive():
    # constant map -> p = 0 -> m = 255 >= every t: P = |G| / N, R = 1 at all thresholds
    _, curves, _ = run("hifst", [([[7, 7, 7, 7]], [[255, 0, 0, 0]])], "blurred-white")
    assert set(curves["precision"]) == {0.25} and set(curves["recall"]) == {1.0}


def test_hifst_nonbinary_gt_any_nonzero_is_blurred():
    _, a, _ = run("hifst", [([[0, 255, 128]], [[1, 0, 0]])], "blurred-white")
    _, b, _ = run("hifst", [([[0, 255, 128]], [[255, 0, 0]])], "blurred-white")
    assert a == b


@pytest.mark.slow
def test_hifst_reproduces_published_curve(real_data):
    from dbdbench.evaluation import evaluate

    cuhk = real_data / "cuhk"
    result = evaluate(
        cuhk / "results" / "hifst",
        cuhk / "gt",
        gt_polarity="blurred-white",
        protocol="hifst",
        pred_suffix="_HiFSTBlurMap",
        workers=2,
        progress=False,
    )
    published = np.loadtxt(cuhk / "published/hifst-cvpr17-pr-curves/BlurDetection_HiFSTBlurMap_PRCurve.txt")
    assert result.counts["evaluated"] == 1000
    np.testing.assert_allclose(result.curves["precision"], published[:, 0], rtol=0, atol=5e-7)
    np.testing.assert_allclose(result.curves["recall"], published[:, 1], rtol=0, atol=5e-7)


# ---------------------------------------------------------------- zhao
def test_zhao_curve_best_f_and_mae():
    # GT focus-white: only the top-left pixel is in focus; prediction max-normalised to [1, .5, 0, 0]
    summary, curves, stacked = run("zhao", [([[200, 100], [0, 0]], [[255, 0], [0, 0]])])
    assert curves["thresholds"][0] == 1.0 and curves["thresholds"][-1] == 0.0
    assert len(curves["thresholds"]) == 21
    p, r = curves["precision"], curves["recall"]
    assert (p[0], r[0]) == (1.0, 1.0)  # threshold 1: the max pixel only
    assert (p[10], r[10]) == (0.5, 1.0)  # threshold 0.5: two pixels
    assert (p[20], r[20]) == (0.25, 1.0)  # threshold 0: all pixels
    assert stacked["best_f"][0] == 1.0
    assert summary["mae"] == pytest.approx(0.5 / 4)


def test_zhao_gt_threshold_is_0_1():
    # 26/255 >= 0.1 is in focus, 25/255 is not
    _, _, stacked = run("zhao", [([[255, 0, 0]], [[26, 25, 0]])])
    assert stacked["best_f"][0] == 1.0
    _, _, stacked = run("zhao", [([[0, 255, 0]], [[26, 25, 0]])])
    assert stacked["best_f"][0] == 0.0


def test_zhao_empty_gt_inverts_both():
    # GT has no in-focus pixel: GT -> all positive, map [0, 1] -> [1, 0]
    _, _, stacked = run("zhao", [([[0, 255]], [[0, 0]])])
    assert stacked["best_f"][0] == pytest.approx(1.3 * 0.5 / (0.3 + 0.5))  # P = 1, R = 0.5


def test_zhao_mean_best_f_and_max_f_of_mean_curve():
    pairs = [([[255, 0]], [[255, 0]]), ([[100, 255]], [[255, 0]])]
    summary, curves, stacked = run("zhao", pairs)
    # image 2: best at threshold <= 100/255 (both positive: P = .5, R = 1)
    assert stacked["best_f"][1] == pytest.approx(1.3 * 0.5 / (0.3 * 0.5 + 1))
    assert summary["mean_best_f"] == pytest.approx((1 + stacked["best_f"][1]) / 2)
    # mean curve: at 0.35 (< 100/255) P = (1 + .5) / 2, R = 1; at 0.4 image 2 has TP = 0 -> P = R = 0
    assert curves["precision"][13] == 0.75 and curves["recall"][13] == 1.0
    assert curves["precision"][12] == 0.5 and curves["recall"][12] == 0.5
    assert summary["max_f"] == pytest.approx(1.3 * 0.75 / (0.3 * 0.75 + 1))


def test_zhao_resizes_bicubic_and_clips():
    proto = get_protocol("zhao")
    small = np.array([[0, 255]], U8)
    gt = np.array([[0, 0, 255, 255]], U8)
    rec = proto.score_image(small, gt, "focus-white")
    # by hand: MATLAB's bicubic [0, 1] -> 4 px is [-6, 13, 51, 70] / 64 (Keys weights, mirrored
    # borders; see test_matlab_bicubic_weights_by_hand); clipped and max-normalised [0, 13, 51, 70] / 70;
    # |map - GT| = [0, 13, 19, 0] / 70, mean 32 / 280 = 4 / 35
    assert rec["mae"] == pytest.approx(4 / 35, abs=1e-12)


def test_matlab_bicubic_weights_by_hand():
    # upscaling [0, 1] by 2: Keys cubic (a = -0.5) weights at distances 1.75, .75, .25, 1.25 with
    # mirrored borders (1-based aux = [1 2 2 1])
    out = matlab_bicubic_matrix(2, 4) @ np.array([0.0, 1.0])
    np.testing.assert_allclose(out, [-0.09375, 0.203125, 0.796875, 1.09375])
    # shrinking widens the kernel (antialiasing): a constant stays constant, rows sum to 1
    m = matlab_bicubic_matrix(10, 3)
    np.testing.assert_allclose(m.sum(axis=1), 1)
    assert (np.count_nonzero(m, axis=1) > 4).all()


# ---------------------------------------------------------------- binseg
def test_binseg_rules():
    summary, curves, stacked = run("binseg", [([[255, 128], [0, 0]], [[255, 0], [0, 0]])])
    thr = curves["thresholds"]
    assert thr[0] == 254 and thr[-1] == 0 and len(thr) == 255
    p = stacked["precision"][0]
    # 128 / (255 + 1e-8) * 255 < 128 lands in bin 127: counted from threshold 127, not 128
    assert p[thr.index(128)] == pytest.approx(1 / (1 + 1e-8), abs=1e-12)
    assert p[thr.index(127)] == pytest.approx(1 / (2 + 1e-8), abs=1e-12)
    assert p[thr.index(0)] == pytest.approx(1 / (4 + 1e-8), abs=1e-12)
    f = 1.3 * 1 * 1 / (0.3 + 1 + 1e-8)
    assert summary["max_f"] == pytest.approx(f, abs=1e-7)
    assert summary["mae"] == pytest.approx((128 / (255 + 1e-8)) / (4 + 1e-8) / (1 + 1e-8), abs=1e-12)


def test_binseg_gt_cut_at_half_its_own_max():
    # GT max 100: 60 / 100 * 255 > 128 is positive, 40 is not
    _, _, a = run("binseg", [([[255, 0]], [[100, 40]])])
    _, _, b = run("binseg", [([[255, 0]], [[255, 0]])])
    np.testing.assert_allclose(a["precision"], b["precision"])
    _, _, c = run("binseg", [([[255, 0]], [[100, 60]])])
    assert c["recall"][0][0] < 1


def test_binseg_never_resizes():
    assert get_protocol("binseg").resize is None


# ---------------------------------------------------------------- ddffnet
def test_ddffnet_rules():
    # top row in focus; p = [1, .502, .498, 0]; blurred positive
    summary, curves, stacked = run("ddffnet", [([[255, 128], [127, 0]], [[255, 255], [0, 0]])])
    assert summary["f"] == 1.0 and summary["iou"] == 1.0
    assert summary["mae"] == pytest.approx((127 / 255 + 127 / 255) / 4)
    assert curves["thresholds"] == [0.5]


def test_ddffnet_iou_is_pooled_f_is_mean():
    pairs = [
        ([[0, 0], [0, 0]], [[0, 0], [0, 0]]),  # all blurred, predicted blurred: tp 4, union 4
        ([[255, 255]], [[0, 255]]),  # one blurred pixel, predicted sharp: tp 0, union 1
    ]
    summary, _, stacked = run("ddffnet", pairs)
    assert summary["iou"] == pytest.approx(4 / 5)  # the mean of per-image IoU would be 0.5
    assert summary["f"] == pytest.approx(0.5)


def test_ddffnet_blurred_white_gt_gives_same_numbers():
    a = run("ddffnet", [([[255, 128], [127, 0]], [[255, 255], [0, 0]])], "focus-white")[0]
    b = run("ddffnet", [([[255, 128], [127, 0]], [[0, 0], [255, 255]])], "blurred-white")[0]
    assert a == b


# ---------------------------------------------------------------- sod
def test_sod_polarity_and_nonbinary_gt():
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 256, (10, 10), dtype=U8)
    gt = np.where(rng.random((10, 10)) < 0.5, 255, 0).astype(U8)
    a = run("sod", [(pred, gt)], "focus-white")[0]
    b = run("sod", [(pred, 255 - gt)], "blurred-white")[0]
    assert a == b
    # non-binary GT: positive means > 128 on the in-focus scale
    c = run("sod", [(pred, np.where(gt > 0, 129, 128).astype(U8))], "focus-white")[0]
    assert c == a
