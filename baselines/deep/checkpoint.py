"""Checkpoint files of BTBNet / BTBCRL models (Zhao et al., CVPR 2018; IEEE TPAMI 2020).

A checkpoint is a ``.pt`` file written by ``torch.save`` (atomically) holding a dict: ``format``
(:data:`FORMAT`), ``model`` (name; ``torch`` for a user's network, named by ``network``,
``pkg.module:attr``), ``preset`` (the :class:`~dbdbench.baselines.deep.models.Preset` fields, the
stream ``scales`` among them), ``state_dict``, ``backbone_init`` (``imagenet:<sha256>``,
``weights:<sha256>`` or ``random``), and in a training run's ``last.pt`` what resuming needs:
``epoch`` (completed epochs), ``epoch_step`` (batches done in the next one), ``step``,
``planned_steps``, ``optimizer``, ``rng``, ``history`` (loss rows), ``run`` (the options a resume
must match), ``seed``, ``freeze`` and (fp16 runs) ``scaler``. Snapshots (``epoch-NNN.pt``,
``step-NNNNNNN.pt``, ``best.pt``) and ``dbdbench export --format pt`` files hold the weights without
the optimiser state. It loads with ``weights_only=True`` (no code runs on load; a user's network is
rebuilt by importing ``network``, which must be importable).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from dbdbench.atomic import write_bytes_atomic
from dbdbench.baselines.deep.models import DBDModel, Preset, build_model
from dbdbench.baselines.deep.vgg import torch_load
from dbdbench.errors import DbdError

FORMAT = "dbdbench-deep-v1"


def save_checkpoint(path: str | os.PathLike, model: DBDModel, **extra) -> Path:
    """Write ``model`` (and ``extra`` entries) to ``path`` atomically; the weights are stored on the CPU."""
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    state = {"format": FORMAT, **model.config(), "state_dict": weights, **extra}
    buf = io.BytesIO()
    torch.save(state, buf)
    return write_bytes_atomic(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike, what: str = "--checkpoint") -> dict:
    """Read a checkpoint dict, checking that it is one of ours.

    Raises
    ------
    DbdError
        Missing, empty or unreadable file, or a file that is not a dbdbench checkpoint.
    """
    path = Path(path)
    fix = "give a .pt file written by dbdbench train"
    if path.is_file() and path.stat().st_size == 0:
        raise DbdError(f"{what} '{path}' is empty (0 bytes); {fix}")
    ckpt = torch_load(path, what, fix)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DbdError(f"{what} '{path}' is not a dbdbench model checkpoint; {fix}")
    return ckpt


def model_from_checkpoint(
    ckpt: dict, path: str | os.PathLike, expect: str | None = None, what: str = "--checkpoint"
) -> DBDModel:
    """Rebuild the model stored in a checkpoint dict and load its weights.

    Parameters
    ----------
    ckpt : dict
        From :func:`read_checkpoint`.
    path : path-like
        The file, for messages.
    expect : str, optional
        Required model name; another model is an error.
    """
    name = ckpt.get("model")
    if expect is not None and name != expect:
        raise DbdError(
            f"{what} '{path}' holds a '{name}' model, not '{expect}'; "
            f"use --method/--model {name} or another checkpoint"
        )
    try:
        preset = Preset(**ckpt["preset"])
    except (KeyError, TypeError) as exc:
        raise DbdError(
            f"{what} '{path}' has no readable preset ({exc.__class__.__name__}); it is damaged or "
            "from another version"
        ) from None
    model = build_model(name, preset, network=ckpt.get("network"))
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise DbdError(
            f"{what} '{path}' does not match model '{name}' ({exc.__class__.__name__}); "
            "it is damaged or from another version"
        ) from None
    return model


def load_model(path: str | os.PathLike, expect: str | None = None, what: str = "--checkpoint") -> DBDModel:
    """Read a checkpoint and rebuild its model in eval mode (see :func:`model_from_checkpoint`)."""
    model = model_from_checkpoint(read_checkpoint(path, what), path, expect, what)
    return model.eval()
