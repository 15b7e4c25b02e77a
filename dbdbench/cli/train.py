"""`dbdbench train`: train BTBNet / BTBCRL models (Zhao et al., CVPR 2018; IEEE TPAMI 2020) or your own."""

from __future__ import annotations

import os

import click

from dbdbench.baselines.deep.catalog import FREEZE_PARTS, PRECISIONS, PRESET_NAMES
from dbdbench.cli import options


@click.command(name="train", context_settings={"show_default": True})
@click.option(
    "--model",
    "model",
    metavar="NAME|pkg.module:Factory",
    help="Model to train (see --list-models), or your own nn.Module class or factory function "
    "(its module on PYTHONPATH) mapping an image batch to a logit map or a list of them.",
)
@click.option("--list-models", is_flag=True, help="List the trainable models and exit.")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder with image/ and gt/ (white = in-focus), e.g. from generate-sim. Repeatable.",
)
@click.option("--dataset", "datasets", multiple=True, metavar="NAME", help="Named real dataset. Repeatable.")
@click.option("--root", "roots", multiple=True, metavar="DIR", help="Folder of each --dataset, in order.")
@click.option(
    "--split", "splits", multiple=True, metavar="S", help="Split of each --dataset (or one for all)."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=str), help="Output folder for checkpoints and logs."
)
@click.option(
    "--preset",
    type=click.Choice(PRESET_NAMES),
    help="Network size and recipe [default: tiny; --resume: the run's].",
)
@click.option(
    "--init", type=click.Path(dir_okay=False, path_type=str), help="Start from this checkpoint's weights."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt.")
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help="Epochs the learning-rate schedule is planned for [default: the preset's: tiny 30, paper 10; "
    "--resume: the run's].",
)
@click.option(
    "--max-steps",
    type=click.IntRange(min=1),
    help="Stop (with a resumable last.pt) when the run's step count reaches this; the schedule stays "
    "planned for --epochs, and --resume --max-steps M goes on to M.",
)
@click.option(
    "--max-minutes",
    type=options.FiniteFloat(min=0, min_open=True),
    help="Stop (with a resumable last.pt) after this much training time; never changes the learning rate.",
)
@options.seed("Seed of the weights, data order and augmentation [default: 0; --resume: the run's].", None)
@click.option(
    "--backbone-weights",
    type=click.Path(dir_okay=False, path_type=str),
    help="Local torchvision VGG16 state dict (features.0.weight ... features.28.bias); paper preset.",
)
@click.option(
    "--freeze",
    type=click.Choice(FREEZE_PARTS),
    default="none",
    help="Fix part of the network: the VGG16 backbones, or the whole BTBNet (train only the "
    "refinement network on the BTBNet given by --init, as the TPAMI ablations do).",
)
@click.option(
    "--device",
    default="auto",
    metavar="auto|cpu|cuda",
    help="auto: CUDA when PyTorch sees a GPU, else the CPU (cuda:N also works; under torchrun each "
    "process takes the GPU of its local rank).",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="fp32",
    help="Autocast the forward pass to bfloat16 or float16 (fp16 with loss scaling, CUDA only).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Override the preset's batch size (per process under torchrun).",
)
@click.option(
    "--lr",
    type=options.FiniteFloat(min=0, min_open=True),
    help="Override the preset's initial Adam learning rate.",
)
@click.option(
    "--train-size",
    type=click.IntRange(min=16),
    help="Override the preset's training input side (tiny 64, paper 320).",
)
@click.option(
    "--scales",
    metavar="S1,S2,...",
    help="Stream scales, one BTBNet stream and one CRLNet step each [default: 1,0.8,0.6]: 0.8,0.6 is "
    "the 2-step and 0.6 the 1-step CRLNet of the TPAMI ablation.",
)
@click.option(
    "--val-data",
    multiple=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Held-out folder (image/ + gt/): its loss at every snapshot picks best.pt. Repeatable.",
)
@click.option(
    "--save-every",
    type=click.IntRange(min=1),
    help="Also write last.pt and a step-NNNNNNN.pt snapshot every N steps.",
)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=2,
    help="Snapshots (epoch-NNN.pt, step-NNNNNNN.pt) kept, the newest; 0 keeps all.",
)
@click.option(
    "--save-optimizer", is_flag=True, help="Snapshots also hold the Adam state (last.pt always does)."
)
@click.option(
    "--threads", type=click.IntRange(min=1), help="PyTorch CPU threads [default: PyTorch's choice]."
)
@click.option(
    "--loader-workers",
    type=click.IntRange(min=0),
    default=0,
    help="DataLoader worker processes that read and augment images for each training process "
    "(0: in the training process). Multi-GPU / multi-node runs use torchrun, not this option.",
)
@click.option("--workers", "old_workers", hidden=True, help="Renamed --loader-workers.")
# one writer per --out: under torchrun rank 0 holds it for the whole job (the other ranks write nothing)
@options.one_writer(folders=("out",) if os.environ.get("RANK", "0") == "0" else ())
def command(
    model, list_models, data, datasets, roots, splits, out, preset, init, resume, epochs, max_steps,
    max_minutes, seed, backbone_weights, freeze, device, precision, batch_size, lr, train_size, scales,
    val_data, save_every, keep, save_optimizer, threads, loader_workers, old_workers,
):  # fmt: skip
    """Train a BTBNet / BTBCRL defocus blur detector on image + mask pairs.

    Writes OUT/last.pt (resumable), OUT/epoch-NNN.pt (weights; the last --keep), OUT/loss.csv,
    OUT/loss.png and OUT/train.log (and OUT/best.pt with --val-data). The paper's
    strategies (train on CUHK; pre-train on simulated data, then fine-tune with --init; train CRLNet
    on a fixed BTBNet with --freeze btbnet) are listed in docs/deep.md. Use a checkpoint with:
    dbdbench predict --method NAME --checkpoint OUT/last.pt.

    \b
    Several GPUs or nodes: launch with torchrun (DistributedDataParallel), e.g.
      torchrun --nproc_per_node 4 -m dbdbench train --model btbcrl --preset paper ...
    Rank 0 writes OUT; --batch-size is per process.
    """
    from pathlib import Path

    from dbdbench.baselines.deep.catalog import MODELS
    from dbdbench.errors import DbdError

    if list_models:
        width = max(len(n) for n in MODELS)
        for name, (description, citation) in MODELS.items():
            click.echo(f"{name:<{width}}  {description} [{citation}]")
        return
    if old_workers is not None:
        raise DbdError(
            "train's --workers is now --loader-workers (DataLoader processes per training process)"
        )
    if not model:
        raise DbdError("--model is required; see dbdbench train --list-models")
    if model not in MODELS and ":" not in model:
        raise DbdError(
            f"unknown --model '{model}'; choose one of: {', '.join(MODELS)}, or pkg.module:Factory"
        )
    if not out:
        raise DbdError("--out is required: the folder for checkpoints and logs")
    if not data and not datasets:
        raise DbdError("give training data: --data DIR (image/ + gt/) or --dataset NAME --root DIR")
    if len(roots) != len(datasets):
        raise DbdError(f"give one --root per --dataset ({len(datasets)} --dataset, {len(roots)} --root)")
    if splits and len(splits) not in (1, len(datasets)):
        raise DbdError("give one --split for all datasets or one per --dataset")
    from dbdbench.outputs import check_apart

    check_apart(out, [("--data", d) for d in [*data, *val_data]] + [("--root", r) for r in roots])
    try:
        import torch
    except ModuleNotFoundError:
        raise DbdError("dbdbench train needs PyTorch: pip install 'dbdbench[deep]'") from None
    from dbdbench.baselines.deep.data import training_sources
    from dbdbench.baselines.deep.train import TrainOptions, train

    if threads is not None:
        torch.set_num_threads(threads)
    named = [
        (name, root, (splits[k] if len(splits) > 1 else splits[0]) if splits else None)
        for k, (name, root) in enumerate(zip(datasets, roots, strict=True))
    ]
    sources = training_sources(data, named)
    validation = training_sources(val_data) if val_data else ()
    opts = TrainOptions(
        model=model,
        out=Path(out),
        preset=preset,
        epochs=epochs,
        max_steps=max_steps,
        max_minutes=max_minutes,
        seed=seed,
        init=Path(init) if init else None,
        resume=resume,
        backbone_weights=Path(backbone_weights) if backbone_weights else None,
        device=device,
        batch_size=batch_size,
        lr=lr,
        train_size=train_size,
        scales=scales,
        freeze=freeze,
        precision=precision,
        loader_workers=loader_workers,
        save_every=save_every,
        keep=keep,
        save_optimizer=save_optimizer,
    )
    result = train(opts, sources, echo=lambda msg: click.echo(msg, err=True), validation=validation)
    click.echo(f"{result.checkpoint}")
