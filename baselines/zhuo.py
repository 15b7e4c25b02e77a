"""Defocus map of Zhuo & Sim: blur at edges from re-blurred gradients, propagated by matting.

Shaojie Zhuo and Terence Sim, "Defocus map estimation from a single image", Pattern Recognition
44(9):1852-1858, 2011.

1. Grey image in [0, 1]; Canny edges with sigma 1 and threshold 0.1 in MATLAB ``edge(I, 'canny',
   0.1, 1)`` semantics: the high hysteresis threshold is 0.1 and the low one 0.4 x 0.1, both relative
   to the maximum gradient magnitude of the smoothed image (scikit-image's thresholds are absolute, so
   they are scaled by that maximum here).
2. Blur at edges from two re-blurs. An ideal step edge ``A u(x) + B`` blurred by a Gaussian of unknown
   sigma and re-blurred by a Gaussian of ``sigma_k`` has the gradient magnitude
   ``A / sqrt(2 pi (sigma^2 + sigma_k^2))`` at the edge. With ``|g1|`` and ``|g2|`` the gradient
   magnitudes after re-blurs of ``sigma1 = 1`` and ``sigma2 = 1.5``, the ratio ``R = |g1| / |g2|``
   satisfies ``R^2 = (sigma^2 + sigma2^2) / (sigma^2 + sigma1^2)``, hence::

       sigma = sqrt((R^2 sigma1^2 - sigma2^2) / (1 - R^2))

   valid for ``1 < R <= sigma2 / sigma1`` (R -> 1 as sigma -> infinity, R = sigma2 / sigma1 at
   sigma = 0). The paper's single re-blur formula ``sigma = sigma0 / sqrt(R^2 - 1)`` with
   ``R = |grad i| / |grad i1|`` is the limit ``sigma1 -> 0``; the authors' released code uses the
   two-re-blur form, which does not divide by the unregularised gradient of the raw image. The
   gradients are those of that code (:func:`gradient_magnitude`) on the unrounded grey image. Edges
   with ``1.01 < R <= sigma2 / sigma1`` get an estimate, clipped at 3; the others are left free, and
   so are those whose estimate is 0 (``R = sigma2 / sigma1``), as in that code.
   ``include_sharp=True`` also constrains edges sharper than the model (``R > sigma2 / sigma1``) to
   blur 0, a reading that gives sharp regions more data; it departs from the authors' maps, so it is
   off by default (its effect is measured in docs/baselines.md).
3. The sparse map is corrected by the authors' bilateral filter (:func:`sparse_bilateral`: spatial
   sigma 5, colour sigma ``0.1 * max_blur``, evaluated at and over the edge pixels only).
4. Propagation to every pixel: solve ``(L + lambda D) x = lambda D s`` with ``L`` the matting
   Laplacian (Levin et al. 2008, with the authors' regulariser), ``D`` the diagonal indicator of the
   constrained pixels, ``s`` the sparse blur and ``lambda = 0.001`` (pymatting's ``cf_laplacian``,
   solved by a sparse LU). :func:`defocus_map` runs steps 2 to 4 from any edge map.
5. The output of the paper is the blur amount; the detector clips it to ``[0, max_blur]`` (the
   matting Laplacian obeys no maximum principle, and the solution overshoots far from edges in flat
   regions) and returns the min-max normalised negative blur, so 1 = in-focus. An image without
   usable edges gives an all-zero map.

Images whose longer side exceeds ``max_side`` are processed at that size and the map is brought back
with Levin's local linear colour model (:func:`dbdbench.baselines.matting.linear_upsample`). The
default, 800, keeps CUHK, DUT and CTCUG photos at full size: on out_of_focus0035 (640 x 426) that
costs 14.0 s of CPU and 1.7 GB peak (the sparse LU) against 2.2 s and 0.58 GB at a working size of
320, and raises r with the authors' map from 0.74 to 0.98 (benchmarks/validate_authors.py,
2026-12-03; docs/baselines.md, "Validation against the authors' code"). The LU's memory grows
faster than the pixel count, so larger photos (EBD, 1600 x 1024) are processed at 800.
"""

from __future__ import annotations

import numpy as np

