"""Figures: plotted data equal the results' curves, fixed styles per method, column width, files."""

from __future__ import annotations

import numpy as np
import pytest
from board_helpers import linear_curve, write_result

from dbdbench.leaderboards.plots import bars_figure, f_threshold_figure, pr_figure, save_figure
from dbdbench.leaderboards.published import load_published
from dbdbench.leaderboards.results import group_results, load_results
from dbdbench.leaderboards.style import OKABE_ITO, Styles
from dbdbench.metrics.curves import f_from_pr


@pytest.fixture
def groups(tmp_path):
    paths = [
        write_result(
            tmp_path,
            "a",
            method="alpha",
            protocol="binseg",
            dataset="sim",
            curve=linear_curve(0.5),
            summary={"max_f": 0.8, "mae": 0.2},
            intervals={"max_f": [0.75, 0.85], "mae": [0.15, 0.26]},
        ),
        write_result(
            tmp_path,
            "b",
            method="beta",
            protocol="binseg",
            dataset="sim",
            curve=linear_curve(0.3),
            summary={"max_f": 0.6, "mae": 0.3},
        ),
        write_result(
            tmp_path,
            "c",
            method="beta",
            protocol="binseg",
            dataset="real",
            curve=linear_curve(0.4),
            summary={"max_f": 0.7, "mae": 0.25},
        ),
        write_result(tmp_path, "d", method="beta", protocol="ddffnet", dataset="sim"),
    ]
    return group_results(load_results(paths))


def test_pr_and_f_lines_are_the_curves(groups):
    sim = next(g for g in groups if (g.protocol, g.dataset) == ("binseg", "sim"))
    styles = Styles(["alpha", "beta"])
    fig, lines = pr_figure(sim, styles)
    curve = linear_curve(0.5)
    assert set(lines) == {"alpha", "beta"}
    np.testing.assert_array_equal(lines["alpha"].get_xdata(), curve["recall"])
    np.testing.assert_array_equal(lines["alpha"].get_ydata(), curve["precision"])
    assert fig.get_size_inches()[0] == pytest.approx(3.5)
    _, f_lines = f_threshold_figure(sim, styles)
    np.testing.assert_array_equal(f_lines["alpha"].get_xdata(), curve["thresholds"])
    np.testing.assert_array_equal(f_lines["alpha"].get_ydata(), curve["f"])


def test_one_style_per_method_across_figures(groups):
    styles = Styles(["alpha", "beta"])
    seen = {}
    for g in groups:
        if g.protocol == "ddffnet":
            continue
        for fig_lines in (pr_figure(g, styles)[1], f_threshold_figure(g, styles)[1]):
            for label, line in fig_lines.items():
                seen.setdefault(label, set()).add((line.get_color(), line.get_marker(), line.get_linestyle()))
    assert seen["beta"] == {(styles("beta").color, styles("beta").marker, "-")}
    assert len(seen["beta"]) == 1 and seen["alpha"] != seen["beta"]


def test_styles_unique_and_colour_blind_palette():
    labels = [f"m{i:02d}" for i in range(12)] + [f"{r.method} (published)" for r in load_published()]
    styles = Styles(labels)
    pairs = {(styles(lab).color, styles(lab).marker) for lab in labels if not lab.endswith("(published)")}
    assert len(pairs) == 12
    # the first eight user methods get eight distinct Okabe-Ito colours
    assert {styles(f"m{i:02d}").color for i in range(8)} == set(OKABE_ITO)
    assert styles("HiFST (published)").linestyle == "--" and not styles("HiFST (published)").filled
    assert Styles(reversed(labels))("m03") == styles("m03")  # independent of the order given


def test_bars_with_intervals(groups):
    sim = next(g for g in groups if (g.protocol, g.dataset) == ("binseg", "sim"))
    fig, bars = bars_figure(sim, Styles(["alpha", "beta"]), "max_f")
    assert bars["alpha"].get_width() == pytest.approx(0.8) and bars["beta"].get_width() == pytest.approx(0.6)
    # best on top: alpha's bar is above beta's
    assert bars["alpha"].get_y() > bars["beta"].get_y()
    (errorbar,) = fig.axes[0].containers[1:]
    segments = errorbar.lines[2][0].get_segments()
    assert np.allclose(segments[-1][:, 0], [0.75, 0.85])  # alpha drawn last (top)
    ddff = next(g for g in groups if g.protocol == "ddffnet")
    assert bars_figure(ddff, Styles(["beta"]), "iou")[0] is not None
    assert pr_figure(ddff, Styles(["beta"]))[1] == {}


def test_save_figure_writes_three_formats(groups, tmp_path):
    sim = next(g for g in groups if (g.protocol, g.dataset) == ("binseg", "sim"))
    fig, _ = pr_figure(sim, Styles(["alpha", "beta"]))
    paths = save_figure(fig, tmp_path / "plots" / "pr")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    svg = paths["svg"].read_text()
    assert "<svg" in svg and "alpha" in svg and "beta" in svg
    # reproducible: the same figure gives the same SVG twice
    assert save_figure(fig, tmp_path / "again")["svg"].read_text() == svg


def test_published_curves():
    refs = load_published("hifst-cvpr17")
    assert sorted(r.method for r in refs) == sorted(
        ["Bae", "Chakrabarti", "Chang", "HiFST", "JNB", "Liu", "Shi", "Su", "Tang", "Yi", "Zhuo"]
    )
    for r in refs:
        assert (r.protocol, r.dataset, r.source, r.counts["gt"]) == ("hifst", "cuhk-full", "published", 1000)
        assert len(r.curves["precision"]) == 256 and r.citation
        assert r.summary["mae"] is None
    hifst = next(r for r in refs if r.method == "HiFST")
    assert hifst.curves["precision"][0] == 0.634958 and hifst.curves["recall"][0] == 1.0
    # F at row 0 by hand: 1.3 * 0.634958 / (0.3 * 0.634958 + 1)
    assert hifst.curves["f"][0] == pytest.approx(1.3 * 0.634958 / (0.3 * 0.634958 + 1), abs=1e-12)
    assert hifst.value("max_f") == pytest.approx(max(hifst.curves["f"]))
    assert f_from_pr(np.array([0.0]), np.array([0.0]))[0] == 0.0


@pytest.mark.slow
def test_same_output_for_any_number_of_workers(tmp_path):
    from dbdbench.leaderboards.build import build_leaderboard

    paths = [
        write_result(tmp_path, m, method=m, protocol="ddffnet", summary={"f": f, "mae": 0.2, "iou": 0.4})
        for m, f in (("a", 0.7), ("b", 0.6))
    ]
    one = build_leaderboard(paths, tmp_path / "w1", workers=1)
    two = build_leaderboard(paths, tmp_path / "w2", workers=2)
    assert [p.name for p in one.plots] == [p.name for p in two.plots] and len(one.plots) == 6
    for p, q in zip(one.plots, two.plots, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert one.files["html"].read_text() == two.files["html"].read_text().replace("/w2/", "/w1/")
