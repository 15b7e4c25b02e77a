"""The patch classifier of DHCF (Park, Tai, Cho & Kweon, CVPR 2017), run in numpy.

J. Park, Y.-W. Tai, D. Cho and I. S. Kweon, "A Unified Approach of Multi-scale Deep and Hand-crafted
Features for Defocus Estimation", CVPR 2017. The network of the authors' ``DHDE_test.prototxt``:

- image branch on a 3 x 27 x 27 RGB patch: conv 3x3 (25) - ReLU - max pool 3/3 - conv 3x3 (50) -
  ReLU - max pool 3/3 - conv 3x3 (50) - ReLU - conv 1x1 (25) - ReLU, flattened to 25 values;
- the DCT, gradient and SVD feature vectors (40 values each: 26 slots of scale 1, then 14 of
  scale 2, the other scale's slots zero), concatenated with it in that order (145 values);
- fc 300 - ReLU - fc 150 - ReLU - fc 11 - ReLU - softmax over the 11 blur labels
  ``sigma = 0.5, 0.65, ..., 2.0`` (dropout is the identity at test time).

Caffe's rules are kept: pooling windows are placed with the ceil rule (``ceil((H - k) / s) + 1``
outputs, the last window clipped at the border), blobs are N x C x H x W, and the inputs are what
the authors' MATLAB script gives Caffe: every value ``x 255`` and rounded to uint8, and the image
patch transposed (MATLAB's column-major arrays reach Caffe with rows and columns swapped: the blob's
W axis is the patch's row axis). The trained weights are read from the authors' released
``DHDE_model.caffemodel`` (:mod:`dbdbench.baselines.caffemodel`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dbdbench.baselines.caffemodel import read_weights

SIGMAS = tuple(round(0.5 + 0.15 * k, 2) for k in range(11))
FEATURE_LENGTH = 40  # 25 bins + bias (scale 1), 13 bins + bias (scale 2)
PATCH = 27
RELEASE = (
    "DHDE_model.caffemodel from the authors' release (github.com/zzangjinsun/DHDE_CVPR17, folder "
    "DHDE) and pass it as --checkpoint FILE"
)
EXPECTED = {
    "conv1": ((25, 3, 3, 3), (25,)),
    "conv2": ((50, 25, 3, 3), (50,)),
    "conv3": ((50, 50, 3, 3), (50,)),
    "conv4": ((25, 50, 1, 1), (25,)),
    "fc1": ((300, 3 * FEATURE_LENGTH + 25), (300,)),
    "fc2": ((150, 300), (150,)),
    "fc3": ((len(SIGMAS), 150), (len(SIGMAS),)),
}
POOL = (3, 3)  # kernel, stride of both pooling layers
# Patches per forward block (bounds the working memory to about 100 MB).
BLOCK = 512


@dataclass(frozen=True)
class Weights:
    """Layer name -> (weights, bias), float32, shapes of :data:`EXPECTED`."""

    layers: dict[str, tuple[np.ndarray, np.ndarray]]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, size: int) -> Weights:
    blobs = read_weights(path, EXPECTED, network="DHDE", release=RELEASE)
    return Weights({k: (w.astype(np.float32), b.astype(np.float32)) for k, (w, b) in blobs.items()})


def load_weights(path: str) -> Weights:
    """Read (and cache, by path, time and size) the trained weights of the DHDE network.

    Raises
    ------
    DbdError
        Missing file, not a ``.caffemodel``, truncated, or another network (one line).
    """
    p = os.path.expanduser(path)
    try:
        st = os.stat(p)
    except OSError:
        return _load(p, 0.0, -1)  # the reader names the missing file
    return _load(p, st.st_mtime, st.st_size)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)``: round half away from zero, saturate to [0, 255] (as float32)."""
    y = np.floor(np.asarray(x) + 0.5)
    return np.clip(y, 0, 255, out=y).astype(np.float32)


