"""Options shared by several commands (``--workers``, ``--scheduler``, ``--seed``, ``--overwrite``,
``--gt-polarity``, ``--protocol``, ``--pred NAME=DIR``, finite numbers): one spelling, type, range, rule
and help.

Every numeric option is range-checked by click before any work starts (exit 2, one ``Error:`` line).
An option renamed for one spelling across commands keeps its old spelling as a hidden alias for one
release (:func:`_renamed`): it still works, with a one-line deprecation note.

Not a command: :data:`dbdbench.cli.COMMANDS` lists the command modules.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from pathlib import Path

import click
from click.core import ParameterSource


def workers(help: str = "Local worker processes."):
    """``--workers N`` (default 1, at least 1; checked before any work starts).

    More workers than tasks are never started; more than the CPU cores gives a one-line note
    (:func:`dbdbench.executor.run_tasks`).
    """
    return click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help=help)


def one_writer(folders: tuple[str, ...] = ("out",), files: tuple[str, ...] = ()):
    """Run the command holding its outputs, the values of the options ``folders`` (output folders)
    and ``files`` (output files): a second dbdbench command writing one of them meanwhile stops at
    once with one line (:func:`dbdbench.outputs.output_lock`). Put it just above the function.
    An option named in ``files`` is a file only (``figure``'s ``--out``), never also a folder."""
    folders = tuple(name for name in folders if name not in files)

    def decorate(f):
        @functools.wraps(f)
        def command(*args, **values):
            from dbdbench.outputs import output_lock

            with contextlib.ExitStack() as stack:
                for name in (*folders, *files):
                    what = "--" + name.replace("_", "-")
                    paths = ([values.get(name)], []) if name in folders else ([], [values.get(name)])
                    stack.enter_context(output_lock(*paths[0], files=paths[1], what=what))
                return f(*args, **values)

        return command

    return decorate


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


def _renamed(new: str, old: str, dest: str, **kwargs):
    """Option ``new`` (value ``dest``) that also answers to the hidden, deprecated spelling ``old``.

    ``old`` works for one release with a note; ``old`` and ``new`` together are a usage error.
    """

    def decorate(f):
        alias = f"{dest}_deprecated_spelling"

        @functools.wraps(f)
        def command(*args, **values):
            value = values.pop(alias)
            if value is not None:
                ctx = click.get_current_context()
                if ctx.get_parameter_source(dest) is ParameterSource.COMMANDLINE:
                    raise click.UsageError(f"give {new} once ({old} is its old spelling)", ctx)
                from dbdbench.notes import note

                note(f"{old} is now spelled {new}; the old spelling goes in the next release")
                values[dest] = value
            return f(*args, **values)

        command = click.option(old, alias, hidden=True, default=None, type=kwargs.get("type"))(command)
        return click.option(new, dest, **kwargs)(command)

    return decorate


def gt_polarity(help: str):
    """``--gt-polarity``: how a folder of masks is stored, ``focus-white`` (default) or
    ``blurred-white``; ``--polarity`` is its old spelling (``annotations merge``)."""
    from dbdbench.polarity import FOCUS_WHITE, POLARITIES

    return _renamed(
        "--gt-polarity",
        "--polarity",
        "gt_polarity",
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
        from dbdbench.params import MAX_SEED

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
        names = [v.strip() for v in str(value).split(",")]
        if not all(names):
            self.fail(
                f"{value!r} holds an empty protocol name; give one or more of {', '.join(self.choices)}, "
                "comma-separated",
                param,
                ctx,
            )
        twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if twice is not None:
            self.fail(f"{value!r} names the protocol '{twice}' twice; give each once", param, ctx)
        return [super(ProtocolChoice, self).convert(n, param, ctx) for n in names]


def protocol(help: str, default: str | None = None):
    """``--protocol P[,P...]``: one or more registered protocols, comma-separated (a list); an empty
    or repeated name is a usage error. ``--protocols`` is its old spelling (``leaderboard``).

    Parameters
    ----------
    help : str
    default : str, optional
        The default list, e.g. :data:`dbdbench.metrics.protocols.DEFAULT_PROTOCOL`; None: no default
        (the command decides).
    """
    return _renamed(
        "--protocol",
        "--protocols",
        "protocol",
        type=ProtocolChoice(many=True),
        default=default,
        show_default=default is not None,
        help=help,
    )


def parse_preds(values: tuple[str, ...], name: str | None = None) -> dict[str, str]:
    """Method name -> folder from ``--pred`` values (``DIR`` or ``NAME=DIR``), one rule for every
    command.

    A value is ``NAME=DIR`` when it holds ``=`` and is not itself an existing path. A bare ``DIR``
    is named by ``name`` (``--name``, one ``--pred`` only) or by its folder name. A leading ``~`` of
    ``DIR`` is the home folder (shells expand it only where ``NAME`` could be a shell variable name).
    Every name passes :func:`dbdbench.names.check_name`.

    Raises
    ------
    DbdError
        ``name`` with several values, an empty name or folder, a name given twice, a name with a
        control character.
    """
    from dbdbench.errors import DbdError
    from dbdbench.names import check_name

    if name is not None:
        check_name(name, "--name")
        if len(values) > 1:
            raise DbdError("--name names a single --pred DIR; with several, write --pred NAME=DIR")
    folders: dict[str, str] = {}
    for value in values:
        if "=" in value and not os.path.exists(value):
            method, folder = value.split("=", 1)
            if not method or not folder:
                raise DbdError(f"--pred '{value}' must be DIR or NAME=DIR with both parts given")
            folder = os.path.expanduser(folder)
        else:
            folder = os.path.expanduser(value)
            method = name or Path(folder).resolve().name
        check_name(method, "--pred NAME=DIR")
        if method in folders:
            raise DbdError(f"method '{method}' is given twice in --pred; name each one: --pred NAME=DIR")
        folders[method] = folder
    return folders
