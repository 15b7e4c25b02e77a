"""Options shared by several commands (``--workers``, ``--scheduler``, ``--seed``, ``--overwrite``, mask
polarity, finite numbers): one spelling, type, range and help.

Every numeric option is range-checked by click before any work starts (exit 2, one ``Error:`` line).

Not a command: :data:`dbdbench.cli.COMMANDS` lists the command modules.
"""

from __future__ import annotations

import math

import click


def workers(help: str = "Local worker processes."):
    """``--workers N`` (default 1, at least 1; checked before any work starts).

    More workers than tasks are never started; more than the CPU cores gives a one-line note
    (:func:`dbdbench.executor.run_tasks`).
    """
    return click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help=help)


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
    from dbdbench.polarity import FOCUS_WHITE, POLARITIES

    return click.option(
        name,
        type=click.Choice(POLARITIES),
        default=FOCUS_WHITE,
        show_default=True,
        help=help,
    )


class _Seed(click.ParamType):
    """A seed: an integer in 0..2**63 - 1 (numpy takes no negative seed; TOML integers are signed
    64-bit). A bad value is a one-line usage error naming the option."""

    name = "integer"

    def convert(self, value, param, ctx):
        from dbdbench.generators.recipe import MAX_SEED

        option = param.opts[0] if param is not None else "--seed"
        try:
            seed = int(value)
        except (TypeError, ValueError):
            seed = None
        if seed is None or isinstance(value, float) or not 0 <= seed <= MAX_SEED:
            msg = f"{option} {value!s} is not a valid seed; give a whole number in 0..{MAX_SEED}"
            self.fail(msg, param, ctx)
        return seed


def seed(help: str, default: int | None = 0):
    """``--seed N``: a non-negative integer (checked before any work starts)."""
    return click.option("--seed", default=default, show_default=default is not None, type=_Seed(), help=help)


class ProtocolChoice(click.Choice):
    """A protocol name, one of the registry's (:func:`dbdbench.metrics.protocols.protocol_names`).

    The names are read from the registry each time click needs them (help, checking a value), not
    when the command module is imported: ``dbdbench --help`` does not import the protocol modules,
    and a protocol registered at run time is a valid choice.

    Parameters
    ----------
    many : bool
        A comma-separated list of names (``sod,hifst``), converted to a list.
    """

    def __init__(self, many: bool = False):
        self.many = many
        super().__init__(())

    @property
    def choices(self):
        from dbdbench.metrics.protocols import protocol_names

        return protocol_names()

    @choices.setter
    def choices(self, _):
        pass  # click.Choice.__init__ assigns the fixed choices the registry replaces

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.choices) + "]" + (",..." if self.many else "")

    def convert(self, value, param, ctx):
        if not self.many:
            return super().convert(value, param, ctx)
        if isinstance(value, list):
            return value
        names = [v.strip() for v in str(value).split(",") if v.strip()]
        if not names:
            self.fail(
                f"{value!r} names no protocol; give one or more of {', '.join(self.choices)}", param, ctx
            )
        return [super(ProtocolChoice, self).convert(n, param, ctx) for n in names]
