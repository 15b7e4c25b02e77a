"""benchmarks/bench_train_gpu.py runs on the device present (here: the CPU, small input, says so)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _deep_skip  # noqa: F401  (skips this module without PyTorch)
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train_gpu.py"


@pytest.mark.slow
def test_reports_a_row_per_model_against_vgg_fc():
    cmd = [sys.executable, str(SCRIPT), "--models", "btbnet-1s", "--cpu-size", "16"]  # ~15 s on a CPU
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [r[0].strip() for r in rows[1:]] == ["vgg-fc", "btbnet-1s"]  # the reference first
    assert float(rows[1][4]) == 1.0 and float(rows[2][4]) > 0  # time relative to vgg-fc
    assert all(float(r[2]) > 0 and float(r[3]) > 0 for r in rows[1:])  # images/s, peak MiB
    import torch

    if not torch.cuda.is_available():
        assert "no CUDA device: measuring on the CPU with 16 x 16 inputs" in done.stderr
