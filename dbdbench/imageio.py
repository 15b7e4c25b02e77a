"""Image reading and writing used by every stage of dbdbench.

Reads PNG, JPEG, BMP, TIFF and WebP, 8- and 16-bit, grey, RGB, RGBA and palette images, applying the
EXIF orientation of photos. Writes atomically (:mod:`dbdbench.atomic`). Unreadable, empty, corrupt or
truncated files raise :class:`~dbdbench.errors.DbdError` naming the file; a truncated image is never
filled in.

Before decoding, the size in the file header is checked against a pixel limit (:func:`max_pixels`,
environment variable ``DBDBENCH_MAX_PIXELS``), so a small file claiming a huge image (a decompression
bomb, or a corrupt header) is refused without allocating its pixels.

OpenCV decodes (fast); Pillow is the fallback for files OpenCV cannot decode, except PNG: libpng (in
OpenCV) is the reference decoder, and Pillow fills missing PNG rows with black instead of failing.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import cv2
import numpy as np

from dbdbench.atomic import write_bytes_atomic
from dbdbench.errors import DbdError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: Environment variable that sets the pixel limit of :func:`max_pixels`.
MAX_PIXELS_ENV = "DBDBENCH_MAX_PIXELS"
#: Default pixel limit: 200 megapixels, above every camera sensor made (the largest, medium format,
#: have 100-150 MP) and far above the DBD datasets (under 1 MP); an 8-bit RGB image of that size
#: takes 0.6 GB and a detector's float maps several times that.
DEFAULT_MAX_PIXELS = 200_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Largest ratio of raw to deflate-compressed bytes (RFC 1951: 258 bytes per 2-bit code, ~1032:1).
_DEFLATE_MAX_RATIO = 1032


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


def max_pixels() -> int:
    """The largest image (width x height) that will be decoded.

    ``DBDBENCH_MAX_PIXELS`` (a positive integer) overrides :data:`DEFAULT_MAX_PIXELS`.

    Raises
    ------
    DbdError
        The variable is set but not a positive integer.
    """
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DbdError(f"{MAX_PIXELS_ENV}='{raw}' is not a positive integer; set it to e.g. 400000000")
    return value


class _NoBombCheck:
    """Pillow's own decompression-bomb check off (ours, :func:`max_pixels`, is done first)."""

    def __enter__(self):
        from PIL import Image

        self._saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        return self

    def __exit__(self, *exc):
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = self._saved


def _header_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding the pixels; None when unknown."""
    head = data[:32].tobytes()
    if head.startswith(_PNG_SIGNATURE):
        if len(head) < 26 or head[12:16] != b"IHDR":
            return None  # corrupt: the decoder says so
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(memoryview(data))
    from PIL import Image

    try:
        with _NoBombCheck(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data.tobytes())) as im:
                return im.size
    except Exception:  # not identified here: the decoder says what is wrong
        return None


def _jpeg_size(buf: memoryview) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header (SOF marker), walking the marker segments."""
    i, n = 2, len(buf)
    while i + 9 < n:
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        length = (buf[i + 2] << 8) | buf[i + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = (buf[i + 5] << 8) | buf[i + 6], (buf[i + 7] << 8) | buf[i + 8]
            return w, h
        if marker == 0xDA:  # scan data before any frame header: corrupt
            return None
        i += 2 + length
    return None


def _check_size(path: Path, data: np.ndarray) -> None:
    """Refuse, before decoding, an image over :func:`max_pixels` or a PNG too small for its size."""
    size = _header_size(data)
    if size is None:
        return
    w, h = size
    limit = max_pixels()
    if w * h > limit:
        raise DbdError(
            f"image '{path}' is {w}x{h} = {w * h} pixels, over the limit of {limit} pixels "
            f"({MAX_PIXELS_ENV}); shrink it, or raise {MAX_PIXELS_ENV} if it is genuine"
        )
    if data[:8].tobytes() == _PNG_SIGNATURE:
        depth, colour = int(data[24]), int(data[25])
        raw_bytes = h * (1 + (w * _PNG_CHANNELS.get(colour, 1) * depth + 7) // 8)
        if raw_bytes > data.size * _DEFLATE_MAX_RATIO:  # cannot hold its pixels, even all equal
            raise DbdError(
                f"image '{path}' is truncated: its header says {w}x{h} but the file has only "
                f"{data.size} bytes; re-export it or remove it"
            )


def _jpeg_truncated(data: np.ndarray) -> bool:
    """True for a JPEG whose last scan has no end marker (OpenCV fills the rest with grey).

    Inside entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so the last
    start-of-scan (FF DA) and end-of-image (FF D9) markers found are real ones; an embedded thumbnail
    comes before the main image and an appended one (MPF) after it, complete.
    """
    if data.size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return False
    ff = np.flatnonzero(data[:-1] == 0xFF)
    nxt = data[ff + 1]
    sos, eoi = ff[nxt == 0xDA], ff[nxt == 0xD9]
    return sos.size > 0 and (eoi.size == 0 or eoi[-1] < sos[-1])


def _decode(path: Path, data: np.ndarray, flags: int, mode: str) -> tuple[np.ndarray, bool]:
    """Check the header, decode with OpenCV (Pillow for what it cannot do, PNG excepted).

    Returns the image and whether OpenCV decoded it (BGR channel order) rather than Pillow (RGB).
    """
    _check_size(path, data)
    if _jpeg_truncated(data):
        raise DbdError(f"image '{path}' is truncated (the JPEG data ends early); re-export it or remove it")
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)  # its warnings about a bad file are replaced by our error
    try:
        img = cv2.imdecode(data, flags)
    except cv2.error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "OpenCV error"
        raise DbdError(f"cannot decode image '{path}' ({reason}); re-export it or remove it") from None
    finally:
        log.setLogLevel(level)
    if img is not None:
        return img, True
    if data[:8].tobytes() == _PNG_SIGNATURE:
        raise DbdError(
            f"cannot decode image '{path}': the PNG is corrupt or truncated; re-export it or remove it"
        )
    return _decode_pillow(path, mode), False


def _decode_pillow(path: Path, mode: str) -> np.ndarray:
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    if ImageFile.LOAD_TRUNCATED_IMAGES:  # set by some other library: never fill missing data
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _NoBombCheck(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings about a bad file: our error says it
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
    img, by_opencv = _decode(path, data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH, "rgb")
    if not by_opencv:
        return img
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
    img, _ = _decode(path, data, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH, "grey")
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
