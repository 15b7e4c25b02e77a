"""Options shared by several commands (``--workers``, ``--scheduler``, ``--seed``, ``--overwrite``, mask
polarity, finite numbers): one spelling, type, range and help.

Every numeric option is range-checked by click before any work starts (exit 2, one ``Error:`` line).

Not a command: :data:`dbdbench.cli.COMMANDS` lists the command modules.
"""

from __future__ import annotations

import math

import click

#: Largest accepted seed (the 32-bit range every random generator used here accepts).
MAX_SEED = 2**32 - 1


def workers(help: str = "Local worker processes."):
    """``--workers N`` (default 1, at least 1; checked before any work starts).

    More workers than tasks are never started; more than the CPU cores gives a one-line note
    (:func:`dbdbench.executor.run_tasks`).
    """
    return click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help=help)


def seed(help: str = "Random seed.", default: int | None = 0):
    """``--seed N``: an integer in [0, 2**32); ``default`` None lets the command pick its own."""
    return click.option(
        "--seed",
        default=default,
        type=click.IntRange(0, MAX_SEED),
        show_default=default is not None,
        help=help,
    )


def overwrite(help: str = "Replace output files that already exist."):
    """``--overwrite``: without it no command replaces a file it did not write in the same run."""
    return click.option("--overwrite", is_flag=True, help=help)


class FiniteFloat(click.FloatRange):
    """A float option that must be finite (not nan or inf), with optional bounds as ``click.FloatRange``."""

    name = "float"

    def convert(self, value, param, ctx):
        v = super().convert(value, param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return v


def _check_scheduler(ctx, param, value):
    if value is None:
        return value
    from dbdbench.executor import parse_scheduler_address

    try:
        parse_scheduler_address(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


#: ``--scheduler ADDRESS``: run the tasks on a dask.distributed cluster instead of local workers. The
#: address format is checked when the option is parsed; reachability before any work starts.
scheduler = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    callback=_check_scheduler,
    help="dask.distributed scheduler address (tcp://HOST:PORT); replaces --workers.",
)


def polarity(name: str, help: str):
    """A mask-polarity option ``name``: ``focus-white`` (default) or ``blurred-white``."""
    return click.option(
        name,
        type=click.Choice(["focus-white", "blurred-white"]),
        default="focus-white",
        show_default=True,
        help=help,
    )
