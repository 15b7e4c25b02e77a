"""Training loop of BTBNet / BTBCRL: seeded, resumable, time-limited, with checkpoints and logs.

Zhao et al., CVPR 2018 (BTBNet) and IEEE TPAMI 2020 (BTBCRL) train the whole network end to end with
the summed pixel-wise losses of every supervised output (:mod:`.losses`); their strategies (pre-train
on simulated data, fine-tune on CUHK, then on CUHK + DUT) are sequences of runs linked by ``init``
(docs/deep.md lists the commands).

Output folder::

    last.pt                 the latest checkpoint (``--resume`` continues from it)
    epoch-NNN.pt            the checkpoint after epoch NNN
    loss.csv                epoch, step, loss, seconds, lr  (one row per optimisation step)
    loss.png                the loss curve
    train.log               what happened, one line per event
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from dbdbench.atomic import write_text_atomic
from dbdbench.baselines.deep.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint
from dbdbench.baselines.deep.data import TrainingSet
from dbdbench.baselines.deep.losses import deep_supervision_loss
from dbdbench.baselines.deep.models import DBDModel, build_model, get_preset
from dbdbench.baselines.deep.vgg import load_vgg16_weights, read_vgg16_state
from dbdbench.datasets import DatasetIndex
from dbdbench.errors import DbdError


@dataclass
class TrainOptions:
    """Options of :func:`train`.

    Attributes
    ----------
    model : str
        Model name (``dbdbench train --list-models``).
    out : Path
        Output folder.
    preset : str
        ``tiny`` or ``paper``.
    epochs : int, optional
        Total epochs (default: the preset's).
    max_minutes : float, optional
        Stop after this much training time (checked after every step; a checkpoint is written).
    seed : int
        Seeds the initial weights, the data order and the augmentation.
    init : Path, optional
        Start from the weights of this checkpoint (same model and preset), e.g. pre-trained on
        simulated data; the optimiser and epoch count start afresh.
    resume : bool
        Continue the run in ``out`` from ``out/last.pt``.
    backbone_weights : Path, optional
        torchvision VGG16 state dict loaded into every stream's backbone (``paper`` preset).
    device : str
        ``cpu`` or ``cuda``.
    batch_size : int, optional
        Overrides the preset's.
    lr : float, optional
        Overrides the preset's Adam learning rate.
    train_size : int, optional
        Overrides the preset's training input side.
    """

    model: str
    out: Path
    preset: str = "tiny"
    epochs: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    init: Path | None = None
    resume: bool = False
    backbone_weights: Path | None = None
    device: str = "cpu"
    batch_size: int | None = None
    lr: float | None = None
    train_size: int | None = None


@dataclass
class TrainResult:
    """What :func:`train` did: the model, its last checkpoint, completed epochs, loss rows, stop reason."""

    model: DBDModel
    checkpoint: Path
    epochs: int
    history: list[tuple[int, int, float, float, float]]
    stopped: str


def _device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DbdError(f"--device {name}: no CUDA device is available to PyTorch; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DbdError(f"--device '{name}' is not a PyTorch device; use cpu or cuda") from None


def cosine_lr(base: float, step_fraction: float, time_fraction: float | None = None) -> float:
    """Learning rate on a cosine decay from ``base`` to 0 over the run.

    The run's progress is the larger of the fraction of optimisation steps done (of ``epochs``) and,
    with ``--max-minutes``, the fraction of the time budget used, so a time-limited run also ends
    at a low learning rate.
    """
    progress = step_fraction if time_fraction is None else max(step_fraction, time_fraction)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def write_loss_files(out: Path, history: Sequence[tuple[int, int, float, float, float]]) -> None:
    """Write ``loss.csv`` and ``loss.png`` (per-step loss and its per-epoch mean) atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dbdbench.atomic import write_bytes_atomic

    lines = ["epoch,step,loss,seconds,lr"] + [
        f"{e},{s},{loss:.6f},{t:.3f},{lr:.6g}" for e, s, loss, t, lr in history
    ]
    write_text_atomic(out / "loss.csv", "\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if history:
        steps = [h[1] for h in history]
        ax.plot(steps, [h[2] for h in history], lw=0.8, alpha=0.5, label="step")
        epochs = sorted({h[0] for h in history})
        ends = [max(h[1] for h in history if h[0] == e) for e in epochs]
        means = [
            sum(h[2] for h in history if h[0] == e) / sum(1 for h in history if h[0] == e) for e in epochs
        ]
        ax.plot(ends, means, "o-", lw=1.5, label="epoch mean")
        ax.legend()
    ax.set_xlabel("step")
    ax.set_ylabel("summed BCE loss")
    ax.set_title("training loss")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_bytes_atomic(out / "loss.png", buf.getvalue())


class _Log:
    def __init__(self, path: Path, echo: Callable[[str], None] | None):
        self.path, self.echo = path, echo

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self.echo:
            self.echo(msg)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def train(
    opts: TrainOptions,
    sources: Sequence[DatasetIndex],
    echo: Callable[[str], None] | None = _stderr,
    progress: bool | None = None,
) -> TrainResult:
    """Train a model on pairs and write checkpoints, the loss curve and a log to ``opts.out``.

    Parameters
    ----------
    opts : TrainOptions
    sources : sequence of DatasetIndex
        Training data (:func:`~dbdbench.baselines.deep.data.training_sources`).
    echo : callable, optional
        Receives every log line (default: stderr); None for silence.
    progress : bool, optional
        Progress bar with the running loss on stderr (default: on a terminal).

    Returns
    -------
    TrainResult

    Raises
    ------
    DbdError
        Bad options, a finished run in ``out`` without ``resume``, a checkpoint of another model.
    """
    from tqdm.auto import tqdm

    preset = get_preset(opts.preset)
    if opts.batch_size is not None:
        if opts.batch_size < 1:
            raise DbdError(f"--batch-size must be at least 1, got {opts.batch_size}")
        preset = replace(preset, batch_size=opts.batch_size)
    if opts.lr is not None:
        if not opts.lr > 0:
            raise DbdError(f"--lr must be positive, got {opts.lr}")
        preset = replace(preset, lr=opts.lr)
    if opts.train_size is not None:
        if opts.train_size < 16:
            raise DbdError(f"--train-size must be at least 16, got {opts.train_size}")
        preset = replace(preset, train_size=opts.train_size)
    epochs = preset.epochs if opts.epochs is None else opts.epochs
    if epochs < 1:
        raise DbdError(f"--epochs must be at least 1, got {epochs}")
    if opts.max_minutes is not None and not opts.max_minutes > 0:
        raise DbdError(f"--max-minutes must be positive, got {opts.max_minutes}")
    device = _device(opts.device)
    out = Path(opts.out)
    last = out / "last.pt"
    if last.exists() and not opts.resume:
        raise DbdError(
            f"--out '{out}' already holds a training run (last.pt); "
            "pass --resume to continue it or choose another --out"
        )
    if opts.resume and not last.exists():
        raise DbdError(f"--resume: '{last}' does not exist; start a new run without --resume")
    out.mkdir(parents=True, exist_ok=True)
    log = _Log(out / "train.log", echo)

    torch.manual_seed(opts.seed)
    model = build_model(opts.model, preset)
    optimizer_state = None
    start_epoch, step, history = 0, 0, []
    if opts.resume:
        ckpt = read_checkpoint(last, "--resume checkpoint")
        if ckpt.get("model") != opts.model:
            raise DbdError(
                f"--resume: '{last}' holds a '{ckpt.get('model')}' model, not '{opts.model}'; "
                f"use --model {ckpt.get('model')}"
            )
        model = model_from_checkpoint(ckpt, last, opts.model, "--resume checkpoint")
        preset = model.preset
        optimizer_state = ckpt.get("optimizer")
        start_epoch, step = int(ckpt.get("epoch", 0)), int(ckpt.get("step", 0))
        history = [tuple(h) for h in ckpt.get("history", [])]
        log(f"resuming '{opts.model}' from {last} after epoch {start_epoch}")
    else:
        if opts.backbone_weights is not None:
            state = read_vgg16_state(opts.backbone_weights)
            for backbone in model.backbones():
                load_vgg16_weights(backbone, state, f"--backbone-weights '{opts.backbone_weights}'")
            log(
                f"loaded ImageNet VGG16 weights from {opts.backbone_weights} "
                f"into {len(model.backbones())} backbone(s)"
            )
        if opts.init is not None:
            ckpt = read_checkpoint(opts.init, "--init")
            init_model = model_from_checkpoint(ckpt, opts.init, opts.model, "--init")
            if (
                init_model.preset.width != preset.width
                or init_model.preset.refine_width != preset.refine_width
            ):
                raise DbdError(f"--init '{opts.init}' was trained with another preset; use the same --preset")
            model.load_state_dict(init_model.state_dict())
            log(f"initialised '{opts.model}' from {opts.init}")
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)

    dataset = TrainingSet(sources, preset.train_size, preset.crop, seed=opts.seed)
    batches = math.ceil(len(dataset) / preset.batch_size)
    total_steps = epochs * batches
    log(
        f"training '{opts.model}' (preset {opts.preset}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters) on {len(dataset)} pairs, "
        f"epochs {start_epoch + 1}..{epochs}, batch {preset.batch_size}, lr {preset.lr:g}, "
        f"seed {opts.seed}, device {device}"
    )
    elapsed0 = history[-1][3] if history else 0.0
    t0 = time.monotonic()
    limit = None if opts.max_minutes is None else opts.max_minutes * 60.0
    stopped = "epochs"
    completed = start_epoch
    ckpt_path = last
    for epoch in range(start_epoch, epochs):
        dataset.set_epoch(epoch)
        order = torch.Generator().manual_seed(opts.seed * 100003 + epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=preset.batch_size, shuffle=True, generator=order
        )
        bar = tqdm(
            total=batches,
            desc=f"epoch {epoch + 1}/{epochs}",
            unit="batch",
            leave=False,
            disable=(not progress) if progress is not None else None,
            dynamic_ncols=True,
        )
        losses = []
        for x, y, _names in loader:
            lr = cosine_lr(
                preset.lr, step / total_steps, None if limit is None else (time.monotonic() - t0) / limit
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = x.to(device), y.to(device)
            loss = deep_supervision_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            elapsed = elapsed0 + time.monotonic() - t0
            losses.append(loss.item())
            history.append((epoch + 1, step, losses[-1], round(elapsed, 3), lr))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            bar.update(1)
            if not math.isfinite(losses[-1]):
                bar.close()
                raise DbdError(f"the loss became {losses[-1]} at step {step}; lower --lr")
            if limit is not None and time.monotonic() - t0 >= limit:
                stopped = "time"
                break
        bar.close()
        completed = done = epoch + (1 if stopped == "epochs" else 0)
        extra = {
            "epoch": done,
            "step": step,
            "optimizer": optimizer.state_dict(),
            "history": history,
            "seed": opts.seed,
        }
        model_cpu = model.to("cpu")
        if stopped == "epochs":
            save_checkpoint(out / f"epoch-{done:03d}.pt", model_cpu, **extra)
        ckpt_path = save_checkpoint(last, model_cpu, **extra)
        model.to(device)
        write_loss_files(out, history)
        mean = sum(losses) / max(len(losses), 1)
        log(
            f"epoch {epoch + 1}: mean loss {mean:.4f} over {len(losses)} steps, "
            f"{history[-1][3] if history else 0:.0f} s"
        )
        if stopped == "time":
            log(
                f"stopped after --max-minutes {opts.max_minutes:g} during epoch {epoch + 1}; "
                f"checkpoint {last}"
            )
            break
    if start_epoch >= epochs:
        log(f"nothing to do: the run already completed {start_epoch} epochs (raise --epochs)")
    model.eval()
    return TrainResult(model, ckpt_path, completed, history, stopped)
