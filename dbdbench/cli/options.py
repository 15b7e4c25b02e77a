"""Options shared by several commands (``--workers``, ``--scheduler``, mask polarity): one spelling,
type and help.

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
