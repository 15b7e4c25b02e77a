"""`torchrun ... -m dbdbench train`: DistributedDataParallel on the CPU (gloo) with two processes.

Reference: the same run in one process with twice the per-process batch. DistributedSampler gives the
two ranks the two halves of the batch one process sees, DDP averages their gradients, and the loss is
a mean over pixels and samples, so both runs must log the same losses and end with the same weights
(to float rounding).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from _deep_skip import torch
from click.testing import CliRunner

from dbdbench.baselines.deep.checkpoint import read_checkpoint
from dbdbench.cli import main

pytestmark = pytest.mark.slow


def torchrun() -> list[str]:
    """torchrun as a module of this Python (the same code as the ``torchrun`` script).

    A ``torchrun`` script, even the one next to the interpreter, may start another Python (its
    shebang) with another dbdbench; the module form launches the workers with this interpreter.
    """
    return [sys.executable, "-m", "torch.distributed.run"]


def common(data, out, batch):
    return [
        "train", "--model", "btbnet-1s", "--data", str(data), "--out", str(out), "--epochs", "2",
        "--train-size", "32", "--batch-size", str(batch), "--threads", "1", "--device", "cpu",
    ]  # fmt: skip


def run_two(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [*torchrun(), "--standalone", "--nproc_per_node", "2", "-m", "dbdbench", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def losses(out):
    return [float(r["loss"]) for r in csv.DictReader((out / "loss.csv").open())]


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_whole_batch(tiny_data, tmp_path):
    one = tmp_path / "one"
    result = CliRunner().invoke(main, common(tiny_data, one, 6))  # 6 pairs: one step per epoch
    assert result.exit_code == 0, result.output
    two = tmp_path / "two"
    run_two(common(tiny_data, two, 3), tmp_path)
    assert len(losses(two)) == 2
    assert losses(two) == pytest.approx(losses(one), rel=0, abs=1e-5)
    w1 = read_checkpoint(one / "last.pt")["state_dict"]
    w2 = read_checkpoint(two / "last.pt")["state_dict"]
    assert all(torch.allclose(w1[k], w2[k], rtol=0, atol=1e-5) for k in w1)
    assert "2 process(es)" in (two / "train.log").read_text()  # one log, written by rank 0

    # a single-process run stopped after step 1 and resumed under torchrun with the same samples per
    # step (2 x 3 = 1 x 6) continues like the uninterrupted run
    resumed = tmp_path / "resumed"
    result = CliRunner().invoke(main, [*common(tiny_data, resumed, 6), "--max-steps", "1"])
    assert result.exit_code == 0, result.output
    run_two([*common(tiny_data, resumed, 3), "--resume"], tmp_path)
    assert losses(resumed) == pytest.approx(losses(one), rel=0, abs=1e-5)
    assert read_checkpoint(resumed / "last.pt")["epoch"] == 2
