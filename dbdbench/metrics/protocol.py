"""What every evaluation protocol is: the :class:`Protocol` base class and its metadata.

A protocol turns one (prediction, ground truth) pair into a small record of per-image numbers
(:meth:`Protocol.score_image`), and a stack of such records into the summary numbers and curves it
publishes (:meth:`Protocol.summarize`, :meth:`Protocol.curves`). Records are small (a few hundred
floats), so worker processes never ship whole maps. Bootstrap intervals re-run ``summarize`` on
resampled images.

Each protocol also describes its summary numbers (:class:`Metric`: key, label, direction, valid
range), its headline F and MAE and its curve order. Everything else reads them from here through the
registry (:mod:`dbdbench.metrics.protocols`): the CLI choices, the validation of result files, the
leaderboard tables and figures, the demo.

Ground truth is passed as stored (grey levels) with its polarity (:mod:`dbdbench.polarity`);
:func:`focus_levels` and :func:`blur_levels` turn it into the form each protocol's rule is written
for, so that the same physical mask gives the same numbers whichever way it is stored. The rules
themselves are in ``docs/evaluation.md`` and in each protocol's module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dbdbench.imageio import max_level
from dbdbench.polarity import BLURRED_WHITE, FOCUS_WHITE, check_polarity


@dataclass(frozen=True)
class Metric:
    """One summary number of a protocol.

    Attributes
    ----------
    key : str
        Key in the result's ``summary`` (``"max_f"``).
    label : str
        Short name in tables and figures (``"maxF"``).
    higher_is_better : bool
        Direction used for ranking and the arrows in table headers.
    low, high : float
        Valid range, inclusive: a result file with a value outside it is refused.
    """

    key: str
    label: str
    higher_is_better: bool
    low: float = 0.0
    high: float = 1.0

    def contains(self, value: float) -> bool:
        """True when ``value`` is a finite number in ``[low, high]``."""
        return math.isfinite(value) and self.low <= value <= self.high


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
    return gt if polarity == FOCUS_WHITE else (max_level(gt) - gt).astype(gt.dtype)


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
    return gt if polarity == BLURRED_WHITE else (max_level(gt) - gt).astype(gt.dtype)


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

    A subclass sets the class attributes below and implements :meth:`score_image`,
    :meth:`summarize` and :meth:`curves`; :func:`dbdbench.metrics.protocols.register` checks the
    attributes against each other.

    Attributes
    ----------
    name : str
        Preset name (``--protocol``, the ``protocol`` of result files).
    source : str
        The publication or tool whose convention the preset reproduces.
    resize : str or None
        How a prediction of another size than its GT is resized: ``"bilinear"``, ``"bicubic"``
        (MATLAB ``imresize``), or None when the protocol requires equal sizes.
    metrics : tuple of Metric
        The summary numbers, in display order: exactly the keys of :meth:`summarize`'s dict.
    table_keys : tuple of str
        The summary keys a leaderboard table shows, in column order; empty: all of ``metrics``.
    headline_f : str
        The one "F-measure" the protocol's papers print (leaderboard ranking, sensitivity view).
    headline_mae : str or None
        Its MAE, when it has one.
    curve_order : str
        How :meth:`curves` lists its thresholds, e.g. ``"255 ... 0 (of 255)"`` (figure axis labels).
    per_image_keys : tuple of str
        Scalar per-image scores written to the result's ``per_image`` list and CSV.
    """

    name = ""
    source = ""
    resize: str | None = "bilinear"
    metrics: tuple[Metric, ...] = ()
    table_keys: tuple[str, ...] = ()
    headline_f = ""
    headline_mae: str | None = None
    curve_order = ""
    per_image_keys: tuple[str, ...] = ()

    @property
    def summary_keys(self) -> tuple[str, ...]:
        """Keys of :meth:`summarize`'s dict, in display order."""
        return tuple(m.key for m in self.metrics)

    @property
    def table_metrics(self) -> tuple[Metric, ...]:
        """The metrics a leaderboard table shows, in column order."""
        if not self.table_keys:
            return self.metrics
        return tuple(self.metric(k) for k in self.table_keys)

    def metric(self, key: str) -> Metric:
        """The :class:`Metric` of a summary key.

        Raises
        ------
        KeyError
            The protocol has no such summary number.
        """
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(f"protocol '{self.name}' has no summary number '{key}'")

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
            Opaque to the caller; passed to :meth:`score_prepared`. Only used in this process. The
            default keeps ``(gt, polarity)`` for a protocol that only defines :meth:`score_image`.
        """
        return gt, polarity

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
        if type(self).score_image is Protocol.score_image:
            raise NotImplementedError(
                f"protocol '{self.name}' defines neither score_image nor score_prepared"
            )
        gt, polarity = prepared  # the default prepare_gt's pair
        return self.score_image(pred, gt, polarity)

    def score_image(self, pred: np.ndarray, gt: np.ndarray, polarity: str) -> dict:
        """Per-image record of one (prediction, GT) pair: :meth:`prepare_gt`, then :meth:`score_prepared`.

        A protocol defines either this method (simple; the GT work is then redone for every map) or
        :meth:`prepare_gt` and :meth:`score_prepared` (the GT work shared by every method's map).

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
        """Summary numbers (the keys of ``metrics``) from stacked records (see :func:`stack`)."""
        raise NotImplementedError

    def curves(self, stacked: dict[str, np.ndarray]) -> dict[str, list]:
        """``thresholds``, ``precision``, ``recall``, ``f`` lists, in the protocol's own order
        (empty lists for a protocol without curves)."""
        raise NotImplementedError
