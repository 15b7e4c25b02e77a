"""Training loop of BTBNet / BTBCRL: seeded, resumable, time-limited, with checkpoints and logs.

Zhao et al., CVPR 2018 (BTBNet) and IEEE TPAMI 2020 (BTBCRL) train the networks with the summed
pixel-wise losses of every supervised output (:mod:`.losses`); their strategies (pre-train on simulated
data, fine-tune on CUHK, then on CUHK + DUT; train CRLNet with BTBNet fixed) are sequences of runs
linked by ``init`` and ``freeze`` (docs/deep.md lists the commands).

One process, or several under ``torchrun`` with DistributedDataParallel (:mod:`.distributed`): every
rank draws its share of each epoch with a DistributedSampler seeded by ``seed`` and the epoch,
``batch_size`` is per process, and rank 0 writes the output folder::

    last.pt                 the latest checkpoint (``--resume`` continues from it)
    epoch-NNN.pt            the checkpoint after epoch NNN
    loss.csv                epoch, step, loss, seconds, lr  (one row per optimisation step; the loss
                            is the mean over the processes)
    loss.png                the loss curve
    train.log               what happened, one line per event
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from dbdbench.atomic import write_text_atomic
from dbdbench.baselines.deep import distributed
from dbdbench.baselines.deep.catalog import FREEZE_PARTS, PRECISIONS
from dbdbench.baselines.deep.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint
from dbdbench.baselines.deep.data import TrainingSet
from dbdbench.baselines.deep.distributed import Ranks
from dbdbench.baselines.deep.losses import deep_supervision_loss
from dbdbench.baselines.deep.models import DBDModel, Preset, build_model, get_preset
from dbdbench.baselines.deep.vgg import load_vgg16_weights, read_vgg16_state
from dbdbench.datasets import DatasetIndex
from dbdbench.errors import DbdError

# Architecture fields of a preset: a checkpoint's weights fit only a model with the same ones.
_SHAPE_FIELDS = ("width", "min_channels", "refine_width", "refine_depth", "rr_steps")


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
        Start from the weights of this checkpoint, e.g. pre-trained on simulated data; the optimiser
        and epoch count start afresh. A checkpoint of another model (same preset) gives the parameters
        both share, e.g. the BTBNet streams of a ``btbnet`` run for a ``btbcrl`` one.
    resume : bool
        Continue the run in ``out`` from ``out/last.pt``.
    backbone_weights : Path, optional
        torchvision VGG16 state dict loaded into every stream's backbone (``paper`` preset).
    device : str
        ``auto`` (CUDA when PyTorch sees a GPU, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``; under
        torchrun ``cuda`` means the GPU of the process's local rank.
    batch_size : int, optional
        Overrides the preset's; per process.
    lr : float, optional
        Overrides the preset's Adam learning rate.
    train_size : int, optional
        Overrides the preset's training input side.
    freeze : str
        ``none``, ``backbone`` (fix the VGG16 backbones) or ``btbnet`` (train only the refinement
        network on the BTBNet given by ``init``, as the TPAMI ablations do).
    precision : str
        ``fp32``, ``bf16`` or ``fp16`` (autocast; ``fp16`` needs CUDA).
    workers : int
        DataLoader worker processes per training process (0: load in the training process).
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
    device: str = "auto"
    batch_size: int | None = None
    lr: float | None = None
    train_size: int | None = None
    freeze: str = "none"
    precision: str = "fp32"
    workers: int = 0


@dataclass
class TrainResult:
    """What :func:`train` did: the model, its last checkpoint, completed epochs, loss rows, stop reason."""

    model: DBDModel
    checkpoint: Path
    epochs: int
    history: list[tuple[int, int, float, float, float]]
    stopped: str


@dataclass
class _Progress:
    """Where a run stands: completed epochs, optimisation steps, loss rows, saved optimiser state."""

    epoch: int = 0
    step: int = 0
    history: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    optimizer: dict | None = None
    scaler: dict | None = None


def effective_preset(opts: TrainOptions) -> Preset:
    """The preset with the overrides of ``opts`` (DbdError for out-of-range values)."""
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
    return preset


def check_options(opts: TrainOptions, preset: Preset) -> int:
    """Check the options that need no file; return the total number of epochs."""
    epochs = preset.epochs if opts.epochs is None else opts.epochs
    if epochs < 1:
        raise DbdError(f"--epochs must be at least 1, got {epochs}")
    if opts.max_minutes is not None and not opts.max_minutes > 0:
        raise DbdError(f"--max-minutes must be positive, got {opts.max_minutes}")
    if opts.freeze not in FREEZE_PARTS:
        raise DbdError(f"unknown --freeze '{opts.freeze}'; choose one of: {', '.join(FREEZE_PARTS)}")
    if opts.freeze == "btbnet" and opts.init is None and not opts.resume:
        raise DbdError("--freeze btbnet trains the refinement on a fixed BTBNet: give it with --init FILE")
    if opts.precision not in PRECISIONS:
        raise DbdError(f"unknown --precision '{opts.precision}'; choose one of: {', '.join(PRECISIONS)}")
    if opts.workers < 0:
        raise DbdError(f"--workers must be 0 or more, got {opts.workers}")
    return epochs


def resolve_device(name: str, ranks: Ranks) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a torch.device (a process's own GPU under torchrun)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DbdError(f"--device {name}: no CUDA device is available to PyTorch; use --device cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DbdError(f"--device '{name}' is not a PyTorch device; use auto, cpu or cuda") from None
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", ranks.local if ranks.distributed else torch.cuda.current_device())
    return device


def check_precision(precision: str, device: torch.device) -> None:
    """fp16 autocast needs CUDA (bf16 and fp32 run everywhere)."""
    if precision == "fp16" and device.type != "cuda":
        raise DbdError("--precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")


def autocast(precision: str, device: torch.device):
    """The autocast context of one forward pass (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def prepare_out(opts: TrainOptions, ranks: Ranks) -> Path:
    """Check ``out`` against ``resume`` and create it (rank 0); return the path of ``last.pt``."""
    out = Path(opts.out)
    last = out / "last.pt"
    if last.exists() and not opts.resume:
        raise DbdError(
            f"--out '{out}' already holds a training run (last.pt); "
            "pass --resume to continue it or choose another --out"
        )
    if opts.resume and not last.exists():
        raise DbdError(f"--resume: '{last}' does not exist; start a new run without --resume")
    if ranks.main:
        out.mkdir(parents=True, exist_ok=True)
    return last


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
    def __init__(self, path: Path | None, echo: Callable[[str], None] | None):
        self.path, self.echo = path, echo

    def __call__(self, msg: str) -> None:
        if self.path is None:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self.echo:
            self.echo(msg)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def resume_run(opts: TrainOptions, last: Path, log: _Log) -> tuple[DBDModel, _Progress]:
    """Rebuild the model, optimiser state and loss history of the run in ``out``."""
    ckpt = read_checkpoint(last, "--resume checkpoint")
    if ckpt.get("model") != opts.model:
        raise DbdError(
            f"--resume: '{last}' holds a '{ckpt.get('model')}' model, not '{opts.model}'; "
            f"use --model {ckpt.get('model')}"
        )
    frozen = ckpt.get("freeze", "none")
    if frozen != opts.freeze:
        raise DbdError(f"--resume: the run in '{last.parent}' was started with --freeze {frozen}; pass that")
    model = model_from_checkpoint(ckpt, last, opts.model, "--resume checkpoint")
    progress = _Progress(
        epoch=int(ckpt.get("epoch", 0)),
        step=int(ckpt.get("step", 0)),
        history=[tuple(h) for h in ckpt.get("history", [])],
        optimizer=ckpt.get("optimizer"),
        scaler=ckpt.get("scaler"),
    )
    log(f"resuming '{opts.model}' from {last} after epoch {progress.epoch}")
    return model, progress


def load_init(model: DBDModel, path: Path, log: _Log) -> None:
    """Load ``--init`` weights: all of them from the same model, the shared ones from another.

    A model that shares the BTBNet streams shares all of them (the same module names), so a
    ``btbnet`` checkpoint gives ``btbcrl`` its whole fixed part for ``--freeze btbnet``.

    Raises
    ------
    DbdError
        Another preset, or a model sharing no parameter.
    """
    ckpt = read_checkpoint(path, "--init")
    source = model_from_checkpoint(ckpt, path, None, "--init")
    if any(getattr(source.preset, f) != getattr(model.preset, f) for f in _SHAPE_FIELDS):
        raise DbdError(f"--init '{path}' was trained with another preset; use the same --preset")
    weights = source.state_dict()
    if source.name == model.name:
        model.load_state_dict(weights)
        log(f"initialised '{model.name}' from {path}")
        return
    own = model.state_dict()
    shared = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    if not shared:
        raise DbdError(
            f"--init '{path}' holds a '{source.name}' model, which shares no parameters with "
            f"'{model.name}'; give a checkpoint of '{model.name}' or of its BTBNet ('btbnet')"
        )
    model.load_state_dict(shared, strict=False)
    log(f"initialised {len(shared)} of {len(own)} tensors of '{model.name}' from '{source.name}' in {path}")


def new_run(opts: TrainOptions, preset: Preset, log: _Log) -> tuple[DBDModel, _Progress]:
    """A seeded new model with the ``backbone_weights`` and ``init`` weights loaded."""
    torch.manual_seed(opts.seed)
    model = build_model(opts.model, preset)
    if opts.backbone_weights is not None:
        state = read_vgg16_state(opts.backbone_weights)
        for backbone in model.backbones():
            load_vgg16_weights(backbone, state, f"--backbone-weights '{opts.backbone_weights}'")
        log(
            f"loaded ImageNet VGG16 weights from {opts.backbone_weights} "
            f"into {len(model.backbones())} backbone(s)"
        )
    if opts.init is not None:
        load_init(model, opts.init, log)
    return model, _Progress()


def make_loader(
    dataset: TrainingSet, batch_size: int, ranks: Ranks, seed: int, workers: int, pin: bool
) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DistributedSampler]:
    """A loader of this rank's share of each epoch; call ``sampler.set_epoch`` before each epoch.

    The order is a permutation seeded by ``seed`` and the epoch, the same for every world size, so the
    samples a step of N processes sees together are those one process sees with N times the batch.
    """
    sampler = torch.utils.data.DistributedSampler(
        dataset, num_replicas=ranks.world, rank=ranks.rank, shuffle=True, seed=seed
    )
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, pin_memory=pin
    )
    return loader, sampler


