"""Fixtures of the classical-detector tests: a synthetic half-sharp image and real CUHK photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from dbdbench.imageio import read_rgb, read_unit


@pytest.fixture(scope="session")
def half_blurred() -> np.ndarray:
    """(96, 128, 3) uint8 random texture whose right half is Gaussian-blurred with sigma 3 (seed 0)."""
    rng = np.random.default_rng(0)
    tex = cv2.resize(
        rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (128, 96), interpolation=cv2.INTER_NEAREST
    )
    img = tex.copy()
    img[:, 64:] = cv2.GaussianBlur(tex, (0, 0), 3)[:, 64:]
    return img


def _sharp_minus_blurred(m: np.ndarray) -> float:
    return float(m[:, :56].mean() - m[:, 72:].mean())


@pytest.fixture(scope="session")
def sharp_gap():
    """Mean of a map over the sharp left half minus the blurred right half (8 px margin dropped)."""
    return _sharp_minus_blurred


def _cuhk_photo(root: Path, stem: str) -> tuple[np.ndarray, np.ndarray]:
    img_path = next((root / "cuhk/image").glob(f"{stem}.*"))
    return read_rgb(img_path), 1.0 - read_unit(root / "cuhk/gt" / f"{stem}.png")


@pytest.fixture(scope="session")
def cuhk_photo(real_data):
    """Loader of a CUHK photo by stem: (RGB uint8, GT float32 with in-focus = 1)."""
    return lambda stem: _cuhk_photo(real_data, stem)


def _check_map(m: np.ndarray, shape: tuple[int, int]) -> None:
    assert m.shape == shape
    assert m.dtype == np.float32
    assert np.isfinite(m).all()
    assert m.min() >= 0.0 and m.max() <= 1.0
    assert m.max() > m.min()


@pytest.fixture(scope="session")
def check_map():
    """Assert a detector map: given shape, float32, finite, in [0, 1], not constant."""
    return _check_map
