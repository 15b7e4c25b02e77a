"""The trainable models by name, and the ``tiny`` and ``paper`` presets.

Zhao et al., CVPR 2018 (BTBNet, FRRNet) and Zhao et al., IEEE TPAMI 2020 (BTBCRL, CRLNet and the
ablations ARL, MSCRL, SCCRL, unshared CRLNet, VGG-FC). Every model maps an RGB batch (N, 3, H, W) in
[0, 1] to a list of logit maps: every supervised intermediate output, then the final map last, at the
input size (N, 1, H, W). The in-focus probability is the sigmoid of a logit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from dbdbench.baselines.deep.btbnet import BTBNet, MultiStream, VGGFCNet, resize
from dbdbench.baselines.deep.catalog import FREEZE_PARTS, MODELS
from dbdbench.baselines.deep.refine import ARLNet, CRLNet, FRRNet
from dbdbench.baselines.deep.vgg import VGGBackbone, scaled_blocks
from dbdbench.errors import DbdError

SCALES = (1.0, 0.8, 0.6)
# The smallest stream must be at least this many pixels high and wide.
MIN_STREAM_SIZE = 16


@dataclass(frozen=True)
class Preset:
    """Network size and training recipe.

    Attributes
    ----------
    width : float
        Multiplier of the VGG16 channel counts (1 = the paper's network).
    min_channels : int
        Floor of every VGG16 layer's channel count (keeps the first layers of narrow networks wide
        enough to see fine detail).
    refine_width, refine_depth : int
        Hidden channels and hidden layers of every refinement step (FNet, RRNet, CRLNet, ARL).
    rr_steps : int
        Recurrent refinement steps of RRNet.
    train_size : int
        Side of the square training inputs.
    crop : bool
        True: random ``train_size`` crops at the native scale; False: resize whole images to
        ``train_size`` x ``train_size`` (the papers train on 320 x 320 images).
    batch_size : int
    lr : float
        Adam learning rate.
    epochs : int
        Default number of epochs.
    """

    width: float
    min_channels: int
    refine_width: int
    refine_depth: int
    rr_steps: int
    train_size: int
    crop: bool
    batch_size: int
    lr: float
    epochs: int


PRESETS = {
    "tiny": Preset(1 / 32, 8, 8, 2, 2, 64, True, 4, 2e-3, 30),
    "paper": Preset(1.0, 1, 64, 3, 3, 320, False, 1, 1e-4, 10),
}


def get_preset(name: str) -> Preset:
    """Look up a preset by name (DbdError when unknown)."""
    if name not in PRESETS:
        raise DbdError(f"unknown --preset '{name}'; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


class DBDModel(nn.Module):
    """A named model: a network plus its name, preset and minimum input size."""

    def __init__(self, name: str, preset: Preset, scales: tuple[float, ...]):
        super().__init__()
        self.name = name
        self.preset = preset
        self.min_size = math.ceil(MIN_STREAM_SIZE / min(scales))

    def backbones(self) -> list[VGGBackbone]:
        """Every VGG16 backbone (one per stream)."""
        return [m for m in self.modules() if isinstance(m, VGGBackbone)]

    def check_size(self, height: int, width: int, what: str = "image") -> None:
        """Raise DbdError when an input is smaller than the network's minimum size."""
        if min(height, width) < self.min_size:
            raise DbdError(
                f"{what} is {width}x{height} pixels, smaller than the {self.min_size}x{self.min_size} "
                f"minimum of model '{self.name}'; use a larger image"
            )

    def config(self) -> dict:
        """What a checkpoint records to rebuild this model."""
        return {"model": self.name, "preset": asdict(self.preset)}

    def refinement(self) -> nn.Module | None:
        """The refinement network on top of the BTBNet stream(s) (FRRNet, CRLNet, ARL), or None."""
        refine = getattr(self, "refine", None)
        return refine if isinstance(refine, nn.Module) else None

    def freeze(self, part: str) -> int:
        """Fix part of the network (``requires_grad = False``); return the trainable parameter count.

        Parameters
        ----------
        part : {"none", "backbone", "btbnet"}
            ``backbone``: every VGG16 backbone; ``btbnet``: everything but the refinement network,
            as the TPAMI ablations train CRLNet, FRRNet and ARLNet "fixing BTBNet".

        Raises
        ------
        DbdError
            An unknown part, or ``btbnet`` for a model without a refinement network.
        """
        if part not in FREEZE_PARTS:
            raise DbdError(f"unknown --freeze '{part}'; choose one of: {', '.join(FREEZE_PARTS)}")
        if part == "backbone":
            for backbone in self.backbones():
                backbone.requires_grad_(False)
        elif part == "btbnet":
            refine = self.refinement()
            if refine is None:
                raise DbdError(
                    f"--freeze btbnet: model '{self.name}' has no refinement network to train; "
                    "use it with btbfrr, btbcrl, btbcrl-unshared, mscrl, sccrl or arl"
                )
            self.requires_grad_(False)
            refine.requires_grad_(True)
        return count_parameters(self)


