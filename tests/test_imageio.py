"""Image I/O: formats, bit depths, channel layouts, EXIF orientation, bad files, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey, read_rgb, read_unit, to_uint8, write_image


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(7, 11, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_round_trip_rgb(tmp_path, rgb, ext):
    path = write_image(tmp_path / f"a{ext}", rgb)
    np.testing.assert_array_equal(read_rgb(path), rgb)
    # Pillow as the independent decoder
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), rgb)


def test_jpeg_decodes_close(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (16, 1))
    img = np.stack([smooth] * 3, axis=-1)
    path = write_image(tmp_path / "a.jpg", img, quality=98)
    assert np.abs(read_rgb(path).astype(int) - img).max() <= 4


def test_rgba_mask_with_equal_channels_keeps_values(tmp_path):
    grey = np.array([[0, 255, 17], [128, 200, 3]], dtype=np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_grey(tmp_path / "m.png"), grey)


def test_palette_and_grey(tmp_path):
    grey = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    Image.fromarray(grey, "L").convert("P").save(tmp_path / "p.png")
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_grey(tmp_path / "p.png"), grey)
    np.testing.assert_array_equal(read_grey(tmp_path / "g.png"), grey)
    assert read_rgb(tmp_path / "g.png").shape == (2, 2, 3)


def test_16_bit(tmp_path):
    v = np.array([[0, 65535], [257, 32768]], dtype=np.uint16)
    write_image(tmp_path / "d.png", v)
    got = read_grey(tmp_path / "d.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, v)
    np.testing.assert_allclose(read_unit(tmp_path / "d.png"), v / 65535.0, atol=1e-7)
    rgb16 = np.dstack([v, v, v])
    write_image(tmp_path / "c.png", rgb16)
    np.testing.assert_array_equal(read_rgb(tmp_path / "c.png")[..., 0], [[0, 255], [1, 128]])


def test_exif_orientation_applied(tmp_path):
    img = np.zeros((4, 8, 3), dtype=np.uint8)
    img[:, :4] = 255  # left half white, landscape 4x8
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    pil.save(tmp_path / "o.jpg", exif=exif, quality=100)
    out = read_rgb(tmp_path / "o.jpg")
    assert out.shape == (8, 4, 3)  # displayed as portrait
    assert out[:4].mean() > 200 and out[4:].mean() < 50  # white half now on top


@pytest.mark.parametrize(
    "content, match",
    [(b"", "empty"), (b"not an image at all", "corrupt")],
)
def test_bad_files_raise_one_line(tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    for reader in (read_rgb, read_grey):
        with pytest.raises(DbdError, match=match) as info:
            reader(path)
        assert "bad.png" in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DbdError, match="does not exist"):
        read_grey(tmp_path / "nope.png")


def test_to_uint8_rounds_and_rejects_nan():
    np.testing.assert_array_equal(to_uint8(np.array([0.0, 0.5, 1.0, 1.2, -1])), [0, 128, 255, 255, 0])
    with pytest.raises(ValueError):
        to_uint8(np.array([np.nan]))
