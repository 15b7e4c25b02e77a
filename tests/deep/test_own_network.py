"""``train --model pkg.module:Factory``: a user's network trained and scored beside ``btbcrl``.

The network lives in a module outside the package (a temporary folder on ``sys.path``); it gets the
same data, transforms, loss, schedule and checkpoints, and ``predict --method torch`` runs it.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.checkpoint import read_checkpoint
from dbdbench.cli import main
from dbdbench.imageio import read_grey

USER_NET = '''
import torch
from torch import nn


class TinyNet(nn.Module):
    """Three convolutions to a logit map, and a deep-supervision output from the middle."""

    receptive_radius = 3

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.side = nn.Conv2d(8, 1, 1)
        self.out = nn.Conv2d(8, 1, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.a(x))
        return [self.side(h), self.out(torch.relu(self.b(h)))]


def make():
    return TinyNet()
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "mynets.py").write_text(USER_NET, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    yield "mynets"
    sys.modules.pop("mynets", None)


def invoke(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    assert result.exit_code == 0, result.output
    return result


def test_a_user_network_trains_resumes_predicts_and_scores_beside_btbcrl(tiny_data, tmp_path, user_module):
    common = [
        "--data",
        tiny_data,
        "--train-size",
        "32",
        "--batch-size",
        "2",
        "--epochs",
        "2",
        "--threads",
        "1",
    ]
    invoke("train", "--model", f"{user_module}:make", *common, "--out", tmp_path / "own", "--max-steps", "4")
    ckpt = read_checkpoint(tmp_path / "own" / "last.pt")
    assert ckpt["model"] == "torch" and ckpt["network"] == "mynets:make" and ckpt["step"] == 4
    assert set(ckpt["state_dict"]) == {
        f"net.{k}.{p}" for k in ("a", "b", "side", "out") for p in ("weight", "bias")
    }
    invoke(
        "train", "--model", f"{user_module}:make", "--out", tmp_path / "own", "--resume", "--data", tiny_data
    )
    assert read_checkpoint(tmp_path / "own" / "last.pt")["step"] == 6
    # the class works as well as the factory; the same seed gives the same start, so the same run
    invoke("train", "--model", f"{user_module}:TinyNet", *common, "--out", tmp_path / "cls")
    a = read_checkpoint(tmp_path / "own" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "cls" / "last.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    invoke("train", "--model", "btbcrl", *common, "--out", tmp_path / "crl")

    images, gt = tiny_data / "image", tiny_data / "gt"
    for method, run in (("torch", "own"), ("btbcrl", "crl")):
        invoke("predict", "--method", method, "--checkpoint", tmp_path / run / "last.pt", "--images", images,
               "--out", tmp_path / "maps" / method)  # fmt: skip
        assert len(list((tmp_path / "maps" / method).glob("*.png"))) == 6
        invoke("evaluate", "--pred", tmp_path / "maps" / method, "--gt", gt, "--protocol", "sod",
               "--name", method, "--out", tmp_path / "results" / f"{method}.json")  # fmt: skip
    for method in ("torch", "btbcrl"):
        summary = json.loads((tmp_path / "results" / f"{method}.json").read_text())["summary"]
        # MAE by hand (PySODMetrics' rule: map min-max normalised, mask > 128) from the written files
        errors = []
        for p in sorted(gt.glob("*.png")):
            pred = read_grey(tmp_path / "maps" / method / p.name) / 255.0
            if pred.max() > pred.min():
                pred = (pred - pred.min()) / (pred.max() - pred.min())
            errors.append(np.abs(pred - (read_grey(p) > 128)).mean())
        assert summary["mae"] == pytest.approx(np.mean(errors), abs=1e-6)
        assert 0 <= summary["max_f"] <= 1


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("nosuchmodule_xyz:make", "module 'nosuchmodule_xyz' does not import"),
        ("mynets:missing", "'missing' is not an nn.Module class or a function defined in 'mynets'"),
        ("os:system", "'system' is not an nn.Module class or a function defined in 'os'"),
        ("mynets:", "give a model name or pkg.module:ClassOrFactory"),
    ],
)
def test_bad_network_specs_are_one_line_errors(tiny_data, tmp_path, user_module, spec, words):
    result = CliRunner().invoke(
        main, ["train", "--model", spec, "--data", str(tiny_data), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r" / "last.pt").exists()


def test_freeze_and_backbone_weights_do_not_apply_to_a_user_network(tiny_data, tmp_path, user_module):
    base = ["train", "--model", "mynets:make", "--data", str(tiny_data), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(main, [*base, "--freeze", "backbone"])
    assert result.exit_code == 2 and "not with --model mynets:make" in result.output
