"""The trainable models by name, and the ``tiny`` and ``paper`` presets.

Zhao et al., CVPR 2018 (BTBNet, FRRNet) and Zhao et al., IEEE TPAMI 2020 (BTBCRL, CRLNet and the
ablations ARL, MSCRL, SCCRL, unshared CRLNet, VGG-FC). Every model maps an RGB batch (N, 3, H, W) in
[0, 1] to a list of logit maps: every supervised intermediate output, then the final map last, at the
input size (N, 1, H, W). The in-focus probability is the sigmoid of a logit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import torch
from torch import nn

from dbdbench.baselines.deep.btbnet import BTBNet, MultiStream, VGGFCNet, resize
from dbdbench.baselines.deep.catalog import FREEZE_PARTS, MODELS
from dbdbench.baselines.deep.refine import ARLNet, CRLNet, FRRNet
from dbdbench.baselines.deep.vgg import VGGBackbone, scaled_blocks
from dbdbench.errors import DbdError

#: The papers' stream scales (TPAMI 2020: one BTBNet per scale, a CRLNet step per scale).
SCALES = (1.0, 0.8, 0.6)
# The smallest stream must be at least this many pixels high and wide.
MIN_STREAM_SIZE = 16
#: Models with one BTBNet stream per scale, and SCCRL with one residual step per scale.
SCALED_MODELS = ("btbnet", "btbfrr", "btbcrl", "btbcrl-unshared", "mscrl", "arl", "sccrl")
#: The ``--model`` name of a user's network (``train --model pkg.module:Factory``).
EXTERNAL = "torch"
# Pixel radius of one BTBNet stream's output: 13 backbone convolutions and 4 feedback steps (3 x 3).
_STREAM_RADIUS = 17


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
    scales: tuple[float, ...] = field(default=SCALES)

    def __post_init__(self):
        # a checkpoint stores the scales as a list
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))


def parse_scales(text: str | tuple | list) -> tuple[float, ...]:
    """``"1,0.8,0.6"`` -> (1.0, 0.8, 0.6): distinct stream scales in (0, 1], largest first.

    Raises
    ------
    DbdError
        Not numbers, out of range, repeated, or more than six.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        scales = tuple(float(str(v).strip()) for v in items)
    except ValueError:
        raise DbdError(f"--scales '{text}': give comma-separated numbers in (0, 1], e.g. 1,0.8,0.6") from None
    bad = any(not 0 < v <= 1 for v in scales) or len(set(scales)) != len(scales)
    if not scales or len(scales) > 6 or bad:
        raise DbdError(
            f"--scales '{text}': give one to six distinct scales in (0, 1], e.g. 1,0.8,0.6 (3-step "
            "CRLNet), 0.8,0.6 (2 steps) or 0.6 (1 step)"
        )
    return tuple(sorted(scales, reverse=True))


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
        self.scales = tuple(scales)
        self.min_size = math.ceil(MIN_STREAM_SIZE / min(scales))

    def receptive_radius(self) -> int | None:
        """How far (input pixels) an output pixel sees, bounded from above; None: not tileable.

        Counts the 3 x 3 layers on the longest path through a stream and the refinement steps,
        divided by the smallest scale (a layer at scale s spans 1/s input pixels), plus a margin
        for the bilinear resizing between scales.
        """
        p = self.preset
        layers = _STREAM_RADIUS + self._refine_layers(p.refine_depth + 2)
        return math.ceil(layers / min(self.scales)) + 4 * len(self.scales)

    def _refine_layers(self, per_step: int) -> int:
        return 0

    def tile_lattice(self) -> int:
        """Tiles start at multiples of this many pixels, so every stream resamples on the same grid."""
        lattice = 1
        for s in self.scales:
            lattice = math.lcm(lattice, Fraction(s).limit_denominator(100).denominator)
        return lattice

    def forward_bytes(self, height: int, width: int) -> int:
        """Estimated peak memory (bytes) of one inference forward pass on a (height, width) image.

        One stream runs at a time and keeps its five block outputs for the feedback steps, beside
        the layer being computed; the refinement holds a few ``refine_width`` maps at full
        resolution. Measured peaks are in docs/performance.md.
        """
        backbone = self.backbones()[0]
        chans = backbone.block_channels
        per_pixel = 4 * (sum(chans) + 3 * max(chans))
        biggest = max(s * s for s in self.scales)
        refine = 4 * 4 * self.preset.refine_width if self.refinement() is not None else 0
        return int(height * width * max(per_pixel * biggest, refine) + height * width * 4 * 16)

    def named_outputs(self, outputs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The intermediate maps ``predict --param save_steps=true`` writes, by folder name."""
        return {}

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

    def receptive_radius(self) -> int | None:
        return _STREAM_RADIUS + 4


class MultiStreamModel(DBDModel):
    """Multi-stream BTBNet followed by a fusion: ``mean``, ``frr``, ``crl`` or ``arl``."""

    def __init__(self, name, preset, fusion: str, **crl):
        super().__init__(name, preset, preset.scales)
        self.streams = MultiStream(scaled_blocks(preset.width, preset.min_channels), self.scales)
        self.fusion = fusion
        self.refine = None
        w, d = preset.refine_width, preset.refine_depth
        if fusion == "frr":
            self.refine = FRRNet(len(self.scales), w, d, preset.rr_steps)
        elif fusion == "crl":
            self.refine = CRLNet(len(self.scales), w, d, **crl)
        elif fusion == "arl":
            self.refine = ARLNet(w, d)

    def _refine_layers(self, per_step: int) -> int:
        if self.fusion == "frr":
            return per_step * (1 + self.preset.rr_steps)
        return per_step * (len(self.scales) if self.fusion == "crl" else 1)

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
            order = self._coarse_to_fine()
            outs += self.refine([images[i] for i in order], [finals[i] for i in order])
        else:
            outs += self.refine(images, finals)
        # without a full-resolution stream the last CRLNet step or ARL's mean is at a smaller scale:
        # the final map (and its loss) is at the input size
        outs[-1] = resize(outs[-1], size)
        return outs

    def _coarse_to_fine(self) -> list[int]:
        return sorted(range(len(self.scales)), key=lambda i: self.scales[i])

    def named_outputs(self, outputs):
        """CRLNet: ``step1`` (smallest scale) ... ``stepN`` (the final map); others: each stream's map."""
        if self.fusion == "crl":
            steps = outputs[-len(self.scales) :]
            return {f"step{k + 1}": m for k, m in enumerate(steps)}
        # every stream's four feedback maps come first; the last of the four is the stream's map
        return {f"stream{s:g}": outputs[4 * i + 3] for i, s in enumerate(self.scales)}


class SingleScaleCRLModel(DBDModel):
    """SCCRL: one full-resolution stream and a cascade of residual steps without interpolation."""

    def __init__(self, name, preset):
        super().__init__(name, preset, (1.0,))
        self.stream = BTBNet(scaled_blocks(preset.width, preset.min_channels))
        self.refine = CRLNet(len(preset.scales), preset.refine_width, preset.refine_depth, shared=True)

    def _refine_layers(self, per_step: int) -> int:
        return per_step * self.refine.n_steps

    def forward(self, x):
        steps = self.stream(x)
        n = self.refine.n_steps
        return steps + self.refine([x] * n, [steps[-1]] * n)

    def named_outputs(self, outputs):
        """``step1`` ... ``stepN``: the residual steps, all at full resolution."""
        steps = outputs[-self.refine.n_steps :]
        return {f"step{k + 1}": m for k, m in enumerate(steps)}


class ExternalModel(DBDModel):
    """A user's network (``train --model pkg.module:Factory``) trained and predicted like the others.

    Parameters
    ----------
    network : str
        ``pkg.module:attr``: an ``nn.Module`` subclass or a factory function defined in that module,
        called without arguments.
    preset : Preset
        The training recipe (crop size, batch, learning rate, epochs); its network fields are unused.
    net : nn.Module
        The built network. It maps an RGB batch (N, 3, H, W) in [0, 1] to a logit map (N, 1, h, w)
        or a list of them (deep supervision, the final map last).

    Notes
    -----
    ``min_size`` (pixels) and ``receptive_radius`` (pixels, makes ``predict`` tile large photos)
    are read from the network when it defines them.
    """

    def __init__(self, network: str, preset: Preset, net: nn.Module):
        super().__init__(EXTERNAL, preset, (1.0,))
        self.network = network
        self.net = net
        self.min_size = int(getattr(net, "min_size", 1))

    def forward(self, x):
        out = self.net(x)
        outs = [out] if isinstance(out, torch.Tensor) else list(out) if isinstance(out, list | tuple) else []
        if not outs or any(not isinstance(o, torch.Tensor) or o.dim() != 4 or o.shape[1] != 1 for o in outs):
            raise DbdError(
                f"--model {self.network} returned {type(out).__name__}; return a logit map "
                "(N, 1, H, W) or a list of them (the final map last)"
            )
        return outs

    def config(self) -> dict:
        return {**super().config(), "network": self.network}

    def receptive_radius(self) -> int | None:
        radius = getattr(self.net, "receptive_radius", None)
        return None if radius is None else int(radius)

    def forward_bytes(self, height: int, width: int) -> int | None:
        return None


def load_network(spec: str) -> nn.Module:
    """Build a user's network from ``pkg.module:attr`` (an nn.Module class or a factory of that module).

    Raises
    ------
    DbdError
        Not of the form ``module:attr``, a module that does not import, a missing attribute, an
        attribute that is neither an nn.Module class nor a function defined in the module, or a
        factory that does not return an nn.Module.
    """
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr.isidentifier():
        raise DbdError(f"--model '{spec}': give a model name or pkg.module:ClassOrFactory")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an ImportError, or any error the user's module raises
        raise DbdError(
            f"--model '{spec}': module '{module_name}' does not import ({exc.__class__.__name__}: {exc}); "
            "put its folder on PYTHONPATH"
        ) from None
    obj = getattr(module, attr, None)
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        net = obj()
    elif callable(obj) and getattr(obj, "__module__", None) == module_name:
        net = obj()
    else:
        raise DbdError(
            f"--model '{spec}': '{attr}' is not an nn.Module class or a function defined in '{module_name}'"
        )
    if not isinstance(net, nn.Module):
        raise DbdError(f"--model '{spec}' returned {type(net).__name__}, not a torch.nn.Module")
    return net


def build_model(name: str, preset: str | Preset = "tiny", network: str | None = None) -> DBDModel:
    """Build a model by name (see ``dbdbench train --list-models``) or a user's network.

    Parameters
    ----------
    name : str
        One of :data:`dbdbench.baselines.deep.catalog.MODELS`, or ``"torch"`` with ``network``.
    preset : str or Preset
        ``"tiny"`` (narrow channels, trains on a CPU) or ``"paper"`` (VGG16 widths), or a Preset.
        Its ``scales`` set the streams (and CRLNet steps) of the multi-stream models and SCCRL.
    network : str, optional
        ``pkg.module:attr`` of a user's network (:func:`load_network`), for ``name="torch"``.

    Raises
    ------
    DbdError
        Unknown model or preset name; scales other than the papers' for a single-stream model.
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    if name == EXTERNAL:
        if not network:
            raise DbdError("model 'torch' needs a network: give --model pkg.module:ClassOrFactory")
        return ExternalModel(network, p, load_network(network))
    if name not in MODELS:
        raise DbdError(f"unknown --model '{name}'; choose one of: {', '.join(MODELS)}")
    if p.scales != SCALES and name not in SCALED_MODELS:
        raise DbdError(
            f"--scales: model '{name}' has one full-resolution stream; scales apply to "
            f"{', '.join(SCALED_MODELS)}"
        )
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
