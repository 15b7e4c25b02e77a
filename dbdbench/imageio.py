"""Image reading and writing used by every stage of dbdbench.

Reads PNG, JPEG, BMP, TIFF and WebP, 8- and 16-bit, grey, RGB, RGBA and palette images, applying the
EXIF orientation of photos. Writes atomically (:mod:`dbdbench.atomic`). Unreadable, empty or corrupt
files raise :class:`~dbdbench.errors.DbdError` naming the file.

OpenCV decodes (fast); Pillow is the fallback for files OpenCV cannot decode.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from dbdbench.atomic import write_bytes_atomic
from dbdbench.errors import DbdError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name has an image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _read_bytes(path: Path) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise DbdError(f"image '{path}' does not exist; check the path") from None
    except IsADirectoryError:
        raise DbdError(f"'{path}' is a folder, not an image; point at an image file") from None
    except OSError as exc:
        raise DbdError(f"cannot read image '{path}': {exc.strerror}") from None
    if data.size == 0:
        raise DbdError(f"image '{path}' is empty (0 bytes); re-export it or remove it")
    return data


def _decode_pillow(path: Path, mode: str) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if mode == "rgb":
                return np.asarray(im.convert("RGB"))
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(im).astype(np.uint16)
            return np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DbdError(
            f"cannot decode image '{path}': the file is corrupt or not an image; re-export it or remove it"
        ) from None


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read a photo as RGB.

    Grey and palette images are expanded to three channels, alpha is dropped, 16-bit images are
    reduced to 8 bits (rounded), and the EXIF orientation is applied.

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    ndarray, shape (H, W, 3), dtype uint8
        The image in RGB channel order, values 0..255.
    """
    path = Path(path)
    data = _read_bytes(path)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if img is None:
        return _decode_pillow(path, "rgb")
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DbdError(f"image '{path}' has unsupported sample type {img.dtype}; save it as 8-bit")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_grey(path: str | os.PathLike) -> np.ndarray:
    """Read a mask or map as one grey channel, keeping its bit depth.

    Colour images are converted with the ITU-R 601 weights (an RGBA mask whose channels are equal, as
    14 CUHK masks are, keeps its values exactly); alpha is dropped; palette images are expanded.

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    ndarray, shape (H, W), dtype uint8 or uint16
        Grey values 0..255 or 0..65535.
    """
    path = Path(path)
    data = _read_bytes(path)
    img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    if img is None:
        return _decode_pillow(path, "grey")
    if img.dtype not in (np.uint8, np.uint16):
        raise DbdError(f"image '{path}' has unsupported sample type {img.dtype}; save it as 8-bit")
    return img


def max_level(a: np.ndarray) -> int:
    """Full-scale value of an integer image: 255 (uint8) or 65535 (uint16).

    Raises
    ------
    DbdError
        Any other sample type.
    """
    if a.dtype == np.uint8:
        return 255
    if a.dtype == np.uint16:
        return 65535
    raise DbdError(f"unsupported image sample type {a.dtype}; save masks and maps as 8- or 16-bit")


def to_unit(grey: np.ndarray) -> np.ndarray:
    """Scale an integer image to float32 in [0, 1] (value / 255, or / 65535 for 16-bit).

    Parameters
    ----------
    grey : ndarray, dtype uint8 or uint16

    Returns
    -------
    ndarray, same shape, dtype float32
    """
    return grey.astype(np.float32) / np.float32(max_level(grey))


def read_unit(path: str | os.PathLike) -> np.ndarray:
    """Read a mask or map as float32 in [0, 1] (value / 255, or / 65535 for 16-bit files).

    Returns
    -------
    ndarray, shape (H, W), dtype float32
        Values in [0, 1], polarity as stored in the file.
    """
    return to_unit(read_grey(path))


def encode_image(array: np.ndarray, ext: str = ".png", quality: int = 95) -> bytes:
    """Encode an image to bytes.

    Parameters
    ----------
    array : ndarray, shape (H, W) or (H, W, 3), dtype uint8 or uint16
        Grey or RGB image.
    ext : str
        File extension selecting the format, e.g. ``".png"`` or ``".jpg"``.
    quality : int
        JPEG quality 0..100 (ignored for other formats).

    Returns
    -------
    bytes
        The encoded file.
    """
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"encode_image needs uint8 or uint16, got {array.dtype}")
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, array, params)
    if not ok:
        raise DbdError(f"cannot encode an image as '{ext}'; use .png or .jpg")
    return buf.tobytes()


def write_image(path: str | os.PathLike, array: np.ndarray, quality: int = 95) -> Path:
    """Write a grey or RGB image atomically; the format follows the extension of ``path``.

    Parameters
    ----------
    path : path-like
        Output file (parent folders are created).
    array : ndarray, shape (H, W) or (H, W, 3), dtype uint8 or uint16
        Grey or RGB image.
    quality : int
        JPEG quality.

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    return write_bytes_atomic(path, encode_image(array, path.suffix, quality))


def to_uint8(map01: np.ndarray) -> np.ndarray:
    """Quantise a [0, 1] float map to uint8 with rounding (NaN is an error).

    Parameters
    ----------
    map01 : ndarray, shape (H, W), float
        Values in [0, 1]; values outside are clipped.

    Returns
    -------
    ndarray, shape (H, W), dtype uint8
    """
    if np.isnan(map01).any():
        raise ValueError("map contains NaN")
    return np.clip(np.rint(np.asarray(map01, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
