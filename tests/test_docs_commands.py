"""Every command printed in a fenced ``bash`` block of README.md and docs/*.md runs as written.

The rules, so that a command added to the docs is checked by default:

- A block's lines are commands; a line ending in ``\\`` continues on the next; ``#`` comment lines and
  blank lines are skipped. Usage synopses belong in plain ````` blocks, which are not read.
- Each file's commands run in order, with bash, in a fresh empty folder, as a user would type them
  one after the other. ``python benchmarks/...`` commands run in the checkout's root, where
  docs/performance.md says to run them.
- ``HOME`` is a fixture folder (and ``OMP_NUM_THREADS=1``, as pages run side by side), so
  ``~/data/...`` paths, which the pages introduce as the user's own data, resolve to fixtures of the
  right layout (:data:`DATA_FIXTURES`). Fixtures taken from the real data folder (``$DBDBENCH_DATA``)
  are absent without it: the first command that needs one is then skipped together with the rest of
  its page, and the test says so.
- A command runs unless :data:`NOT_RUNNABLE` lists it, word for word, with the reason, or its block
  follows a line ``<!-- not run by test_docs_commands: REASON -->`` (a block that another test runs
  its own way), or it runs a ``benchmarks/`` script other than :data:`QUICK_BENCHMARKS` (benchmarks
  measure for minutes; their options are still checked). It must exit 0.
- Every ``dbdbench`` command line, runnable or not, names an existing command, and every ``--option``
  it uses appears in that command's ``--help``; every ``benchmarks/`` script's options appear in its
  ``--help``. ``dbdbench COMMAND --help`` works for every command and subcommand.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.imageio import write_image

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DATA = os.environ.get("DBDBENCH_DATA")

INSTALLS = "creates a virtual environment or installs packages; CI (.ci/run) does this on a fresh machine"
#: Commands that are not run, word for word, with the reason. Their options are still checked.
NOT_RUNNABLE = {
    "pip install -e .": INSTALLS,
    "python -m venv .venv && .venv/bin/pip install -e . && .venv/bin/dbdbench demo --out demo-out": (
        INSTALLS + "; docs/leaderboards.md runs a small demo"
    ),
    "python -m venv .venv && .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e "
    "'.[test,deep,dask]' && .venv/bin/python -m pytest -n 2": INSTALLS + ", then runs this test suite",
    "python -m venv .venv && .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e "
    "'.[test,deep,dask,docs]'": INSTALLS,
    "DBDBENCH_DATA=../shared/data .venv/bin/python -m pytest -n 2": "runs this test suite (CI runs it)",
    ".venv/bin/ruff check . && .venv/bin/ruff format --check .": "lints the checkout's sources",
    ".venv/bin/mkdocs build --strict": "builds this site; CI (.ci/run) runs it after the tests",
    "python -m dbdbench.cvcompat": (
        "checks the environment it runs in (exit 1 where several OpenCV wheels are installed, as on a "
        "shared development machine); .ci/run runs it after the install, tests/test_cvcompat.py tests it"
    ),
}


#: Benchmark scripts quick enough to run as printed; other ``benchmarks/`` lines are only checked.
QUICK_BENCHMARKS = ("benchmarks/bench_staple.py",)
#: Modules of optional extras (and of benchmark-only tools): a benchmark that needs one to print its
#: --help is left unchecked, and the test says so, where it is missing.
OPTIONAL_EXTRAS = ("torch", "dask", "distributed", "psutil", "pymatting")
OPTIONAL_MODULE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z0-9_]+)")
#: Marks the next ``bash`` block as run elsewhere; the text up to ``-->`` is the reason.
SKIP_MARK = "<!-- not run by test_docs_commands: "
BENCHMARK = re.compile(r"^(\w+=\S+ )*python (benchmarks/\S+)")


def _votes(home: Path) -> None:
    """Three annotators' masks of the same four images: a disc each, drawn a little differently."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :64]
    for i in range(4):
        cy, cx, r = rng.uniform(16, 32), rng.uniform(20, 44), rng.uniform(8, 14)
        for a in (1, 2, 3):
            dy, dx, dr = rng.normal(0, 1.5, 3)
            mask = ((yy - cy - dy) ** 2 + (xx - cx - dx) ** 2 < (r + dr) ** 2).astype(np.uint8) * 255
            write_image(home / "data" / "votes" / f"a{a}" / f"img{i}.png", mask)


