"""Training loop of BTBNet / BTBCRL and of a user's network: seeded, resumable, step budgets.

Zhao et al., CVPR 2018 (BTBNet) and IEEE TPAMI 2020 (BTBCRL) train the networks with the summed
pixel-wise losses of every supervised output (:mod:`.losses`); their strategies (pre-train on simulated
data, fine-tune on CUHK, then on CUHK + DUT; train CRLNet with BTBNet fixed) are sequences of runs
linked by ``init`` and ``freeze`` (docs/deep.md lists the commands).

The learning rate is a function of the optimisation step alone (a cosine over the steps planned for
``epochs``), so a run stopped by ``max_steps``, ``max_minutes`` or a kill and resumed from
``last.pt`` ends with the weights of the uninterrupted run of the same step count: ``last.pt``
holds the position in the epoch's sample order, the global RNG state and the optimiser state.

One process, or several under ``torchrun`` with DistributedDataParallel (:mod:`.distributed`): every
rank draws its share of each epoch with a DistributedSampler seeded by ``seed`` and the epoch,
``batch_size`` is per process, and rank 0 writes the output folder::

    last.pt                 the latest state (``--resume`` continues from it; with the optimiser)
    epoch-NNN.pt            weights after epoch NNN (the last ``keep``; optimiser state on request)
    step-NNNNNNN.pt         weights every ``save_every`` steps (counted with the epoch files)
    best.pt                 weights of the lowest held-out loss (with a validation set)
    loss.csv                epoch, step, loss, seconds, lr  (one row per optimisation step; the loss
                            is the mean over the processes)
    loss.png                the loss curve
    train.log               what happened, one line per event
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import re
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
from dbdbench.baselines.deep.models import (
    EXTERNAL,
    SCALED_MODELS,
    SCALES,
    DBDModel,
    Preset,
    build_model,
    get_preset,
)
from dbdbench.baselines.deep.vgg import load_vgg16_weights, read_vgg16_state
from dbdbench.datasets import DatasetIndex
from dbdbench.errors import DbdError

#: torch.hub names its files ``name-<first 8+ hex digits of the file's sha256>.ext`` (it checks that
#: with ``check_hash``): torchvision's ImageNet VGG16 file ``vgg16-397923af.pth`` hashes to this prefix.
TORCHVISION_VGG16_SHA256_PREFIX = "397923af"
#: Snapshot files a run writes (and deletes beyond ``keep``): epoch-NNN.pt and step-NNNNNNN.pt.
SNAPSHOT = re.compile(r"(epoch-\d{3,}|step-\d{7,})\.pt")
# Architecture fields of a preset: a checkpoint's weights fit only a model with the same ones.
_SHAPE_FIELDS = ("width", "min_channels", "refine_width", "refine_depth", "rr_steps")


#: What ``--resume`` takes from the checkpoint: a differing option given with it is an error.
_RUN_OPTIONS = ("lr", "batch_size", "train_size", "seed", "scales", "preset", "network")


@dataclass
class TrainOptions:
    """Options of :func:`train`.

    Attributes
    ----------
    model : str
        Model name (``dbdbench train --list-models``) or ``pkg.module:ClassOrFactory`` of a user's
        network (an ``nn.Module`` mapping (N, 3, H, W) in [0, 1] to a logit map or a list of them).
    out : Path
        Output folder.
    preset : str, optional
        ``tiny`` or ``paper`` (default ``tiny``; a resumed run takes its checkpoint's).
    epochs : int, optional
        Epochs the learning-rate schedule is planned for (default: the preset's; a resumed run:
        its checkpoint's).
    max_steps : int, optional
        Stop when the run's global step reaches this (the schedule stays planned for ``epochs``).
    max_minutes : float, optional
        Stop after this much training time (a guard: it never changes the learning rate).
    seed : int, optional
        Seeds the initial weights, the data order and the augmentation (default 0).
    init : Path, optional
        Start from the weights of this checkpoint, e.g. pre-trained on simulated data; the optimiser
        and epoch count start afresh. A checkpoint of another model (same preset) gives the parameters
        both share, e.g. the BTBNet streams of a ``btbnet`` run for a ``btbcrl`` one.
    resume : bool
        Continue the run in ``out`` from ``out/last.pt``, from the exact sample it stopped at.
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
    scales : tuple of float, optional
        Stream scales of the multi-stream models and SCCRL (default 1, 0.8, 0.6; one CRLNet step per
        scale: ``(0.6,)`` is the 1-step CRLNet of the TPAMI ablation).
    freeze : str
        ``none``, ``backbone`` (fix the VGG16 backbones) or ``btbnet`` (train only the refinement
        network on the BTBNet given by ``init``, as the TPAMI ablations do).
    precision : str
        ``fp32``, ``bf16`` or ``fp16`` (autocast; ``fp16`` needs CUDA).
    loader_workers : int
        DataLoader worker processes per training process (0: load in the training process).
    save_every : int, optional
        Also write ``last.pt`` and a ``step-NNNNNNN.pt`` snapshot every this many steps.
    keep : int
        Snapshots (epoch and step files) kept, the newest; 0 keeps all.
    save_optimizer : bool
        Snapshots also hold the optimiser state (``last.pt`` always does).
    """

    model: str
    out: Path
    preset: str | None = None
    epochs: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    seed: int | None = None
    init: Path | None = None
    resume: bool = False
    backbone_weights: Path | None = None
    device: str = "auto"
    batch_size: int | None = None
    lr: float | None = None
    train_size: int | None = None
    scales: tuple[float, ...] | None = None
    freeze: str = "none"
    precision: str = "fp32"
    loader_workers: int = 0
    save_every: int | None = None
    keep: int = 2
    save_optimizer: bool = False


@dataclass
class TrainResult:
    """What :func:`train` did: the model, its last checkpoint, completed epochs, loss rows, stop reason.

    ``stopped`` is ``epochs`` (the planned steps are done), ``steps`` (``max_steps``) or ``time``
    (``max_minutes``); ``step`` is the global step reached.
    """

    model: DBDModel
    checkpoint: Path
    epochs: int
    history: list[tuple[int, int, float, float, float]]
    stopped: str
    step: int = 0


@dataclass
class _Progress:
    """Where a run stands: the position in the schedule and the sample order, and what resumes it."""

    epoch: int = 0  # completed epochs
    epoch_step: int = 0  # batches done in epoch ``epoch``
    step: int = 0
    history: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    optimizer: dict | None = None
    scaler: dict | None = None
    rng: dict | None = None
    snapshots: list[str] = field(default_factory=list)
    best: tuple[float, int] | None = None  # (held-out loss, step)
    record: dict = field(default_factory=dict)  # seed, run options, backbone_init, ...


def _model_name(opts: TrainOptions) -> tuple[str, str | None]:
    """(model name, network spec): a ``pkg.module:attr`` is the ``torch`` model with that network."""
    if ":" in opts.model:
        return EXTERNAL, opts.model
    return opts.model, None


def effective_preset(opts: TrainOptions) -> Preset:
    """The preset with the overrides of ``opts`` (DbdError for out-of-range values)."""
    preset = get_preset(opts.preset or "tiny")
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
    if opts.scales is not None:
        from dbdbench.baselines.deep.models import parse_scales

        preset = replace(preset, scales=parse_scales(opts.scales))
    return preset


def check_options(opts: TrainOptions) -> None:
    """Check the options that need no file."""
    if opts.epochs is not None and opts.epochs < 1:
        raise DbdError(f"--epochs must be at least 1, got {opts.epochs}")
    if opts.max_steps is not None and opts.max_steps < 1:
        raise DbdError(f"--max-steps must be at least 1, got {opts.max_steps}")
    if opts.max_minutes is not None and not opts.max_minutes > 0:
        raise DbdError(f"--max-minutes must be positive, got {opts.max_minutes}")
    if opts.save_every is not None and opts.save_every < 1:
        raise DbdError(f"--save-every must be at least 1, got {opts.save_every}")
    if opts.keep < 0:
        raise DbdError(f"--keep must be 0 (keep all) or more, got {opts.keep}")
    if opts.freeze not in FREEZE_PARTS:
        raise DbdError(f"unknown --freeze '{opts.freeze}'; choose one of: {', '.join(FREEZE_PARTS)}")
    if opts.freeze == "btbnet" and opts.init is None and not opts.resume:
        raise DbdError("--freeze btbnet trains the refinement on a fixed BTBNet: give it with --init FILE")
    if opts.precision not in PRECISIONS:
        raise DbdError(f"unknown --precision '{opts.precision}'; choose one of: {', '.join(PRECISIONS)}")
    if opts.loader_workers < 0:
        raise DbdError(f"--loader-workers must be 0 or more, got {opts.loader_workers}")
    name = _model_name(opts)[0]
    if opts.scales is not None and name not in SCALED_MODELS:
        raise DbdError(
            f"--scales: model '{opts.model}' has one full-resolution stream; scales apply to "
            f"{', '.join(SCALED_MODELS)}"
        )
    if name == EXTERNAL:
        if opts.freeze != "none":
            raise DbdError(
                f"--freeze {opts.freeze} fixes part of a dbdbench model; not with --model {opts.model}"
            )
        if opts.backbone_weights is not None:
            raise DbdError(
                f"--backbone-weights loads dbdbench's VGG16 backbone; not with --model {opts.model}"
            )


def resolve_device(name: str, ranks: Ranks) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` as a torch.device (a process's own GPU under torchrun).

    Raises
    ------
    DbdError
        Any other device (``mps``, ``xpu``, ...: the training and prediction code is tested on CPU
        and CUDA only), CUDA without a GPU, or a GPU index PyTorch does not see.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise DbdError(f"--device '{name}' is not supported; use auto, cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DbdError(f"--device {name}: no CUDA device is available to PyTorch; use --device cpu")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DbdError(
            f"--device {name}: PyTorch sees {torch.cuda.device_count()} GPU(s) (cuda:0 ...); pick one of them"
        )
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


def cosine_lr(base: float, step: int, planned: int) -> float:
    """Learning rate of the step after ``step`` done steps: a cosine from ``base`` to 0 over ``planned``.

    A function of the step count alone: a time budget or an interruption does not change it.
    """
    progress = min(max(step / max(planned, 1), 0.0), 1.0)
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def write_loss_files(
    out: Path, history: Sequence[tuple[int, int, float, float, float]], plot: bool = True
) -> None:
    """Write ``loss.csv`` and (``plot``) ``loss.png`` (per-step loss and its per-epoch mean) atomically."""
    import io

    lines = ["epoch,step,loss,seconds,lr"] + [
        f"{e},{s},{loss:.6f},{t:.3f},{lr:.6g}" for e, s, loss, t, lr in history
    ]
    write_text_atomic(out / "loss.csv", "\n".join(lines) + "\n")
    if not plot:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dbdbench.atomic import write_bytes_atomic

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


def _run_record(preset: Preset, seed: int, network: str | None, preset_name: str) -> dict:
    """The options a resume must match, as the checkpoint records them."""
    return {
        "preset": preset_name,
        "lr": preset.lr,
        "batch_size": preset.batch_size,
        "train_size": preset.train_size,
        "seed": seed,
        "scales": list(preset.scales),
        "network": network,
    }


def _check_resume_options(opts: TrainOptions, record: dict, last: Path) -> None:
    """Run-changing options given with ``--resume`` must equal the checkpoint's, never be ignored."""
    from dbdbench.baselines.deep.models import parse_scales

    given = {
        "preset": opts.preset,
        "lr": opts.lr,
        "batch_size": opts.batch_size,
        "train_size": opts.train_size,
        "seed": opts.seed,
        "scales": None if opts.scales is None else list(parse_scales(opts.scales)),
    }
    if given["batch_size"] is None and record.get("world", 1) != record["_world"]:
        given["batch_size"] = record.get("batch_size")  # another process count changes the batch
    for key, value in given.items():
        if value is None or key not in record:
            continue
        want = record[key]
        if key == "batch_size":  # per process: the run's samples per step is what must not change
            value, want = value * record.get("_world", 1), want * record.get("world", 1)
        if value != want:
            flag = "--" + key.replace("_", "-")
            shown = ",".join(f"{v:g}" for v in record[key]) if key == "scales" else f"{record[key]}"
            world = record.get("world", 1)
            extra = f" per process x {world} processes" if key == "batch_size" and world > 1 else ""
            raise DbdError(
                f"--resume: {flag} differs from the run's {flag} {shown}{extra} in '{last}'; "
                f"drop {flag} (--resume takes it from the checkpoint) or start a new run"
            )


def resume_run(opts: TrainOptions, last: Path, log: _Log, ranks: Ranks) -> tuple[DBDModel, _Progress]:
    """Rebuild the model, optimiser state, RNG, sample position and loss history of the run in ``out``."""
    ckpt = read_checkpoint(last, "--resume checkpoint")
    if "optimizer" not in ckpt:
        raise DbdError(
            f"--resume: '{last}' holds weights without the optimiser state (a snapshot or an export); "
            "start a new run from it with --init FILE"
        )
    name, network = _model_name(opts)
    stored = ckpt.get("network") or ckpt.get("model")
    if (network or name) != stored:
        raise DbdError(
            f"--resume: '{last}' holds a '{stored}' model, not '{opts.model}'; use --model {stored}"
        )
    frozen = ckpt.get("freeze", "none")
    if frozen != opts.freeze:
        raise DbdError(f"--resume: the run in '{last.parent}' was started with --freeze {frozen}; pass that")
    record = dict(ckpt.get("run") or {})
    record.setdefault("seed", int(ckpt.get("seed", 0)))
    _check_resume_options(opts, {**record, "_world": ranks.world}, last)
    model = model_from_checkpoint(ckpt, last, name, "--resume checkpoint")
    progress = _Progress(
        epoch=int(ckpt.get("epoch", 0)),
        epoch_step=int(ckpt.get("epoch_step", 0)),
        step=int(ckpt.get("step", 0)),
        history=[tuple(h) for h in ckpt.get("history", [])],
        optimizer=ckpt.get("optimizer"),
        scaler=ckpt.get("scaler"),
        rng=ckpt.get("rng"),
        snapshots=list(ckpt.get("snapshots", [])),
        best=tuple(ckpt["best"]) if ckpt.get("best") else None,
        record={
            "seed": record["seed"],
            "run": {**record, "world": ranks.world},
            "backbone_init": ckpt.get("backbone_init", "unknown"),
            "epochs": int(ckpt.get("epochs", 0)) or None,
            "freeze": frozen,
        },
    )
    log(f"resuming '{opts.model}' from {last} at step {progress.step} (epoch {progress.epoch + 1}, "
        f"batch {progress.epoch_step + 1})")  # fmt: skip
    return model, progress


def load_init(model: DBDModel, path: Path, log: _Log) -> str:
    """Load ``--init`` weights: all of them from the same model, the shared ones from another.

    A model that shares the BTBNet streams shares all of them (the same module names), so a
    ``btbnet`` checkpoint gives ``btbcrl`` its whole fixed part for ``--freeze btbnet``.

    Returns
    -------
    str
        The init checkpoint's ``backbone_init`` (what the loaded weights descend from).

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
    origin = str(ckpt.get("backbone_init", "unknown"))
    if source.name == model.name and getattr(source, "network", None) == getattr(model, "network", None):
        try:
            model.load_state_dict(weights)
        except RuntimeError:
            raise DbdError(
                f"--init '{path}' has other shapes (another --scales?); use the same settings"
            ) from None
        log(f"initialised '{model.name}' from {path}")
        return origin
    own = model.state_dict()
    shared = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    if not shared:
        raise DbdError(
            f"--init '{path}' holds a '{source.name}' model, which shares no parameters with "
            f"'{model.name}'; give a checkpoint of '{model.name}' or of its BTBNet ('btbnet')"
        )
    model.load_state_dict(shared, strict=False)
    log(f"initialised {len(shared)} of {len(own)} tensors of '{model.name}' from '{source.name}' in {path}")
    return origin


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_backbones(model: DBDModel, path: Path, log: _Log) -> str:
    """Load a VGG16 state dict into every backbone; return ``imagenet:<sha256>`` or ``weights:<sha256>``.

    The file's contents are not checked to be ImageNet weights (random values with the same key
    names load as well): the log gives its sha256, and says whether it is that of torchvision's
    ImageNet file.
    """
    state = read_vgg16_state(path)
    for backbone in model.backbones():
        load_vgg16_weights(backbone, state, f"--backbone-weights '{path}'")
    sha = sha256_of(path)
    known = sha.startswith(TORCHVISION_VGG16_SHA256_PREFIX)
    verdict = (
        "the sha256 of torchvision's ImageNet file vgg16-397923af.pth"
        if known
        else f"not torchvision's ImageNet vgg16-397923af.pth, sha256 {TORCHVISION_VGG16_SHA256_PREFIX}..."
    )
    log(f"backbone: VGG16 state dict {path} (sha256 {sha}, {verdict}) in {len(model.backbones())} stream(s)")
    return f"{'imagenet' if known else 'weights'}:{sha}"


def new_run(opts: TrainOptions, preset: Preset, log: _Log) -> tuple[DBDModel, _Progress]:
    """A seeded new model with the ``backbone_weights`` and ``init`` weights loaded."""
    seed = 0 if opts.seed is None else opts.seed
    torch.manual_seed(seed)
    name, network = _model_name(opts)
    model = build_model(name, preset, network=network)
    init = "random"
    if opts.backbone_weights is not None:
        init = load_backbones(model, opts.backbone_weights, log)
    if opts.init is not None:
        init = load_init(model, opts.init, log)
    elif opts.backbone_weights is None and (opts.preset or "tiny") == "paper":
        log(
            "backbone: random (He) initial weights, no --backbone-weights; the papers start from "
            "ImageNet VGG16 (docs/deep.md says how to get the file)"
        )
    record = {
        "seed": seed,
        "run": _run_record(preset, seed, network, opts.preset or "tiny"),
        "backbone_init": init,
        "epochs": opts.epochs,
        "freeze": opts.freeze,
    }
    return model, _Progress(record=record)


class _Sampler(torch.utils.data.DistributedSampler):
    """DistributedSampler that can start an epoch ``skip`` samples in (a resumed run's position)."""

    skip = 0

    def __iter__(self):
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return self.num_samples - self.skip


def make_loader(
    dataset: TrainingSet, batch_size: int, ranks: Ranks, seed: int, workers: int, pin: bool
) -> tuple[torch.utils.data.DataLoader, _Sampler]:
    """A loader of this rank's share of each epoch; call ``sampler.set_epoch`` before each epoch.

    The order is a permutation seeded by ``seed`` and the epoch, the same for every world size, so the
    samples a step of N processes sees together are those one process sees with N times the batch.
    The loader has its own generator (worker seeds), so the global RNG serves only the model.
    """
    sampler = _Sampler(dataset, num_replicas=ranks.world, rank=ranks.rank, shuffle=True, seed=seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        generator=torch.Generator().manual_seed(seed),
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


def rng_state(device: torch.device) -> dict:
    """The global RNG states a model's random layers (dropout) draw from."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict | None, device: torch.device) -> None:
    if not state:
        return
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


@dataclass
class _Writer:
    """Rank 0's checkpoints: ``last.pt`` (resumable), snapshots (the newest ``keep``) and ``best.pt``."""

    out: Path
    model: DBDModel
    stepper: _Stepper
    opts: TrainOptions
    device: torch.device
    planned: int
    log: _Log

    def _extra(self, state: _Progress, full: bool) -> dict:
        extra = {
            "epoch": state.epoch,
            "epoch_step": state.epoch_step,
            "step": state.step,
            "planned_steps": self.planned,
            "epochs": state.record["epochs"],
            "seed": state.record["seed"],
            "run": state.record["run"],
            "freeze": state.record["freeze"],
            "backbone_init": state.record["backbone_init"],
        }
        if full:
            extra |= {
                "optimizer": self.stepper.optimizer.state_dict(),
                "rng": rng_state(self.device),
                "history": state.history,
                "snapshots": state.snapshots,
                "best": list(state.best) if state.best else None,
            }
            if self.stepper.scaler is not None:
                extra["scaler"] = self.stepper.scaler.state_dict()
        return extra

    def last(self, state: _Progress) -> Path:
        """Write ``last.pt`` and ``loss.csv`` (the plot is drawn once, when the run stops)."""
        path = save_checkpoint(self.out / "last.pt", self.model, **self._extra(state, full=True))
        write_loss_files(self.out, state.history, plot=False)
        return path

    def snapshot(self, state: _Progress, name: str) -> None:
        """Write a snapshot (weights; the optimiser too with ``save_optimizer``) and drop old ones."""
        save_checkpoint(self.out / name, self.model, **self._extra(state, full=self.opts.save_optimizer))
        state.snapshots = [n for n in state.snapshots if n != name] + [name]
        if self.opts.keep:
            old, state.snapshots = state.snapshots[: -self.opts.keep], state.snapshots[-self.opts.keep :]
            for stale in old:
                if SNAPSHOT.fullmatch(stale):  # only files of this run's naming, in its folder
                    (self.out / stale).unlink(missing_ok=True)

    def best(self, state: _Progress, loss: float) -> None:
        """Write ``best.pt`` when ``loss`` is the lowest held-out loss so far."""
        if state.best is None or loss < state.best[0]:
            state.best = (loss, state.step)
            save_checkpoint(self.out / "best.pt", self.model, **self._extra(state, full=False), val_loss=loss)
            self.log(f"step {state.step}: held-out loss {loss:.4f}, the best so far: saved best.pt")
        else:
            self.log(
                f"step {state.step}: held-out loss {loss:.4f} "
                f"(best {state.best[0]:.4f} at step {state.best[1]})"
            )


def held_out_loss(model: DBDModel, loader: torch.utils.data.DataLoader, device: torch.device) -> float:
    """Mean summed loss over the validation batches (eval mode, no gradients)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y, _names in loader:
            outs = model(x.to(device))
            total += float(deep_supervision_loss([o.float() for o in outs], y.to(device))) * len(x)
            count += len(x)
    model.train()
    return total / max(count, 1)


class _Clock:
    """Training time of this run, agreed on by every process after each step (a stop guard only)."""

    def __init__(self, limit_minutes: float | None, before: float = 0.0):
        self.t0 = time.monotonic()
        self.limit = None if limit_minutes is None else limit_minutes * 60.0
        self.synced = 0.0  # the largest elapsed time over the processes at the last step
        self.before = before  # training seconds of the run before a resume (the loss.csv clock)

    def local(self) -> float:
        return time.monotonic() - self.t0

    def expired(self) -> bool:
        return self.limit is not None and self.synced >= self.limit


def train(
    opts: TrainOptions,
    sources: Sequence[DatasetIndex],
    echo: Callable[[str], None] | None = _stderr,
    progress: bool | None = None,
    *,
    validation: Sequence[DatasetIndex] = (),
    on_step: Callable[[int], None] | None = None,
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
    validation : sequence of DatasetIndex
        Held-out pairs: their loss is computed at every snapshot and the best weights go to
        ``best.pt`` (the same crops and flips each time).
    on_step : callable, optional
        Called on rank 0 with the global step after every step, once that step's checkpoints are
        written (a hook for progress reports and tests).

    Returns
    -------
    TrainResult

    Raises
    ------
    DbdError
        Bad options, a finished run in ``out`` without ``resume``, a checkpoint of another model,
        options given with ``resume`` that differ from the run's.
    """
    check_options(opts)
    ranks = distributed.ranks_from_env()
    device = resolve_device(opts.device, ranks)
    check_precision(opts.precision, device)
    preset = effective_preset(opts)
    last = prepare_out(opts, ranks)
    created = distributed.start(ranks, device)
    try:
        log = _Log(last.parent / "train.log" if ranks.main else None, echo)
        model, state = resume_run(opts, last, log, ranks) if opts.resume else new_run(opts, preset, log)
        if opts.batch_size is not None and opts.resume:
            model.preset = replace(model.preset, batch_size=opts.batch_size)  # per process, same samples
        state.record["run"] |= {"batch_size": model.preset.batch_size, "world": ranks.world}
        result = _train_model(opts, sources, validation, model, state, ranks, device, log, progress, on_step)
    except BaseException:
        distributed.stop(created, clean=False)
        raise
    distributed.stop(created)
    return result


def _train_model(
    opts: TrainOptions,
    sources: Sequence[DatasetIndex],
    validation: Sequence[DatasetIndex],
    model: DBDModel,
    state: _Progress,
    ranks: Ranks,
    device: torch.device,
    log: _Log,
    progress: bool | None,
    on_step: Callable[[int], None] | None,
) -> TrainResult:
    preset = model.preset
    seed = state.record["seed"]
    epochs = opts.epochs or state.record.get("epochs") or preset.epochs
    state.record["epochs"] = epochs
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
    set_rng_state(state.rng, device)

    dataset = TrainingSet(sources, preset.train_size, preset.crop, seed=seed)
    loader, sampler = make_loader(
        dataset, preset.batch_size, ranks, seed, opts.loader_workers, pin=device.type == "cuda"
    )
    per_epoch = math.ceil(sampler.num_samples / preset.batch_size)
    planned = epochs * per_epoch
    target = planned if opts.max_steps is None else min(planned, opts.max_steps)
    val_loader = None
    if validation and ranks.main:
        val_set = TrainingSet(validation, preset.train_size, preset.crop, seed=seed)
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=preset.batch_size)
    writer = _Writer(Path(opts.out), model, stepper, opts, device, planned, log)
    log(
        f"training '{opts.model}' (preset {state.record['run']['preset']}, {trainable:,} of "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, --freeze {opts.freeze}"
        f"{_scales_note(model)}) on {len(dataset)} pairs, steps {state.step + 1}..{target} of {planned} "
        f"planned ({epochs} epochs x {per_epoch}), batch {preset.batch_size} x {ranks.world} process(es), "
        f"lr {preset.lr:g}, seed {seed}, device {device}, {opts.precision}, "
        f"backbone {state.record['backbone_init']}"
    )
    if opts.precision == "bf16" and device.type == "cpu":
        log(
            "--precision bf16 on the CPU is slower than fp32 (several times, without bf16 hardware); "
            "use fp32 there"
        )
    clock = _Clock(opts.max_minutes, state.history[-1][3] if state.history else 0.0)
    stopped = "epochs" if state.step < target or target == planned else "steps"
    ckpt_path = Path(opts.out) / "last.pt"
    saved_at = state.step if opts.resume else -1
    if state.step >= target:
        log(f"nothing to do: the run is at step {state.step} (raise --max-steps or --epochs)")
    while state.step < target:
        epoch = state.epoch
        dataset.set_epoch(epoch)
        sampler.set_epoch(epoch)
        sampler.skip = min(state.epoch_step * preset.batch_size, sampler.num_samples)
        losses, stop = _run_epoch(
            loader, stepper, state, epochs, per_epoch, planned, target, clock, ranks, progress, writer,
            val_loader, on_step,
        )  # fmt: skip
        saved_at = state.step if losses and (state.epoch_step == 0 or _due(opts, state.step)) else saved_at
        if losses:
            log(
                f"epoch {epoch + 1}: mean loss {sum(losses) / len(losses):.4f} over {len(losses)} steps "
                f"(to step {state.step}), {state.history[-1][3]:.0f} s"
            )
        if stop:
            stopped = stop
            break
    if ranks.main:
        if saved_at != state.step:
            ckpt_path = writer.last(state)
        write_loss_files(Path(opts.out), state.history)
    if stopped == "time":
        log(
            f"stopped by --max-minutes {opts.max_minutes:g} at step {state.step} of {planned}; "
            f"saved {ckpt_path}"
        )
    elif stopped == "steps":
        log(f"stopped by --max-steps {opts.max_steps} at step {state.step} of {planned}; saved {ckpt_path}")
    distributed.barrier(ranks)
    model.eval()
    return TrainResult(model, ckpt_path, state.epoch, state.history, stopped, state.step)


def _scales_note(model: DBDModel) -> str:
    return "" if model.scales in ((1.0,), SCALES) else f", scales {','.join(f'{s:g}' for s in model.scales)}"


def _due(opts: TrainOptions, step: int) -> bool:
    return opts.save_every is not None and step % opts.save_every == 0


def _run_epoch(
    loader, stepper, state, epochs, per_epoch, planned, target, clock, ranks, progress, writer, val_loader,
    on_step,
) -> tuple[list[float], str | None]:  # fmt: skip
    """Train the rest of epoch ``state.epoch``; return its step losses and why it stopped early, if it did.

    After each step: a full epoch writes ``epoch-NNN.pt`` and ``last.pt``, every ``save_every``
    steps ``step-NNNNNNN.pt`` and ``last.pt``; then ``on_step``; then ``max_steps`` and the time
    guard are checked.
    """
    from tqdm.auto import tqdm

    base_lr = writer.model.preset.lr
    bar = tqdm(
        total=per_epoch,
        initial=state.epoch_step,
        desc=f"epoch {state.epoch + 1}/{epochs}",
        unit="batch",
        leave=False,
        disable=True if not ranks.main else ((not progress) if progress is not None else None),
        dynamic_ncols=True,
    )
    losses = []
    stop = None
    for x, y, _names in loader:
        lr = cosine_lr(base_lr, state.step, planned)
        loss, clock.synced = distributed.mean_and_max(ranks, stepper(x, y, lr), clock.local())
        state.step += 1
        state.epoch_step += 1
        epoch = state.epoch
        losses.append(loss)
        state.history.append((epoch + 1, state.step, loss, round(clock.before + clock.synced, 3), lr))
        bar.set_postfix(loss=f"{loss:.4f}")
        bar.update(1)
        if not math.isfinite(loss):
            bar.close()
            raise DbdError(f"the loss became {loss} at step {state.step}; lower --lr")
        if state.epoch_step >= per_epoch:
            state.epoch, state.epoch_step = epoch + 1, 0
        snapshot = f"epoch-{epoch + 1:03d}.pt" if state.epoch_step == 0 else None
        if snapshot is None and _due(writer.opts, state.step):
            snapshot = f"step-{state.step:07d}.pt"
        if snapshot and ranks.main:
            writer.snapshot(state, snapshot)
            if val_loader is not None:
                writer.best(state, held_out_loss(writer.model, val_loader, writer.device))
            writer.last(state)
        if on_step is not None and ranks.main:
            on_step(state.step)
        if state.step >= target:
            stop = "steps" if target < planned else None
            break
        if clock.expired():
            stop = "time"
            break
    bar.close()
    return losses, stop
