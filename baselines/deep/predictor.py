"""Registers the trained BTBNet / BTBCRL models as detectors (``dbdbench predict --method btbcrl``).

Zhao et al., CVPR 2018 (BTBNet, BTBFRR) and IEEE TPAMI 2020 (BTBCRL and its ablations). Every model
name of :mod:`.catalog` becomes a ``deep`` detector with the parameters ``checkpoint`` (a ``.pt`` file
written by ``dbdbench train``), ``device`` and ``test_size``. PyTorch is imported only when a
detector runs, so the detectors are listed without it and say in one line how to install it.

Test size (parameter ``test_size``): by default (``auto``) a photo is seen at the scale the model was
trained at. For a preset that trains on whole images resized to ``train_size`` (``paper``: 320 x 320,
as Zhao et al. train and as their distributed xu100 / dut500 test copies are), the photo is resized to
that square, predicted, and the map resized back to the photo, as the authors did; for a preset that
trains on native-scale crops (``tiny``) the photo is predicted at its own size. ``native`` always
predicts at the photo's size (any size down to the model's minimum); an integer N resizes to N x N.
The map always comes back at the photo's size.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from dbdbench.baselines.deep.catalog import MODELS
from dbdbench.baselines.imageops import as_rgb
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import matches

# (resolved path, mtime_ns, size, model name, device) -> model in eval mode, per process
_CACHE: dict[tuple, object] = {}


def input_shape(test_size: str, preset, height: int, width: int) -> tuple[int, int]:
    """The (height, width) a photo is predicted at, for the ``test_size`` parameter.

    Parameters
    ----------
    test_size : str
        ``auto`` (the preset's training scale), ``native`` or a positive integer N (N x N).
    preset : Preset
        The model's preset (``crop`` and ``train_size``).
    height, width : int
        The photo's size.
    """
    value = str(test_size).strip().lower()
    if value == "native" or (value == "auto" and preset.crop):
        return height, width
    if value == "auto":
        return preset.train_size, preset.train_size
    try:
        side = int(value)
    except ValueError:
        side = 0
    if side < 1:
        raise DbdError(f"--param test_size={test_size}: give auto, native or a positive number of pixels")
    return side, side


def _load(name: str, checkpoint: str, device: str):
    path = Path(checkpoint).expanduser()
    try:
        st = path.stat()
    except OSError:
        raise DbdError(
            f"--checkpoint '{checkpoint}' does not exist; give a .pt file written by dbdbench train"
        ) from None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, name, device)
    if key not in _CACHE:
        import torch

        from dbdbench.baselines.deep.checkpoint import load_model

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DbdError(f"device '{device}': no CUDA device is available to PyTorch; use device cpu")
        _CACHE.clear()
        _CACHE[key] = load_model(path, expect=name).to(device)
    return _CACHE[key]


def predict_map(
    image: np.ndarray, *, model: str, checkpoint: str = "", device: str = "auto", test_size: str = "auto"
) -> np.ndarray:
    """In-focus map of one image from a trained model.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8
        RGB image (grey and RGBA are converted, :func:`~dbdbench.baselines.imageops.as_rgb`).
    model : str
        Model name; the checkpoint must hold this model.
    checkpoint : str
        Path of a ``.pt`` file written by ``dbdbench train``.
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
    test_size : str
        ``auto``, ``native`` or N (see the module docstring).

    Returns
    -------
    ndarray, (H, W) float32 in [0, 1]
        1 = in-focus.

    Raises
    ------
    DbdError
        No checkpoint given, PyTorch missing, a checkpoint of another model, an image below the
        model's minimum size.
    """
    if not checkpoint:
        raise DbdError(
            f"method '{model}' needs a trained model: "
            "pass --checkpoint FILE (a .pt written by dbdbench train)"
        )
    try:
        import torch
    except ModuleNotFoundError:
        raise DbdError(f"method '{model}' needs PyTorch: pip install 'dbdbench[deep]'") from None
    from dbdbench.baselines.deep.btbnet import resize
    from dbdbench.baselines.deep.data import to_tensor_image

    net = _load(model, checkpoint, device)
    image = as_rgb(image, method=model)
    height, width = image.shape[:2]
    shape = input_shape(test_size, net.preset, height, width)
    net.check_size(*shape, what="image" if shape == (height, width) else f"test_size {shape[1]}x{shape[0]}")
    with torch.inference_mode():
        x = resize(to_tensor_image(image)[None].to(next(net.parameters()).device), shape)
        logit = resize(net(x)[-1].float(), (height, width))
    return torch.sigmoid(logit)[0, 0].cpu().numpy()


for _name, (_description, _citation) in MODELS.items():
    # the parameters are those of predict_map after the bound model name
    detector(
        _name,
        citation=_citation,
        description=_description,
        kind="deep",
        checks={
            "device": matches(r"auto|cpu|cuda(:\d+)?", "one of auto, cpu, cuda, cuda:N"),
            "test_size": matches(r"auto|native|[1-9]\d*", "auto, native or a positive number of pixels"),
        },
    )(functools.partial(predict_map, model=_name))
