"""The protocol registry: one place that lists and describes protocols, read by everything else.

A toy protocol registered at run time (pixel accuracy of the map cut at one half, hand-worked below)
must show up in the CLI choices, be written to and read back from a result file, and get a
leaderboard table with its own label and direction; the shipped protocols' metadata must agree with
what they compute.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.imageio import write_image
from dbdbench.metrics import protocols
from dbdbench.metrics.protocol import Metric, Protocol, focus_levels, stack
from dbdbench.metrics.protocols import BUILTIN, get_protocol, protocol_names, register


class ToyProtocol(Protocol):
    """Share of pixels on the right side of one half: (map >= 0.5) == (in-focus GT)."""

    name = "toy"
    source = "hand-made for the registry tests"
    resize = None
    metrics = (
        Metric("accuracy", "Acc", higher_is_better=True),
        Metric("error", "Err", higher_is_better=False),
    )
    headline_f = "accuracy"
    headline_mae = "error"
    curve_order = "none"
    per_image_keys = ("accuracy",)

    def score_image(self, pred, gt, polarity):
        sharp = focus_levels(gt, polarity) > 127
        return {"accuracy": float(np.mean((pred >= 128) == sharp))}

    def summarize(self, stacked):
        acc = float(stacked["accuracy"].mean())
        return {"accuracy": acc, "error": 1 - acc}

    def curves(self, stacked):
        return {"thresholds": [], "precision": [], "recall": [], "f": []}


@pytest.fixture
def toy():
    """Register the toy protocol for one test; the registry is restored afterwards."""
    register(ToyProtocol)
    yield ToyProtocol
    protocols.PROTOCOLS.unregister(ToyProtocol.name)


def test_builtin_names_in_display_order():
    assert protocol_names()[:5] == ("sod", "hifst", "zhao", "binseg", "ddffnet")
    assert len(protocol_names()) == len(BUILTIN)


@pytest.mark.parametrize("name", protocol_names())
def test_metadata_agree_with_what_each_protocol_computes(name):
    """summarize gives exactly the declared keys, each inside its declared range, on random maps
    (and on a perfect and an inverted map); headline F is higher-better, headline MAE lower-better."""
    proto = get_protocol(name)
    rng = np.random.default_rng(7)
    gts = [np.where(rng.random((24, 30)) < 0.4, 255, 0).astype(np.uint8) for _ in range(3)]
    preds = [rng.integers(0, 256, (24, 30), dtype=np.uint8), gts[1].copy(), 255 - gts[2]]
    records = [proto.score_image(p, g, "focus-white") for p, g in zip(preds, gts, strict=True)]
    summary = proto.summarize(stack(records))
    assert tuple(summary) == proto.summary_keys
    for m in proto.metrics:
        assert m.contains(summary[m.key]), (m.key, summary[m.key])
    assert proto.metric(proto.headline_f).higher_is_better
    assert proto.headline_mae is None or not proto.metric(proto.headline_mae).higher_is_better
    assert {m.key for m in proto.table_metrics} <= set(proto.summary_keys)
    curves = proto.curves(stack(records))
    assert len({len(v) for v in curves.values()}) == 1 and proto.curve_order
    for r in records:
        assert set(proto.per_image_keys) <= set(r)


def test_register_refuses_inconsistent_metadata(toy):
    class NoHeadline(ToyProtocol):
        name = "toy2"
        headline_f = "f"

    with pytest.raises(ValueError, match="headline_f 'f' is not one of its metrics"):
        register(NoHeadline)

    class Taken(ToyProtocol):
        pass

    with pytest.raises(ValueError, match="protocol 'toy' is registered twice"):
        register(Taken)
    assert "toy2" not in protocol_names()


def _toy_images(root):
    """Two 10 x 10 images, GT top half in-focus; predictions with 10 and 30 pixels wrong."""
    gt = np.zeros((10, 10), np.uint8)
    gt[:5] = 255
    for name, wrong in (("a", 10), ("b", 30)):
        pred = gt.copy()
        pred.flat[:wrong] = 255 - pred.flat[:wrong]
        write_image(root / "gt" / f"{name}.png", gt)
        write_image(root / "pred" / f"{name}.png", pred)
    return root / "pred", root / "gt"


def test_toy_protocol_reaches_cli_result_and_leaderboard(toy, tmp_path):
    runner = CliRunner()
    for command in ("evaluate", "leaderboard"):
        help_text = runner.invoke(main, [command, "--help"]).output
        assert "|ddffnet|toy]" in help_text, help_text

    pred, gt = _toy_images(tmp_path)
    out = tmp_path / "toy.json"
    run = runner.invoke(main, ["evaluate", "--pred", str(pred), "--gt", str(gt), "--protocol", "toy",
                               "--name", "mine", "--out", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    # accuracy by hand: (90/100 + 70/100) / 2
    data = json.loads(out.read_text())
    assert data["protocol"] == "toy" and data["summary"] == pytest.approx({"accuracy": 0.8, "error": 0.2})

    board = tmp_path / "board"
    run = runner.invoke(main, ["leaderboard", str(out), "--protocol", "toy", "--out", str(board)])
    assert run.exit_code == 0, run.output
    md = (board / "leaderboard.md").read_text()
    assert "### protocol toy, dataset gt, 2 images" in md
    assert "| Method | Acc ↑ | Err ↓ |" in md and "| mine | 0.800 | 0.200 |" in md
    assert (board / "plots" / "bars-accuracy_toy_gt.png").is_file()


def test_out_of_range_toy_summary_is_refused(toy, tmp_path):
    """The toy's declared range is what load_result checks: an accuracy of 1.5 is refused."""
    from board_helpers import write_result

    path = write_result(tmp_path, "t", method="m", protocol="toy", summary={"accuracy": 1.5})
    run = CliRunner().invoke(main, ["leaderboard", str(path), "--out", str(tmp_path / "o")])
    assert run.exit_code == 2
    assert "summary.accuracy is 1.5, outside [0, 1] (Acc of protocol toy)" in run.stderr


@pytest.mark.parametrize(
    "command", [["evaluate", "--pred", ".", "--gt", "."], ["leaderboard", "x.json", "--out", "b"]]
)
def test_a_protocol_list_naming_no_protocol_is_one_line(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*command, "--protocol", ","])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "',' holds an empty protocol name" in lines[0], result.output
