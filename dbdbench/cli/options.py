"""Options shared by several commands (``--workers``, ``--scheduler``, ``--seed``, mask polarity): one
spelling, type and help.

Not a command: :data:`dbdbench.cli.COMMANDS` lists the command modules.
"""

from __future__ import annotations

import click


def workers(help: str = "Local worker processes."):
    """``--workers N`` (default 1, at least 1; checked before any work starts)."""
    return click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help=help)


#: ``--scheduler ADDRESS``: run the tasks on a dask.distributed cluster instead of local workers.
scheduler = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
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


class _Seed(click.ParamType):
    """A seed: an integer in 0..2**63 - 1 (numpy takes no negative seed; TOML integers are signed
    64-bit). A bad value is a one-line :class:`~dbdbench.errors.DbdError` naming the option."""

    name = "integer"

    def convert(self, value, param, ctx):
        from dbdbench.errors import DbdError
        from dbdbench.generators.recipe import MAX_SEED

        option = param.opts[0] if param is not None else "--seed"
        try:
            seed = int(value)
        except (TypeError, ValueError):
            seed = None
        if seed is None or isinstance(value, float) or not 0 <= seed <= MAX_SEED:
            raise DbdError(f"{option} {value!s} is not a valid seed; give a whole number in 0..{MAX_SEED}")
        return seed


def seed(help: str, default: int | None = 0):
    """``--seed N``: a non-negative integer (checked before any work starts)."""
    return click.option("--seed", default=default, show_default=default is not None, type=_Seed(), help=help)
