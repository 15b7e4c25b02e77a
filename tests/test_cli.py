"""The command line: every command has --help; errors are one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from dbdbench.cli import COMMANDS, main


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "dbdbench" in result.output


def test_console_script_error_is_one_line_without_traceback(tmp_path):
    """A user error through the real entry point: one line on stderr, exit 2."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbdbench",
            "evaluate",
            "--pred",
            str(tmp_path / "nope"),
            "--gt",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("dbdbench"), proc.stderr
    assert "Traceback" not in proc.stderr
