"""STAPLE: simultaneous truth and performance level estimation from several binary annotations.

Expectation-maximisation over the hidden true label of every pixel, estimating each annotator's
sensitivity p_j = P(D_j = 1 | T = 1) and specificity q_j = P(D_j = 0 | T = 0), with a fixed global prior
f = P(T = 1) (by default the mean of all annotations, Warfield et al.'s sample-mean prior):

* E-step: W = f prod_j p_j^D_j (1 - p_j)^(1 - D_j) / (that + (1 - f) prod_j q_j^(1 - D_j) (1 - q_j)^D_j)
* M-step: p_j = sum W D_j / sum W,  q_j = sum (1 - W)(1 - D_j) / sum (1 - W)

Pixels with the same vector of votes share their posterior, so the EM runs over the distinct vote
patterns (at most 2^n of them, weighted by their pixel counts) instead of every pixel: the result is
identical and the cost after the first pass no longer depends on the image size.

Reference
---------
S. K. Warfield, K. H. Zou, W. M. Wells, "Simultaneous Truth and Performance Level Estimation (STAPLE):
An Algorithm for the Validation of Image Segmentation", IEEE Transactions on Medical Imaging 23(7),
903-921, 2004.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class StapleResult:
    """Output of :func:`staple`.

    Attributes
    ----------
    posterior : ndarray, shape like one annotation, dtype float64
        P(T = 1 | votes) per pixel, in [0, 1].
    sensitivity, specificity : ndarray, shape (n_annotators,), dtype float64
        Estimated p_j and q_j.
    prior : float
        The prior f = P(T = 1) used.
    iterations : int
        EM iterations run.
    converged : bool
        Whether the parameters changed by less than ``tol`` in the last iteration.
    """

    posterior: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    prior: float
    iterations: int
    converged: bool

    @property
    def estimate(self) -> np.ndarray:
        """The binary STAPLE estimate, posterior > 0.5 (bool, shape like one annotation)."""
        return self.posterior > 0.5


def _patterns(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct vote vectors (K, n) bool, their pixel counts (K,), and each pixel's pattern (N,)."""
    n = votes.shape[0]
    if n <= 16:  # pattern codes index a table of 2^n counts: linear time, no sort
        codes = np.zeros(votes.shape[1], dtype=np.int32)
        for j in range(n):
            codes |= votes[j].astype(np.int32) << j
        table = np.bincount(codes, minlength=1 << n)
        present = np.flatnonzero(table)
        lookup = np.zeros(1 << n, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        patterns = ((present[:, None] >> np.arange(n)) & 1).astype(bool)
        return patterns, table[present].astype(np.float64), lookup[codes]
    if n <= 62:
        weights = (np.int64(1) << np.arange(n, dtype=np.int64))[:, None]
        codes = (votes.astype(np.int64) * weights).sum(axis=0)
        uniq, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
        patterns = ((uniq[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(bool)
        return patterns, counts.astype(np.float64), inverse.ravel()
    uniq, inverse, counts = np.unique(votes.T, axis=0, return_inverse=True, return_counts=True)
    return uniq.astype(bool), counts.astype(np.float64), inverse.ravel()


def _e_step(d: np.ndarray, f: float, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Posterior P(T = 1) of each vote pattern ``d`` (K, n) given prior ``f`` and parameters p, q."""
    if f <= 0.0 or f >= 1.0:
        return np.full(d.shape[0], min(max(f, 0.0), 1.0))
    tiny = 1e-300
    log_a = np.log(f) + d @ np.log(np.maximum(p, tiny)) + (1 - d) @ np.log(np.maximum(1 - p, tiny))
    log_b = np.log(1 - f) + (1 - d) @ np.log(np.maximum(q, tiny)) + d @ np.log(np.maximum(1 - q, tiny))
    return 1.0 / (1.0 + np.exp(np.clip(log_b - log_a, -700, 700)))


def staple(
    annotations,
    *,
    prior: float | None = None,
    init: float = 0.99,
    max_iter: int = 100,
    tol: float = 1e-8,
) -> StapleResult:
    """Estimate the true binary mask and each annotator's sensitivity and specificity.

    Parameters
    ----------
    annotations : sequence of ndarray, each shape (H, W) (or any common shape), bool or {0, 1}
        One binary mask per annotator, 1 = in-focus.
    prior : float, optional
        P(T = 1); default the mean of all annotations.
    init : float
        Initial sensitivity and specificity of every annotator (Warfield et al. start near 1).
    max_iter : int
        Maximum EM iterations.
    tol : float
        Stop when no p_j or q_j changes by more than this.

    Returns
    -------
    StapleResult
    """
    arrays = [np.asarray(a) for a in annotations]
    if not arrays:
        raise ValueError("staple needs at least one annotation")
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise ValueError("staple needs annotations of one shape")
    votes = np.stack([a.reshape(-1) > 0.5 if a.dtype != bool else a.reshape(-1) for a in arrays])
    n = votes.shape[0]
    f = float(votes.mean()) if prior is None else float(prior)
    patterns, counts, inverse = _patterns(votes)
    d = patterns.astype(np.float64)  # (K, n)
    p = np.full(n, float(init))
    q = np.full(n, float(init))
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        w = _e_step(d, f, p, q)
        cw = counts * w
        cv = counts * (1.0 - w)
        sw, sv = cw.sum(), cv.sum()
        # a class no pixel can belong to (prior 0 or 1) leaves the rates of that class undefined
        new_p = (cw @ d) / sw if sw > 0 else np.full(n, np.nan)
        new_q = (cv @ (1 - d)) / sv if sv > 0 else np.full(n, np.nan)
        delta = np.nanmax(np.abs(np.concatenate([new_p - p, new_q - q])), initial=0.0)
        p, q = new_p, new_q
        if delta < tol:
            converged = True
            break
    w = _e_step(d, f, p, q)  # posterior under the final parameters
    return StapleResult(
        posterior=w[inverse].reshape(shape),
        sensitivity=p,
        specificity=q,
        prior=f,
        iterations=iterations,
        converged=converged,
    )
