"""Plug-ins: a package installed beside dbdbench adds a detector, a protocol, a dataset and a recipe.

The package is a fixture distribution (``mypkg/`` and ``mypkg-0.1.dist-info/`` with its
``entry_points.txt``) in a temporary folder put on the path of ``dbdbench`` subprocesses by
``PYTHONPATH``, as ``pip install`` would put it in ``site-packages``. Nothing of dbdbench is edited:
every command finds the plug-in through the entry points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dbdbench.imageio import read_grey, write_image

DBDBENCH = str(Path(sys.executable).with_name("dbdbench"))

#: mypkg/__init__.py. ``plugin`` scores pixel accuracy of the map cut at one half (checked by hand
#: below); ``plugflat`` replaces the blurred side of a drawn region by its mean colour.
PLUGIN = '''
"""A dbdbench plug-in written for the tests."""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

from dbdbench.baselines.registry import detector
from dbdbench.datasets.registry import IMAGE_GT, DatasetSpec, SplitSpec
from dbdbench.generators.masks import draw_region
from dbdbench.generators.recipe import RecipeKind
from dbdbench.generators.sources import draw_source
from dbdbench.metrics.protocol import Metric, Protocol, focus_levels
from dbdbench.params import at_least


@detector("plugmean", citation="a test plug-in", description="local contrast", checks={"window": at_least(3)})
def plugmean(image, window: int = 9):
    grey = np.atleast_3d(np.asarray(image, np.float32)).mean(axis=2) / 255
    contrast = uniform_filter(np.abs(grey - uniform_filter(grey, window)), window)
    return (contrast / max(float(contrast.max()), 1e-6)).astype(np.float32)


class PluginProtocol(Protocol):
    name = "plugin"
    source = "a test plug-in"
    resize = None
    metrics = (Metric("accuracy", "Acc", higher_is_better=True),)
    headline_f = "accuracy"
    headline_mae = None
    curve_order = "none"
    per_image_keys = ("accuracy",)

    def score_image(self, pred, gt, polarity):
        return {"accuracy": float(np.mean((pred >= 128) == (focus_levels(gt, polarity) > 127)))}

    def summarize(self, stacked):
        return {"accuracy": float(stacked["accuracy"].mean())}

    def curves(self, stacked):
        return {"thresholds": [], "precision": [], "recall": [], "f": []}


PLUGSET = DatasetSpec(
    name="plugset",
    title="a test plug-in's dataset",
    citation="-",
    polarity="blurred-white",
    splits={"all": SplitSpec("all", None, (IMAGE_GT,))},
)


@dataclass
class FlatOptions:
    grey_blend: float = 1.0


def render_flat(rng, job):
    r = job.recipe
    sharp, info = draw_source(rng, job.sources, r.size)
    region, kind = draw_region(rng, r.size, r.mask.weights, sharp, job.user_masks)
    flat = sharp.reshape(-1, 3).mean(axis=0)
    mix = r.plugflat.grey_blend * (1 - region[..., None])
    image = np.rint(sharp * (1 - mix) + flat * mix).astype(np.uint8)
    info.update(mask_kind=kind)
    return image, region, info, {}


FLAT = RecipeKind("plugflat", FlatOptions, render_flat, bytes_per_pixel=64, description="flat blur")


def not_a_detector(image):
    return image
'''

ENTRY_POINTS = """
[dbdbench.detectors]
plugmean = mypkg:plugmean

[dbdbench.protocols]
plugin = mypkg:PluginProtocol

[dbdbench.datasets]
plugset = mypkg:PLUGSET

