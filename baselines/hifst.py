"""HiFST: high-frequency multiscale fusion and sort transform of gradient magnitudes.

S. A. Golestaneh and L. J. Karam, "Spatially-varying blur detection based on multiscale fused and
sorted transform coefficients of gradient magnitudes", CVPR 2017.

Written from the paper and the published description of the authors' MATLAB implementation, at
every pixel (``stride=S`` computes the layers of step 2 at every S-th pixel and interpolates their
fused maximum, see :func:`hifst`):

1. Gaussian smoothing of each RGB channel (sigma 0.5, 3 x 3, replicated border, rounded to uint8),
   MATLAB ``rgb2gray``, Sobel gradient magnitude (replicated border), zero padding by 31.
2. For every pixel and every scale M in {7, 15, 31, 63}: the absolute orthonormal 2-D DCT-II of the
   M x M patch centred there, high-frequency coefficients only (u + v >= M - 1, 0-indexed): 2660
   values per pixel.
3. The 117 smallest (sum of the scales + 1), ascending, form 117 layers; each layer is min-max
   normalised over the image and ``T`` is their pixel-wise maximum.
4. ``D = entropy(T) * T`` with the 7 x 7 local entropy of ``T`` quantised to 256 levels.
5. The map is the domain-transform recursive filter of ``D`` (sigma_s 15, sigma_r 0.25, 3
   iterations) guided by the min-max normalised grey image smoothed by a 3 x 3 Gaussian (sigma 1,
   zero border), min-max normalised to [0, 1].

Speed: each DCT coefficient map is a separable correlation of the gradient magnitude with two
cosine vectors. Tiles of the image (one row of a 640-pixel photo) are transformed by matrix
products, first along columns, then along rows, folding each window about its centre (even and odd
cosine vectors) to halve the work. Only the needed triangle of coefficients is formed, in blocks of
4 vertical frequencies, coefficient-major so that every product is wide (coefficients x all pixels
of the tile); one transpose per tile makes each pixel's 2944 values (2660 and the blocks' excess,
set to +inf) contiguous for a partial selection of the 117 smallest on their bit patterns. On the 9
CUHK photos this takes 2.6-2.75x the time of the stride-4 port ``blur-detector`` at the same scales
on the idle 2-core development machine (``benchmarks/bench_baselines.py --part hifst``; 2.1x at
load 1.3, where ``blur-detector`` slows down more). Memory is bounded by the tile size; the 117
layers of a large photo go to a temporary file, removed on success and on every failure.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np

from dbdbench.baselines.edge_filters import domain_transform_rf
from dbdbench.baselines.imageops import (
    as_rgb,
    dct_matrix,
    entropy_filter_matlab,
    minmax,
    rgb2gray_matlab,
    single_blas_thread,
)
from dbdbench.baselines.registry import detector
from dbdbench.errors import DbdError
from dbdbench.params import at_least, odd_between, positive

SCALES = (7, 15, 31, 63)
# Pixels per tile of the coefficient stage (bounds its working memory to about 40 MB).
TILE_PIXELS = 1024
# Layer stacks larger than this many bytes are kept in a temporary file instead of memory.
LAYERS_IN_MEMORY_BYTES = 512 * 2**20


BLOCK = 4  # vertical frequencies transformed together (one matrix product per block and parity)


@dataclass(frozen=True)
class _Scale:
    """Folded DCT matrices of one odd window size ``m``, and its blocks of vertical frequencies.

    A window ``s`` of length ``m`` folds into ``e = s[:h] + s[::-1][:h]`` (plus the centre) and
    ``o = s[:h] - s[::-1][:h]``; even frequencies are ``even @ e``, odd ones ``odd @ o``.

    Block ``b`` holds vertical frequencies ``u = BLOCK * b .. BLOCK * b + BLOCK - 1`` and
    horizontal frequencies ``w = 2j`` (``j >= je[b]``) and ``w = 2j + 1`` (``j >= jo[b]``): the
    rectangle that covers the high-frequency triangle ``u + w >= m - 1`` of every ``u`` in the
    block. ``waste[b]`` marks the rectangle entries outside the triangle (or with ``u >= m``).
    """

    m: int
    even: np.ndarray  # (h + 1, h + 1) float32, rows = frequencies 0, 2, ..., m - 1
    odd: np.ndarray  # (h, h) float32, rows = frequencies 1, 3, ..., m - 2
    je: tuple[int, ...]
    jo: tuple[int, ...]
    waste: tuple[np.ndarray, ...]  # per block: bool (BLOCK, n_even + n_odd)

    @classmethod
    def make(cls, m: int) -> _Scale:
        h = m // 2
        d = dct_matrix(m)
        je, jo, waste = [], [], []
        for u0 in range(0, m, BLOCK):
            umax = min(m, u0 + BLOCK) - 1  # the largest u of the block needs the most w
            je.append((m - umax) // 2)
            jo.append(max((m - 1 - umax) // 2, 0))
            u = np.arange(u0, u0 + BLOCK)[:, None]
            w = np.concatenate([2 * np.arange(je[-1], h + 1), 2 * np.arange(jo[-1], h) + 1])[None, :]
            waste.append((u + w < m - 1) | (u >= m))
        even, odd = d[0::2, : h + 1].astype(np.float32), d[1::2, :h].astype(np.float32)
        return cls(m, even, odd, tuple(je), tuple(jo), tuple(waste))

    @property
    def width(self) -> int:
        """Values per pixel and vertical frequency of a block that this scale writes, all blocks."""
        h = self.m // 2
        return sum(h + 1 - e + h - o for e, o in zip(self.je, self.jo, strict=True))


def _waste_index(scales) -> np.ndarray:
    """Rows of the tile buffer (``_tile_coefficients``) that lie outside the triangles."""
    return np.flatnonzero(np.concatenate([w.T.ravel() for sc in scales for w in sc.waste]))


class _Workspace:
    """Reusable scratch buffers: fresh large arrays per tile would be page-faulted in every time."""

    def __init__(self):
        self._flat: dict[str, np.ndarray] = {}

    def get(self, name: str, shape) -> np.ndarray:
        """A float32 array of ``shape`` (uninitialised) in the buffer ``name``, grown as needed."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < size:
            flat = self._flat[name] = np.empty(size, dtype=np.float32)
        return flat[:size].reshape(shape)


