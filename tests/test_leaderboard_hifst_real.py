"""A leaderboard from real results: the HiFST authors' maps for all 1000 CUHK images scored under
protocol ``hifst`` and drawn beside the 11 published curves. The HiFST curve must lie on its
published twin (checked on the plotted Line2D data, to the files' print precision 5e-7).

The protocol is computed here independently of dbdbench's evaluator, from its rules in docs/evaluation.md:
GT as stored (white = blurred), positive = gt > 0; prediction min-max normalised (constant -> 0),
m = 255 - 255 p, positive when m >= t for t = 0..255; P and R added only when TP > 0; sums divided by
the number of images; F from the mean P and R; MAE = mean over images of mean |m / 255 - (gt > 0)|.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dbdbench.imageio import read_grey
from dbdbench.leaderboards.plots import f_threshold_figure, pr_figure
from dbdbench.leaderboards.published import attach_published
from dbdbench.leaderboards.results import group_results, load_results
from dbdbench.leaderboards.style import Styles
from dbdbench.leaderboards.tables import build_tables

pytestmark = pytest.mark.slow  # reads 2000 images (about 12 s)


def hifst_protocol_curve(gt_dir, pred_dir):
    """Mean precision and recall per threshold t = 0..255, and the MAE, under protocol hifst."""
    precision, recall, mae, n = np.zeros(256), np.zeros(256), 0.0, 0
    for gt_path in sorted(gt_dir.glob("*.png")):
        gt = read_grey(gt_path)
        pred = read_grey(pred_dir / f"{gt_path.stem}_HiFSTBlurMap.png").astype(np.float64)
        lo, hi = pred.min(), pred.max()
        p = (pred - lo) / (hi - lo) if hi > lo else np.zeros_like(pred)
        m = 255 - 255 * p
        # m >= t (integer t) <=> ceil(m) >= t: count pixels per ceil(m), accumulate from the top
        bins = np.clip(np.ceil(m), 0, 255).astype(np.int64)
        positive = gt > 0
        tp = np.cumsum(np.bincount(bins[positive], minlength=256)[::-1])[::-1]
        fp = np.cumsum(np.bincount(bins[~positive], minlength=256)[::-1])[::-1]
        ok = tp > 0
        precision[ok] += tp[ok] / (tp[ok] + fp[ok])
        recall[ok] += tp[ok] / positive.sum()
        mae += np.abs(m / 255 - positive).mean()
        n += 1
    return precision / n, recall / n, mae / n, n


@pytest.fixture(scope="module")
def hifst_result(real_data, tmp_path_factory):
    precision, recall, mae, n = hifst_protocol_curve(
        real_data / "cuhk" / "gt", real_data / "cuhk" / "results" / "hifst"
    )
    den = 0.3 * precision + recall
    f = np.divide(1.3 * precision * recall, den, out=np.zeros_like(den), where=den > 0)
    data = {
        "format": "dbdbench-result",
        "format_version": 1,
        "dbdbench_version": "0.1.0",
        "protocol": "hifst",
        "method": "HiFST maps",
        "dataset": "cuhk-full",
        "split": None,
        "counts": {"gt": n, "evaluated": n, "missing": 0},
        "missing": [],
        "summary": {"max_f": float(f.max()), "mae": float(mae)},
        "intervals": {},
        "bootstrap": None,
        "curves": {
            "thresholds": list(range(256)),
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "f": f.tolist(),
        },
        "per_image": [],
    }
    path = tmp_path_factory.mktemp("hifst") / "hifst.json"
    path.write_text(json.dumps(data))
    return path, n


def test_hifst_curve_lies_on_its_published_twin(hifst_result):
    path, n = hifst_result
    assert n == 1000
    results = attach_published(load_results([path]), protocols=["hifst"])
    (group,) = group_results(results)
    assert group.protocol == "hifst" and len(group.results) == 12
    styles = Styles([r.label for r in results])
    fig, lines = pr_figure(group, styles)
    assert len(lines) == 12 and len(fig.axes[0].get_lines()) == 12
    ours, theirs = lines["HiFST maps"], lines["HiFST (published)"]
    assert len(ours.get_xdata()) == len(theirs.get_xdata()) == 256
    np.testing.assert_allclose(ours.get_xdata(), theirs.get_xdata(), rtol=0, atol=5e-7)  # recall
    np.testing.assert_allclose(ours.get_ydata(), theirs.get_ydata(), rtol=0, atol=5e-7)  # precision
    # ...and it does not lie on any other method's curve
    for label, line in lines.items():
        if label not in ("HiFST maps", "HiFST (published)"):
            assert np.abs(np.asarray(line.get_ydata()) - np.asarray(ours.get_ydata())).max() > 1e-3
    _, f_lines = f_threshold_figure(group, styles)
    np.testing.assert_allclose(
        f_lines["HiFST maps"].get_ydata(), f_lines["HiFST (published)"].get_ydata(), atol=1e-6
    )
    # same colour family would be a mistake: the user's maps and the published curve differ in style
    assert styles("HiFST maps") != styles("HiFST (published)")


def test_hifst_table_ties_with_published(hifst_result):
    path, _ = hifst_result
    (table,) = build_tables(group_results(attach_published(load_results([path]), protocols=["hifst"])))
    top = [(r.label, r.ranks["max_f"]) for r in table.rows[:3]]
    # maxF 0.821 printed for both: they tie for best; Yi (0.797) is second
    assert top == [("HiFST maps", 1), ("HiFST (published)", 1), ("Yi (published)", 2)]
    assert round(table.rows[0].values["max_f"], 3) == 0.821


def test_real_leaderboard_page(hifst_result, tmp_path):
    from dbdbench.leaderboards.build import build_leaderboard
    from dbdbench.leaderboards.published import load_published

    path, _ = hifst_result
    board = build_leaderboard([path], tmp_path, published=True)
    html = board.files["html"].read_text()
    md = board.files["markdown"].read_text()
    assert md.count("### protocol hifst, dataset cuhk-full, 1000 images") == 1
    assert "### protocol sod" not in md
    for label in ["HiFST maps"] + [f"{r.method} (published)" for r in load_published()]:
        assert label in html and label in md
    assert "Golestaneh" in html  # citations of the published curves


def test_evaluator_result_lies_on_published_twin(real_data, tmp_path):
    """The same check on the result written by dbdbench's own evaluator (GT folder named 'gt')."""
    from dbdbench.evaluation import evaluate

    result = evaluate(
        real_data / "cuhk" / "results" / "hifst",
        real_data / "cuhk" / "gt",
        protocol="hifst",
        gt_polarity="blurred-white",
        pred_suffix="_HiFSTBlurMap",
        name="HiFST maps",
    )
    path = result.save(tmp_path / "hifst.json")
    results = attach_published(load_results([path]), protocols=["hifst"], same_as="gt")
    (group,) = group_results(results)
    _, lines = pr_figure(group, Styles([r.label for r in results]))
    ours, theirs = lines["HiFST maps"], lines["HiFST (published)"]
    np.testing.assert_allclose(ours.get_xdata(), theirs.get_xdata(), rtol=0, atol=5e-7)
    np.testing.assert_allclose(ours.get_ydata(), theirs.get_ydata(), rtol=0, atol=5e-7)
