"""The ``dbdbench`` command line.

The CLI only parses arguments, calls the library, prints, and maps errors to exit codes: a
:class:`~dbdbench.errors.DbdError` or a bad option value is printed as one line
``dbdbench: error: ...`` and exits 2; a
note (:mod:`dbdbench.notes`) is printed as one line ``dbdbench: note: ...`` on stderr.
Commands are imported lazily, so ``dbdbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging

import click

from dbdbench._version import __version__

# name -> "module:attribute" of a click command, one module per command under dbdbench/cli/
COMMANDS = {
    "generate-sim": "dbdbench.cli.generate_sim:command",
    "datasets": "dbdbench.cli.datasets:command",
    "annotations": "dbdbench.cli.annotations:command",
    "predict": "dbdbench.cli.predict:command",
    "train": "dbdbench.cli.train:command",
    "export": "dbdbench.cli.export:command",
    "evaluate": "dbdbench.cli.evaluate:command",
    "leaderboard": "dbdbench.cli.leaderboard:command",
    "figure": "dbdbench.cli.figure:command",
    "demo": "dbdbench.cli.demo:command",
}


class _NoteHandler(logging.Handler):
    """Prints each :func:`dbdbench.notes.note` as one ``dbdbench: note: ...`` line on stderr."""

    def emit(self, record):
        click.echo(f"dbdbench: note: {record.getMessage()}", err=True)


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module only when it runs."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        from dbdbench.errors import DbdError
        from dbdbench.notes import LOGGER

        handler = _NoteHandler(logging.INFO)
        LOGGER.addHandler(handler)
        propagate, LOGGER.propagate = LOGGER.propagate, False
        try:
            return super().invoke(ctx)
        except DbdError as exc:
            click.echo(f"dbdbench: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except PermissionError as exc:  # any file or folder the checks above did not reach
            what = f"'{exc.filename}'" if exc.filename else "a file"
            click.echo(
                f"dbdbench: error: cannot access {what}: permission denied; "
                "give read permission (and search permission on folders)",
                err=True,
            )
            ctx.exit(2)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a bare group name: click shows its help
        except click.UsageError as exc:  # a bad option value or a missing argument: one line too
            where = exc.ctx.command_path if exc.ctx is not None else "dbdbench"
            message = exc.format_message().rstrip(".")
            click.echo(f"dbdbench: error: {message}; see '{where} --help'", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("dbdbench: interrupted; completed outputs are kept", err=True)
            ctx.exit(130)
        finally:
            LOGGER.removeHandler(handler)
            LOGGER.propagate = propagate


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dbdbench")
def main():
    """dbdbench: benchmark toolkit for defocus blur detection.

    Simulated training data, real dataset loaders, baseline detectors, protocol-exact evaluation
    and leaderboards. Maps and masks use 1 (white) = in-focus throughout.
    """
