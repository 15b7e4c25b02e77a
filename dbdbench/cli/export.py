"""`dbdbench export`: a trained model's weights alone, or a TorchScript module (Zhao et al. models)."""

from __future__ import annotations

from pathlib import Path

import click

from dbdbench.cli import options


@click.command(name="export")
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .pt file written by dbdbench train (e.g. OUT/last.pt).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pt", "torchscript", "onnx"]),
    default="pt",
    show_default=True,
    help="pt: weights without the optimiser state (for predict --checkpoint); torchscript: a traced "
    "module, image in [0, 1] to in-focus probability, for torch.jit.load; onnx: not available (see "
    "docs/deep.md).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option(
    "--size",
    metavar="HxW",
    help="Input size the TorchScript trace is made for [default: the preset's training size].",
)
@options.overwrite("Replace --out if it exists.")
def command(checkpoint, fmt, out, size, overwrite):
    """Export a trained BTBNet / BTBCRL model (or your own network) from a training checkpoint.

    \b
    Examples:
      dbdbench export --checkpoint runs/crl/last.pt --out btbcrl.pt
      dbdbench export --checkpoint runs/crl/last.pt --format torchscript --size 320 --out btbcrl.ts
    """
    from dbdbench.errors import DbdError

    if out.exists() and not overwrite:
        raise DbdError(f"--out '{out}' already exists; pass --overwrite to replace it")
    if out.resolve() == checkpoint.resolve():
        raise DbdError(f"--out '{out}' is the --checkpoint itself; choose another file")
    try:
        from dbdbench.baselines.deep.export import export_model
    except ModuleNotFoundError:
        raise DbdError("dbdbench export needs PyTorch: pip install 'dbdbench[deep]'") from None
    written = export_model(checkpoint, out, fmt, size)
    click.echo(f"wrote {written} ({fmt}, {written.stat().st_size / 2**20:.1f} MiB)")