[dbdbench.recipes]
plugflat = mypkg:FLAT
"""


def make_distribution(root: Path, name: str, modules: dict[str, str], entry_points: str) -> Path:
    """An installed-looking distribution ``name`` 0.1 in ``root``: its modules and its dist-info."""
    for module, text in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    return root


@pytest.fixture
def site(tmp_path):
    """A folder holding the mypkg distribution."""
    root = tmp_path / "site"
    (root / "mypkg").mkdir(parents=True)
    (root / "mypkg" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    return make_distribution(root, "mypkg", {}, ENTRY_POINTS)


def dbdbench(site: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    res = subprocess.run([DBDBENCH, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def _half_blurred(root: Path, n: int = 3) -> tuple[Path, Path]:
    """Photos whose left half is sharp noise and right half flat; GT blurred-white (plugset's)."""
    rng = np.random.default_rng(3)
    for i in range(n):
        img = np.full((32, 40, 3), 128, np.uint8)
        img[:, :20] = rng.integers(0, 256, (32, 20, 3))
        gt = np.zeros((32, 40), np.uint8)
        gt[:, 20:] = 255  # white = blurred
        write_image(root / "image" / f"p{i}.png", img)
        write_image(root / "gt" / f"p{i}.png", gt)
    return root / "image", root / "gt"


def test_plugin_detector_is_listed_runs_and_checks_its_parameters(site, tmp_path):
    listing = dbdbench(site, "predict", "--list").stdout
    assert "plugmean\ta test plug-in" in listing and "--param window=9\tan integer >= 3" in listing
    assert listing.index("zhuo") < listing.index("plugmean")  # after the built-ins

    images, _ = _half_blurred(tmp_path / "set")
    dbdbench(site, "predict", "--method", "plugmean", "--images", images, "--out", tmp_path / "one")
    dbdbench(
        site, "predict", "--method", "plugmean", "--images", images, "--out", tmp_path / "two", "--workers", 2
    )
    for i in range(3):
        one, two = read_grey(tmp_path / "one" / f"p{i}.png"), read_grey(tmp_path / "two" / f"p{i}.png")
        np.testing.assert_array_equal(one, two)
        assert one[:, 4:16].mean() > 150 and one[:, 26:].max() < 60  # the sharp half is the bright one

    bad = dbdbench(site, "predict", "--method", "plugmean", "--param", "window=1", "--images", images,
                   "--out", tmp_path / "bad", check=False)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "plugmean: parameter window must be an integer >= 3, got 1" in bad.stderr


@pytest.mark.slow
def test_plugin_protocol_and_dataset_reach_evaluate_and_the_leaderboard(site, tmp_path):
    images, gt = _half_blurred(tmp_path / "set")
    maps = tmp_path / "maps"
    dbdbench(site, "predict", "--method", "plugmean", "--images", images, "--out", maps)
    assert "plugin" in dbdbench(site, "evaluate", "--help").stdout
    assert "plugset" in dbdbench(site, "datasets", "list").stdout

    out = tmp_path / "plug.json"
    dbdbench(site, "evaluate", "--pred", maps, "--dataset", "plugset", "--root", tmp_path / "set",
             "--protocol", "plugin", "--name", "plugmean", "--out", out)  # fmt: skip
    # the accuracy by hand: maps cut at 128 against the in-focus side (GT inverted: blurred-white)
    hand = np.mean([np.mean((read_grey(maps / f"p{i}.png") >= 128) == (read_grey(gt / f"p{i}.png") < 128))
                    for i in range(3)])  # fmt: skip
    data = json.loads(out.read_text())
    assert data["protocol"] == "plugin" and data["summary"]["accuracy"] == pytest.approx(hand)
    assert 0.8 < hand < 1

    board = tmp_path / "board"
    dbdbench(site, "leaderboard", out, "--protocols", "plugin", "--out", board)
    md = (board / "leaderboard.md").read_text()
    assert "| Method | Acc ↑ |" in md and f"| plugmean | {hand:.3f} |" in md
    assert (board / "plots" / "bars-accuracy_plugin_plugset_all.png").is_file()


def test_plugin_recipe_generates_and_reloads_from_its_recipe_file(site, tmp_path):
    first, again = tmp_path / "flat", tmp_path / "again"
    dbdbench(site, "generate-sim", "--recipe", "plugflat", "--count", 3, "--size", 48, "--out", first)
    text = (first / "recipe.toml").read_text()
    assert 'recipe = "plugflat"' in text and "[plugflat]\ngrey_blend = 1.0" in text
    dbdbench(site, "generate-sim", "--recipe", first / "recipe.toml", "--out", again)
    for name in ("000000", "000002"):
        a, b = read_grey(first / "image" / f"{name}.png"), read_grey(again / "image" / f"{name}.png")
        np.testing.assert_array_equal(a, b)
        mask = read_grey(first / "gt" / f"{name}.png") > 127
        assert np.ptp(a[~mask]) <= 1  # the blurred side is one flat colour


def test_a_broken_plugin_is_one_warning_and_the_rest_works(site):
    make_distribution(
        site,
        "brokenpkg",
        {"brokenmod": "import no_such_module_anywhere\n"},
        "[dbdbench.detectors]\nbroken = brokenmod\nwrong = mypkg:not_a_detector\n",
    )
    res = dbdbench(site, "predict", "--list")
    assert "plugmean" in res.stdout and "lapvar" in res.stdout  # mypkg and the built-ins still load
    warnings = res.stderr.strip().splitlines()  # one line per broken entry point, nothing else
    assert len(warnings) == 2 and all(": PluginWarning: " in w for w in warnings), res.stderr
    assert "plug-in package 'brokenpkg': entry point 'broken = brokenmod'" in warnings[0]
    assert "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in warnings[0]
    assert "entry point 'wrong = mypkg:not_a_detector'" in warnings[1]
    assert "is not a detector; decorate it with @detector" in warnings[1]


@pytest.mark.slow
def test_plugin_detector_runs_on_dask_worker_processes(site, tmp_path):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    images, _ = _half_blurred(tmp_path / "set", n=2)
    script = f"""
from distributed import LocalCluster
from dbdbench.baselines import predict_folder
if __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        predict_folder("plugmean", {str(images)!r}, {str(tmp_path / "dask")!r}, scheduler=c.scheduler_address)
"""
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    dbdbench(site, "predict", "--method", "plugmean", "--images", images, "--out", tmp_path / "local")
    for i in range(2):
        np.testing.assert_array_equal(
            read_grey(tmp_path / "dask" / f"p{i}.png"), read_grey(tmp_path / "local" / f"p{i}.png")
        )
