"""The ``dbdbench`` command line.

The CLI only parses arguments, calls the library, prints, and maps errors to exit codes: a
:class:`~dbdbench.errors.DbdError` is printed as one line ``dbdbench: error: ...`` and exits 2.
Commands are imported lazily, so ``dbdbench --help`` stays fast.
"""

from __future__ import annotations

import importlib

import click

from dbdbench._version import __version__

# name -> "module:attribute" of a click command, one module per command under dbdbench/cli/
COMMANDS = {
    "generate-sim": "dbdbench.cli.generate_sim:command",
    "datasets": "dbdbench.cli.datasets:command",
    "annotations": "dbdbench.cli.annotations:command",
    "predict": "dbdbench.cli.predict:command",
    "train": "dbdbench.cli.train:command",
    "evaluate": "dbdbench.cli.evaluate:command",
    "leaderboard": "dbdbench.cli.leaderboard:command",
    "demo": "dbdbench.cli.demo:command",
}


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

        try:
            return super().invoke(ctx)
        except DbdError as exc:
            click.echo(f"dbdbench: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("dbdbench: interrupted; completed outputs are kept", err=True)
            ctx.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dbdbench")
def main():
    """dbdbench: benchmark toolkit for defocus blur detection.

    Simulated training data, real dataset loaders, baseline detectors, protocol-exact evaluation
    and leaderboards. Maps and masks use 1 (white) = in-focus throughout.
    """
