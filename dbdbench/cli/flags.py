"""Library errors as a command's options: a :class:`~dbdbench.errors.ParameterError` names a Python
parameter (``bootstrap must be 0 or more``); inside :func:`as_options` it is re-raised naming the
running command's option for it (``--bootstrap must be 0 or more``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from dbdbench.errors import DbdError, ParameterError


def option_of(ctx: click.Context, param: str, aliases: dict[str, str]) -> str:
    """The option spelling of a library parameter: an alias, else the command's option of that name.

    A parameter the command has no option for keeps its Python name.
    """
    if param in aliases:
        return aliases[param]
    for p in ctx.command.params:
        if p.name == param and isinstance(p, click.Option):
            return p.opts[0]
    return param


@contextmanager
def as_options(**aliases: str) -> Iterator[None]:
    """Re-spell the parameter errors raised inside as the running command's options.

    Parameters
    ----------
    **aliases : str
        Library parameter -> option text where the names differ (``protocols="--protocol"``).
    """
    ctx = click.get_current_context()
    try:
        yield
    except ParameterError as exc:
        raise DbdError(exc.spelled(lambda p: option_of(ctx, p, aliases))) from None