class SingleStreamModel(DBDModel):
    """One full-resolution network: ``vgg-fc`` or ``btbnet-1s``."""

    def __init__(self, name, preset, net):
        super().__init__(name, preset, (1.0,))
        self.net = net

    def forward(self, x):
        return self.net(x)


class MultiStreamModel(DBDModel):
    """Multi-stream BTBNet followed by a fusion: ``mean``, ``frr``, ``crl`` or ``arl``."""

    def __init__(self, name, preset, fusion: str, **crl):
        super().__init__(name, preset, SCALES)
        self.streams = MultiStream(scaled_blocks(preset.width, preset.min_channels), SCALES)
        self.fusion = fusion
        self.refine = None
        w, d = preset.refine_width, preset.refine_depth
        if fusion == "frr":
            self.refine = FRRNet(len(SCALES), w, d, preset.rr_steps)
        elif fusion == "crl":
            self.refine = CRLNet(len(SCALES), w, d, **crl)
        elif fusion == "arl":
            self.refine = ARLNet(w, d)

    def forward(self, x):
        images, maps = self.streams(x)
        outs = [m for steps in maps for m in steps]
        finals = [steps[-1] for steps in maps]
        size = tuple(x.shape[-2:])
        if self.fusion == "mean":
            outs.append(torch.stack([resize(m, size) for m in finals]).mean(dim=0))
        elif self.fusion == "frr":
            outs += self.refine(x, finals)
        elif self.fusion == "crl":
            order = sorted(range(len(SCALES)), key=lambda i: SCALES[i])
            outs += self.refine([images[i] for i in order], [finals[i] for i in order])
        else:
            outs += self.refine(images, finals)
        return outs


class SingleScaleCRLModel(DBDModel):
    """SCCRL: one full-resolution stream and a cascade of residual steps without interpolation."""

    def __init__(self, name, preset):
        super().__init__(name, preset, (1.0,))
        self.stream = BTBNet(scaled_blocks(preset.width, preset.min_channels))
        self.refine = CRLNet(len(SCALES), preset.refine_width, preset.refine_depth, shared=True)

    def forward(self, x):
        steps = self.stream(x)
        n = self.refine.n_steps
        return steps + self.refine([x] * n, [steps[-1]] * n)


def build_model(name: str, preset: str | Preset = "tiny") -> DBDModel:
    """Build a model by name (see ``dbdbench train --list-models``).

    Parameters
    ----------
    name : str
        One of :data:`dbdbench.baselines.deep.catalog.MODELS`.
    preset : str or Preset
        ``"tiny"`` (narrow channels, trains on a CPU) or ``"paper"`` (VGG16 widths), or a Preset.

    Raises
    ------
    DbdError
        Unknown model or preset name.
    """
    if name not in MODELS:
        raise DbdError(f"unknown --model '{name}'; choose one of: {', '.join(MODELS)}")
    p = get_preset(preset) if isinstance(preset, str) else preset
    blocks = scaled_blocks(p.width, p.min_channels)
    if name == "vgg-fc":
        return SingleStreamModel(name, p, VGGFCNet(blocks))
    if name == "btbnet-1s":
        return SingleStreamModel(name, p, BTBNet(blocks))
    if name == "sccrl":
        return SingleScaleCRLModel(name, p)
    fusion = {"btbnet": "mean", "btbfrr": "frr", "arl": "arl"}.get(name, "crl")
    crl = {}
    if fusion == "crl":
        crl = {"shared": name != "btbcrl-unshared", "guide": name != "mscrl"}
    return MultiStreamModel(name, p, fusion, **crl)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
