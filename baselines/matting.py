"""Closed-form matting (Levin, Lischinski & Weiss, IEEE TPAMI 2008) as used by the LBP and Zhuo detectors.

Both propagate sparse or seeded values over the image with the matting Laplacian ``L`` (pymatting's
``cf_laplacian``, 3 x 3 windows): the LBP pipeline solves a seeded matte coarse-to-fine as Levin et
al.'s released code does (:func:`coarse_to_fine_matte`), Zhuo & Sim solve
``(L + lambda D) x = lambda D s`` (:func:`propagate`, sparse LU). Images beyond a detector's working
size are solved smaller and brought back with Levin's coarse-to-fine step
(:func:`linear_upsample`): the local linear model ``alpha = a . I + b`` fitted in every 3 x 3 window
at the working size, its coefficients upsampled and applied to the full-size image.
"""

from __future__ import annotations

import cv2
import numpy as np

from dbdbench.errors import DbdError

#: Smallest ``max_side`` of a working size (the Laplacian's 3 x 3 windows need a few pixels on the
#: short side too).
MIN_WORKING_SIDE = 16


def _pymatting(method: str):
    try:
        import pymatting
    except ImportError:
        raise DbdError(f"{method} needs pymatting: pip install 'dbdbench[matting]'") from None
    return pymatting


def working_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) scaled so that the longer side is at most ``max_side`` (never enlarged)."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking, bilinear when enlarging."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = h < image.shape[0] or w < image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def at_working_size(image: np.ndarray, max_side: int, solve) -> np.ndarray:
    """Run a propagation at the working size and bring its map back to the image's size.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image.
    max_side : int
        Longer side of the working size (see :func:`working_size`; never enlarged).
    solve : callable
        ``solve(small, rgb01) -> map``: ``small`` is the image at the working size (uint8, shape
        (h, w, 3)), ``rgb01`` the same as float64 in [0, 1]; ``map`` has shape (h, w).

    Returns
    -------
    ndarray, shape (H, W), dtype float32, clipped to [0, 1]
        The map brought back with :func:`linear_upsample` (an all-zero map stays all zero).
    """
    size = working_size(*image.shape[:2], int(max_side))
    small = resize(image, size)
    rgb_small = small.astype(np.float64) / 255.0
    out = solve(small, rgb_small)
    rgb_full = image.astype(np.float32) / np.float32(255)
    return np.clip(linear_upsample(out, rgb_small, rgb_full), 0.0, 1.0).astype(np.float32)


def propagate(
    method: str, rgb01: np.ndarray, known: np.ndarray, values: np.ndarray, lam: float, epsilon: float = 1e-7
) -> np.ndarray:
    """Solve ``(L + lam D) x = lam D v``: spread ``values`` at ``known`` pixels over the image.

    Parameters
    ----------
    method : str
        Detector name, for the error message when pymatting is missing.
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
        Image defining the matting Laplacian ``L``.
    known : ndarray, shape (H, W), bool
        Pixels with a value (``D`` = diag(known)); at least one must be set.
    values : ndarray, shape (H, W), float
        Values at the known pixels (others ignored).
    lam : float
        Weight of the data term.
    epsilon : float
        Regulariser of the matting Laplacian.

    Returns
    -------
    ndarray, shape (H, W), float64
    """
    import scipy.sparse
    import scipy.sparse.linalg

    pm = _pymatting(method)
    lap = pm.cf_laplacian(rgb01, epsilon=epsilon)
    d = known.ravel().astype(np.float64)
    a = (lap + scipy.sparse.diags(lam * d)).tocsc()
    b = lam * d * np.where(known, values, 0.0).ravel()
    # With lam = 0.001 the system is too ill-conditioned for preconditioned conjugate gradients to be
    # quick; a sparse LU in symmetric mode with a minimum-degree ordering solves it exactly.
    lu = scipy.sparse.linalg.splu(
        a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
    )
    x = lu.solve(b)
    return x.reshape(known.shape)


