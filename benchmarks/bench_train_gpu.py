"""Training throughput and peak memory of the ``paper`` preset of every model, on the device present.

BTBNet (Zhao et al., CVPR 2018), BTBCRL and its ablations (Zhao et al., IEEE TPAMI 2020) at the VGG16
widths, trained on 320 x 320 inputs (batch 1 in the papers). For each model: optimisation steps
(forward, summed loss of every output, backward, Adam) on random inputs, images per second, peak
memory, and the time per image relative to ``vgg-fc`` (the VGG16 backbone alone) measured in the same
run. On CUDA also with ``bf16`` autocast (``dbdbench train --precision bf16``).

On a CPU the paper input is far too slow for a benchmark: it uses ``--cpu-size`` (default 32) x 32
inputs and one timed step and says so; peak memory there is the process's peak resident set
(cumulative over the rows, so only the first row's is its own).

    .venv/bin/python benchmarks/bench_train_gpu.py            # every model, < 5 minutes
    .venv/bin/python benchmarks/bench_train_gpu.py --models btbcrl,btbnet --batch 4
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch


def one_step(model, optimizer, x, y, precision: str) -> None:
    from dbdbench.baselines.deep.losses import deep_supervision_loss
    from dbdbench.baselines.deep.train import autocast

    with autocast(precision, x.device):
        outputs = model(x)
    loss = deep_supervision_loss([o.float() for o in outputs], y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(name: str, device: torch.device, size: int, batch: int, steps: int, precision: str) -> dict:
    """Images/s and peak memory (MiB) of ``steps`` timed steps after one warm-up step."""
    from dbdbench.baselines.deep.models import build_model

    torch.manual_seed(0)
    model = build_model(name, "paper").to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, size, size, device=device)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.5).float()
    one_step(model, optimizer, x, y, precision)  # warm-up: allocations, cuDNN autotuning
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    t = time.perf_counter()
    for _ in range(steps):
        one_step(model, optimizer, x, y, precision)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    seconds = time.perf_counter() - t
    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {"images_s": batch * steps / seconds, "peak_mib": peak, "s_per_image": seconds / (batch * steps)}


def main() -> None:
    from dbdbench.baselines.deep.catalog import MODELS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    ap.add_argument("--batch", type=int, default=1, help="batch size (the papers: 1)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps on CUDA")
    ap.add_argument("--cpu-size", type=int, default=32, help="input side on a CPU")
    ap.add_argument("--cpu-steps", type=int, default=1, help="timed steps on a CPU")
    args = ap.parse_args()
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if "vgg-fc" not in names:
        names.insert(0, "vgg-fc")  # the reference of the ratio column
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cudnn.benchmark = True
        where = torch.cuda.get_device_name(device)
        size, steps = 320, args.steps
        precisions = ["fp32", "bf16"] if torch.cuda.is_bf16_supported() else ["fp32"]
    else:
        where = f"CPU, {torch.get_num_threads()} threads"
        size, steps = args.cpu_size, args.cpu_steps
        precisions = ["fp32"]
        print(
            f"no CUDA device: measuring on the CPU with {size} x {size} inputs and {steps} timed step(s) "
            "instead of the paper's 320 x 320 (figures are for comparing models, not for planning a run)",
            file=sys.stderr,
        )
    print(
        f"device: {where}; paper preset, input {size} x {size}, batch {args.batch}, torch {torch.__version__}"
    )
    print("\n| model | precision | images/s | peak MiB | time / vgg-fc |\n|---|---|---:|---:|---:|")
    for precision in precisions:
        ref = None
        for name in names:
            r = measure(name, device, size, args.batch, steps, precision)
            ref = ref or r["s_per_image"]
            print(
                f"| {name} | {precision} | {r['images_s']:.2f} | {r['peak_mib']:.0f} | "
                f"{r['s_per_image'] / ref:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