from dbdbench.baselines.imageops import MIN_SIDE, RGB2GRAY_WEIGHTS, as_rgb, minmax
from dbdbench.baselines.matting import MIN_WORKING_SIDE
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, positive

CITATION = "Zhuo & Sim, Defocus map estimation from a single image, Pattern Recognition 2011"
#: Regulariser the authors add to each 3 x 3 window's colour covariance in the matting Laplacian.
LAPLACIAN_EPSILON = 1e-7


def canny_matlab(grey: np.ndarray, sigma: float = 1.0, threshold: float = 0.1) -> np.ndarray:
    """Canny edges with MATLAB ``edge(I, 'canny', threshold, sigma)`` threshold semantics.

    Parameters
    ----------
    grey : ndarray, shape (H, W), float in [0, 1]
    sigma : float
        Gaussian smoothing before the gradient.
    threshold : float
        High hysteresis threshold relative to the maximum gradient magnitude; low = 0.4 x high.

    Returns
    -------
    ndarray, shape (H, W), bool
    """
    from scipy import ndimage
    from skimage.feature import canny
    from skimage.filters import gaussian

    smooth = gaussian(grey, sigma=sigma, mode="nearest", preserve_range=True)
    peak = float(np.hypot(ndimage.sobel(smooth, axis=0), ndimage.sobel(smooth, axis=1)).max())
    if peak <= 0:
        return np.zeros(grey.shape, bool)
    return canny(
        grey,
        sigma=sigma,
        low_threshold=0.4 * threshold * peak,
        high_threshold=threshold * peak,
        mode="nearest",
    )


