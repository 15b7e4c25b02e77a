"""Joint transforms and the PyTorch adapter: image and mask stay aligned, randomness is seeded."""

from __future__ import annotations

import numpy as np
import pytest
from test_datasets_layouts import focus_mask, make_layout

from dbdbench.datasets.transforms import Compose, RandomCrop, RandomFlip, Resize
from dbdbench.errors import DbdError
from dbdbench.imageio import write_image


def coded_pair(h=20, w=30, seed=0):
    """A random binary mask and an image whose red channel is the mask (so alignment is checkable)."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((h, w)) > 0.5).astype(np.float32)
    image = np.dstack([mask * 255, rng.integers(0, 255, (h, w)), np.arange(h * w).reshape(h, w) % 256])
    return image.astype(np.uint8), mask


def test_crop_and_flip_keep_image_and_mask_aligned():
    image, mask = coded_pair()
    t = Compose((RandomCrop((8, 12)), RandomFlip(0.5)))
    flips = 0
    for k in range(20):
        img, msk = t(image, mask, np.random.default_rng(k))
        assert img.shape == (8, 12, 3) and msk.shape == (8, 12)
        np.testing.assert_array_equal(img[..., 0] / 255, msk)
        # the crop is a window of the original, possibly mirrored
        flips += not any(
            np.array_equal(msk, mask[y : y + 8, x : x + 12]) for y in range(13) for x in range(19)
        )
    assert 0 < flips < 20  # p = 0.5 flips some, not all


def test_transforms_are_seeded():
    image, mask = coded_pair()
    t = Compose((RandomCrop((8, 8)), RandomFlip()))
    a = t(image, mask, np.random.default_rng(7))
    b = t(image, mask, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_resize_matches_opencv_and_keeps_range():
    import cv2

    image, mask = coded_pair()
    img, msk = Resize((40, 60))(image, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(img, cv2.resize(image, (60, 40), interpolation=cv2.INTER_LINEAR))
    assert msk.dtype == np.float32 and msk.min() >= 0 and msk.max() <= 1
    small_img, small = Resize((10, 15))(image, mask, np.random.default_rng(0))
    np.testing.assert_allclose(small, mask.reshape(10, 2, 15, 2).mean(axis=(1, 3)), atol=1e-6)  # area mean


def test_crop_larger_than_sample_is_an_error():
    image, mask = coded_pair()
    with pytest.raises(DbdError, match="larger than"):
        RandomCrop((40, 40))(image, mask, np.random.default_rng(0))


def test_torch_dataset_with_dataloader(tmp_path):
    torch = pytest.importorskip("torch")
    from dbdbench.datasets.torch_adapter import TorchDataset

    make_layout(tmp_path, "image", "gt", ["a", "b", "c"], photos=False)
    for i, n in enumerate("abc"):  # photos whose red channel is the mask shifted by i pixels
        m = np.roll(focus_mask(), i, axis=1)
        write_image(tmp_path / "gt" / f"{n}.png", m)
        write_image(tmp_path / "image" / f"{n}.png", np.dstack([m] * 3))
    ds = TorchDataset("ebd", tmp_path, "all", transform=Compose((RandomCrop((16, 16)), RandomFlip())), seed=3)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False)
    img, msk, names = next(iter(loader))
    assert img.shape == (3, 3, 16, 16) and msk.shape == (3, 1, 16, 16) and list(names) == ["a", "b", "c"]
    assert img.dtype == torch.float32 and msk.dtype == torch.float32
    torch.testing.assert_close(img[:, 0], msk[:, 0])  # crops and flips hit photo and mask alike
    again = next(iter(loader))
    torch.testing.assert_close(again[1], msk)  # same seed and epoch: same crops
    ds.set_epoch(1)
    assert not all(torch.equal(ds[i][1], msk[i]) for i in range(3))


def test_torch_dataset_needs_photos(tmp_path):
    pytest.importorskip("torch")
    from dbdbench.datasets.torch_adapter import TorchDataset

    make_layout(tmp_path, "image", "gt", ["a"], photos=False)
    with pytest.raises(DbdError, match="training needs the photos"):
        TorchDataset("folder", tmp_path)
