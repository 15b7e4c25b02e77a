"""VGG16 backbone of BTBNet: parameter count and torchvision weight loading."""

from __future__ import annotations

import pytest
from _deep_skip import torch
from torch import nn
from torch.nn import functional as F

from dbdbench.baselines.deep.models import build_model, count_parameters
from dbdbench.baselines.deep.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGGBackbone,
    load_vgg16_weights,
    read_vgg16_state,
)
from dbdbench.errors import DbdError

# The 13 convolutions of VGG16 (Simonyan & Zisserman): 14,714,688 parameters (138,357,544 with FC).
VGG16_CONV_PARAMS = 14_714_688


def torchvision_features() -> nn.Sequential:
    """VGG16 ``features`` in torchvision's layout: conv/ReLU with max-pooling after each block."""
    layers, cin = [], 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers)


def test_backbone_has_the_vgg16_conv_parameter_count():
    backbone = VGGBackbone()
    assert len(backbone.convs()) == 13
    assert count_parameters(backbone) == VGG16_CONV_PARAMS


def test_vgg_fc_model_is_the_backbone_plus_a_1x1_conv():
    model = build_model("vgg-fc", "paper")
    (backbone,) = model.backbones()
    assert count_parameters(backbone) == VGG16_CONV_PARAMS
    assert count_parameters(model) == VGG16_CONV_PARAMS + 512 + 1


def test_torchvision_state_dict_loads_and_computes_the_same_features(tmp_path):
    torch.manual_seed(0)
    features = torchvision_features()
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    backbone = VGGBackbone()
    load_vgg16_weights(backbone, read_vgg16_state(path))
    assert torch.equal(backbone.convs()[-1].weight, features[28].weight)
    x = torch.rand(1, 3, 12, 10)
    normed = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        block1 = features[3](features[2](features[1](features[0](normed))))
        # no pooling: block 2 runs at full resolution on block 1's output
        block2 = F.relu(features[7](F.relu(features[5](block1))))
        ours = backbone(x)
    torch.testing.assert_close(ours[0], block1, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours[1], block2, rtol=0, atol=1e-5)
    assert ours[4].shape == (1, 512, 12, 10)


def test_missing_weights_file_is_a_one_line_error(tmp_path):
    with pytest.raises(DbdError, match="does not exist") as err:
        read_vgg16_state(tmp_path / "nope.pth")
    assert "\n" not in str(err.value)


def test_weights_of_the_wrong_width_name_the_preset(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in torchvision_features().state_dict().items()}, path)
    tiny = build_model("btbnet-1s", "tiny").backbones()[0]
    with pytest.raises(DbdError, match="--preset paper"):
        load_vgg16_weights(tiny, read_vgg16_state(path))


def test_state_dict_without_a_conv_key_is_rejected(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(DbdError, match="features.0.bias"):
        read_vgg16_state(path)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(DbdError, match="not a readable PyTorch file"):
        read_vgg16_state(tmp_path / "junk.pth")


def test_backbone_init_is_recorded_with_the_file_hash_not_called_imagenet(tmp_path):
    # random values under torchvision's key names: they load, but the log gives the sha256 and says
    # it is not torchvision's ImageNet file; the checkpoint records weights:<sha256>
    import hashlib

    from dbdbench.baselines.deep.train import TORCHVISION_VGG16_SHA256_PREFIX, TrainOptions, _Log, new_run

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in torchvision_features().state_dict().items()}
    path = tmp_path / "vgg16-random.pth"
    torch.save(state, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert not sha.startswith(TORCHVISION_VGG16_SHA256_PREFIX)
    lines = []
    log = _Log(tmp_path / "train.log", lines.append)
    opts = TrainOptions("vgg-fc", tmp_path, preset="paper", backbone_weights=path)
    model, progress = new_run(opts, build_model("vgg-fc", "paper").preset, log)
    assert progress.record["backbone_init"] == f"weights:{sha}"
    assert any(sha in ln and "not torchvision's ImageNet" in ln for ln in lines), lines
    assert not any("loaded ImageNet" in ln for ln in lines)
    convs = model.backbones()[0].convs()
    assert torch.equal(convs[0].weight, state["features.0.weight"])
    # without --backbone-weights the paper preset says it starts from random weights
    lines.clear()
    _, progress = new_run(TrainOptions("vgg-fc", tmp_path, preset="paper"), model.preset, log)
    assert progress.record["backbone_init"] == "random"
    assert len(lines) == 1 and "random" in lines[0] and "ImageNet" in lines[0]
    lines.clear()
    new_run(TrainOptions("vgg-fc", tmp_path, preset="tiny"), build_model("vgg-fc", "tiny").preset, log)
    assert lines == []  # tiny widths: ImageNet weights do not apply, nothing to say
