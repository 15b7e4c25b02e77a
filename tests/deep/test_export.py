"""``dbdbench export``: the weights alone and a TorchScript module give the map of the checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.checkpoint import read_checkpoint
from dbdbench.baselines.deep.data import to_tensor_image, training_sources
from dbdbench.baselines.deep.predictor import predict_map
from dbdbench.baselines.deep.train import TrainOptions, train
from dbdbench.cli import main


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    opts = TrainOptions("btbcrl", out, batch_size=3, train_size=32, epochs=1, lr=1e-2)
    torch.set_num_threads(1)
    train(opts, training_sources([tiny_data]), echo=None, progress=False)
    return out / "last.pt"


def invoke(*args):
    return CliRunner().invoke(main, ["export", *map(str, args)])


def test_pt_export_drops_the_optimizer_and_predicts_the_same_map(trained, tmp_path):
    result = invoke("--checkpoint", trained, "--out", tmp_path / "w.pt")
    assert result.exit_code == 0, result.output
    full, slim = read_checkpoint(trained), read_checkpoint(tmp_path / "w.pt")
    assert "optimizer" in full and "optimizer" not in slim and "history" not in slim
    assert slim["backbone_init"] == full["backbone_init"] == "random" and slim["step"] == full["step"]
    assert (tmp_path / "w.pt").stat().st_size < 0.6 * trained.stat().st_size  # Adam keeps 2 per weight
    image = np.random.default_rng(0).integers(0, 256, (45, 60, 3), dtype=np.uint8)
    a = predict_map(image, model="btbcrl", checkpoint=str(trained))
    b = predict_map(image, model="btbcrl", checkpoint=str(tmp_path / "w.pt"))
    assert np.array_equal(a, b)


def test_torchscript_export_gives_the_same_map(trained, tmp_path):
    ts = tmp_path / "m.ts"
    result = invoke("--checkpoint", trained, "--format", "torchscript", "--size", "45x60", "--out", ts)
    assert result.exit_code == 0, result.output
    files = {"dbdbench.json": ""}
    module = torch.jit.load(str(ts), _extra_files=files)
    assert json.loads(files["dbdbench.json"])["input"] == [1, 3, 45, 60]
    image = np.random.default_rng(1).integers(0, 256, (45, 60, 3), dtype=np.uint8)
    expected = predict_map(image, model="btbcrl", checkpoint=str(trained))
    with torch.inference_mode():
        got = module(to_tensor_image(image)[None])[0, 0].numpy()
    assert got.shape == (45, 60)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_export_errors_are_one_line(trained, tmp_path):
    (tmp_path / "there.pt").write_bytes(b"x")
    cases = [
        (["--format", "onnx", "--out", tmp_path / "m.onnx"], "no ONNX operator"),
        (["--out", tmp_path / "there.pt"], "already exists; pass --overwrite"),
        (["--format", "torchscript", "--size", "10", "--out", tmp_path / "s.ts"], "minimum"),
        (["--format", "torchscript", "--size", "axb", "--out", tmp_path / "s.ts"], "--size 'axb'"),
    ]
    for args, words in cases:
        result = invoke("--checkpoint", trained, *args)
        assert result.exit_code == 2 and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "s.ts").exists() and not (tmp_path / "m.onnx").exists()
    result = invoke("--checkpoint", tmp_path / "there.pt", "--out", tmp_path / "o.pt")
    assert result.exit_code == 2 and "empty" not in result.output and "not a readable" in result.output
