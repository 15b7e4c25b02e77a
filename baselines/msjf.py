"""MSJF: multi-scale fusion with image-guided joint filtering, around any registered detector.

BTBCRL (Zhao et al., "Defocus blur detection via multi-stream bottom-top-bottom network", IEEE TPAMI
2020) compares its learned refinement network (CRLNet) with FRRNet, ARLNet and a non-learned method
called MSJF in an ablation. That method's definition is not available. **This module is our reading of
the name**, the natural non-learned counterpart of CRLNet, not a port:

1. Run the base detector (``base``, default ``lbp``) on the image resized by each factor in ``scales``
   (default 1, 0.8, 0.6; area averaging). Scales whose image would be smaller than the detectors'
   minimum side are skipped.
2. Resize each map back to the image size (bilinear) and fuse them by the mean.
3. Refine the fused map with the guided filter of He, Sun & Tang (ECCV 2010 / TPAMI 2013;
   :func:`~dbdbench.baselines.imageops.guided_refine`, colour form), the colour image
   in [0, 1] as guide, window radius ``radius``, ridge ``eps``; clip and min-max normalise.
"""

from __future__ import annotations

import numpy as np

from dbdbench.baselines.imageops import MIN_SIDE, as_rgb, guided_refine, minmax
from dbdbench.baselines.registry import detector, get_method
from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, each, positive

CITATION = "our reading of MSJF in the BTBCRL ablation (Zhao et al., TPAMI 2020); guided filter: He et al."


@detector(
    "msjf",
    citation=CITATION,
    description="base detector at scales 1/0.8/0.6, mean-fused, guided-filter refined (our reading of MSJF)",
    checks={
        "scales": each(between(0, 4, open_low=True)),
        "radius": at_least(1),
        "eps": positive(),  # the guided filter's ridge: 0 divides by zero in flat windows
    },
)
def msjf(
    image: np.ndarray,
    base: str = "lbp",
    scales: tuple[float, ...] = (1.0, 0.8, 0.6),
    radius: int = 8,
    eps: float = 1e-3,
) -> np.ndarray:
    """Multi-scale fusion of a base detector's maps, refined by an image-guided filter.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), dtype uint8
        RGB image (grey and RGBA are converted).
    base : str
        Registered detector run at every scale (its default parameters).
    scales : sequence of float or str
        Resize factors in (0, 4], e.g. ``(1, 0.8, 0.6)`` or ``"1,0.8,0.6"``.
    radius : int
        Guided filter window radius (pixels, at least 1).
    eps : float
        Guided filter regulariser (guide in [0, 1]; positive).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Sharpness in [0, 1], 1 = in-focus.
    """
    import cv2

    image = as_rgb(image, min_size=MIN_SIDE, method="msjf")
    if base == "msjf":
        raise DbdError("msjf: base=msjf would run forever; pass another method, e.g. base=lbp")
    base_method = get_method(base)
    if base_method.kind != "classical":
        raise DbdError(f"msjf: base={base} is a {base_method.kind} model; pass a classical one, e.g. lbp")
    func = base_method.func
    h, w = image.shape[:2]
    maps = []
    for f in scales:
        sh, sw = round(h * f), round(w * f)
        if min(sh, sw) < MIN_SIDE:
            continue
        small = image if (sh, sw) == (h, w) else cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        m = np.asarray(func(small), dtype=np.float32)
        maps.append(m if m.shape == (h, w) else cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR))
    if not maps:
        raise DbdError(f"msjf: every scale in {scales} shrinks the {w}x{h} image below {MIN_SIDE} px")
    fused = np.mean(maps, axis=0).astype(np.float32)
    refined = guided_refine(fused, image, radius=int(radius), eps=float(eps))
    return minmax(refined.astype(np.float64)).astype(np.float32)
