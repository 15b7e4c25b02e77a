"""Multi-process training with PyTorch's DistributedDataParallel, as launched by ``torchrun``.

BTBNet / BTBCRL (Zhao et al., CVPR 2018; IEEE TPAMI 2020) are trained by :mod:`.train`; this module
only tells a process where it stands. ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; a process started without them is a run of one process.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from dbdbench.errors import DbdError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: ``rank`` of ``world`` processes, ``local`` on its node."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, logs and the progress bar."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise DbdError(f"environment variable {name}='{value}' is not an integer; use torchrun") from None


def ranks_from_env() -> Ranks:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (a single process when unset)."""
    return Ranks(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def start(ranks: Ranks, device: torch.device) -> bool:
    """Join the process group (NCCL on CUDA, gloo on the CPU); return whether this call created it."""
    if not ranks.distributed or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def stop(created: bool, clean: bool = True) -> None:
    """Leave the process group created by :func:`start`.

    After a clean run every process first drops what still refers to the group (the
    DistributedDataParallel reducer's pending gloo work) and waits for the others, so that no process
    tears its connections down while a peer still uses them; after an error it leaves at once (a
    barrier could wait for a process that died).
    """
    if created and dist.is_initialized():
        if clean:
            gc.collect()
            dist.barrier()
        dist.destroy_process_group()


def mean_and_max(ranks: Ranks, mean: float, top: float) -> tuple[float, float]:
    """The mean of ``mean`` and the maximum of ``top`` over all processes (unchanged for one process).

    Every rank must call it at the same point; the training loop uses it for the logged loss and for
    the elapsed time, so all ranks take the same learning rate and stop together.
    """
    if not ranks.distributed:
        return mean, top
    t = torch.tensor([mean], dtype=torch.float64)
    m = torch.tensor([top], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t, m = t.cuda(), m.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    dist.all_reduce(m, op=dist.ReduceOp.MAX)
    return float(t.item()) / ranks.world, float(m.item())


def barrier(ranks: Ranks) -> None:
    """Wait for every process (no-op for one)."""
    if ranks.distributed:
        dist.barrier()