def _link(target: Path):
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target, target_is_directory=True)

    return make


#: ``~/data/...`` path used in the docs -> (what it stands for, builder, needs $DBDBENCH_DATA).
DATA_FIXTURES = {
    "~/data/CUHK": (
        "the CUHK masks only ($DBDBENCH_DATA/cuhk/gt as gt/; evaluation and verify need no photos)",
        lambda p: _link(Path(DATA or "/nonexistent") / "cuhk" / "gt")(p / "gt"),
        True,
    ),
    "~/data/hifst-maps": (
        "the HiFST authors' maps of the 1000 CUHK images ($DBDBENCH_DATA/cuhk/results/hifst)",
        lambda p: _link(Path(DATA or "/nonexistent") / "cuhk" / "results" / "hifst")(p),
        True,
    ),
    "~/data/denets-samples": (
        "five xu100 and five dut500 images with GT and the AENet/EFENet maps ($DBDBENCH_DATA/denets-samples)",
        lambda p: _link(Path(DATA or "/nonexistent") / "denets-samples")(p),
        True,
    ),
    "~/data/dbdf-release": (
        "the DBDF authors' parameter files ($DBDBENCH_DATA/authors/dbdf)",
        lambda p: _link(Path(DATA or "/nonexistent") / "authors" / "dbdf")(p),
        True,
    ),
    "~/data/dhde-release": (
        "the DHCF (DHDE) authors' trained network ($DBDBENCH_DATA/authors/dhde)",
        lambda p: _link(Path(DATA or "/nonexistent") / "authors" / "dhde")(p),
        True,
    ),
    "~/data/votes": (
        "three annotators' masks of four images (made here)",
        lambda p: _votes(p.parents[1]),
        False,
    ),
}


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


#: (page, command) of blocks marked with :data:`SKIP_MARK` -> the reason: a mark holds for its own
#: page only (the same command elsewhere still runs).
MARKED: dict[tuple[str, str], str] = {}


def doc_commands(page: Path) -> list[str]:
    """The commands of the fenced ``bash`` blocks of ``page``, continuation lines joined."""
    commands, block, pending, reason = [], False, "", None
    for line in page.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith(SKIP_MARK):
            reason = stripped.removeprefix(SKIP_MARK).removesuffix("-->").strip()
            continue
        if stripped.startswith("```"):
            block = stripped == "```bash" if not block else False
            if not block:
                reason = None
            continue
        if block and reason and stripped and not stripped.startswith("#") and not stripped.endswith("\\"):
            MARKED[page.relative_to(ROOT).as_posix(), pending + stripped] = reason
        if not block or not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        commands.append(pending + stripped)
        pending = ""
    return commands


ALL = {page.relative_to(ROOT).as_posix(): doc_commands(page) for page in PAGES}


def _segments(command: str) -> list[list[str]]:
    """Simple commands of a line (split at ``&&``, ``;``, ``|``), leading ``VAR=value`` dropped."""
    segments, current = [], []
    for tok in shlex.split(command, comments=True):
        if tok in ("&&", ";", "|", "||"):
            segments.append(current)
            current = []
        else:
            current.append(tok)
    segments.append(current)
    out = []
    for seg in segments:
        while seg and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", seg[0]):
            seg = seg[1:]
        if seg:
            out.append(seg)
    return out


def _options(args: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in args if a.startswith("--")}


def _command_path(args: list[str]) -> tuple[list[str], click.Command]:
    path, cmd = [], main
    for tok in args:
        if isinstance(cmd, click.Group) and not tok.startswith("-"):
            sub = cmd.get_command(click.Context(cmd), tok)
            assert sub is not None, f"'dbdbench {' '.join(path + [tok])}' is not a command"
            path.append(tok)
            cmd = sub
        else:
            break
    return path, cmd


