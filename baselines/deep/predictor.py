"""Registers the trained BTBNet / BTBCRL models, and a user's network, as detectors.

Zhao et al., CVPR 2018 (BTBNet, BTBFRR) and IEEE TPAMI 2020 (BTBCRL and its ablations). Every model
name of :mod:`.catalog` becomes a ``deep`` detector (``dbdbench predict --method btbcrl``), and
``torch`` runs a checkpoint of a network trained with ``dbdbench train --model pkg.module:Factory``
(the module must be importable). Parameters: ``checkpoint`` (a ``.pt`` file written by
``dbdbench train`` or ``dbdbench export --format pt``), ``device``, ``test_size``, ``max_pixels`` and
``save_steps``. PyTorch is imported only when a detector runs, so the detectors are listed without
it and say in one line how to install it.

Test size (parameter ``test_size``): by default (``auto``) a photo is seen at the scale the model was
trained at. For a preset that trains on whole images resized to ``train_size`` (``paper``: 320 x 320,
as Zhao et al. train and as their distributed xu100 / dut500 test copies are), the photo is resized to
that square, predicted, and the map resized back to the photo, as the authors did; for a preset that
trains on native-scale crops (``tiny``) the photo is predicted at its own size. ``native`` always
predicts at the photo's size (any size down to the model's minimum); an integer N resizes to N x N.
The map always comes back at the photo's size.

Bounded memory (parameter ``max_pixels``): one forward pass sees at most this many pixels (0: as many
as :data:`FORWARD_BUDGET` bytes allow by :meth:`~.models.DBDModel.forward_bytes`). A larger input is
cut into overlapping tiles whose overlap covers the network's receptive field
(:meth:`~.models.DBDModel.receptive_radius`); each tile keeps its centre, so the map equals the
untiled one (to float rounding where the sides are multiples of the stream scales' lattice, e.g.
5 pixels for 0.8 and 0.6). A network without a known receptive field is refused in one line instead.

``save_steps=true`` also returns every CRLNet step's map (``steps/step1`` ... ``steps/stepN``;
``step1`` is the smallest scale) or, for the other multi-stream models, every stream's map
(``steps/stream1`` ...), which ``predict`` writes beside the final maps.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from dbdbench.baselines.deep.catalog import MODELS
from dbdbench.baselines.imageops import as_rgb
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, matches

# (resolved path, mtime_ns, size, model name, device) -> model in eval mode, per process
_CACHE: dict[tuple, object] = {}
#: Estimated bytes one forward pass may use when ``max_pixels`` is 0 (auto).
FORWARD_BUDGET = 2 * 2**30
#: The ``--method`` of a user's network.
TORCH_METHOD = "torch"


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
        if device.startswith("cuda:") and int(device[5:]) >= torch.cuda.device_count():
            raise DbdError(f"device '{device}': PyTorch sees {torch.cuda.device_count()} GPU(s); pick one")
        _CACHE.clear()
        _CACHE[key] = load_model(path, expect=name).to(device)
    return _CACHE[key]


def pixel_limit(net, max_pixels: int) -> int:
    """Pixels one forward pass may see: ``max_pixels``, or what :data:`FORWARD_BUDGET` allows (0)."""
    if max_pixels:
        return int(max_pixels)
    per_million = net.forward_bytes(1000, 1000)
    if per_million is None:
        return 0  # unknown: no limit
    return max(1, int(FORWARD_BUDGET / per_million * 1e6))


def tiles(length: int, core: int, margin: int) -> list[tuple[int, int, int, int]]:
    """(input start, input stop, kept start, kept stop) along one axis: cores of ``core`` pixels, inputs
    widened by ``margin`` on each side (clipped to the image)."""
    spans = []
    for start in range(0, length, core):
        stop = min(start + core, length)
        spans.append((max(0, start - margin), min(length, stop + margin), start, stop))
    return spans


def forward_maps(net, x, limit: int, steps: bool, label: str = "image"):
    """Logit maps of ``x`` (1, 3, H, W) at its size: ``""`` (final) and, with ``steps``, the named ones.

    Tiles the input when it has more than ``limit`` pixels (0: never); see the module docstring.

    Raises
    ------
    DbdError
        Over the limit and not tileable, or a limit too small for the tile overlap.
    """
    import torch

    from dbdbench.baselines.deep.btbnet import resize

    height, width = x.shape[-2:]

    def maps(inp):
        outs = net(inp)
        named = {"": outs[-1]}
        if steps:
            named |= {f"steps/{k}": v for k, v in net.named_outputs(outs).items()}
        size = tuple(inp.shape[-2:])
        return {k: resize(v.float(), size) for k, v in named.items()}

    if not limit or height * width <= limit:
        return maps(x)
    radius = net.receptive_radius()
    need = net.forward_bytes(height, width)
    gb = "" if need is None else f" (about {need / 2**30:.1f} GiB)"
    if radius is None:
        raise DbdError(
            f"{label} of {width}x{height} = {height * width} pixels{gb} is over --param max_pixels={limit} "
            f"and model '{net.name}' cannot be tiled (no receptive_radius); pass --param test_size=N "
            "or a larger max_pixels"
        )
    lattice = net.tile_lattice()
    margin = math.ceil(radius / lattice) * lattice
    core = (math.isqrt(limit) - 2 * margin) // lattice * lattice
    if core < lattice:
        raise DbdError(
            f"--param max_pixels={limit} is too small to tile model '{net.name}' (each tile needs "
            f"{2 * margin + lattice}x{2 * margin + lattice} pixels); give at least "
            f"{(2 * margin + lattice) ** 2}"
        )
    out = None
    for y0, y1, ky0, ky1 in tiles(height, core, margin):
        for x0, x1, kx0, kx1 in tiles(width, core, margin):
            net.check_size(y1 - y0, x1 - x0, what=f"a tile of {label}")
            part = maps(x[..., y0:y1, x0:x1])
            if out is None:
                out = {
                    k: torch.empty((1, 1, height, width), dtype=torch.float32, device=x.device) for k in part
                }
            for k, v in part.items():
                out[k][..., ky0:ky1, kx0:kx1] = v[..., ky0 - y0 : ky1 - y0, kx0 - x0 : kx1 - x0]
    return out


def predict_maps(
    image: np.ndarray,
    *,
    model: str,
    checkpoint: str = "",
    device: str = "auto",
    test_size: str = "auto",
    max_pixels: int = 0,
    save_steps: bool = False,
) -> dict[str, np.ndarray]:
    """In-focus maps of one image from a trained model: ``""`` the final one, ``steps/...`` the steps.

    Parameters
    ----------
    image : ndarray, (H, W, 3) uint8
        RGB image (grey and RGBA are converted, :func:`~dbdbench.baselines.imageops.as_rgb`).
    model : str
        Model name, or ``torch`` for a user's network; the checkpoint must hold this model.
    checkpoint : str
        Path of a ``.pt`` file written by ``dbdbench train`` (or ``export --format pt``).
    device : str
        ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
    test_size : str
        ``auto``, ``native`` or N (see the module docstring).
    max_pixels : int
        Pixels per forward pass before tiling (0: from :data:`FORWARD_BUDGET`).
    save_steps : bool
        Also return the CRLNet steps' (or the streams') maps.

    Returns
    -------
    dict of str to ndarray, (H, W) float32 in [0, 1]
        1 = in-focus.

    Raises
    ------
    DbdError
        No checkpoint given, PyTorch missing, a checkpoint of another model, an image below the
        model's minimum size, an input over ``max_pixels`` that cannot be tiled.
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
    label = "image" if shape == (height, width) else f"test_size {shape[1]}x{shape[0]}"
    net.check_size(*shape, what=label)
    with torch.inference_mode():
        x = resize(to_tensor_image(image)[None].to(next(net.parameters()).device), shape)
        logits = forward_maps(net, x, pixel_limit(net, max_pixels), save_steps, label)
        return {k: torch.sigmoid(resize(v, (height, width)))[0, 0].cpu().numpy() for k, v in logits.items()}


