"""Run the same function over many items: in-process, on local worker processes, or on a dask cluster.

Results always come back in item order, so they are identical for any number of workers. Each worker
uses one OpenCV thread (and joblib limits BLAS threads in its workers), so ``N`` workers use ``N`` cores.
A progress bar on stderr appears for runs that last more than a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dbdbench.errors import DbdError


def _single_threaded(func: Callable[[Any], Any], item: Any) -> Any:
    import cv2

    cv2.setNumThreads(1)
    return func(item)


def _progress(total: int, desc: str | None, enabled: bool | None):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="item",
        disable=(not enabled) if enabled is not None else None,
        delay=1.0,
        dynamic_ncols=True,
        leave=False,
    )


def run_tasks(
    func: Callable[[Any], Any],
    items: Sequence[Any] | Iterable[Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    desc: str | None = None,
    progress: bool | None = None,
) -> list[Any]:
    """Apply ``func`` to every item and return the results in item order.

    Parameters
    ----------
    func : callable
        A picklable top-level function (or ``functools.partial`` of one) taking one item.
    items : sequence
        The work items; each must be picklable for ``workers > 1`` or ``scheduler``.
    workers : int
        Local worker processes (joblib/loky). 1 runs in this process.
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:port``); overrides ``workers``.
    desc : str, optional
        Label of the progress bar.
    progress : bool, optional
        Force the progress bar on or off; by default it shows on a terminal for runs over 1 s.

    Returns
    -------
    list
        ``[func(item) for item in items]``.

    Raises
    ------
    DbdError
        Bad ``workers``, an unreachable scheduler, or the ``dask`` extra missing. Errors raised by
        ``func`` propagate unchanged.
    """
    items = list(items)
    if scheduler:
        return _run_dask(func, items, scheduler, desc, progress)
    if workers < 1:
        raise DbdError(f"--workers must be at least 1, got {workers}")
    bar = _progress(len(items), desc, progress)
    try:
        if workers == 1 or len(items) <= 1:
            out = []
            for item in items:
                out.append(_single_threaded(func, item))
                bar.update(1)
            return out
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=workers, return_as="generator", batch_size="auto")
        out = []
        for result in parallel(delayed(_single_threaded)(func, item) for item in items):
            out.append(result)
            bar.update(1)
        return out
    finally:
        bar.close()


def _run_dask(func, items, address, desc, progress):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise DbdError("--scheduler needs dask.distributed: pip install 'dbdbench[dask]'") from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DbdError(
            f"cannot reach the dask scheduler at '{address}' ({exc}); start it or fix --scheduler"
        ) from None
    bar = _progress(len(items), desc, progress)
    try:
        futures = client.map(_single_threaded, [func] * len(items), items, pure=False)
        for _ in as_completed(futures):
            bar.update(1)
        return client.gather(futures)
    finally:
        bar.close()
        client.close()