def gradient_magnitude(grey: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of the derivative-of-Gaussian gradient, with the kernel of the authors' code.

    The kernel is ``-x / (2 pi sigma^4) exp(-(x^2 + y^2) / (2 sigma^2))`` (and its transpose) on the
    integer grid ``|x|, |y| <= 2 ceil(2 sigma) + 1``, not normalised; borders are replicated. It is
    separable, so it is applied as a row and a column filter.

    Parameters
    ----------
    grey : ndarray, shape (H, W), float
    sigma : float
        Gaussian sigma in pixels, > 0.

    Returns
    -------
    ndarray, shape (H, W), float64
    """
    import cv2

    half = 2 * int(np.ceil(2 * sigma)) + 1
    x = np.arange(-half, half + 1, dtype=np.float64)
    bell = np.exp(-(x**2) / (2 * sigma**2))
    deriv = -x / (2 * np.pi * sigma**4) * bell
    g = np.ascontiguousarray(grey, dtype=np.float64)
    gx = cv2.sepFilter2D(g, cv2.CV_64F, deriv, bell, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(g, cv2.CV_64F, bell, deriv, borderType=cv2.BORDER_REPLICATE)
    return np.hypot(gx, gy)


def edge_blur(
    grey: np.ndarray,
    edges: np.ndarray,
    sigma1: float = 1.0,
    sigma2: float = 1.5,
    max_blur: float = 3.0,
    include_sharp: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Blur sigma at edge pixels from the gradient ratio of two re-blurs (see the module docstring).

    Parameters
    ----------
    grey : ndarray, shape (H, W), float
        Image.
    edges : ndarray, shape (H, W), bool
        Edge pixels.
    sigma1, sigma2 : float
        Re-blur sigmas, ``sigma2 > sigma1``.
    max_blur : float
        Estimates are clipped at this sigma.
    include_sharp : bool
        Also keep edges with ``R > sigma2 / sigma1`` (sharper than the model), as sigma = 0.

    Returns
    -------
    sigma : ndarray, shape (H, W), float64
        Blur estimate (0 where not valid).
    valid : ndarray, shape (H, W), bool
        Edge pixels with an estimate: ``R > 1.01`` and ``R <= sigma2 / sigma1`` (or any
        ``R > 1.01`` with ``include_sharp``).
    """
    g1 = gradient_magnitude(grey, sigma1)
    g2 = gradient_magnitude(grey, sigma2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(g2 > 0, g1 / g2, 0.0)
    valid = edges & (r > 1.01)
    if not include_sharp:
        valid &= r <= sigma2 / sigma1
    r2 = np.where(valid, np.minimum(r, sigma2 / sigma1) ** 2, 2.0)
    sig = np.sqrt(np.maximum((r2 * sigma1**2 - sigma2**2) / (1.0 - r2), 0.0))
    return np.where(valid, np.minimum(sig, max_blur), 0.0), valid


def sparse_bilateral(
    sparse: np.ndarray, rgb01: np.ndarray, sigma_space: float = 5.0, sigma_colour: float = 0.3
) -> np.ndarray:
    """Zhuo & Sim's bilateral correction of the sparse blur map, evaluated at its set pixels only.

    At every pixel ``x`` with ``sparse(x) > 1e-4``: the mean of ``sparse(y)`` over the set pixels ``y``
    (``sparse(y) > 1e-4``) of the square window of side ``ceil(4 sigma_space) + 1`` (odd sides only,
    as the authors' ``fspecial``; borders replicated), weighted by
    ``exp(-|y - x|^2 / (2 sigma_space^2)) * sum_c exp(-(I_c(y) - I_c(x))^2 / (2 sigma_colour^2))
    * exp(-sparse(y))``: a range weight summed over the colour channels, not multiplied, and a
    preference for the smaller blur. As in the authors' code, each channel ``I_c(y)`` is compared with
    the red value ``I_1(x)`` of the centre (their window indexing reads only the first channel there).
    Pixels not set stay 0.

    Parameters
    ----------
    sparse : ndarray, shape (H, W), float
        Blur sigma at edge pixels, 0 elsewhere.
    rgb01 : ndarray, shape (H, W, 3), float in [0, 1]
        Guide image.
    sigma_space, sigma_colour : float
        Spatial (pixels) and range (guide units) standard deviations.

    Returns
    -------
    ndarray, shape (H, W), float64
    """
    h, w = sparse.shape
    side = int(np.ceil(4 * sigma_space)) + 1
    half = (side - 1) // 2
    rows, cols = np.nonzero(sparse > 1e-4)
    out = np.zeros((h, w))
    if rows.size == 0:
        return out
    ps = np.pad(np.asarray(sparse, np.float64), half, mode="edge")
    pg = np.pad(np.asarray(rgb01, np.float64), ((half, half), (half, half), (0, 0)), mode="edge")
    # the authors index the centre of the 3-D guide window with two subscripts, which MATLAB reads
    # as (row, column) of the first channel: every channel is compared with the centre's red value
    centre = pg[rows + half, cols + half, :1]
    num = np.zeros(rows.size)
    den = np.zeros(rows.size)
    two_sr2 = 2.0 * sigma_colour**2
    for dy in range(-half, half + 1):
        for dx in range(-half, half + 1):
            v = ps[rows + half + dy, cols + half + dx]
            use = v > 1e-4
            if not use.any():
                continue
            rng = np.exp(-((pg[rows + half + dy, cols + half + dx] - centre) ** 2) / two_sr2).sum(axis=1)
            wgt = np.where(use, np.exp(-(dy * dy + dx * dx) / (2.0 * sigma_space**2)) * rng * np.exp(-v), 0.0)
            num += wgt * v
            den += wgt
    out[rows, cols] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return out


def defocus_map(
    rgb01: np.ndarray,
    edges: np.ndarray,
    sigma1: float = 1.0,
    sigma2: float = 1.5,
    max_blur: float = 3.0,
    lam: float = 0.001,
    jbf_space: float = 5.0,
    jbf_colour: float = 0.3,
    include_sharp: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The sparse and the full defocus map of an image from a given edge map (steps 2 to 4).

    Parameters
    ----------
    rgb01 : ndarray, shape (H, W, 3), float64 in [0, 1]
        Image.
    edges : ndarray, shape (H, W), bool
        Edge map (the detector's Canny edges, or another edge detector's, e.g. the reference's).
    sigma1, sigma2, max_blur, lam, jbf_space, jbf_colour, include_sharp
        As for :func:`zhuo_sim` and :func:`edge_blur`.

    Returns
    -------
    sparse : ndarray, shape (H, W), float64
        Blur sigma in pixels at the constrained pixels (after the bilateral correction), 0 elsewhere.
    full : ndarray, shape (H, W), float64
        Propagated blur sigma in pixels, not clipped; all zero when no pixel is constrained.
    """
    from dbdbench.baselines import matting

    grey = np.asarray(rgb01, np.float64) @ RGB2GRAY_WEIGHTS  # MATLAB rgb2gray of a double image
    sigma, valid = edge_blur(grey, np.asarray(edges, bool), sigma1, sigma2, max_blur, include_sharp)
    if include_sharp:
        # sigma = 0 is a constraint here too: lift it just above the "set" threshold
        sigma = np.where(valid, np.maximum(sigma, 2e-4), 0.0)
    sparse = sparse_bilateral(sigma, rgb01, jbf_space, jbf_colour)
    known = sparse > 1e-4
    if not known.any():
        return sparse, np.zeros(sparse.shape)
    # the authors' Laplacian adds 1e-7 to each window's covariance; pymatting's epsilon is divided by
    # the window's 9 pixels first (Levin et al.'s form), so 9e-7 gives the authors' matrix
    return sparse, matting.propagate("zhuo", rgb01, known, sparse, lam, epsilon=LAPLACIAN_EPSILON * 9)


@detector(
    "zhuo",
    citation=CITATION,
    description="edge blur from two re-blurred gradients, propagated with the matting Laplacian (sharp = 1)",
    checks={
        "canny_sigma": positive(),
        # relative to the maximum gradient: 1 or more leaves no edge to propagate (an all-zero map)
        "canny_threshold": between(0, 1, open_low=True, open_high=True),
        "sigma1": positive(),
        "sigma2": positive(),
        "max_blur": positive(),
        "lam": positive(),  # 0 leaves the propagation without data (a singular system)
        "jbf_space": positive(),
        "jbf_colour": positive(),
        "max_side": at_least(MIN_WORKING_SIDE),
    },
)
def zhuo_sim(
    image: np.ndarray,
    canny_sigma: float = 1.0,
    canny_threshold: float = 0.1,
    sigma1: float = 1.0,
    sigma2: float = 1.5,
    max_blur: float = 3.0,
    lam: float = 0.001,
    jbf_space: float = 5.0,
    jbf_colour: float = 0.3,
    include_sharp: bool = False,
    max_side: int = 800,
) -> np.ndarray:
    """Zhuo & Sim defocus map (Pattern Recognition 2011), inverted so that 1 = in-focus.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image (grey and RGBA are converted).
    canny_sigma, canny_threshold : float
        Canny smoothing and (MATLAB-relative) high threshold.
    sigma1, sigma2 : float
        Re-blur sigmas, ``0 < sigma1 < sigma2``.
    max_blur : float
        Clip of the edge blur estimates.
    lam : float
        Data weight lambda of the propagation.
    jbf_space, jbf_colour : float
        Spatial sigma (pixels) and colour sigma (image in [0, 1]) of the bilateral correction
        (:func:`sparse_bilateral`; the authors' 5 and ``0.1 * max_blur``).
    include_sharp : bool
        Also constrain edges sharper than the step-edge model (``R > sigma2 / sigma1``) to blur 0,
        which the authors' code leaves free (see the module docstring).
    max_side : int
        Longer side of the working size (at least 16); larger images are processed smaller and
        upsampled.

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.
    """
    from dbdbench.baselines import matting

    if sigma2 <= sigma1:
        raise DbdError(f"zhuo: sigma2 ({sigma2}) must exceed sigma1 ({sigma1}); the blur ratio needs it")
    image = as_rgb(image, min_size=MIN_SIDE, method="zhuo")

    def solve(small: np.ndarray, rgb01: np.ndarray) -> np.ndarray:
        edges = canny_matlab(rgb01 @ RGB2GRAY_WEIGHTS, float(canny_sigma), float(canny_threshold))
        _, blur = defocus_map(
            rgb01, edges, float(sigma1), float(sigma2), float(max_blur), float(lam),
            float(jbf_space), float(jbf_colour), bool(include_sharp),
        )  # fmt: skip
        if not blur.any():
            return np.zeros(blur.shape)
        # the matting Laplacian has no maximum principle: far from edges the solution can overshoot
        # (by orders of magnitude in flat areas of distinct colours); blur lies in [0, max_blur]
        return minmax(-np.clip(blur, 0.0, float(max_blur))).astype(np.float32)

    return matting.at_working_size(image, max_side, solve)
