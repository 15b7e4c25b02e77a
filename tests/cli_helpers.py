"""CLI helpers shared by the output-safety tests: run a command in-process, check its one-line error."""

from __future__ import annotations

from click.testing import CliRunner

from dbdbench.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_line_error(res, *fragments):
    """Exit 2, exactly one ``dbdbench: error:`` line holding every fragment, no traceback."""
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("dbdbench: error:")]
    assert len(errors) == 1, res.stderr
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    for f in fragments:
        assert f in errors[0], errors[0]
    return errors[0]
