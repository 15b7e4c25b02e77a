"""The CRLNet ablations of Zhao et al. (IEEE TPAMI 2020): 1-, 2- and 3-step CRLNet by the stream scales.

Scales {0.6}, {0.8, 0.6} and {1, 0.8, 0.6}: one BTBNet stream and one cascade step per scale; the
scales are a model setting, stored in the checkpoint and read back by ``predict``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.btbnet import resize
from dbdbench.baselines.deep.checkpoint import load_model, read_checkpoint, save_checkpoint
from dbdbench.baselines.deep.models import PRESETS, build_model, count_parameters, parse_scales
from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey


def preset(scales):
    return replace(PRESETS["tiny"], scales=parse_scales(scales))


def test_parse_scales():
    assert parse_scales("0.6,1,0.8") == (1.0, 0.8, 0.6)
    for bad in ("", "0", "1.2", "0.8,0.8", "a", "1,0.9,0.8,0.7,0.6,0.5,0.4"):
        with pytest.raises(DbdError, match="--scales"):
            parse_scales(bad)


@pytest.mark.parametrize(("scales", "steps"), [("0.6", 1), ("0.8,0.6", 2), ("1,0.8,0.6", 3)])
def test_streams_and_crlnet_steps_follow_the_scales(scales, steps):
    model = build_model("btbcrl", preset(scales))
    assert len(model.streams.streams) == steps and model.refine.n_steps == steps
    p = PRESETS["tiny"]
    w, d = p.refine_width, p.refine_depth
    rlnet = (4 * w * 9 + w) + d * (w * w * 9 + w) + (w * 9 + 1)
    stream = count_parameters(build_model("btbnet-1s", "tiny"))
    # one BTBNet per scale, RLNet 1, and one shared residual RLNet when there are residual steps
    assert count_parameters(model) == steps * stream + rlnet * (1 if steps == 1 else 2)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 50, 40))
    assert len(outs) == 4 * steps + steps and outs[-1].shape[-2:] == (50, 40)


def test_one_step_crlnet_refines_the_smallest_map_only():
    # untrained (zero tail), the single RLNet passes the 0.6 stream's map through, brought to full size
    model = build_model("btbcrl", preset("0.6"))
    assert model.min_size == 27 and len(model.refine.residual) == 0
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 50, 40))
    stream = outs[3]
    assert stream.shape[-2:] == (30, 24)
    torch.testing.assert_close(outs[-1], resize(stream, (50, 40)))


def test_scales_are_stored_in_the_checkpoint_and_read_back(tmp_path):
    torch.manual_seed(1)
    model = build_model("btbcrl", preset("0.8,0.6"))
    path = save_checkpoint(tmp_path / "two.pt", model)
    assert read_checkpoint(path)["preset"]["scales"] == (0.8, 0.6)
    again = load_model(path, "btbcrl")
    assert again.scales == (0.8, 0.6) and again.refine.n_steps == 2
    with pytest.raises(DbdError, match="one full-resolution stream"):
        build_model("vgg-fc", preset("0.8,0.6"))


def test_the_three_ablations_train_and_predict_from_the_cli(tiny_data, tmp_path):
    photos = tiny_data / "image"
    for scales, steps in (("0.6", 1), ("0.8,0.6", 2), ("1,0.8,0.6", 3)):
        out = tmp_path / f"crl{steps}"
        args = ["train", "--model", "btbcrl", "--data", str(tiny_data), "--out", str(out), "--scales", scales,
                "--epochs", "1", "--train-size", "32", "--batch-size", "6", "--threads", "1"]  # fmt: skip
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert read_checkpoint(out / "last.pt")["preset"]["scales"] == parse_scales(scales)
        maps = tmp_path / f"maps{steps}"
        result = CliRunner().invoke(main, [
            "predict", "--method", "btbcrl", "--checkpoint", str(out / "last.pt"), "--images", str(photos),
            "--out", str(maps), "--param", "save_steps=true",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in (maps / "steps").iterdir()) == [f"step{k + 1}" for k in range(steps)]
        assert len(list(maps.glob("*.png"))) == 6
    one, three = (read_grey(tmp_path / f"maps{k}" / "000000.png") for k in (1, 3))
    assert one.shape == three.shape == (40, 40) and not np.array_equal(one, three)