def network_inputs(dct, grd, svd, rgb_patches, scale: int):
    """Caffe inputs of patches of one scale.

    Parameters
    ----------
    dct, grd, svd : ndarray, shape (N, BINS[scale] + 1), float in [0, 1]
        Feature vectors with their bias (:func:`dbdbench.baselines.dhcf_features.features`).
    rgb_patches : ndarray, shape (N, 27, 27, 3), float in [0, 1]
        RGB patches (scale 2 patches replicate-padded from 15 x 15 to 27 x 27), rows first.
    scale : int
        0 or 1: the slots of the 40-value vectors the features occupy.

    Returns
    -------
    features : ndarray, shape (N, 120), float32
        DCT, gradient, SVD vectors side by side, ``uint8(255 x value)``.
    image : ndarray, shape (N, 3, 27, 27), float32
        ``uint8(255 x value)`` in Caffe's N x C x H x W layout, H = the patch's columns.
    """
    n = len(dct)
    start = 0 if scale == 0 else 26
    feats = np.zeros((n, 3, FEATURE_LENGTH), np.float64)
    for i, f in enumerate((dct, grd, svd)):
        feats[:, i, start : start + f.shape[1]] = f
    # the image in float32: 255 x (k / 255) stays within float32 rounding of the integer k
    image = np.transpose(np.asarray(rgb_patches, np.float32), (0, 3, 2, 1))
    return to_uint8(255.0 * feats).reshape(n, -1), to_uint8(np.float32(255.0) * image)


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Valid convolution (Caffe's cross-correlation), stride 1, + bias, ReLU; x (N, C, H, W)."""
    o, c, k, _ = w.shape
    n, _, h, wd = x.shape
    oh, ow = h - k + 1, wd - k + 1
    if k == 1:
        cols = x.reshape(n, c, h * wd)
    else:
        win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N C H' W' k k
        cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * k * k, oh * ow)
    y = np.matmul(w.reshape(o, -1), cols)
    y += b[:, None]
    np.maximum(y, 0, out=y)
    return y.reshape(n, o, oh, ow)


def pooled_size(size: int, kernel: int, stride: int) -> int:
    """Caffe's pooling output size without padding: ``ceil((size - kernel) / stride) + 1``."""
    out = -(-(size - kernel) // stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


def _pool_axis(x: np.ndarray, kernel: int, stride: int, axis: int) -> np.ndarray:
    size = x.shape[axis]
    out_size = pooled_size(size, kernel, stride)
    out = None
    for i in range(kernel):
        part = np.take(x, np.arange(i, min(size, i + (out_size - 1) * stride + 1), stride), axis=axis)
        if out is None:
            out = part.copy()
        else:  # a window clipped at the border has fewer parts
            head = (slice(None),) * axis + (slice(0, part.shape[axis]),)
            np.maximum(out[head], part, out=out[head])
    return out


def _pool(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Caffe max pooling without padding, ceil rule; the last windows are clipped at the border."""
    return _pool_axis(_pool_axis(x, kernel, stride, 3), kernel, stride, 2)


def forward(weights: Weights, features: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Class probabilities of the 11 blur labels.

    Parameters
    ----------
    weights : Weights
    features : ndarray, shape (N, 120), float
        Network inputs of :func:`network_inputs` (0..255).
    image : ndarray, shape (N, 3, 27, 27), float
        Network inputs of :func:`network_inputs` (0..255).

    Returns
    -------
    ndarray, shape (N, 11), float32
        Softmax probabilities, rows sum to 1.
    """
    L = weights.layers
    out = np.empty((len(features), len(SIGMAS)), np.float32)
    for s in range(0, len(features), BLOCK):
        x = np.asarray(image[s : s + BLOCK], np.float32)
        x = _pool(_conv(x, *L["conv1"]), *POOL)
        x = _pool(_conv(x, *L["conv2"]), *POOL)
        x = _conv(_conv(x, *L["conv3"]), *L["conv4"])
        h = np.concatenate([np.asarray(features[s : s + BLOCK], np.float32), x.reshape(len(x), -1)], axis=1)
        for name in ("fc1", "fc2", "fc3"):
            w, b = L[name]
            h = np.maximum(h @ w.T + b, 0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        out[s : s + BLOCK] = e / e.sum(axis=1, keepdims=True)
    return out
