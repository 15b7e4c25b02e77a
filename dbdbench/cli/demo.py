"""`dbdbench demo`: generate a small simulated set, run the fast baselines, evaluate, build a leaderboard."""

from __future__ import annotations

import click

from dbdbench.cli import options
from dbdbench.pipeline import DEEP_EPOCHS, run_demo


@click.command(name="demo")
@click.option(
    "--out", default="demo-out", show_default=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option("--count", default=24, show_default=True, type=click.IntRange(2), help="Simulated images.")
@click.option(
    "--size", default=160, show_default=True, type=click.IntRange(32, 4096), help="Image side in pixels."
)
@options.seed("Seed of the whole run.")
@click.option(
    "--methods", default=None, metavar="M,...", help="Detectors to run (default: the fast classical ones)."
)
@click.option(
    "--deep-epochs",
    default=DEEP_EPOCHS,
    show_default=True,
    type=click.IntRange(0),
    help="Epochs of the tiny BTBCRL trained for the btbcrl row (needs PyTorch; 0: no deep row).",
)
@options.overwrite("Run again into a non-empty --out, replacing what an earlier run wrote there.")
@options.workers("Worker processes.")
@options.one_writer()
def command(out, count, size, seed, methods, deep_epochs, overwrite, workers):
    """Run the whole pipeline on built-in data: generate a small simulated set (BTBNet recipe), run
    the fast baselines, train the tiny BTBCRL on another simulated set (with PyTorch), evaluate them
    under every protocol, and build the leaderboard. Takes about a minute and a half on two cores;
    prints where everything is.
    """
    from dbdbench.outputs import check_output_folder

    check_output_folder(out, overwrite=overwrite)

    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    run = run_demo(
        out, count=count, size=size, seed=seed, methods=names, workers=workers, deep_epochs=deep_epochs,
        log=click.echo,
    )  # fmt: skip
    click.echo(f"done in {sum(run.seconds.values()):.0f} s; open {run.page.resolve().as_uri()}")
