"""Edge-preserving filters guided by an image: guided filter, domain-transform recursive filter,
joint bilateral filter. Written with numpy and plain OpenCV (box filters), no contrib module.

- Guided filter: K. He, J. Sun and X. Tang, "Guided image filtering", ECCV 2010 / IEEE TPAMI 2013.
  Grey guide (eqs. 5-8) or colour guide with the 3 x 3 covariance inverse per window (eq. 19).
- Domain-transform recursive filter: E. S. L. Gastal and M. M. Oliveira, "Domain transform for
  edge-aware image and video processing", ACM SIGGRAPH 2011 (eqs. 11, 14 and 21; the RF variant).
- Joint (cross) bilateral filter: G. Petschnigg et al., "Digital photography with flash and no-flash
  image pairs", SIGGRAPH 2004; E. Eisemann and F. Durand, same venue.

Each follows the conventions of the OpenCV contrib function it replaces (``ximgproc.guidedFilter``,
``dtFilter`` in recursive mode, ``jointBilateralFilter``) so that the detectors' maps stay the same:
box size ``2 r + 1`` with mirrored borders (``BORDER_REFLECT``) for the guided filter; the colour
distance summed over channels (L1) in the domain transform and the bilateral range weight; a disc
of radius ``round(1.5 sigma_s)`` with ``BORDER_REFLECT_101`` for the bilateral filter.
"""

from __future__ import annotations

import cv2
import numpy as np


