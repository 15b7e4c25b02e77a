"""The registered deep detectors: checkpoint round trip and the errors a user can cause."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from _deep_skip import torch

from dbdbench.baselines.deep.btbnet import resize
from dbdbench.baselines.deep.catalog import MODELS
from dbdbench.baselines.deep.checkpoint import save_checkpoint
from dbdbench.baselines.deep.data import to_tensor_image
from dbdbench.baselines.deep.models import PRESETS, build_model
from dbdbench.baselines.deep.predictor import input_shape, predict_map
from dbdbench.baselines.registry import get_method
from dbdbench.errors import DbdError


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)


def test_every_model_is_a_registered_deep_method():
    for name in [*MODELS, "torch"]:
        method = get_method(name)
        assert method.kind == "deep"
        assert method.params == {
            "checkpoint": "", "device": "auto", "test_size": "auto", "max_pixels": 0, "save_steps": False
        }  # fmt: skip


def test_checkpoint_round_trip_gives_identical_maps(tmp_path, image):
    torch.manual_seed(4)
    model = build_model("btbcrl", "tiny").eval()
    with torch.no_grad():
        expected = torch.sigmoid(model(to_tensor_image(image)[None])[-1])[0, 0].numpy()
    path = save_checkpoint(tmp_path / "m.pt", model)
    func = get_method("btbcrl").func
    got = func(image, checkpoint=str(path))
    assert got.shape == (37, 53) and got.dtype == np.float32
    assert 0 <= got.min() and got.max() <= 1
    assert np.array_equal(got, expected)
    assert np.array_equal(func(image, checkpoint=str(path)), got)  # cached model, same answer


def test_test_size_resizes_like_the_authors_for_whole_image_presets(tmp_path, image):
    # a preset trained on whole images resized to 48 x 48: by default the photo is resized to 48 x 48,
    # predicted, and the map resized back (as Zhao et al. test on 320 x 320 copies); "native" runs
    # at the photo's size; an integer N at N x N.
    torch.manual_seed(5)
    preset = replace(PRESETS["tiny"], crop=False, train_size=48)
    model = build_model("btbnet", preset).eval()
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):  # a non-trivial map: random weights of any scale
            p.add_(0.05 * torch.randn_like(p) * (k % 3))
    path = save_checkpoint(tmp_path / "whole.pt", model)
    x = to_tensor_image(image)[None]

    def expected(side):
        with torch.no_grad():
            logit = model(resize(x, (side, side)))[-1]
        return torch.sigmoid(resize(logit, (37, 53)))[0, 0].numpy()

    auto = predict_map(image, model="btbnet", checkpoint=str(path))
    np.testing.assert_allclose(auto, expected(48), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        predict_map(image, model="btbnet", checkpoint=str(path), test_size="64"), expected(64), atol=1e-6
    )
    with torch.no_grad():
        native = torch.sigmoid(model(x)[-1])[0, 0].numpy()
    got = predict_map(image, model="btbnet", checkpoint=str(path), test_size="native")
    np.testing.assert_allclose(got, native, rtol=0, atol=1e-6)
    assert got.shape == auto.shape == (37, 53) and np.abs(got - auto).max() > 1e-3
    assert input_shape("auto", PRESETS["paper"], 480, 640) == (320, 320)
    assert input_shape("auto", PRESETS["tiny"], 480, 640) == (480, 640)  # tiny trains on native crops
    with pytest.raises(DbdError, match="test_size=big: give auto, native or a positive number"):
        predict_map(image, model="btbnet", checkpoint=str(path), test_size="big")
    with pytest.raises(DbdError, match="test_size 20x20 is 20x20 pixels, smaller than the 27x27"):
        predict_map(image, model="btbnet", checkpoint=str(path), test_size="20")


def test_missing_or_empty_checkpoint_is_refused(tmp_path, image):
    with pytest.raises(DbdError, match="--checkpoint FILE"):
        predict_map(image, model="btbcrl", checkpoint="")
    with pytest.raises(DbdError, match="does not exist"):
        predict_map(image, model="btbcrl", checkpoint=str(tmp_path / "nope.pt"))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(DbdError, match="empty"):
        predict_map(image, model="btbcrl", checkpoint=str(tmp_path / "empty.pt"))


def test_checkpoint_of_another_model_or_not_ours_is_refused(tmp_path, image):
    path = save_checkpoint(tmp_path / "one.pt", build_model("btbnet-1s", "tiny"))
    with pytest.raises(DbdError, match="holds a 'btbnet-1s' model, not 'btbcrl'") as err:
        predict_map(image, model="btbcrl", checkpoint=str(path))
    assert "\n" not in str(err.value)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(DbdError, match="not a dbdbench model checkpoint"):
        predict_map(image, model="btbcrl", checkpoint=str(tmp_path / "other.pt"))


def test_image_below_the_minimum_size_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", build_model("btbnet", "tiny"))
    small = np.zeros((20, 64, 3), np.uint8)
    with pytest.raises(DbdError, match="64x20 pixels, smaller than the 27x27 minimum"):
        predict_map(small, model="btbnet", checkpoint=str(path))


NO_TORCH = """
import sys
sys.modules["torch"] = None  # as if PyTorch were not installed
import numpy as np
from click.testing import CliRunner
from dbdbench.baselines.registry import get_method
from dbdbench.cli import main
from dbdbench.errors import DbdError
method = get_method("btbcrl")
try:
    method.func(np.zeros((32, 32, 3), np.uint8), checkpoint="model.pt")
except DbdError as exc:
    print("predict:", exc)
import os
os.makedirs("d")
result = CliRunner().invoke(main, ["train", "--model", "btbcrl", "--data", "d", "--out", "x"])
print("train:", result.exit_code, result.output.strip())
"""


def test_without_pytorch_the_methods_are_listed_and_say_how_to_install_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "predict: method 'btbcrl' needs PyTorch: pip install 'dbdbench[deep]'" in done.stdout
    assert "train: 2 dbdbench: error: dbdbench train needs PyTorch" in done.stdout