@dataclass
class _Stepper:
    """One optimisation step: forward under autocast, summed loss, backward (scaled for fp16), Adam."""

    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    precision: str
    scaler: torch.amp.GradScaler | None

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        with autocast(self.precision, self.device):
            outputs = self.net(x)
        loss = deep_supervision_loss([o.float() for o in outputs], y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return float(loss.detach().item())


def save_epoch(
    out: Path, model: DBDModel, progress: _Progress, stepper: _Stepper, opts: TrainOptions, full: bool
) -> Path:
    """Write ``last.pt`` (and ``epoch-NNN.pt`` after a full epoch) and the loss files."""
    extra = {
        "epoch": progress.epoch,
        "step": progress.step,
        "optimizer": stepper.optimizer.state_dict(),
        "history": progress.history,
        "seed": opts.seed,
        "freeze": opts.freeze,
    }
    if stepper.scaler is not None:
        extra["scaler"] = stepper.scaler.state_dict()
    if full:
        save_checkpoint(out / f"epoch-{progress.epoch:03d}.pt", model, **extra)
    path = save_checkpoint(out / "last.pt", model, **extra)
    write_loss_files(out, progress.history)
    return path


class _Clock:
    """Training time of this run, agreed on by every process after each step."""

    def __init__(self, limit_minutes: float | None, before: float = 0.0):
        self.t0 = time.monotonic()
        self.limit = None if limit_minutes is None else limit_minutes * 60.0
        self.synced = 0.0  # the largest elapsed time over the processes at the last step
        self.before = before  # training seconds of the run before a resume (the loss.csv clock)

    def local(self) -> float:
        return time.monotonic() - self.t0

    def fraction(self) -> float | None:
        return None if self.limit is None else self.synced / self.limit

    def expired(self) -> bool:
        return self.limit is not None and self.synced >= self.limit


def run_epoch(
    loader: torch.utils.data.DataLoader,
    stepper: _Stepper,
    state: _Progress,
    epoch: int,
    schedule: tuple[float, int, int],
    clock: _Clock,
    ranks: Ranks,
    progress: bool | None,
) -> tuple[list[float], bool]:
    """Train one epoch (or until the time limit); return its step losses and whether time ran out.

    ``schedule`` is (base learning rate, total steps of the run, total epochs).
    """
    from tqdm.auto import tqdm

    base_lr, total_steps, epochs = schedule
    bar = tqdm(
        total=len(loader),
        desc=f"epoch {epoch + 1}/{epochs}",
        unit="batch",
        leave=False,
        disable=True if not ranks.main else ((not progress) if progress is not None else None),
        dynamic_ncols=True,
    )
    losses = []
    timed_out = False
    for x, y, _names in loader:
        lr = cosine_lr(base_lr, state.step / total_steps, clock.fraction())
        loss, clock.synced = distributed.mean_and_max(ranks, stepper(x, y, lr), clock.local())
        state.step += 1
        losses.append(loss)
        state.history.append((epoch + 1, state.step, loss, round(clock.before + clock.synced, 3), lr))
        bar.set_postfix(loss=f"{loss:.4f}")
        bar.update(1)
        if not math.isfinite(loss):
            bar.close()
            raise DbdError(f"the loss became {loss} at step {state.step}; lower --lr")
        if clock.expired():
            timed_out = True
            break
    bar.close()
    return losses, timed_out


def train(
    opts: TrainOptions,
    sources: Sequence[DatasetIndex],
    echo: Callable[[str], None] | None = _stderr,
    progress: bool | None = None,
) -> TrainResult:
    """Train a model on pairs and write checkpoints, the loss curve and a log to ``opts.out``.

    Under ``torchrun`` every process calls this; they train one DistributedDataParallel model.

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
    preset = effective_preset(opts)
    epochs = check_options(opts, preset)
    ranks = distributed.ranks_from_env()
    device = resolve_device(opts.device, ranks)
    check_precision(opts.precision, device)
    last = prepare_out(opts, ranks)
    created = distributed.start(ranks, device)
    try:
        log = _Log(last.parent / "train.log" if ranks.main else None, echo)
        model, state = resume_run(opts, last, log) if opts.resume else new_run(opts, preset, log)
        result = _train_model(opts, sources, model, state, epochs, ranks, device, log, progress)
    except BaseException:
        distributed.stop(created, clean=False)
        raise
    distributed.stop(created)
    return result


def _train_model(
    opts: TrainOptions,
    sources: Sequence[DatasetIndex],
    model: DBDModel,
    state: _Progress,
    epochs: int,
    ranks: Ranks,
    device: torch.device,
    log: _Log,
    progress: bool | None,
) -> TrainResult:
    preset = model.preset
    trainable = model.freeze(opts.freeze)
    model.to(device).train()
    net = model
    if ranks.distributed:
        ids = [device.index] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=preset.lr)
    if state.optimizer is not None:
        optimizer.load_state_dict(state.optimizer)
    scaler = torch.amp.GradScaler("cuda") if opts.precision == "fp16" else None
    if scaler is not None and state.scaler:
        scaler.load_state_dict(state.scaler)
    stepper = _Stepper(net, optimizer, device, opts.precision, scaler)

    dataset = TrainingSet(sources, preset.train_size, preset.crop, seed=opts.seed)
    loader, sampler = make_loader(
        dataset, preset.batch_size, ranks, opts.seed, opts.workers, pin=device.type == "cuda"
    )
    schedule = (preset.lr, epochs * len(loader), epochs)
    log(
        f"training '{opts.model}' (preset {opts.preset}, {trainable:,} of "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, --freeze {opts.freeze}) on "
        f"{len(dataset)} pairs, epochs {state.epoch + 1}..{epochs}, batch {preset.batch_size} x "
        f"{ranks.world} process(es), lr {preset.lr:g}, seed {opts.seed}, device {device}, {opts.precision}"
    )
    clock = _Clock(opts.max_minutes, state.history[-1][3] if state.history else 0.0)
    stopped = "epochs"
    ckpt_path = Path(opts.out) / "last.pt"
    start_epoch = state.epoch
    for epoch in range(start_epoch, epochs):
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        losses, timed_out = run_epoch(loader, stepper, state, epoch, schedule, clock, ranks, progress)
        state.epoch = epoch + (0 if timed_out else 1)
        if ranks.main:
            ckpt_path = save_epoch(Path(opts.out), model, state, stepper, opts, full=not timed_out)
        log(
            f"epoch {epoch + 1}: mean loss {sum(losses) / max(len(losses), 1):.4f} over {len(losses)} "
            f"steps, {state.history[-1][3] if state.history else 0:.0f} s"
        )
        if timed_out:
            stopped = "time"
            log(f"stopped after --max-minutes {opts.max_minutes:g} in epoch {epoch + 1}; saved {ckpt_path}")
            break
    if start_epoch >= epochs:
        log(f"nothing to do: the run already completed {start_epoch} epochs (raise --epochs)")
    distributed.barrier(ranks)
    model.eval()
    return TrainResult(model, ckpt_path, state.epoch, state.history, stopped)
