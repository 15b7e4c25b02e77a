"""Registers the trained BTBNet / BTBCRL models as detectors (``dbdbench predict --method btbcrl``).

Zhao et al., CVPR 2018 (BTBNet, BTBFRR) and IEEE TPAMI 2020 (BTBCRL and its ablations). Every model
name of :mod:`.catalog` becomes a ``deep`` detector with the parameters ``checkpoint`` (a ``.pt`` file
written by ``dbdbench train``) and ``device``. PyTorch is imported only when a detector runs, so the
detectors are listed without it and say in one line how to install it.

Inputs of any size are accepted (down to the model's minimum): the multi-scale streams resize
internally and the map comes back at the input size.
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

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DbdError(f"device '{device}': no CUDA device is available to PyTorch; use device cpu")
        _CACHE.clear()
        _CACHE[key] = load_model(path, expect=name).to(device)
    return _CACHE[key]


def predict_map(image: np.ndarray, *, model: str, checkpoint: str = "", device: str = "cpu") -> np.ndarray:
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
        ``cpu`` or ``cuda``.

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
    from dbdbench.baselines.deep.data import to_tensor_image

    net = _load(model, checkpoint, device)
    image = as_rgb(image, method=model)
    net.check_size(image.shape[0], image.shape[1])
    with torch.inference_mode():
        logit = net(to_tensor_image(image)[None].to(device))[-1]
    return torch.sigmoid(logit)[0, 0].float().cpu().numpy()


for _name, (_description, _citation) in MODELS.items():
    # the parameters are those of predict_map after the bound model name
    detector(
        _name,
        citation=_citation,
        description=_description,
        kind="deep",
        checks={"device": matches(r"cpu|cuda(:\d+)?", "one of cpu, cuda, cuda:N")},
    )(functools.partial(predict_map, model=_name))
