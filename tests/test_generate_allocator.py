"""The allocator setting of generate-sim: freed sample-sized arrays are reused without page faults."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dbdbench.generators.allocator import keep_freed_memory


def _minor_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_arrays_are_reused_without_page_faults():
    if not keep_freed_memory():
        pytest.skip("this C library has no mallopt (not glibc)")

    def churn() -> int:
        before = _minor_faults()
        for _ in range(20):
            a = np.ones((320, 320, 3), np.float32)  # 1.2 MB, touched: faults unless reused
            b = a * 2.0
            del a, b
        return _minor_faults() - before

    churn()  # the first round may grow the heap
    # without the setting each round maps and faults in ~600 fresh pages (40 arrays of 300 pages)
    assert churn() < 100
