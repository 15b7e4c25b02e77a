"""`dbdbench datasets`: list the registered datasets, verify a dataset folder, export it canonically."""

from __future__ import annotations

import sys

import click

from dbdbench.cli import options


@click.group(name="datasets", context_settings={"help_option_names": ["-h", "--help"]})
def command():
    """Real DBD datasets: list them, check a downloaded copy, export it as image/ + gt/ (white = in-focus)."""


@command.command(name="list")
def list_cmd():
    """List the registered datasets: images per split, GT polarity as distributed, citation."""
    from dbdbench.datasets.registry import list_specs

    rows = []
    for spec in list_specs():
        counts = ", ".join(
            f"{sp.name} {sp.count if sp.count is not None else '?'}" for sp in spec.splits.values()
        )
        white = "in-focus" if spec.polarity == "focus-white" else "blurred"
        rows.append((spec.name, counts, f"white = {white}", spec.citation))
    heads = ("dataset", "splits (images)", "GT as distributed", "citation")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads[:3])]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    click.echo(fmt.format(*heads))
    for r in rows:
        click.echo(fmt.format(*r))


_root = click.option(
    "--root",
    required=True,
    type=click.Path(file_okay=True, dir_okay=True, path_type=str),
    help="Dataset folder (the one holding image/ + gt/ or the dataset's own folders).",
)
_split = click.option(
    "--split", default=None, help="Split (default: the dataset's first; see 'datasets list')."
)


@command.command(name="verify")
@click.argument("name")
@_root
@_split
@options.workers()
@options.scheduler
def verify_cmd(name, root, split, workers, scheduler):
    """Check a dataset folder: layout, counts, names, sizes, binary masks and their polarity.

    Prints a report; exits 1 when anything is wrong, 2 when the folder cannot be read as NAME.
    """
    from dbdbench.datasets.verify import verify

    report = verify(name, root, split, workers=workers, scheduler=scheduler)
    click.echo(report.render())
    if not report.ok:
        sys.exit(1)


@command.command(name="export")
@click.argument("name")
@_root
@click.option("--out", required=True, type=click.Path(path_type=str), help="Output folder (image/ + gt/).")
@_split
@options.overwrite("Replace an export written before: its image/ and gt/ files are removed first.")
@options.workers()
@options.scheduler
@options.one_writer()
def export_cmd(name, root, out, split, overwrite, workers, scheduler):
    """Write a dataset split as OUT/image/<name>.<ext> + OUT/gt/<name>.png with in-focus = white.

    OUT must be new or empty (or pass --overwrite): two exports in one folder would mix two datasets.
    """
    from dbdbench.datasets.export import export_dataset

    n_masks, n_images = export_dataset(
        name, root, out, split, workers=workers, scheduler=scheduler, overwrite=overwrite
    )
    click.echo(f"wrote {n_masks} masks (white = in-focus) and {n_images} photos to {out}")
