"""`dbdbench demo` end to end: generator, baselines, evaluator and leaderboard together."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.metrics.protocols import protocol_names


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    run = CliRunner().invoke(main, ["demo", "--out", str(out), "--count", "6", "--size", "96"])
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
