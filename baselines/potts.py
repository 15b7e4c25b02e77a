"""Binary Potts Markov random field over a stack of per-scale maps, solved by loopy belief propagation.

This is the multiscale inference step of Yi & Eramian (IEEE TIP 2016), which follows Shi, Xu & Jia
("Discriminative blur detection features", CVPR 2014): one layer of binary nodes (sharp / blurred) per
scale, each node linked to its 4 neighbours in its layer and to the same pixel in the adjacent layers.
Energy::

    E(h) = sum_{s,i} |h_i^s - x_i^s| + alpha * sum_{(i,j) in edges} [h_i != h_j]

with x the per-scale (matted) sharpness and h in {0, 1}. Sum-product loopy belief propagation gives
each node's marginal probability of being sharp.

Binary messages are kept as log-odds, so one float per directed edge: the message from node i to j is
``log(e^a + e^-alpha) - log(e^(a - alpha) + 1) = 2 atanh(tanh(alpha / 2) tanh(a / 2))`` with ``a`` the
log-odds at i without j's message.
"""

from __future__ import annotations

import numpy as np


def _message(a: np.ndarray, coupling: float) -> np.ndarray:
    """Log-odds message through a Potts edge (cost ``coupling`` for differing labels)."""
    out = np.tanh(a * np.float32(0.5))
    out *= np.float32(np.tanh(coupling / 2))
    np.arctanh(out, out=out)
    out *= np.float32(2)
    return out


def potts_marginals(
    layers: np.ndarray,
    alpha: float = 0.5,
    standardise: bool = True,
    max_iter: int = 200,
    tol: float = 1e-3,
    damping: float = 0.5,
) -> np.ndarray:
    """Marginal probability of "sharp" for every node of a layered binary Potts MRF.

    Parameters
    ----------
    layers : ndarray, shape (S, H, W), float
        Observed sharpness per scale, layer order = chain order of the inter-scale links.
    alpha : float
        Potts cost of two linked nodes taking different labels (intra- and inter-scale).
    standardise : bool
        Z-score the observations over all layers before forming the unary terms (as the authors'
        released code does); otherwise use them as they are (expected in [0, 1]).
    max_iter : int
        Maximum number of parallel message updates.
    tol : float
        Stop when no message changes by more than ``tol`` (log-odds).
    damping : float
        Weight of the previous message in each update (0 = none), for convergence on loopy graphs.

    Returns
    -------
    ndarray, shape (S, H, W), dtype float32
        P(sharp) per node, in [0, 1].
    """
    x = np.asarray(layers, dtype=np.float32)
    if standardise:
        sd = x.std()
        x = (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)
    # unary potentials exp(-|1 - x|) (sharp) and exp(-|x|) (blurred), as a log-odds
    unary = (np.abs(x) - np.abs(1.0 - x)).astype(np.float32)
    n_s, h, w = x.shape
    # incoming messages, by where they come from: left, right, up, down neighbour, finer, coarser layer
    m_left = np.zeros((n_s, h, w), np.float32)
    m_right = np.zeros((n_s, h, w), np.float32)
    m_up = np.zeros((n_s, h, w), np.float32)
    m_down = np.zeros((n_s, h, w), np.float32)
    m_prev = np.zeros((n_s, h, w), np.float32)
    m_next = np.zeros((n_s, h, w), np.float32)
    for _ in range(max_iter):
        total = unary + m_left + m_right + m_up + m_down + m_prev + m_next
        new_left = np.zeros_like(m_left)  # message into (s, y, x) from (s, y, x - 1)
        new_left[:, :, 1:] = _message((total - m_right)[:, :, :-1], alpha)
        new_right = np.zeros_like(m_right)  # into (s, y, x) from (s, y, x + 1)
        new_right[:, :, :-1] = _message((total - m_left)[:, :, 1:], alpha)
        new_up = np.zeros_like(m_up)  # into (s, y, x) from (s, y - 1, x)
        new_up[:, 1:, :] = _message((total - m_down)[:, :-1, :], alpha)
        new_down = np.zeros_like(m_down)  # into (s, y, x) from (s, y + 1, x)
        new_down[:, :-1, :] = _message((total - m_up)[:, 1:, :], alpha)
        new_prev = np.zeros_like(m_prev)  # into layer s from layer s - 1
        new_prev[1:] = _message((total - m_next)[:-1], alpha)
        new_next = np.zeros_like(m_next)  # into layer s from layer s + 1
        new_next[:-1] = _message((total - m_prev)[1:], alpha)
        change = 0.0
        for old, new in (
            (m_left, new_left),
            (m_right, new_right),
            (m_up, new_up),
            (m_down, new_down),
            (m_prev, new_prev),
            (m_next, new_next),
        ):
            upd = damping * old + (1.0 - damping) * new
            change = max(change, float(np.abs(upd - old).max()))
            old[...] = upd
        if change < tol:
            break
    total = unary + m_left + m_right + m_up + m_down + m_prev + m_next
    return (1.0 / (1.0 + np.exp(-total))).astype(np.float32)
