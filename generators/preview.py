"""Contact sheet of a simulated set: the first samples with their in-focus region outlined."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from dbdbench.imageio import read_grey, read_rgb, write_image

OUTLINE_RGB = (255, 0, 0)


def contact_sheet(
    pairs: list[tuple[np.ndarray, np.ndarray]], *, columns: int = 4, tile: int = 160
) -> np.ndarray:
    """Tile images with the outline of their in-focus region drawn in red.

    Parameters
    ----------
    pairs : list of (ndarray, ndarray)
        (RGB uint8 (H, W, 3), in-focus mask uint8 (H, W), 255 = in focus).
    columns : int
        Tiles per row.
    tile : int
        Tile side in pixels (samples are resized to it).

    Returns
    -------
    ndarray, shape (rows * tile, columns * tile, 3), dtype uint8
        Black where no tile is.
    """
    cols = min(columns, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    sheet = np.zeros((rows * tile, cols * tile, 3), np.uint8)
    for i, (rgb, gt) in enumerate(pairs):
        img = np.ascontiguousarray(cv2.resize(rgb, (tile, tile), interpolation=cv2.INTER_AREA))
        mask = cv2.resize(gt, (tile, tile), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(img, contours, -1, OUTLINE_RGB, 1)
        r, c = divmod(i, cols)
        sheet[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = img
    return sheet


def write_preview(out: Path, names: list[str], image_ext: str, path: Path) -> Path:
    """Write the contact sheet of samples ``names`` of the set in ``out`` to ``path`` (PNG)."""
    pairs = [(read_rgb(out / "image" / f"{n}{image_ext}"), read_grey(out / "gt" / f"{n}.png")) for n in names]
    return write_image(path, contact_sheet(pairs))
