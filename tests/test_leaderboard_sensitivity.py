"""The protocol-sensitivity view: hand-worked ranks and Kendall tau, and the run from prediction
folders through the evaluator."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from board_helpers import write_result
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.imageio import write_image
from dbdbench.leaderboards.published import load_published
from dbdbench.leaderboards.results import load_results
from dbdbench.leaderboards.sensitivity import sensitivity_csv, sensitivity_figure, sensitivity_views
from dbdbench.leaderboards.style import Styles


def test_views_hand_worked(tmp_path):
    # a, b, c under sod and hifst on "sim"; d only under sod (must be left out); e only on another dataset
    f = {("a", "sod"): 0.9, ("b", "sod"): 0.8, ("c", "sod"): 0.8, ("a", "hifst"): 0.6, ("b", "hifst"): 0.7,
         ("c", "hifst"): 0.5}  # fmt: skip
    paths = [
        write_result(
            tmp_path, f"{m}-{p}", method=m, protocol=p, dataset="sim", summary={"max_f": v, "mae": 0.1}
        )
        for (m, p), v in f.items()
    ]
    paths.append(write_result(tmp_path, "d", method="d", protocol="sod", dataset="sim"))
    paths.append(write_result(tmp_path, "e", method="e", protocol="zhao", dataset="real"))
    results = load_results(paths) + load_published()  # published curves never enter the view
    (view,) = sensitivity_views(results)
    assert view.dataset == "sim" and view.methods == ["a", "b", "c"] and view.protocols == ["sod", "hifst"]
    assert [view.rank[(m, "sod")] for m in "abc"] == [1, 2, 2]  # b and c tie
    assert [view.rank[(m, "hifst")] for m in "abc"] == [2, 1, 3]
    # Kendall tau-b by hand: pairs (a,b) discordant, (a,c) concordant, (b,c) tied in sod:
    # (C - D) / sqrt((n0 - n1)(n0 - n2)) = (1 - 1) / sqrt((3 - 1)(3 - 0)) = 0
    assert view.tau[("sod", "hifst")] == pytest.approx(0.0)
    rows = list(csv.DictReader(io.StringIO(sensitivity_csv([view]))))
    first = {"dataset": "sim", "method": "a", "protocol": "sod", "headline_metric": "max_f",
             "headline_f": "0.9", "mae": "0.1", "rank": "1"}  # fmt: skip
    assert len(rows) == 6 and rows[0] == first
    fig, lines = sensitivity_figure(view, Styles(view.methods))
    np.testing.assert_array_equal(lines["b"][0].get_ydata(), [0.8, 0.7])
    np.testing.assert_array_equal(lines["b"][1].get_ydata(), [2, 1])


def test_no_view_without_repeated_protocols(tmp_path):
    paths = [write_result(tmp_path, m, method=m, protocol="sod") for m in "xy"]
    assert sensitivity_views(load_results(paths)) == []


def test_sensitivity_from_prediction_folders(tmp_path):
    rng = np.random.default_rng(0)
    gt_dir = tmp_path / "gt"
    gts = {}
    for i in range(4):
        gt = np.zeros((24, 32), np.uint8)
        gt[:, : 8 + 4 * i] = 255
        gts[f"im{i}"] = gt
        write_image(gt_dir / f"im{i}.png", gt)
    for name, weight in (("good", 0.9), ("poor", 0.3)):  # poor: mostly noise, so its F is < 1
        for stem, gt in gts.items():
            pred = weight * gt + (1 - weight) * rng.uniform(0, 255, gt.shape)
            write_image(tmp_path / name / f"{stem}.png", np.rint(pred).astype(np.uint8))
    out = tmp_path / "board"
    args = ["leaderboard", "--sensitivity", "--pred", f"good={tmp_path / 'good'}",
            "--pred", f"poor={tmp_path / 'poor'}", "--gt", str(gt_dir),
            "--protocol", "sod,binseg", "--out", str(out)]  # fmt: skip
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    rows = {(r["method"], r["protocol"]): r for r in csv.DictReader((out / "sensitivity.csv").open())}
    for method in ("good", "poor"):
        for protocol in ("sod", "binseg"):
            saved = json.loads((out / "results" / protocol / f"{method}.json").read_text())
            assert float(rows[(method, protocol)]["headline_f"]) == saved["summary"]["max_f"]
    ranks = [rows[(m, p)]["rank"] for m in ("good", "poor") for p in ("sod", "binseg")]
    assert ranks == ["1", "1", "2", "2"]
