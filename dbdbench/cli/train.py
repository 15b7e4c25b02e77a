"""`dbdbench train`: train BTBNet / BTBCRL models (Zhao et al., CVPR 2018; IEEE TPAMI 2020)."""

from __future__ import annotations

import click

from dbdbench.baselines.deep.catalog import FREEZE_PARTS, PRECISIONS, PRESET_NAMES
from dbdbench.cli import options


@click.command(name="train", context_settings={"show_default": True})
@click.option("--model", "model", metavar="NAME", help="Model to train (see --list-models).")
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
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="tiny", help="Network size and recipe.")
@click.option(
    "--init", type=click.Path(dir_okay=False, path_type=str), help="Start from this checkpoint's weights."
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt.")
@click.option(
    "--epochs", type=click.IntRange(min=1), help="Total epochs [default: the preset's: tiny 30, paper 10]."
)
@click.option(
    "--max-minutes",
    type=options.FiniteFloat(min=0, min_open=True),
    help="Stop (with a checkpoint) after this much training time.",
)
@options.seed("Seed of the weights, data order and augmentation.")
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
    "--threads", type=click.IntRange(min=1), help="PyTorch CPU threads [default: PyTorch's choice]."
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    help="DataLoader worker processes that read and augment images for each training process "
    "(0: in the training process). Multi-GPU / multi-node runs use torchrun, not this option.",
)
def command(
    model, list_models, data, datasets, roots, splits, out, preset, init, resume, epochs, max_minutes, seed,
    backbone_weights, freeze, device, precision, batch_size, lr, train_size, threads, workers,
):  # fmt: skip
    """Train a BTBNet / BTBCRL defocus blur detector on image + mask pairs.

    Writes OUT/last.pt, OUT/epoch-NNN.pt, OUT/loss.csv, OUT/loss.png and OUT/train.log. The paper's
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
    if not model:
        raise DbdError("--model is required; see dbdbench train --list-models")
    if model not in MODELS:
        raise DbdError(f"unknown --model '{model}'; choose one of: {', '.join(MODELS)}")
    if not out:
        raise DbdError("--out is required: the folder for checkpoints and logs")
    if not data and not datasets:
        raise DbdError("give training data: --data DIR (image/ + gt/) or --dataset NAME --root DIR")
    if len(roots) != len(datasets):
        raise DbdError(f"give one --root per --dataset ({len(datasets)} --dataset, {len(roots)} --root)")
    if splits and len(splits) not in (1, len(datasets)):
        raise DbdError("give one --split for all datasets or one per --dataset")
    from dbdbench.outputs import check_apart

    check_apart(out, [("--data", d) for d in data] + [("--root", r) for r in roots])
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
    opts = TrainOptions(
        model=model,
        out=Path(out),
        preset=preset,
        epochs=epochs,
        max_minutes=max_minutes,
        seed=seed,
        init=Path(init) if init else None,
        resume=resume,
        backbone_weights=Path(backbone_weights) if backbone_weights else None,
        device=device,
        batch_size=batch_size,
        lr=lr,
        train_size=train_size,
        freeze=freeze,
        precision=precision,
        workers=workers,
    )
    result = train(opts, sources, echo=lambda msg: click.echo(msg, err=True))
    click.echo(f"{result.checkpoint}")
