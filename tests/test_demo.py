"""`dbdbench demo` end to end: generator, baselines, evaluator and leaderboard together."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.metrics.protocols import protocol_names


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--count", "6", "--size", "96", "--deep-epochs", "0"]
    run = CliRunner().invoke(main, args)  # the btbcrl row: the next test
    assert run.exit_code == 0, run.output
    page = out / "leaderboard" / "index.html"
    assert page.is_file() and page.resolve().as_uri() in run.output
    results = sorted((out / "results").rglob("*.json"))
    methods = {json.loads(p.read_text())["method"] for p in results}
    protocols = {json.loads(p.read_text())["protocol"] for p in results}
    assert len(methods) >= 2 and protocols == set(protocol_names())
    html = page.read_text()
    for m in methods:
        assert m in html
    md = (out / "leaderboard" / "leaderboard.md").read_text()
    assert "Protocol sensitivity" in md and md.count("### protocol ") == len(protocol_names())
    assert all((out / "figure" / f"comparison.{ext}").is_file() for ext in ("png", "svg", "pdf"))
    assert html.count('<section class="mb"') == len(protocol_names())  # a map browser per table


@pytest.mark.slow
def test_demo_scores_btbcrl_beside_the_baselines(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--count", "4", "--size", "64", "--methods", "lapvar"]
    run = CliRunner().invoke(main, [*args, "--deep-epochs", "1"])
    assert run.exit_code == 0, run.output
    assert "trained btbcrl (tiny) on 48 other simulated images: 12 steps, 1 epochs" in run.output
    for protocol in ("sod", "hifst", "zhao", "binseg", "ddffnet"):
        assert json.loads((out / "results" / protocol / "btbcrl.json").read_text())["method"] == "btbcrl"
    md = (out / "leaderboard" / "leaderboard.md").read_text()
    assert md.count("| btbcrl ") >= 5
    assert (out / "train" / "last.pt").is_file() and len(
        list((out / "predictions" / "btbcrl").glob("*.png"))
    ) == 4


def test_demo_without_pytorch_says_why_there_is_no_btbcrl_row(tmp_path, monkeypatch):
    from dbdbench.pipeline import _train_deep

    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    lines = []
    assert _train_deep(tmp_path, 48, 0, 1, 1, lines.append) is None
    assert lines == ["no btbcrl row: PyTorch is not installed (pip install 'dbdbench[deep]')"]
    assert not any(tmp_path.iterdir())  # nothing generated for a row that cannot exist
