"""The VGG16 backbone of BTBNet: the 13 convolutional layers, without FC and without pooling layers.

Zhao et al., CVPR 2018 (BTBNet) and IEEE TPAMI 2020 (BTBCRL) start from ImageNet VGG16 and delete the
three fully connected layers and the five pooling layers, so every block keeps the input resolution.
ImageNet weights load from a local file in torchvision's VGG16 state-dict format (keys
``features.0.weight`` ... ``features.28.bias``); nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from dbdbench.errors import DbdError

# Output channels of the convolutional layers of VGG16, grouped in its five blocks.
VGG16_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)
# Index of each convolution in torchvision's ``vgg16().features`` (pooling layers included there).
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
# ImageNet normalisation that torchvision's VGG16 weights expect (RGB in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def scaled_blocks(width: float, min_channels: int = 1) -> tuple[tuple[int, ...], ...]:
    """VGG16 channel counts multiplied by ``width``, at least ``min_channels`` per layer."""
    return tuple(tuple(max(min_channels, round(c * width)) for c in block) for block in VGG16_BLOCKS)


def conv_relu(cin: int, cout: int, kernel: int = 3) -> nn.Sequential:
    """A same-padded convolution followed by ReLU.

    Weights start from He (Kaiming) normal initialisation (fan-out, as torchvision initialises VGG) and
    zero biases: without batch normalisation, PyTorch's default initialisation shrinks the signal
    through the 13 + 8 layers of a stream and training stalls.
    """
    conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.ReLU(inplace=True))


class VGGBackbone(nn.Module):
    """VGG16 convolutional layers without pooling: five blocks, each output at input resolution.

    Parameters
    ----------
    blocks : tuple of tuple of int
        Output channels per convolution, grouped per block (:data:`VGG16_BLOCKS` for the paper size).

    Notes
    -----
    The input is an RGB batch in [0, 1], shape (N, 3, H, W), float32; it is normalised with the ImageNet
    mean and standard deviation inside the module. ``forward`` returns the five block outputs, each of
    shape (N, C_b, H, W).
    """

    def __init__(self, blocks: tuple[tuple[int, ...], ...] = VGG16_BLOCKS):
        super().__init__()
        self.block_channels = tuple(block[-1] for block in blocks)
        layers = []
        cin = 3
        for block in blocks:
            convs = []
            for cout in block:
                convs.append(conv_relu(cin, cout))
                cin = cout
            layers.append(nn.Sequential(*convs))
        self.blocks = nn.ModuleList(layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def convs(self) -> list[nn.Conv2d]:
        """The 13 convolutions, in VGG16 order."""
        return [m for m in self.blocks.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


def torch_load(path: Path, what: str, fix: str):
    """``torch.load`` on the CPU (tensors and plain containers only) with one-line errors.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        The option that named it (``--checkpoint``), for the messages.
    fix : str
        What to give instead, appended to the messages.

    Raises
    ------
    DbdError
        The file does not exist or torch cannot read it.
    """
    if not path.is_file():
        raise DbdError(f"{what} '{path}' does not exist; {fix}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise DbdError(
            f"{what} '{path}' is not a readable PyTorch file ({exc.__class__.__name__}); {fix}"
        ) from None


def read_vgg16_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a torchvision-format VGG16 state dict from a local file.

    Raises
    ------
    DbdError
        The file is missing, unreadable, or lacks a ``features.N.weight``/``bias`` key.
    """
    path = Path(path)
    fix = "give a VGG16 state dict saved from torchvision (keys features.0.weight ... features.28.bias)"
    state = torch_load(path, "--backbone-weights", fix)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise DbdError(f"--backbone-weights '{path}' holds no state dict; {fix}")
    for idx in TORCHVISION_CONV_INDICES:
        for part in ("weight", "bias"):
            if f"features.{idx}.{part}" not in state:
                raise DbdError(f"--backbone-weights '{path}' has no key 'features.{idx}.{part}'; {fix}")
    return state


def load_vgg16_weights(
    backbone: VGGBackbone, state: dict[str, torch.Tensor], source: str = "weights"
) -> None:
    """Copy torchvision VGG16 convolution weights into ``backbone`` (in place).

    Raises
    ------
    DbdError
        A tensor shape differs: ImageNet weights fit only the full-width (``paper``) backbone.
    """
    with torch.no_grad():
        for idx, conv in zip(TORCHVISION_CONV_INDICES, backbone.convs(), strict=True):
            for part in ("weight", "bias"):
                src = state[f"features.{idx}.{part}"]
                dst = getattr(conv, part)
                if tuple(src.shape) != tuple(dst.shape):
                    raise DbdError(
                        f"{source}: 'features.{idx}.{part}' has shape {tuple(src.shape)} "
                        "but the backbone needs "
                        f"{tuple(dst.shape)}; ImageNet VGG16 weights fit only --preset paper"
                    )
                dst.copy_(src.to(dst.dtype))
