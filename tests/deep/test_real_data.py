"""Training from a named real dataset (dbdbench.datasets) on the shared sample data."""

from __future__ import annotations

import _deep_skip  # noqa: F401  (skips this module without PyTorch)
import pytest

from dbdbench.baselines.deep.data import TrainingSet, training_sources
from dbdbench.baselines.deep.train import TrainOptions, train
from dbdbench.errors import DbdError


def test_trains_on_the_xu100_samples(real_data, tmp_path):
    sources = training_sources(datasets=[("xu100", real_data / "denets-samples" / "xu100", None)])
    data = TrainingSet(sources, size=32, crop=True)
    assert len(data) == 5
    image, mask, _ = data[0]
    assert image.shape == (3, 32, 32) and mask.shape == (1, 32, 32)
    assert 0.0 <= float(mask.min()) and float(mask.max()) <= 1.0
    opts = TrainOptions("btbnet-1s", tmp_path / "run", epochs=1, batch_size=5, train_size=32)
    result = train(opts, sources, echo=None, progress=False)
    assert result.epochs == 1 and (tmp_path / "run" / "last.pt").is_file()


def test_masks_without_photos_are_refused(real_data):
    # the shared CUHK folder holds all 704 defocus masks but only 7 of their photos
    sources = training_sources(datasets=[("cuhk", real_data / "cuhk", "all")])
    with pytest.raises(DbdError, match="training needs the photos"):
        TrainingSet(sources, size=32, crop=True)
