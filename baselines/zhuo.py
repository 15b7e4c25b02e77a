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
   ``R = |grad i| / |grad i1|`` is the limit ``sigma1 -> 0``; the two-re-blur form used here does not
   divide by the unregularised gradient of the raw image, which makes it less sensitive to noise.
   Edges with ``R > 1.01`` get an estimate, clipped at 3 (``R <= 1.01``: nearly flat, ambiguous, left
   out). Edges with ``R > sigma2 / sigma1``, sharper than the step-edge model allows (pixel-sharp
   edges, fine texture), count as ``sigma = 0``, the value at ``R = sigma2 / sigma1``. Our background
   notes give the range ``(1.01, sigma2 / sigma1]``, which drops them; that leaves sharp regions
   almost without data (sod maxF on CUHK out_of_focus0011, 0035, 0223: 0.76 mean when dropped,
   0.94 when kept), so they are kept (``edge_blur(..., include_sharp=False)`` gives the other
   reading).
3. The sparse map is smoothed by a joint bilateral filter guided by the colour image (normalised over
   the edge pixels only) to correct outliers.
4. Propagation to every pixel: solve ``(L + lambda D) x = lambda D s`` with ``L`` the matting
   Laplacian (Levin et al. 2008), ``D`` the diagonal indicator of edge pixels, ``s`` the sparse blur
   and ``lambda = 0.001`` (pymatting's ``cf_laplacian``, solved by a sparse LU).
5. The output of the paper is the blur amount; the detector clips it to ``[0, max_blur]`` (the
   matting Laplacian obeys no maximum principle, and the solution overshoots far from edges in flat
   regions) and returns the min-max normalised negative blur, so 1 = in-focus. An image without
   usable edges gives an all-zero map.

Images whose longer side exceeds ``max_side`` are processed at that size and the map is brought back
with Levin's local linear colour model (:func:`dbdbench.baselines.matting.linear_upsample`).
"""

from __future__ import annotations

import numpy as np

from dbdbench.baselines.imageops import MIN_SIDE, as_rgb, minmax, rgb2gray_matlab
from dbdbench.baselines.matting import MIN_WORKING_SIDE
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, positive

CITATION = "Zhuo & Sim, Defocus map estimation from a single image, Pattern Recognition 2011"


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


def edge_blur(
    grey: np.ndarray,
    edges: np.ndarray,
    sigma1: float = 1.0,
    sigma2: float = 1.5,
    max_blur: float = 3.0,
    include_sharp: bool = True,
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
        Keep edges with ``R > sigma2 / sigma1`` as sigma = 0 (otherwise they are left out).

    Returns
    -------
    sigma : ndarray, shape (H, W), float64
        Blur estimate (0 where not valid).
    valid : ndarray, shape (H, W), bool
        Edge pixels with an estimate: ``R > 1.01`` (and ``R <= sigma2 / sigma1`` unless
        ``include_sharp``).
    """
    from scipy.ndimage import gaussian_gradient_magnitude

    g = np.asarray(grey, dtype=np.float64)
    g1 = gaussian_gradient_magnitude(g, sigma1, mode="nearest")
    g2 = gaussian_gradient_magnitude(g, sigma2, mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(g2 > 0, g1 / g2, 0.0)
    valid = edges & (r > 1.01)
    if not include_sharp:
        valid &= r <= sigma2 / sigma1
    r2 = np.where(valid, np.minimum(r, sigma2 / sigma1) ** 2, 2.0)
    sig = np.sqrt(np.maximum((r2 * sigma1**2 - sigma2**2) / (1.0 - r2), 0.0))
    return np.where(valid, np.minimum(sig, max_blur), 0.0), valid


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
    jbf_colour: float = 0.1,
    max_side: int = 320,
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
        Joint bilateral filter spatial sigma (pixels) and colour sigma (image in [0, 1]).
    max_side : int
        Longer side of the working size (at least 16); larger images are processed smaller and
        upsampled.

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.
    """
    from dbdbench.baselines import matting
    from dbdbench.baselines.edge_filters import joint_bilateral_filter

    if sigma2 <= sigma1:
        raise DbdError(f"zhuo: sigma2 ({sigma2}) must exceed sigma1 ({sigma1}); the blur ratio needs it")
    image = as_rgb(image, min_size=MIN_SIDE, method="zhuo")

    def solve(small: np.ndarray, rgb01: np.ndarray) -> np.ndarray:
        grey = rgb2gray_matlab(small, opencv=True).astype(np.float64) / 255.0
        edges = canny_matlab(grey, float(canny_sigma), float(canny_threshold))
        sigma, valid = edge_blur(grey, edges, float(sigma1), float(sigma2), float(max_blur))
        if not valid.any():
            return np.zeros(grey.shape)
        mask = valid.astype(np.float64)
        both = np.stack([sigma * mask, mask], axis=-1)  # one pass: the two share the weights
        num, den = np.moveaxis(
            joint_bilateral_filter(rgb01, both, float(jbf_colour), float(jbf_space)), -1, 0
        )
        sparse = np.where(valid, num / np.maximum(den, 1e-12), 0.0)
        blur = matting.propagate("zhuo", rgb01, valid, sparse, float(lam))
        # the matting Laplacian has no maximum principle: far from edges the solution can overshoot
        # (by orders of magnitude in flat areas of distinct colours); blur lies in [0, max_blur]
        return minmax(-np.clip(np.asarray(blur, np.float64), 0.0, float(max_blur))).astype(np.float32)

    return matting.at_working_size(image, max_side, solve)
