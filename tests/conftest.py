"""Shared fixtures. Real data comes from the folder named by DBDBENCH_DATA (the CI sets it to
../shared/data); tests that need it skip, saying why, when it is unset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_ENV = "DBDBENCH_DATA"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Root of the real-data folder (cuhk/, denets-samples/); skips when unavailable."""
    root = os.environ.get(DATA_ENV)
    if not root:
        pytest.skip(f"{DATA_ENV} is not set: point it at the shared real-data folder to run this test")
    path = Path(root)
    if not (path / "cuhk").is_dir():
        pytest.skip(f"{DATA_ENV}={root} has no cuhk/ folder: point it at the shared real-data folder")
    return path
