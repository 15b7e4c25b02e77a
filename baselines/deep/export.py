"""Weights-only and TorchScript exports of a trained model (``dbdbench export``).

The models are those of :mod:`.models` (BTBNet, Zhao et al., CVPR 2018; BTBCRL and its ablations,
Zhao et al., IEEE TPAMI 2020) and users' networks trained by ``dbdbench train``.

- ``pt``: a checkpoint with the weights, the preset and the provenance (``backbone_init``, ``step``)
  but without the optimiser state, RNG and loss history; ``predict --checkpoint`` reads it.
- ``torchscript``: :class:`MapNet` traced by ``torch.jit.trace`` for one input size: a module
  mapping an RGB batch (N, 3, H, W), float32 in [0, 1], to the in-focus probability (N, 1, H, W),
  loadable with ``torch.jit.load`` without dbdbench. The stream sizes are computed in Python, so the
  trace holds them as constants: give it inputs of the traced size (resize photos to it).
- ``onnx`` is refused: the antialiased bilinear downsampling of the streams
  (``aten::_upsample_bilinear2d_aa``) has no ONNX operator (opset 20, PyTorch 2.13).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from dbdbench.atomic import write_bytes_atomic
from dbdbench.baselines.deep.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint
from dbdbench.errors import DbdError

FORMATS = ("pt", "torchscript", "onnx")
# What a weights-only export keeps of a training checkpoint.
_PROVENANCE = ("backbone_init", "step", "epoch", "seed", "freeze", "run", "planned_steps")


class MapNet(nn.Module):
    """A model's final in-focus probability at the input size: ``sigmoid(model(x)[-1])``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from dbdbench.baselines.deep.btbnet import resize

        return torch.sigmoid(resize(self.model(x)[-1].float(), tuple(x.shape[-2:])))


def parse_size(text: str | None, default: int) -> tuple[int, int]:
    """``"HxW"`` or ``"N"`` -> (H, W); None -> (default, default)."""
    if text is None:
        return default, default
    parts = str(text).lower().split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes, default=0) < 1:
        raise DbdError(f"--size '{text}': give HEIGHTxWIDTH or one side in pixels, e.g. 320 or 480x640")
    return (sizes[0], sizes[-1])


def export_model(
    checkpoint: str | os.PathLike, out: str | os.PathLike, fmt: str, size: str | None = None
) -> Path:
    """Write ``checkpoint``'s model to ``out`` in format ``fmt`` (atomically).

    Parameters
    ----------
    checkpoint : path-like
        A ``.pt`` written by ``dbdbench train``.
    out : path-like
        The file to write.
    fmt : {"pt", "torchscript", "onnx"}
    size : str, optional
        ``HxW`` (or one side) the TorchScript trace is made for (default: the preset's
        ``train_size`` square).

    Raises
    ------
    DbdError
        Unknown format, ``onnx``, a bad checkpoint or size, a size below the model's minimum.
    """
    if fmt not in FORMATS:
        raise DbdError(f"unknown --format '{fmt}'; choose one of: pt, torchscript")
    if fmt == "onnx":
        raise DbdError(
            "--format onnx is not available: the streams' antialiased bilinear resize "
            "(aten::_upsample_bilinear2d_aa) has no ONNX operator; use --format torchscript"
        )
    ckpt = read_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt, checkpoint).eval()
    if fmt == "pt":
        keep = {k: ckpt[k] for k in _PROVENANCE if k in ckpt}
        return save_checkpoint(out, model, **keep, exported_from=str(checkpoint))
    height, width = parse_size(size, model.preset.train_size)
    model.check_size(height, width, what=f"--size {height}x{width}")
    example = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    meta = {"model": ckpt.get("model"), "network": ckpt.get("network"), "input": [1, 3, height, width]}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # the tracer warns about every size it turns into a constant; PyTorch 2.13 marks
        # TorchScript deprecated in favour of torch.export, whose files need PyTorch 2.x to load
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(MapNet(model), example, check_trace=False)
        torch.jit.save(traced, buf, _extra_files={"dbdbench.json": json.dumps(meta)})
    return write_bytes_atomic(out, buf.getvalue())