def _box(img: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(img, -1, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT)


def linear_upsample(
    alpha: np.ndarray, rgb_small: np.ndarray, rgb_full: np.ndarray, radius: int = 1, eps: float = 1e-4
) -> np.ndarray:
    """Bring a map solved at a reduced size back to full size with the local linear colour model.

    In every (2 radius + 1)^2 window at the small size, fit ``alpha ~ a . I + b`` (ridge ``eps``); average
    the coefficients of the windows covering each pixel, resize them to the full size and apply them to
    the full-size image (Levin et al.'s coarse-to-fine step; the guided filter of He et al. with colour
    guide).

    Parameters
    ----------
    alpha : ndarray, shape (h, w), float
        Map at the small size.
    rgb_small : ndarray, shape (h, w, 3), float in [0, 1]
        Image at the small size.
    rgb_full : ndarray, shape (H, W, 3), float in [0, 1]
        Image at the full size.
    radius, eps : int, float
        Window radius and ridge regulariser of the fit.

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    if rgb_small.shape[:2] == rgb_full.shape[:2]:
        return alpha.astype(np.float32)
    img = rgb_small.astype(np.float32)
    p = alpha.astype(np.float32)
    mean_i = _box(img, radius)
    mean_p = _box(p, radius)
    cov_ip = _box(img * p[:, :, None], radius) - mean_i * mean_p[:, :, None]
    outer = img[:, :, :, None] * img[:, :, None, :]
    var_i = np.empty(outer.shape, np.float32)
    for r in range(3):
        for c in range(3):
            var_i[:, :, r, c] = _box(np.ascontiguousarray(outer[:, :, r, c]), radius)
    var_i -= mean_i[:, :, :, None] * mean_i[:, :, None, :]
    var_i += eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(var_i.astype(np.float64), cov_ip[:, :, :, None].astype(np.float64))[..., 0]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    a = _box(a.astype(np.float32), radius)
    b = _box(b.astype(np.float32), radius)
    full = rgb_full.shape[:2]
    a_full = resize(a, full)
    b_full = resize(b, full)
    return (np.einsum("hwc,hwc->hw", a_full, rgb_full.astype(np.float32)) + b_full).astype(np.float32)


# -- the coarse-to-fine matting of Levin et al.'s released code, as Yi & Eramian call it -------------

#: Data weight of the soft constraints in Levin et al.'s released ``solveAlpha``.
SOFT_WEIGHT = 100.0


def _conv_same(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable convolution with ``taps`` along rows and columns, zeros outside (MATLAB ``conv2 'same'``)."""
    from scipy.ndimage import convolve1d

    out = convolve1d(img, taps, axis=0, mode="constant")
    return convolve1d(out, taps, axis=1, mode="constant")


def downsample2(img: np.ndarray) -> np.ndarray:
    """Halve an image: ``[1 4 6 4 1] / 16`` in both directions (zeros outside), every 2nd pixel from the 3rd.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C), float

    Returns
    -------
    ndarray, shape (ceil((H - 4) / 2), ceil((W - 4) / 2)[, C]), float64
    """
    taps = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    out = _conv_same(np.asarray(img, np.float64), taps)
    return out[2 : img.shape[0] - 2 : 2, 2 : img.shape[1] - 2 : 2]


def upsample2(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Double an image to ``size``: samples on every 2nd pixel, edges repeated, ``[1 2 1] / 2`` filter.

    The samples sit at ``floor((N - 2 n + 1) / 2) + 2 k`` (0-based) of the ``N + 2`` rows of a
    one-pixel padded grid, the grid's first and last rows repeat the nearest sample, the filter
    interpolates linearly between samples, and the padding is cut off.

    Parameters
    ----------
    img : ndarray, shape (h, w) or (h, w, C), float
    size : (int, int)
        Output (H, W), about (2 h, 2 w).

    Returns
    -------
    ndarray, shape (H, W[, C]), float64
    """
    big = np.zeros((size[0] + 2, size[1] + 2, *img.shape[2:]))
    (n, m), (nn, mm) = img.shape[:2], size
    i_lo, i_hi = (nn - 2 * n + 1) // 2, -(-(nn - 2 * n + 1) // 2)
    j_lo, j_hi = (mm - 2 * m + 1) // 2, -(-(mm - 2 * m + 1) // 2)
    big[i_lo + 1 : nn + 1 - i_hi : 2, j_lo + 1 : mm + 1 - j_hi : 2] = img
    big[list(range(i_lo - 1, -1, -2))] = big[i_lo + 1]
    big[nn + 2 - i_hi :: 2] = big[nn - i_hi]
    big[:, list(range(j_lo - 1, -1, -2))] = big[:, j_lo + 1 : j_lo + 2]
    big[:, mm + 2 - j_hi :: 2] = big[:, mm - j_hi : mm - j_hi + 1]
    return _conv_same(big, np.array([1.0, 2.0, 1.0]) / 2.0)[1:-1, 1:-1]


def window_coefficients(alpha: np.ndarray, rgb: np.ndarray, epsilon: float = 1e-7) -> np.ndarray:
    """Per 3 x 3 window, the colour-linear model ``alpha ~ a . I + b`` (ridge ``epsilon`` on ``a``).

    Each interior pixel gets the least-squares fit of its own window (no averaging over windows);
    the border rows and columns repeat the nearest interior ones.

    Parameters
    ----------
    alpha : ndarray, shape (h, w), float
    rgb : ndarray, shape (h, w, 3), float in [0, 1]
    epsilon : float
        Ridge weight on ``|a|^2`` against the sum of squares over the window's 9 pixels.

    Returns
    -------
    ndarray, shape (h, w, 4), float64
        ``a`` (3 channels) then ``b``.
    """
    img = np.asarray(rgb, np.float64)
    p = np.asarray(alpha, np.float64)

    def mean(x):
        return cv2.boxFilter(x, -1, (3, 3), normalize=True, borderType=cv2.BORDER_REPLICATE)

    mu = mean(img)
    mp = mean(p)
    cov_ip = mean(img * p[:, :, None]) - mu * mp[:, :, None]
    var = np.empty((*p.shape, 3, 3))
    for r in range(3):
        for c in range(r, 3):
            var[:, :, r, c] = var[:, :, c, r] = mean(img[:, :, r] * img[:, :, c]) - mu[:, :, r] * mu[:, :, c]
    var += (epsilon / 9.0) * np.eye(3)
    a = np.linalg.solve(var, cov_ip[:, :, :, None])[..., 0]
    coeff = np.concatenate([a, (mp - np.einsum("hwc,hwc->hw", a, mu))[:, :, None]], axis=2)
    coeff[0], coeff[-1] = coeff[1], coeff[-2]
    coeff[:, 0], coeff[:, -1] = coeff[:, 1], coeff[:, -2]
    return coeff


def soft_matte(
    method: str, rgb01: np.ndarray, known: np.ndarray, values: np.ndarray, weight: float = SOFT_WEIGHT
) -> np.ndarray:
    """Closed-form matte with soft constraints: ``(L + weight D) x = weight D v``, clipped to [0, 1].

    ``L`` leaves out the windows whose 9 pixels are all known (pymatting's ``is_known``).

    Parameters
    ----------
    method : str
        Detector name, for the error message when pymatting is missing.
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
    known : ndarray, shape (H, W), bool
    values : ndarray, shape (H, W), float
        Target values at the known pixels.
    weight : float
        Weight of the constraints.

    Returns
    -------
    ndarray, shape (H, W), float64 in [0, 1]
    """
    import scipy.sparse
    import scipy.sparse.linalg

    if not known.any():
        return np.zeros(known.shape)
    pm = _pymatting(method)
    lap = pm.cf_laplacian(rgb01, epsilon=1e-7, is_known=known)
    d = known.ravel().astype(np.float64)
    a = (lap + scipy.sparse.diags(weight * d)).tocsc()
    lu = scipy.sparse.linalg.splu(
        a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
    )
    x = lu.solve(weight * d * np.where(known, values, 0.0).ravel())
    return np.clip(x.reshape(known.shape), 0.0, 1.0)


def coarse_to_fine_matte(
    method: str, rgb01: np.ndarray, known: np.ndarray, values: np.ndarray, levels: int = 3
) -> np.ndarray:
    """Levin et al.'s coarse-to-fine matte with one active level, as Yi & Eramian's code runs it.

    The image, the constraint mask and the values are halved ``levels - 1`` times
    (:func:`downsample2`; mask and values rounded to 0 / 1 at every level), the matte is solved at the
    coarsest level (:func:`soft_matte`), and each finer level takes the per-window colour-linear model
    of the level below (:func:`window_coefficients`), doubled with :func:`upsample2` and applied to its
    own image. Images too small to halve are solved at their own size.

    Parameters
    ----------
    method : str
        Detector name, for the error message when pymatting is missing.
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
    known : ndarray, shape (H, W), bool
    values : ndarray, shape (H, W), float in {0, 1}
    levels : int
        Pyramid levels (3 in the released code).

    Returns
    -------
    ndarray, shape (H, W), float64 in [0, 1]
    """
    return np.clip(_coarse_to_fine(method, rgb01, known, values, levels), 0.0, 1.0)


def _coarse_to_fine(method, rgb01, known, values, levels):
    # only the coarsest solve is clipped before the end, as in the released code
    if levels <= 1 or min(rgb01.shape[:2]) < 16:
        return soft_matte(method, rgb01, known, values)
    small = downsample2(rgb01)
    # MATLAB's round: halves away from zero (the values are >= 0)
    s_known = np.floor(downsample2(known.astype(np.float64)) + 0.5) > 0
    s_values = np.floor(downsample2(np.asarray(values, np.float64)) + 0.5)
    s_alpha = _coarse_to_fine(method, small, s_known, s_values, levels - 1)
    coeff = upsample2(window_coefficients(s_alpha, small), rgb01.shape[:2])
    return np.einsum("hwc,hwc->hw", coeff[:, :, :3], rgb01) + coeff[:, :, 3]