def _help(path: list[str]) -> str:
    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, (path, res.output)
    return res.output


def _help_options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def test_docs_have_commands():
    assert len(ALL["README.md"]) >= 8
    assert sum(len(c) for c in ALL.values()) >= 40


def test_not_runnable_entries_are_in_the_docs():
    printed = {c for cmds in ALL.values() for c in cmds}
    stale = [c for c in NOT_RUNNABLE if c not in printed]
    assert not stale, f"NOT_RUNNABLE lists commands no page prints: {stale}"


@pytest.mark.parametrize(
    "path",
    [[]]
    + [[name] for name in main.list_commands(None)]
    + [
        [name, sub]
        for name in main.list_commands(None)
        if isinstance(grp := main.get_command(None, name), click.Group)
        for sub in grp.list_commands(None)
    ],
    ids=lambda p: " ".join(p) or "dbdbench",
)
def test_help_of_every_command(path):
    text = _help(path)
    assert "Usage: " in text and "--help" in text


@pytest.mark.parametrize("page", list(ALL))
def test_options_exist(page):
    helps: dict[tuple, set[str] | None] = {}
    unchecked: set[str] = set()
    for command in ALL[page]:
        for seg in _segments(command):
            prog = Path(seg[0]).name
            if prog == "dbdbench":
                path, _ = _command_path(seg[1:])
                key = tuple(path)
                if key not in helps:
                    helps[key] = _help_options(_help(path))
                unknown = _options(seg[1 + len(path) :]) - helps[key]
                assert not unknown, f"{page}: '{command}' uses {sorted(unknown)}, not in --help"
            elif prog.startswith("python") and len(seg) > 1 and seg[1].startswith("benchmarks/"):
                script = ROOT / seg[1]
                assert script.is_file(), f"{page}: '{command}': no {seg[1]}"
                key = (seg[1],)
                if key not in helps:
                    res = subprocess.run(
                        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
                    )
                    extra = OPTIONAL_MODULE.search(res.stderr) if res.returncode else None
                    if extra and extra.group(1) in OPTIONAL_EXTRAS:
                        unchecked.add(f"{seg[1]} ({extra.group(1)})")
                        helps[key] = None
                        continue
                    assert res.returncode == 0, res.stderr
                    helps[key] = _help_options(res.stdout)
                if helps[key] is None:
                    continue
                unknown = _options(seg[2:]) - helps[key]
                assert not unknown, f"{page}: '{command}' uses {sorted(unknown)}, not in --help"
    if unchecked:
        pytest.skip(f"{page}: options of {sorted(unchecked)} need an optional extra; the rest were checked")


@pytest.mark.slow
@pytest.mark.parametrize("page", list(ALL))
def test_commands_run(page, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    for where, (_, build, needs_data) in DATA_FIXTURES.items():
        if not needs_data or DATA:
            build(home / where.removeprefix("~/"))
    # one thread per process: pytest -n runs the pages side by side
    env = dict(os.environ, HOME=str(home), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    ran = 0
    for command in ALL[page]:
        bench = BENCHMARK.match(command)
        if (
            command in NOT_RUNNABLE
            or (page, command) in MARKED
            or (bench and bench.group(2) not in QUICK_BENCHMARKS)
        ):
            continue
        missing = [w for w, (_, _, needs) in DATA_FIXTURES.items() if needs and not DATA and w in command]
        if missing:
            pytest.skip(f"'{command}' and the rest of {page} need {missing} (no $DBDBENCH_DATA); {ran} ran")
        if ("dbdbench train" in command or "--checkpoint" in command) and not _has_torch():
            pytest.skip(f"'{command}' and the rest of {page} need PyTorch (extra 'deep'); {ran} ran")
        cwd = ROOT if bench else work  # benchmarks run in the checkout's root
        res = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, (
            f"{page}: '{command}' exited {res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
        )
        ran += 1
    shutil.rmtree(work, ignore_errors=True)
