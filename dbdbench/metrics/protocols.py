"""Evaluation protocols: the registry and what every protocol shares.

A protocol turns one (prediction, ground truth) pair into a small record of per-image numbers
(:meth:`Protocol.score_image`; in two steps, :meth:`Protocol.prepare_gt` once per GT mask and
:meth:`Protocol.score_prepared` per prediction, when many methods share the GT), and a stack of
such records into the summary numbers and curves it publishes (:meth:`Protocol.summarize`,
:meth:`Protocol.curves`). Records are small (a few hundred
floats), so worker processes never ship whole maps. Bootstrap intervals re-run ``summarize`` on
resampled images.

Ground truth is passed as stored (grey levels) with its polarity, ``"focus-white"`` (white =
in-focus, the dbdbench convention) or ``"blurred-white"`` (CUHK, CTCUG); :func:`focus_levels` and
:func:`blur_levels` turn it into the form each protocol's rule is written for, so that the same
physical mask gives the same numbers whichever way it is stored. The rules themselves are in
``docs/evaluation.md`` and in each protocol's module.
"""

from __future__ import annotations

import numpy as np

from dbdbench.errors import DbdError
from dbdbench.imageio import max_level

POLARITIES = ("focus-white", "blurred-white")
NAMES = ("sod", "hifst", "zhao", "binseg", "ddffnet")


def focus_levels(gt: np.ndarray, polarity: str) -> np.ndarray:
    """The GT with white = in-focus, same dtype (a blurred-white GT is inverted: max - value).

    Parameters
    ----------
    gt : ndarray, shape (H, W), dtype uint8 or uint16
        GT as stored.
    polarity : {"focus-white", "blurred-white"}

    Returns
    -------
    ndarray, shape (H, W), same dtype
    """
    check_polarity(polarity)
    return gt if polarity == "focus-white" else (max_level(gt) - gt).astype(gt.dtype)


def blur_levels(gt: np.ndarray, polarity: str) -> np.ndarray:
    """The GT with white = blurred, same dtype (a focus-white GT is inverted: max - value).

    Parameters
    ----------
    gt : ndarray, shape (H, W), dtype uint8 or uint16
    polarity : {"focus-white", "blurred-white"}

    Returns
    -------
    ndarray, shape (H, W), same dtype
    """
    check_polarity(polarity)
    return gt if polarity == "blurred-white" else (max_level(gt) - gt).astype(gt.dtype)


def check_polarity(polarity: str) -> None:
    """Raise a one-line error for an unknown GT polarity."""
    if polarity not in POLARITIES:
        raise DbdError(f"--gt-polarity must be one of {', '.join(POLARITIES)}, got '{polarity}'")


def stack(records: list[dict]) -> dict[str, np.ndarray]:
    """Stack per-image records into arrays whose first axis is the image.

    Parameters
    ----------
    records : list of dict of str to float or ndarray

    Returns
    -------
    dict of str to ndarray, shape (n_images, ...)
    """
    return {k: np.asarray([r[k] for r in records]) for k in records[0]}


class Protocol:
    """Base of the protocol presets (see the subclasses for each rule set).

    Attributes
    ----------
    name : str
        Preset name (``--protocol``).
    source : str
        The publication or tool whose convention the preset reproduces.
    resize : str or None
        How a prediction of another size than its GT is resized: ``"bilinear"``, ``"bicubic"``
        (MATLAB ``imresize``), or None when the protocol requires equal sizes.
    summary_keys : tuple of str
        Keys of :meth:`summarize`'s dict, in display order.
    per_image_keys : tuple of str
        Scalar per-image scores written to the result's ``per_image`` list and CSV.
    """

    name = ""
    source = ""
    resize: str | None = "bilinear"
    summary_keys: tuple[str, ...] = ()
    per_image_keys: tuple[str, ...] = ()

    def prepare_gt(self, gt: np.ndarray, polarity: str) -> object:
        """What the protocol derives from a GT mask alone (binarisation, distances, ...), computed once.

        :func:`dbdbench.evaluate_many` prepares each GT mask once per protocol and scores the
        predictions of every method against it with :meth:`score_prepared`.

        Parameters
        ----------
        gt : ndarray, shape (H, W), dtype uint8 or uint16
            GT as stored.
        polarity : {"focus-white", "blurred-white"}
            How ``gt`` is stored.

        Returns
        -------
        object
            Opaque to the caller; passed to :meth:`score_prepared`. Only used in this process.
        """
        raise NotImplementedError

    def score_prepared(self, pred: np.ndarray, prepared: object) -> dict:
        """Per-image record of a prediction against a GT from :meth:`prepare_gt`.

        Parameters
        ----------
        pred : ndarray, shape (H, W), dtype uint8 or uint16
            Prediction as stored, high = in-focus, already the GT's size (for ``zhao``, any size:
            it resizes itself with bicubic interpolation).
        prepared : object
            :meth:`prepare_gt`'s result for the GT.

        Returns
        -------
        dict of str to float or ndarray
            At least the ``per_image_keys``; curves as small arrays.
        """
        raise NotImplementedError

    def score_image(self, pred: np.ndarray, gt: np.ndarray, polarity: str) -> dict:
        """Per-image record of one (prediction, GT) pair: :meth:`prepare_gt`, then :meth:`score_prepared`.

        Parameters
        ----------
        pred : ndarray, shape (H, W), dtype uint8 or uint16
            As in :meth:`score_prepared`.
        gt : ndarray, shape (H, W), dtype uint8 or uint16
            GT as stored.
        polarity : {"focus-white", "blurred-white"}
            How ``gt`` is stored.

        Returns
        -------
        dict of str to float or ndarray
        """
        return self.score_prepared(pred, self.prepare_gt(gt, polarity))

    def summarize(self, stacked: dict[str, np.ndarray]) -> dict[str, float]:
        """Summary numbers from stacked records (see :func:`stack`)."""
        raise NotImplementedError

    def curves(self, stacked: dict[str, np.ndarray]) -> dict[str, list]:
        """``thresholds``, ``precision``, ``recall``, ``f`` lists, in the protocol's own order."""
        raise NotImplementedError


def get_protocol(name: str) -> Protocol:
    """The protocol preset called ``name``.

    Raises
    ------
    DbdError
        Unknown name.
    """
    if name == "sod":
        from dbdbench.metrics.protocol_sod import SodProtocol as cls
    elif name == "hifst":
        from dbdbench.metrics.protocol_hifst import HifstProtocol as cls
    elif name == "zhao":
        from dbdbench.metrics.protocol_zhao import ZhaoProtocol as cls
    elif name == "binseg":
        from dbdbench.metrics.protocol_binseg import BinsegProtocol as cls
    elif name == "ddffnet":
        from dbdbench.metrics.protocol_ddffnet import DdffnetProtocol as cls
    else:
        raise DbdError(f"unknown --protocol '{name}'; choose one of {', '.join(NAMES)}")
    return cls()
