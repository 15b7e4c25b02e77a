"""The executor: results in item order and identical for 1 worker, 2 workers and a dask cluster."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from dbdbench.errors import DbdError
from dbdbench.executor import run_tasks


def _work(item, scale=1.0):
    import cv2

    rng = np.random.default_rng(item)
    img = rng.random((32, 32), dtype=np.float32)
    return float(cv2.GaussianBlur(img, (0, 0), 2.0).sum() * scale), cv2.getNumThreads()


def _fail(item):
    if item == 3:
        raise DbdError("item 3 is bad")
    return item


def test_order_and_identity_across_workers():
    items = list(range(12))
    func = functools.partial(_work, scale=2.0)
    one = run_tasks(func, items, workers=1)
    two = run_tasks(func, items, workers=2)
    assert [r[0] for r in one] == [r[0] for r in two]
    assert [r[0] for r in one] == [_work(i, 2.0)[0] for i in items]
    assert {r[1] for r in one + two} == {1}  # one OpenCV thread per worker


def test_errors_propagate_and_bad_workers():
    with pytest.raises(DbdError, match="item 3"):
        run_tasks(_fail, range(5), workers=2)
    with pytest.raises(DbdError, match="--workers"):
        run_tasks(_fail, range(5), workers=0)


def test_dask_local_cluster_same_results():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        got = run_tasks(_work, range(6), scheduler=cluster.scheduler_address)
    assert [r[0] for r in got] == [r[0] for r in run_tasks(_work, range(6))]


def test_unreachable_scheduler():
    pytest.importorskip("dask.distributed")
    with pytest.raises(DbdError, match="cannot reach the dask scheduler"):
        run_tasks(_work, [1], scheduler="tcp://127.0.0.1:1")