def _fold(src, m, axis, length, even, odd, step: int = 1) -> None:
    """Even and odd folds of the length-``m`` windows along ``axis`` of ``src``.

    Fills ``even`` and ``odd``, which have a leading axis of size ``m // 2 + 1`` and ``m // 2`` and
    ``length`` window positions along ``axis``, every ``step``-th: ``even[k][.., c, ..] =
    src[.., step c + k, ..] + src[.., step c + m - 1 - k, ..]`` (``even[m // 2]`` is the centre),
    ``odd[k]`` the difference.
    """
    h = m // 2

    def window(k):
        return src[(slice(None),) * axis + (slice(k, k + step * (length - 1) + 1, step),)]

    for k in range(h):
        a, b = window(k), window(m - 1 - k)
        np.add(a, b, out=even[k])
        np.subtract(a, b, out=odd[k])
    even[h] = window(h)


def _tile_coefficients(gp, rows: slice, cols: slice, scales, out, ws: _Workspace, stride: int = 1) -> None:
    """High-frequency DCT coefficients (signed) of every window centred in one tile.

    Parameters
    ----------
    gp : ndarray, shape (H + 62, W + 62), float32
        Zero-padded gradient magnitude.
    rows, cols : slice
        The tile, in coordinates of the grid of every ``stride``-th pixel (image coordinates when
        ``stride`` is 1): its windows are centred on image pixels ``stride * rows``, ``stride * cols``.
    scales : sequence of _Scale
    out : ndarray, shape (BLOCK * sum of scale widths, th * tw), float32
        Coefficient-major: one column per pixel of the tile (row-major). For each scale and block
        ``b`` in turn, rows ``(j, i)`` hold horizontal frequency ``j`` of the block rectangle
        (even ones, then odd ones) and vertical frequency ``u = BLOCK * b + i``: the matrix products
        write there directly. Rows outside the triangles (``_waste_index``) are left arbitrary.
    ws : _Workspace
        Scratch buffers.
    stride : int
        Step between window centres.
    """
    pad = max(s.m for s in scales) // 2
    th, tw = rows.stop - rows.start, cols.stop - cols.start
    n = th * tw
    k = 0
    for sc in scales:
        m, h = sc.m, sc.m // 2
        nb = len(sc.je)
        o = pad - h
        y0, x0 = stride * rows.start + o, stride * cols.start + o
        g = gp[y0 : y0 + stride * (th - 1) + m, x0 : x0 + stride * (tw - 1) + m]
        wp = g.shape[1]
        # Column transform: v[u, r, c] = sum_x D[u, x] g[r + x, c], u padded to whole blocks
        # with zeros (the padding is excluded as waste).
        ev, od = ws.get("ev", (h + 1, th, wp)), ws.get("od", (h, th, wp))
        _fold(g, m, 0, th, ev, od, stride)
        v = ws.get("v", (nb * BLOCK, th, wp))
        v[m:] = 0.0
        np.matmul(sc.even, ev.reshape(h + 1, -1), out=v[0:m:2].reshape(h + 1, -1))
        np.matmul(sc.odd, od.reshape(h, -1), out=v[1:m:2].reshape(h, -1))
        # Row transform: coefficient (u, w) = sum_y D[w, y] v[u, r, c + y], one product per
        # block of u and parity of w over all pixels of the tile.
        even, odd = ws.get("even", (h + 1, nb * BLOCK, th, tw)), ws.get("odd", (h, nb * BLOCK, th, tw))
        _fold(v, m, 2, tw, even, odd, stride)
        eb, ob = even.reshape(h + 1, nb, BLOCK * n), odd.reshape(h, nb, BLOCK * n)
        for b in range(nb):
            ne, no = h + 1 - sc.je[b], h - sc.jo[b]
            np.matmul(sc.even[sc.je[b] :], eb[:, b], out=out[BLOCK * k : BLOCK * (k + ne)].reshape(ne, -1))
            k += ne
            if no:
                np.matmul(sc.odd[sc.jo[b] :], ob[:, b], out=out[BLOCK * k : BLOCK * (k + no)].reshape(no, -1))
                k += no
    assert BLOCK * k == out.shape[0]


