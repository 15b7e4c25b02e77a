"""Fixtures of the BTBNet / BTBCRL tests: one PyTorch thread, tiny synthetic training folders.

Every test module imports ``_deep_skip`` first, which skips it when PyTorch (extra ``deep``) is absent.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A folder with image/ + gt/: six 40 x 40 partially blurred photos (white mask = in-focus)."""
    from dbdbench.baselines.deep.synthetic import write_pairs

    return write_pairs(tmp_path_factory.mktemp("deep-data"), count=6, size=40, seed=3)
