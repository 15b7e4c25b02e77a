"""Run the same function over many items: in-process, on local worker processes, or on a dask cluster.

Results always come back in item order, so they are identical for any number of workers. Each worker
uses one OpenCV thread (and joblib limits BLAS threads in its workers), so ``N`` workers use ``N`` cores.
A progress bar on stderr appears for runs that last more than a second.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dbdbench.errors import DbdError
from dbdbench.notes import note

#: Seconds to wait for a TCP connection to the scheduler before giving up (it answers in
#: milliseconds on a working network; the wait only matters for a wrong address).
CONNECT_TIMEOUT_S = 3.0

_ADDRESS = re.compile(
    r"^(?:(?P<scheme>tcp|tls|ws|wss|ucx)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$"
)


def parse_scheduler_address(address: str) -> tuple[str, str, int | None]:
    """Split a dask scheduler address ``[tcp://]HOST:PORT`` into (scheme, host, port).

    ``tls://``, ``ws://``, ``wss://`` and ``ucx://`` addresses take the same form; an in-process
    address (``inproc://...``, from a ``LocalCluster(processes=False)``) is passed through with
    port None.

    Raises
    ------
    ValueError
        Any other form, or a port outside 1..65535 (the message says the expected form).
    """
    address = address.strip()
    if address.startswith("inproc://") and len(address) > len("inproc://"):
        return "inproc", address[len("inproc://") :], None
    m = _ADDRESS.match(address)
    port = int(m["port"]) if m else 0
    if not m or not 1 <= port <= 65535:
        raise ValueError(
            f"'{address}' is not a scheduler address; write tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
        )
    return m["scheme"] or "tcp", m["host"].strip("[]"), port


#: (--workers, cores) pairs already noted in this process.
_NOTED: set[tuple[int, int]] = set()


def cpu_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
    if workers > 1 and len(items) > 1:
        asked, workers = workers, min(workers, len(items))  # an idle worker still costs a process
        cores = cpu_cores()
        if workers > cores and (asked, cores) not in _NOTED:
            _NOTED.add((asked, cores))  # once per process: a command may run many task lists
            note(f"--workers {asked}: {workers} processes on {cores} CPU cores, which they will share")
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


def _probe_scheduler(address: str, scheme: str, host: str, port: int) -> None:
    """Check that something answers at ``host:port`` and, over plain TCP, that it speaks dask.

    A dask server sends its handshake as soon as a connection opens: one framed message whose first
    8 bytes are its length (little-endian). An HTTP server (the dashboard, port 8787), an SSH server
    or a proxy sends nothing or something else; the dask client would then wait, retry and fail with
    a long traceback.
    """
    try:
        conn = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DbdError(
            f"cannot reach the dask scheduler at '{address}' ({reason}); start it or fix --scheduler"
        ) from None
    with conn:
        if scheme != "tcp":
            return
        conn.settimeout(CONNECT_TIMEOUT_S)
        head = b""
        try:
            while len(head) < 8:
                chunk = conn.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
        except OSError:
            pass
    if len(head) < 8 or not 0 < int.from_bytes(head, "little") < 2**24:
        raise DbdError(
            f"no dask scheduler answers at '{address}' (no dask handshake within {CONNECT_TIMEOUT_S:g} s); "
            "check the port (the scheduler's, default 8786, not the dashboard's 8787) or fix --scheduler"
        )


def _run_dask(func, items, address, desc, progress):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise DbdError("--scheduler needs dask.distributed: pip install 'dbdbench[dask]'") from None
    try:
        scheme, host, port = parse_scheduler_address(address)
    except ValueError as exc:
        raise DbdError(f"--scheduler {exc}") from None
    if port is not None:  # fail fast on a wrong address, before dask's retries, waits and log lines
        _probe_scheduler(address, scheme, host, port)
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except Exception as exc:  # dask raises several types (OSError, TimeoutError, CommClosedError)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DbdError(
            f"cannot connect to the dask scheduler at '{address}' ({msg}); start it or fix --scheduler"
        ) from None
    bar = _progress(len(items), desc, progress)
    try:
        with client.as_current():
            futures = client.map(_single_threaded, [func] * len(items), items, pure=False)
            for _ in as_completed(futures):
                bar.update(1)
            return client.gather(futures)
    finally:
        bar.close()
        client.close()