def sorted_coefficient_layers(
    grad: np.ndarray,
    scales=SCALES,
    layers: int | None = None,
    tile_pixels: int = TILE_PIXELS,
    stride: int = 1,
) -> np.ndarray:
    """The HiFST layers: per pixel, the smallest absolute high-frequency DCT coefficients, sorted.

    Parameters
    ----------
    grad : ndarray, shape (H, W), float
        Gradient magnitude.
    scales : sequence of odd int
        Window sizes.
    layers : int, optional
        How many of the smallest values to keep (default: sum of scales + 1).
    tile_pixels : int
        Pixels per tile (bounds the working memory).
    stride : int
        Compute the layers at every ``stride``-th pixel of every ``stride``-th row (pixels
        ``(stride i, stride j)``), 1 = every pixel.

    Returns
    -------
    ndarray, shape (ceil(H / stride), ceil(W / stride), layers), dtype float32
        Ascending along the last axis. Backed by a temporary file when larger than
        ``LAYERS_IN_MEMORY_BYTES``.

    Raises
    ------
    DbdError
        The temporary file cannot be created (disk full) or mapped (address-space limit).
    """
    scs = [_Scale.make(m) for m in scales]
    nl = layers if layers is not None else sum(scales) + 1
    width = sum(s.width for s in scs)
    waste = _waste_index(scs)
    H, W = -(-grad.shape[0] // stride), -(-grad.shape[1] // stride)  # grid of window centres
    pad = max(scales) // 2
    gp = np.pad(np.asarray(grad, dtype=np.float32), pad)
    if H * W * nl * 4 > LAYERS_IN_MEMORY_BYTES:
        result = _file_backed((H, W, nl), grad.shape)
    else:
        result = np.empty((H, W, nl), dtype=np.float32)
    tw = min(W, tile_pixels)
    th = max(1, min(H, tile_pixels // tw))
    buf = np.empty(BLOCK * width * th * tw, dtype=np.float32)
    ws = _Workspace()
    for r0 in range(0, H, th):
        rows = slice(r0, min(H, r0 + th))
        for c0 in range(0, W, tw):
            cols = slice(c0, min(W, c0 + tw))
            n = (rows.stop - rows.start) * (cols.stop - cols.start)
            coefs = buf[: BLOCK * width * n].reshape(BLOCK * width, n)
            _tile_coefficients(gp, rows, cols, scs, coefs, ws, stride)
            coefs[waste] = np.inf  # never among the smallest
            # Pixel-major, for a contiguous selection per pixel; the folds' memory is free now.
            pix = ws.get("even", (n, BLOCK * width))
            pix = cv2.transpose(coefs, pix)
            np.abs(pix, out=pix)
            if nl < pix.shape[1]:
                # Non-negative floats order like their bit patterns; integer selection is faster.
                pix.view(np.int32).partition(nl - 1, axis=1)
            smallest = np.sort(pix[:, :nl], axis=1)
            result[rows, cols] = smallest.reshape(rows.stop - rows.start, cols.stop - cols.start, nl)
    return result


def _file_backed(shape: tuple[int, ...], image_shape: tuple[int, int]) -> np.memmap:
    """A float32 array in a temporary file, which is removed whatever happens.

    The file's blocks are allocated up front, so that a full disk is an error here and not a
    crash (SIGBUS) when a page of the mapping is first written; the name is unlinked as soon as the
    mapping exists, or on any failure, so no file is left behind.
    """
    nbytes = int(np.prod(shape)) * 4
    fd, name = tempfile.mkstemp(prefix="dbdbench-hifst-", suffix=".f32")
    try:
        try:
            _allocate(fd, nbytes)
            return np.memmap(name, dtype=np.float32, mode="r+", shape=shape)
        except (OSError, MemoryError, ValueError) as exc:
            h, w = image_shape
            raise DbdError(
                f"hifst: cannot keep the {nbytes / 2**30:.1f} GB of layers of a {w}x{h} photo in a "
                f"temporary file in {os.path.dirname(name)} ({exc.__class__.__name__}: "
                f"{getattr(exc, 'strerror', None) or exc}); free disk there (or set TMPDIR), or pass "
                "--param stride=4 (16x less) or a smaller photo"
            ) from None
    finally:
        os.close(fd)
        os.unlink(name)  # an open mapping keeps the data until it is released


def _allocate(fd: int, nbytes: int) -> None:
    """Reserve ``nbytes`` of disk for the file ``fd`` (OSError when the disk is full)."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, nbytes)
    else:
        os.ftruncate(fd, nbytes)


def _max_of_normalised_layers(layers: np.ndarray, rows_per_block: int = 64) -> np.ndarray:
    """``max_k minmax(layers[..., k])`` computed in row blocks (layers may live in a file)."""
    H = layers.shape[0]
    lo = np.full(layers.shape[2], np.inf, dtype=np.float64)
    hi = np.full(layers.shape[2], -np.inf, dtype=np.float64)
    for r in range(0, H, rows_per_block):
        block = np.asarray(layers[r : r + rows_per_block])
        lo = np.minimum(lo, block.min(axis=(0, 1)))
        hi = np.maximum(hi, block.max(axis=(0, 1)))
    span = hi - lo
    # A constant layer (no spread over the image) contributes 0.
    scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)
    lo = lo.astype(np.float32)
    t = np.empty(layers.shape[:2], dtype=np.float32)
    for r in range(0, H, rows_per_block):
        block = np.asarray(layers[r : r + rows_per_block])
        t[r : r + rows_per_block] = ((block - lo) * scale).max(axis=2)
    return t.astype(np.float64)


def _smoothed_grey(rgb: np.ndarray) -> np.ndarray:
    """Gaussian smoothing (sigma 0.5, 3 x 3, replicated border) of each channel, then grey."""
    smooth = cv2.GaussianBlur(
        rgb.astype(np.float64), (3, 3), sigmaX=0.5, sigmaY=0.5, borderType=cv2.BORDER_REPLICATE
    )
    smooth = np.clip(np.floor(smooth + 0.5), 0, 255).astype(np.uint8)
    return rgb2gray_matlab(smooth)


def _sobel_magnitude(grey: np.ndarray) -> np.ndarray:
    g = grey.astype(np.float64)
    gx = cv2.Sobel(g, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(g, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    return np.hypot(gx, gy)


def filter_guide(grey: np.ndarray) -> np.ndarray:
    """Guide of the final filter: min-max normalised grey, 3 x 3 Gaussian (sigma 1, zero border).

    Parameters
    ----------
    grey : ndarray, shape (H, W), uint8

    Returns
    -------
    ndarray, shape (H, W), float64, in [0, 1]
    """
    return cv2.filter2D(
        minmax(grey.astype(np.float64)),
        -1,
        cv2.getGaussianKernel(3, 1.0) @ cv2.getGaussianKernel(3, 1.0).T,
        borderType=cv2.BORDER_CONSTANT,
    )


def _upsample_grid(values: np.ndarray, stride: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of values at pixels ``(stride i, stride j)`` to every pixel of
    ``shape``; beyond the last grid row or column the nearest grid value is kept. Separable, in
    float64 (OpenCV's remap quantises the weights to 1/32)."""

    def taps(n: int, m: int):
        pos = np.minimum(np.arange(n) / stride, m - 1)
        lo = np.floor(pos).astype(np.intp)
        return lo, np.minimum(lo + 1, m - 1), pos - lo

    values = np.asarray(values, dtype=np.float64)
    r0, r1, fy = taps(shape[0], values.shape[0])
    rows = values[r0] * (1 - fy)[:, None] + values[r1] * fy[:, None]
    c0, c1, fx = taps(shape[1], values.shape[1])
    return rows[:, c0] * (1 - fx) + rows[:, c1] * fx


@detector(
    "hifst",
    citation="Golestaneh & Karam, CVPR 2017",
    description="multiscale sorted high-frequency DCT coefficients of gradient magnitudes, every pixel",
    checks={
        "sigma_s": positive(),
        "sigma_r": positive(),
        "iterations": at_least(1),
        # entropyfilt windows are odd; window 1 has zero entropy everywhere (a constant map), and
        # the 8-bit window counts of entropy_filter_matlab hold up to 15 x 15 = 225 pixels
        "entropy_window": odd_between(3, 15),
        "stride": at_least(1),
    },
)
def hifst(
    image: np.ndarray,
    sigma_s: float = 15.0,
    sigma_r: float = 0.25,
    iterations: int = 3,
    entropy_window: int = 7,
    stride: int = 1,
) -> np.ndarray:
    """HiFST defocus/blur map (Golestaneh & Karam, CVPR 2017), every pixel or every ``stride``-th.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W) or (H, W, 4), dtype uint8
        The photo (grey is replicated, alpha dropped).
    sigma_s, sigma_r : float
        Spatial and range sigma of the final domain-transform filter.
    iterations : int
        Iterations of that filter.
    entropy_window : int
        Side of the local-entropy window (odd, 3..15).
    stride : int
        1 (default): the layers at every pixel. S > 1: at every S-th pixel of every S-th row (as
        the ``blur-detector`` port does), about S^2 times less work; their fused maximum ``T`` is
        interpolated bilinearly to every pixel, and the entropy weighting and the image-guided
        filter run at full size, so the map's edges still follow the photo's.

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Values in [0, 1], 1 = in-focus.

    Raises
    ------
    DbdError
        Bad ``stride``; not enough memory or temporary disk for the photo.
    """
    rgb = as_rgb(image, method="hifst")
    try:
        grey = _smoothed_grey(rgb)
        with single_blas_thread():
            layers = sorted_coefficient_layers(_sobel_magnitude(grey), stride=stride)
        t = minmax(_max_of_normalised_layers(layers))
        del layers
        if stride > 1:
            t = _upsample_grid(t, stride, grey.shape)
        d = entropy_filter_matlab(t, entropy_window) * t
        final = domain_transform_rf(d, filter_guide(grey), sigma_s, sigma_r, iterations)
    except MemoryError:
        h, w = rgb.shape[:2]
        raise DbdError(
            f"hifst: not enough memory for a {w}x{h} photo; pass --param stride=4 (16x less "
            "for the layers), use fewer --workers, or a smaller photo"
        ) from None
    return minmax(final).astype(np.float32)