def _channels(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image[:, :, None] if image.ndim == 2 else image


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter of ``src`` by ``guide`` (He, Sun & Tang).

    Per window ``w_k`` (side ``2 radius + 1``) the output is linear in the guide,
    ``q = a_k . I + b_k`` with ``a_k = (Sigma_k + eps U)^-1 cov_k(I, p)`` and
    ``b_k = mean_k(p) - a_k . mean_k(I)``; each pixel averages the coefficients of the windows that
    cover it. Box means extend the image by mirroring (``cv2.BORDER_REFLECT``, ``fedcba|abcdef``).

    Parameters
    ----------
    guide : ndarray, shape (H, W) or (H, W, C), float
        Guide image, on the scale ``eps`` refers to (e.g. [0, 1]). ``C`` = 3 uses the colour form.
    src : ndarray, shape (H, W), float
        Image to filter.
    radius : int
        Window radius (window side ``2 radius + 1``), >= 1.
    eps : float
        Regulariser, a variance on the guide's scale (squared units).

    Returns
    -------
    ndarray, shape (H, W), dtype float64
    """
    guide = _channels(guide)
    p = np.asarray(src, dtype=np.float64)
    size = (2 * int(radius) + 1,) * 2

    def mean(x):
        return cv2.boxFilter(x, -1, size, normalize=True, borderType=cv2.BORDER_REFLECT)

    c = guide.shape[2]
    chans = [np.ascontiguousarray(guide[:, :, i]) for i in range(c)]
    mi = [mean(g) for g in chans]
    mp = mean(p)
    cov_ip = [mean(g * p) - m * mp for g, m in zip(chans, mi, strict=True)]
    if c == 1:
        a = [cov_ip[0] / (mean(chans[0] * chans[0]) - mi[0] * mi[0] + eps)]
    else:
        cov = {}
        for i in range(c):
            for j in range(i, c):
                cov[i, j] = cov[j, i] = mean(chans[i] * chans[j]) - mi[i] * mi[j] + (eps if i == j else 0.0)
        a = _solve_symmetric(cov, cov_ip)
    b = mp - sum(ai * m for ai, m in zip(a, mi, strict=True))
    return sum(mean(ai) * g for ai, g in zip(a, chans, strict=True)) + mean(b)


def _solve_symmetric(s: dict, v: list) -> list:
    """Per pixel ``S^-1 v`` for symmetric ``S`` given as maps ``s[i, j]``: 3 x 3 by the adjugate over
    the determinant (each entry a whole-image operation), other sizes by LAPACK."""
    if len(v) != 3:
        c = len(v)
        mat = np.stack([np.stack([s[i, j] for j in range(c)], axis=-1) for i in range(c)], axis=-2)
        x = np.linalg.solve(mat, np.stack(v, axis=-1)[..., None])[..., 0]
        return [x[..., i] for i in range(c)]
    adj = {
        (0, 0): s[1, 1] * s[2, 2] - s[1, 2] * s[1, 2],
        (0, 1): s[0, 2] * s[1, 2] - s[0, 1] * s[2, 2],
        (0, 2): s[0, 1] * s[1, 2] - s[0, 2] * s[1, 1],
        (1, 1): s[0, 0] * s[2, 2] - s[0, 2] * s[0, 2],
        (1, 2): s[0, 1] * s[0, 2] - s[0, 0] * s[1, 2],
        (2, 2): s[0, 0] * s[1, 1] - s[0, 1] * s[0, 1],
    }
    for i, j in ((1, 0), (2, 0), (2, 1)):
        adj[i, j] = adj[j, i]
    det = s[0, 0] * adj[0, 0] + s[0, 1] * adj[0, 1] + s[0, 2] * adj[0, 2]
    return [(adj[i, 0] * v[0] + adj[i, 1] * v[1] + adj[i, 2] * v[2]) / det for i in range(3)]


def _transform_derivative(guide: np.ndarray, axis: int, ratio: float) -> np.ndarray:
    """``1 + sigma_s / sigma_r * sum_c |dJ_c|`` between neighbours along ``axis`` (eq. 11)."""
    return 1.0 + ratio * np.abs(np.diff(guide, axis=axis)).sum(axis=2)


def _recursive_pass(f: np.ndarray, a: np.ndarray) -> None:
    """Two-way first-order recursion along axis 0 of ``f`` (in place), all columns at once.

    Left to right ``f[n] += a[n - 1] (f[n - 1] - f[n])``, then right to left
    ``f[n] += a[n] (f[n + 1] - f[n])`` (eq. 21); ``a[n]`` is the feedback between samples ``n``
    and ``n + 1``. The recursion is sequential along the axis; each step is one vector operation
    over all rows of the other axis.
    """
    tmp = np.empty_like(f[0])
    for n in range(1, f.shape[0]):
        np.subtract(f[n - 1], f[n], out=tmp)
        tmp *= a[n - 1]
        f[n] += tmp
    for n in range(f.shape[0] - 2, -1, -1):
        np.subtract(f[n + 1], f[n], out=tmp)
        tmp *= a[n]
        f[n] += tmp


def domain_transform_rf(
    src: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float, iterations: int = 3
) -> np.ndarray:
    """Edge-preserving recursive filter in the transformed domain (Gastal & Oliveira, SIGGRAPH 2011).

    The domain-transform derivative between neighbours is ``1 + sigma_s / sigma_r * sum_c |dJ_c|``
    (finite differences of the guide ``J``, summed over its channels). Iteration ``i = 1..N`` runs a
    horizontal then a vertical two-way recursive filter with feedback ``exp(-sqrt(2) / sigma_i) **
    derivative``, ``sigma_i = sigma_s sqrt(3) 2^(N - i) / sqrt(4^N - 1)`` (eq. 14). These are the
    conventions of OpenCV contrib's ``ximgproc.dtFilter`` in ``DTF_RF`` mode.

    Parameters
    ----------
    src : ndarray, shape (H, W), float
        Image to filter.
    guide : ndarray, shape (H, W) or (H, W, C), float
        Joint (guide) image, same size, on the scale ``sigma_r`` refers to (e.g. [0, 1]).
    sigma_s, sigma_r : float
        Spatial and range standard deviations (> 0).
    iterations : int
        Number of iterations N (>= 1).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
    """
    j = _channels(guide)
    ratio = float(sigma_s) / float(sigma_r)
    # Feedback exponents, laid out so that every recursion runs along axis 0 of a C-contiguous array.
    dx = np.ascontiguousarray(_transform_derivative(j, 1, ratio).T)  # (W - 1, H)
    dy = _transform_derivative(j, 0, ratio)  # (H - 1, W)
    f = np.array(src, dtype=np.float64)
    n = int(iterations)
    for i in range(1, n + 1):
        sigma_i = float(sigma_s) * np.sqrt(3.0) * 2.0 ** (n - i) / np.sqrt(4.0**n - 1.0)
        ln_a = -np.sqrt(2.0) / sigma_i
        ft = np.ascontiguousarray(f.T)
        _recursive_pass(ft, np.exp(ln_a * dx))
        f = np.ascontiguousarray(ft.T)
        _recursive_pass(f, np.exp(ln_a * dy))
    return f.astype(np.float32)


def joint_bilateral_filter(
    guide: np.ndarray, src: np.ndarray, sigma_colour: float, sigma_space: float
) -> np.ndarray:
    """Joint bilateral filter of ``src`` with range weights from ``guide``.

    ``out(x) = sum_y w(x, y) src(y) / sum_y w(x, y)`` over the disc ``|y - x| <= r``,
    ``r = round(1.5 sigma_space)`` (at least 1), ``w = exp(-|y - x|^2 / (2 sigma_space^2)
    - d^2 / (2 sigma_colour^2))`` with ``d`` the colour distance summed over channels (L1). The
    image is extended by ``cv2.BORDER_REFLECT_101`` (``gfedcb|abcdefgh``).

    Parameters
    ----------
    guide : ndarray, shape (H, W) or (H, W, C), float
        Guide image, on the scale ``sigma_colour`` refers to.
    src : ndarray, shape (H, W) or (H, W, K), float
        Image(s) to filter; the K channels share the weights (one pass for all).
    sigma_colour, sigma_space : float
        Range (guide units) and spatial (pixels) standard deviations, > 0.

    Returns
    -------
    ndarray, same shape as ``src``, dtype float64
    """
    j = _channels(guide)
    s = _channels(src)
    h, w = s.shape[:2]
    r = max(1, int(np.floor(1.5 * float(sigma_space) + 0.5)))
    jp = np.pad(j, ((r, r), (r, r), (0, 0)), mode="reflect")
    sp = np.pad(s, ((r, r), (r, r), (0, 0)), mode="reflect")
    num = np.zeros(s.shape)
    den = np.zeros((h, w, 1))
    dist = np.empty((h, w))
    weight = np.empty((h, w))
    colour = -0.5 / float(sigma_colour) ** 2
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx > r * r:
                continue
            shifted = jp[r + dy : r + dy + h, r + dx : r + dx + w]
            dist.fill(0.0)
            for c in range(j.shape[2]):
                dist += np.abs(shifted[:, :, c] - j[:, :, c])
            np.multiply(dist, dist, out=weight)
            weight *= colour
            weight += -0.5 * (dy * dy + dx * dx) / float(sigma_space) ** 2
            np.exp(weight, out=weight)
            num += weight[:, :, None] * sp[r + dy : r + dy + h, r + dx : r + dx + w]
            den[:, :, 0] += weight
    out = num / den
    return out[:, :, 0] if np.ndim(src) == 2 else out
