"""Thin-lens optics, PSFs and layered compositing of the lens recipe, against hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dbdbench.generators.optics import (
    Layer,
    coc_diameter_px,
    linear_to_srgb,
    psf_kernel,
    render_layers,
    solve_f_number,
    srgb_to_linear,
)

# f = 50 mm, N = 2 (A = 25 mm), S = 2 m, 36 mm sensor over 3600 px (pitch 10 um).
GEOM = dict(focal_mm=50.0, f_number=2.0, focus_m=2.0, sensor_width_mm=36.0, width_px=3600)


@pytest.mark.parametrize(
    ("depth", "expected_px"),
    [
        # c = 25 mm * 50 / 1950 * |Z - 2| / Z, in units of 0.01 mm
        (2.0, 0.0),
        (4.0, 25 * 50 / 1950 * 0.5 / 0.01),  # 32.0513 px
        (1.0, 25 * 50 / 1950 * 1.0 / 0.01),  # 64.1026 px
        (1e12, 25 * 50 / 1950 * 1.0 / 0.01),  # at infinity the CoC tends to A f / (S - f)
    ],
)
def test_coc_follows_thin_lens_formula(depth, expected_px):
    assert coc_diameter_px(depth, **GEOM) == pytest.approx(expected_px, rel=1e-9, abs=1e-9)


def test_coc_vectorised_and_f_number_solved():
    z = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(coc_diameter_px(z, **GEOM), [64.1026, 0.0, 32.0513], atol=1e-4)
    geom = {k: v for k, v in GEOM.items() if k != "f_number"}
    n = solve_f_number(z, 16.0, **geom)
    assert n == pytest.approx(8.0128, abs=1e-4)  # 64.1026 px at f/2 -> 16 px at f/8.0128
    assert coc_diameter_px(z, f_number=n, **geom).max() == pytest.approx(16.0)


@pytest.mark.parametrize("kind", ["disk", "gaussian", "polygon"])
def test_psf_normalised_centred_and_sized(kind):
    k = psf_kernel(kind, 11.0, blades=6, rotation=0.3)
    assert k.dtype == np.float32 and k.shape[0] % 2 == 1
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    n = k.shape[0]
    yy, xx = np.mgrid[0:n, 0:n] - n // 2
    assert (k * xx).sum() == pytest.approx(0.0, abs=1e-4)
    assert (k * yy).sum() == pytest.approx(0.0, abs=1e-4)
    if kind != "gaussian":
        # the support is the aperture: nothing beyond the radius (plus a pixel of coverage)
        assert k[np.hypot(xx, yy) > 5.5 + 1].sum() == 0
    # second moment per axis: disk of radius R: R^2/4 (Gaussian sigma = D/4 matches it); regular
    # n-gon of circumradius R: R^2 (2 + cos(2 pi / n)) / 12
    var = (k * xx**2).sum()
    expected = 5.5**2 * (2 + math.cos(2 * math.pi / 6)) / 12 if kind == "polygon" else 5.5**2 / 4
    assert var == pytest.approx(expected, rel=0.03)
    assert psf_kernel(kind, 0.7).shape == (1, 1)


def test_disk_area_matches_circle():
    k = psf_kernel("disk", 21.0)
    coverage = k / k.max()
    assert coverage.sum() == pytest.approx(math.pi * 10.5**2, rel=0.01)


def test_srgb_round_trip_and_reference_values():
    v = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(linear_to_srgb(srgb_to_linear(v)), v)
    assert srgb_to_linear(np.uint8(128)) == pytest.approx(0.21586, abs=1e-5)  # IEC 61966-2-1


def _scene(object_focused: bool):
    """Uniform bright background at 10 m; a black square (rows/cols 16..47) at 2 m; focus on one."""
    size = 64
    bg = Layer(
        np.full((size, size, 3), 0.8, np.float32),
        np.ones((size, size), np.float32),
        np.full((size, size), 10.0),
    )
    alpha = np.zeros((size, size), np.float32)
    alpha[16:48, 16:48] = 1
    obj = Layer(np.zeros((size, size, 3), np.float32), alpha, np.full((size, size), 2.0))
    focus = 2.0 if object_focused else 10.0
    geom = dict(focal_mm=50.0, f_number=2.0, focus_m=focus, sensor_width_mm=36.0, width_px=size * 20)
    k = coc_diameter_px(10.0 if object_focused else 2.0, **geom)

    def coc(z):
        return coc_diameter_px(z, **geom)

    img = render_layers([bg, obj], coc, psf="disk", inverse_depth_step=0.01)
    return img[..., 0], float(k)


def test_blurred_background_keeps_sharp_object_edge():
    img, coc_bg = _scene(object_focused=True)
    assert coc_bg > 8  # the background is strongly defocused
    # no halo either way: the object stays black to its last pixel, the background stays at its
    # level right up to the object's edge (a naive blur would mix them over ~coc/2 px)
    np.testing.assert_allclose(img[16:48, 16:48], 0.0, atol=1e-6)
    np.testing.assert_allclose(img[:, :16], 0.8, atol=1e-5)
    np.testing.assert_allclose(img[15, 16:48], 0.8, atol=1e-5)
    np.testing.assert_allclose(img[48, 16:48], 0.8, atol=1e-5)


def test_blurred_foreground_edge_is_soft():
    img, coc_fg = _scene(object_focused=False)
    radius = coc_fg / 2
    assert radius > 4
    row = img[32]
    # the object's edge is spread over about one CoC: semi-transparent on both sides of the edge
    assert 0.2 < row[16] < 0.6 and 0.2 < row[15] < 0.6
    assert row[16 - int(radius) // 2] < 0.75  # the dark object spreads outside its mask
    assert row[32] < 1e-5  # more than a radius inside, the object fully covers the background
    # beyond one radius of the edge the sharp background is untouched
    np.testing.assert_allclose(row[: 16 - int(math.ceil(radius)) - 1], 0.8, atol=1e-5)


def test_windowed_slices_equal_full_frame_compositing():
    """render_layers filters each depth slice in its bounding box only: same result as full frames."""
    import cv2

    def full_frame(layers, coc, step):
        acc = np.zeros(layers[0].colour.shape[:2] + (4,), np.float32)
        for layer in layers:
            bins = np.floor(1.0 / layer.depth / step).astype(np.int64)
            for b in np.unique(bins[layer.alpha > 0]):
                alpha = np.where((layer.alpha > 0) & (bins == b), layer.alpha, 0).astype(np.float32)
                rgba = np.concatenate([layer.colour * alpha[..., None], alpha[..., None]], axis=2)
                k = psf_kernel("disk", float(coc(1.0 / ((b + 0.5) * step))))
                if k.size > 1:
                    rgba = cv2.filter2D(rgba, -1, k, borderType=cv2.BORDER_REFLECT_101)
                acc = rgba + (1 - rgba[..., 3:4]) * acc
        return acc[..., :3] / np.maximum(acc[..., 3:4], 1e-6)

    rng = np.random.default_rng(0)
    n = 96
    yy, xx = np.mgrid[0:n, 0:n]
    bg = Layer(rng.random((n, n, 3)).astype(np.float32), np.ones((n, n), np.float32), 5 + 10 * xx / n)
    disk = ((xx - 70) ** 2 + (yy - 10) ** 2 < 300).astype(np.float32)  # touches the top border
    obj = Layer(rng.random((n, n, 3)).astype(np.float32), disk, np.full((n, n), 1.5))

    def coc(z):
        return coc_diameter_px(z, focal_mm=50, f_number=2, focus_m=3.0, sensor_width_mm=8, width_px=n)

    got = render_layers([bg, obj], coc, psf="disk", inverse_depth_step=0.02)
    np.testing.assert_allclose(got, full_frame([bg, obj], coc, 0.02), atol=1e-6)
