"""Bounded memory in ``predict``: tiles equal to the untiled map, refusals in one line, save_steps."""

from __future__ import annotations

import numpy as np
import pytest
from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.checkpoint import save_checkpoint
from dbdbench.baselines.deep.models import build_model
from dbdbench.baselines.deep.predictor import forward_maps, pixel_limit, predict_maps, tiles
from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey, write_image


def perturbed(name, **kw):
    """A model with random weights of some scale (the zero-initialised tails give trivial maps)."""
    torch.manual_seed(0)
    model = build_model(name, **kw).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_tile_spans_cover_the_axis_once():
    spans = tiles(100, 30, 10)
    assert [(a, b) for _, _, a, b in spans] == [(0, 30), (30, 60), (60, 90), (90, 100)]
    assert [(a, b) for a, b, _, _ in spans] == [(0, 40), (20, 70), (50, 100), (80, 100)]


@pytest.mark.parametrize("name", ["btbcrl", "btbnet-1s"])
def test_tiled_maps_equal_the_untiled_ones(name):
    # sides multiples of the 0.8 / 0.6 lattice (5 pixels): every stream resamples on the same grid
    model = perturbed(name, preset="tiny")
    x = torch.rand(1, 3, 150, 200, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        whole = forward_maps(model, x, 0, steps=True)
        tiled = forward_maps(model, x, 160 * 160, steps=True)  # 12 tiles of at most 160 x 160
    assert whole.keys() == tiled.keys()
    for key in whole:
        assert torch.allclose(torch.sigmoid(whole[key]), torch.sigmoid(tiled[key]), rtol=0, atol=1e-4), key
    assert not torch.allclose(whole[""], torch.zeros_like(whole[""]))


def test_too_small_a_tile_and_an_untileable_network_are_one_line_errors():
    model = perturbed("btbcrl", preset="tiny")
    x = torch.rand(1, 3, 150, 200)
    with pytest.raises(DbdError, match=r"max_pixels=1000 is too small to tile model 'btbcrl'.*give at least"):
        forward_maps(model, x, 1000, steps=False)
    model.receptive_radius = lambda: None  # as a user's network without a receptive_radius
    with pytest.raises(DbdError, match=r"image of 200x150 = 30000 pixels \(about .* GiB\) is over"):
        forward_maps(model, x, 1000, steps=False)


def test_the_default_limit_comes_from_the_memory_estimate():
    tiny, paper = build_model("btbcrl", "tiny"), build_model("vgg-fc", "paper")
    # 2 GiB at the estimated bytes per pixel: millions of pixels for tiny; for paper about 0.18 M,
    # above the 320 x 320 it predicts at by default (one pass), far below a native photo
    assert 4_000_000 < pixel_limit(tiny, 0) < 5_000_000
    assert 320 * 320 < pixel_limit(paper, 0) < 250_000
    assert pixel_limit(tiny, 1234) == 1234


def test_predict_writes_every_crlnet_step_and_tiles_by_max_pixels(tmp_path):
    model = perturbed("btbcrl", preset="tiny")
    ckpt = save_checkpoint(tmp_path / "m.pt", model)
    image = np.random.default_rng(2).integers(0, 256, (150, 200, 3), dtype=np.uint8)
    write_image(tmp_path / "photos" / "a.png", image)
    out = tmp_path / "maps"
    args = ["predict", "--method", "btbcrl", "--checkpoint", str(ckpt), "--images", str(tmp_path / "photos")]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--param", "save_steps=true"])
    assert result.exit_code == 0, result.output
    for k in (1, 2, 3):
        assert read_grey(out / "steps" / f"step{k}" / "a.png").shape == (150, 200)
    # the last step is the final map
    assert np.array_equal(read_grey(out / "steps" / "step3" / "a.png"), read_grey(out / "a.png"))
    assert not np.array_equal(read_grey(out / "steps" / "step1" / "a.png"), read_grey(out / "a.png"))
    tiled = tmp_path / "tiled"
    result = CliRunner().invoke(main, [*args, "--out", str(tiled), "--param", f"max_pixels={160 * 160}"])
    assert result.exit_code == 0, result.output
    diff = np.abs(read_grey(tiled / "a.png").astype(int) - read_grey(out / "a.png").astype(int))
    assert diff.max() <= 1  # the same map, to the rounding to 8 bits
    maps = predict_maps(image, model="btbcrl", checkpoint=str(ckpt), save_steps=True)
    assert set(maps) == {"", "steps/step1", "steps/step2", "steps/step3"}


def test_btbnet_save_steps_gives_each_stream(tmp_path):
    ckpt = save_checkpoint(tmp_path / "m.pt", perturbed("btbnet", preset="tiny"))
    image = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    maps = predict_maps(image, model="btbnet", checkpoint=str(ckpt), save_steps=True)
    assert set(maps) == {"", "steps/stream1", "steps/stream0.8", "steps/stream0.6"}
    # btbnet averages the three stream logits: the mean of the streams' logits is the final map
    logit = {k: np.log(v / (1 - v)) for k, v in maps.items() if k}
    assert np.allclose(np.mean(list(logit.values()), axis=0), np.log(maps[""] / (1 - maps[""])), atol=2e-3)


def test_unknown_devices_are_refused_before_any_folder(tmp_path):
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("btbcrl", "tiny"))
    write_image(tmp_path / "photos" / "a.png", np.zeros((40, 40, 3), np.uint8))
    for device in ("mps", "xpu"):
        out = tmp_path / f"maps-{device}"
        result = CliRunner().invoke(main, [
            "predict", "--method", "btbcrl", "--checkpoint", str(ckpt), "--images", str(tmp_path / "photos"),
            "--out", str(out), "--param", f"device={device}",
        ])  # fmt: skip
        assert result.exit_code == 2 and "device" in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert not out.exists()