def predict_map(image: np.ndarray, *, model: str, **params) -> np.ndarray:
    """The final in-focus map of :func:`predict_maps` ((H, W) float32 in [0, 1], 1 = in-focus)."""
    return predict_maps(image, model=model, **{**params, "save_steps": False})[""]


def detect(
    image: np.ndarray,
    *,
    model: str,
    checkpoint: str = "",
    device: str = "auto",
    test_size: str = "auto",
    max_pixels: int = 0,
    save_steps: bool = False,
):
    """The registered detectors: :func:`predict_map`, or with ``save_steps`` :func:`predict_maps`."""
    params = dict(checkpoint=checkpoint, device=device, test_size=test_size, max_pixels=max_pixels)
    if save_steps:
        return predict_maps(image, model=model, **params, save_steps=True)
    return predict_map(image, model=model, **params)


_CHECKS = {
    "device": matches(r"auto|cpu|cuda(:\d+)?", "one of auto, cpu, cuda, cuda:N"),
    "test_size": matches(r"auto|native|[1-9]\d*", "auto, native or a positive number of pixels"),
    "max_pixels": at_least(0),
}
_OWN = (
    "your own network, trained with dbdbench train --model pkg.module:Factory (its module importable)",
    "dbdbench train --model pkg.module:Factory",
)
for _name, (_description, _citation) in {**MODELS, TORCH_METHOD: _OWN}.items():
    detector(_name, citation=_citation, description=_description, kind="deep", checks=_CHECKS)(
        functools.partial(detect, model=_name)
    )
