"""Precision / recall / F bars at the adaptive threshold: the per-image numbers against PySODMetrics,
the whiskers against evaluate's own bootstrap, the bars against the numbers, and the leaderboard
drawing them only for a protocol that records them."""

from __future__ import annotations

import numpy as np
import pytest
from board_helpers import write_result
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.evaluation import evaluate
from dbdbench.imageio import write_image
from dbdbench.leaderboards.plots import ADAPTIVE_KEYS, adaptive_means, adaptive_prf_figure
from dbdbench.leaderboards.results import from_evaluation, group_results
from dbdbench.leaderboards.style import Styles
from dbdbench.metrics.sod import sod_scores

py_sod_metrics = pytest.importorskip("py_sod_metrics")


def random_case(rng, h=30, w=40):
    gt = np.zeros((h, w), np.uint8)
    gt[rng.integers(2, h // 2) :, rng.integers(2, w // 2) :] = 255
    pred = np.clip(gt * 0.6 + rng.normal(60, 50, (h, w)), 0, 255).astype(np.uint8)
    return pred, gt


def test_adaptive_precision_recall_match_pysodmetrics():
    rng = np.random.default_rng(0)
    for _ in range(12):
        pred, gt = random_case(rng)
        handlers = {  # fresh per image: a handler accumulates the images it has seen
            "pre": py_sod_metrics.PrecisionHandler(with_dynamic=False, with_adaptive=True),
            "rec": py_sod_metrics.RecallHandler(with_dynamic=False, with_adaptive=True),
            "fm": py_sod_metrics.FmeasureHandler(with_dynamic=False, with_adaptive=True, beta=0.3),
        }
        ref = py_sod_metrics.FmeasureV2(metric_handlers=handlers)
        ref.step(pred=pred, gt=gt)
        res = ref.get_results()
        ours = sod_scores(pred, gt)
        assert ours["adaptive_precision"] == pytest.approx(res["pre"]["adaptive"], abs=1e-6)
        assert ours["adaptive_recall"] == pytest.approx(res["rec"]["adaptive"], abs=1e-6)
        assert ours["adaptive_f"] == pytest.approx(res["fm"]["adaptive"], abs=1e-6)


def test_hand_worked_adaptive_threshold():
    # mean 0.25 -> threshold 0.5: the pixels at 0.6 and 1.0 are positive (3 of them), 2 on the GT
    pred = np.array([[0, 0, 0, 0, 0, 0, 153, 255, 255, 0]], np.uint8)
    gt = np.array([[0, 0, 0, 0, 0, 0, 255, 255, 0, 255]], np.uint8)
    s = sod_scores(pred, gt, structure=False)
    assert s["adaptive_precision"] == pytest.approx(2 / 3) and s["adaptive_recall"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaptive")
    rng = np.random.default_rng(2)
    for i in range(8):
        pred, gt = random_case(rng)
        write_image(root / "gt" / f"i{i}.png", gt)
        write_image(root / "a" / f"i{i}.png", pred)
        write_image(root / "b" / f"i{i}.png", 255 - pred)
    out = []
    for m in ("a", "b"):
        r = evaluate(root / m, root / "gt", protocol="sod", bootstrap=300, seed=5)
        out.append(from_evaluation(r, root / f"{m}.json"))
        r.save(root / f"{m}.json")
    return root, out


def test_means_and_whiskers_are_evaluates(results):
    _, (a, _) = results
    means = adaptive_means(a)
    for key in ADAPTIVE_KEYS:
        assert means[key][0] == pytest.approx(np.mean([r[key] for r in a.per_image]), abs=1e-12)
    assert means["adaptive_f"][0] == pytest.approx(a.summary["adaptive_f"], abs=1e-12)
    assert means["adaptive_f"][1] == pytest.approx(tuple(a.intervals["adaptive_f"]), abs=1e-12)
    lo, hi = means["adaptive_precision"][1]
    assert lo <= means["adaptive_precision"][0] <= hi


def test_bars_show_the_means(results):
    _, rs = results
    (group,) = group_results(rs)
    fig, bars = adaptive_prf_figure(group, Styles([r.label for r in rs]))
    for r in rs:
        means = adaptive_means(r)
        heights = [rect.get_height() for rect in bars[r.label]]
        assert heights == pytest.approx([means[k][0] for k in ADAPTIVE_KEYS])
    assert "whiskers: bootstrap interval" in fig.axes[0].get_xlabel()


def test_leaderboard_draws_them_for_sod_only(results, tmp_path):
    root, _ = results
    other = write_result(tmp_path, "h", method="c", protocol="hifst", dataset="gt")
    res = CliRunner().invoke(
        main,
        ["leaderboard", str(root / "a.json"), str(root / "b.json"), str(other), "--out", str(tmp_path / "o")],
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "o" / "plots").glob("bars-adaptive*"))
    assert names == [f"bars-adaptive-prf_sod_gt.{ext}" for ext in ("pdf", "png", "svg")]
    assert "at the adaptive threshold" in (tmp_path / "o" / "index.html").read_text()
