"""`dbdbench predict` and the batch API; every registered classical detector on real photos (the
contract on synthetic images is in test_detectors_shared.py)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from authors_files import AUTHORS_FILES, required_params  # a helper module of this folder
from click.testing import CliRunner

from dbdbench.baselines import predict_folder, predict_paths, run_detector
from dbdbench.baselines.predict import resolve_params
from dbdbench.baselines.registry import get_method, list_methods
from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey, read_rgb, write_image
from dbdbench.outputs import MANIFEST_FILE

CLASSICAL = [m.name for m in list_methods() if m.kind == "classical"]
OWN = ("hifst", "svd", "lapvar", "tenengrad", "kurtosis", "dct")


def half_blurred(h=96, w=128, seed=0):
    """Left half sharp random texture, right half the same texture Gaussian-blurred (sigma 3)."""
    rng = np.random.default_rng(seed)
    sharp = cv2.resize(rng.integers(0, 256, (h // 2, w // 2, 3), dtype=np.uint8), (w, h), cv2.INTER_NEAREST)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    img = sharp.copy()
    img[:, w // 2 :] = blurred[:, w // 2 :]
    return img


def test_own_methods_are_registered():
    names = [m.name for m in list_methods()]
    assert set(OWN) <= set(names)
    for m in list_methods():
        assert m.citation and isinstance(m.params, dict)


@pytest.fixture(scope="module")
def small_defocus_photos(real_data):
    """The 7 CUHK defocus photos reduced to 160 px wide (to stay fast) and their in-focus masks."""
    from dbdbench.pairing import list_images

    photos = []
    for name, path in list_images(real_data / "cuhk/image").items():
        if not name.startswith("out_of_focus"):
            continue
        img = read_rgb(path)
        sharp = read_grey(real_data / "cuhk/gt" / f"{name}.png") < 128  # white = blurred on disk
        size = (160, round(160 * img.shape[0] / img.shape[1]))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        sharp = cv2.resize(sharp.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        photos.append((name, img, sharp))
    assert len(photos) == 7
    return photos


# dbdf and dhcf take seconds per photo (per-patch EM fits; a patch CNN and matting propagation)
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in AUTHORS_FILES else n for n in CLASSICAL]
)
def test_every_method_on_real_defocus_photos(name, small_defocus_photos, real_data):
    """In-focus GT pixels score higher on average over the photos, and on most of them."""
    params = required_params(name)
    diffs = []
    for _, img, sharp in small_defocus_photos:
        out = run_detector(name, img, params)
        assert out.shape == img.shape[:2] and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
        diffs.append(out[sharp].mean() - out[~sharp].mean())
    assert np.mean(diffs) > 0.02, diffs
    assert sum(d > 0 for d in diffs) >= 5, diffs


def test_resolve_params_types_and_errors():
    lap = get_method("lapvar")
    assert resolve_params(lap, ["window=21", "refine=yes"]) == {"window": 21, "refine": True}
    assert resolve_params(lap, {"refine": "0"}) == {"window": 15, "refine": False}
    assert resolve_params(get_method("hifst"), ["sigma_s=10"])["sigma_s"] == 10.0
    with pytest.raises(DbdError, match=r"unknown parameter 'size'.*window \(default 15\), refine"):
        resolve_params(lap, ["size=3"])
    with pytest.raises(DbdError, match="window must be an integer"):
        resolve_params(lap, ["window=big"])
    with pytest.raises(DbdError, match="refine must be true or false"):
        resolve_params(lap, ["refine=maybe"])
    with pytest.raises(DbdError, match="KEY=VALUE"):
        resolve_params(lap, ["window"])


@pytest.fixture
def image_dir(tmp_path):
    d = tmp_path / "images"
    img = half_blurred(64, 80)
    write_image(d / "a.png", img)
    write_image(d / "b.jpg", img[:, :, 0])  # grey photo
    rgba = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)])
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    (d / "c.png").write_bytes(buf.tobytes())  # RGBA photo
    return d


def test_predict_folder_writes_one_png_per_image(image_dir, tmp_path):
    out = tmp_path / "maps"
    written = predict_folder("tenengrad", image_dir, out, params={"window": 9})
    assert [p.name for p in written] == ["a.png", "b.png", "c.png"]
    for p in written:
        m = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        assert m.dtype == np.uint8 and m.shape == (64, 80)
        assert m.max() == 255 and m.min() == 0
    # the map is the detector's output quantised, RGBA converted like its RGB content
    expected = np.rint(run_detector("tenengrad", read_rgb(image_dir / "a.png"), {"window": 9}) * 255)
    np.testing.assert_array_equal(read_grey(out / "a.png"), expected)
    np.testing.assert_array_equal(read_grey(out / "c.png"), read_grey(out / "a.png"))
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_workers_give_identical_maps(image_dir, tmp_path):
    one = predict_folder("lapvar", image_dir, tmp_path / "one")
    two = predict_folder("lapvar", image_dir, tmp_path / "two", workers=2)
    for p, q in zip(one, two, strict=True):
        assert p.read_bytes() == q.read_bytes()


def test_predict_paths_and_errors(image_dir, tmp_path):
    written = predict_paths("dct", [("sub/x", image_dir / "a.png")], tmp_path / "o")
    assert written == [tmp_path / "o/sub/x.png"]
    with pytest.raises(DbdError, match="share the output name"):
        predict_paths("dct", [("x", image_dir / "a.png"), ("x", image_dir / "c.png")], tmp_path / "o")
    (image_dir / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DbdError, match="broken.png"):
        predict_folder("dct", image_dir, tmp_path / "o2")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DbdError, match="no images"):
        predict_folder("dct", empty, tmp_path / "o3")


def _cli(*args):
    return CliRunner().invoke(main, ["predict", *args])


def test_cli_list():
    res = _cli("--list")
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    heads = [line for line in lines if not line.startswith(" ")]
    assert len(heads) == len(list_methods())
    for line, m in zip(heads, list_methods(), strict=True):
        assert line.split()[0] == m.name and m.citation in line
    # each parameter under its method, with its default as --param takes it and its range
    assert "    --param window=15\tan integer >= 2" in lines
    assert "    --param scales=1,0.8,0.6\tone or more values, each in (0, 4]" in lines
    assert "    --param refine=false\ttrue or false" in lines
    assert len(lines) == len(heads) + sum(len(m.params) for m in list_methods())


def test_cli_writes_maps_and_reports_errors_in_one_line(image_dir, tmp_path):
    out = tmp_path / "maps"
    res = _cli("--method", "lapvar", "--images", str(image_dir), "--out", str(out), "--param", "window=11")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_FILE, "a.png", "b.png", "c.png"]
    for args, needle in (
        (["--method", "nope", "--images", str(image_dir), "--out", str(out)], "choose one of: "),
        (["--method", "lapvar", "--images", str(image_dir), "--out", str(out), "--param", "k=1"], "valid"),
        (
            ["--method", "lapvar", "--images", str(image_dir), "--out", str(out), "--checkpoint", "w.pt"],
            "unknown parameter 'checkpoint'",
        ),
        (["--method", "lapvar", "--out", str(out)], "exactly one of --images"),
        (["--method", "lapvar", "--images", str(tmp_path / "missing"), "--out", str(out)], "does not exist"),
    ):
        res = _cli(*args)
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert "Traceback" not in res.output


def test_cli_dataset(monkeypatch, image_dir, tmp_path):
    res = _cli(
        "--method",
        "lapvar",
        "--dataset",
        "cuhk",
        "--root",
        str(tmp_path / "nope"),
        "--out",
        str(tmp_path / "o"),
    )
    assert res.exit_code == 2 and "nope" in res.output  # a missing root: one line, exit 2
    assert len(res.output.strip().splitlines()) == 1

    calls = []

    def resolve(name, root, split):
        calls.append((name, Path(root), split))
        sample = types.SimpleNamespace(name="s1", image_path=image_dir / "a.png")
        return types.SimpleNamespace(samples=[sample])

    monkeypatch.setitem(sys.modules, "dbdbench.datasets", types.SimpleNamespace(resolve=resolve))
    out = tmp_path / "o"
    res = _cli(
        "--method",
        "lapvar",
        "--dataset",
        "cuhk",
        "--root",
        str(tmp_path / "data"),  # not holding --out: an output inside an input is refused
        "--split",
        "test",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert calls == [("cuhk", tmp_path / "data", "test")]
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_FILE, "s1.png"]


@pytest.mark.parametrize(
    ("method", "param", "needle"),
    [
        # values that would give constant maps or tracebacks
        ("dct", "cutoff=100", "cutoff must be an integer in [2, 14], got 100"),
        ("lbp", "threshold=nan", "threshold must be a finite number (default 0.016), got 'nan'"),
        ("lbp", "s=0", "s must be an odd integer >= 3, got 0"),
        ("zhuo", "max_side=0", "max_side must be an integer >= 16, got 0"),
        ("lbp-matting", "max_side=0", "max_side must be an integer >= 16, got 0"),
        ("hifst", "sigma_s=-1", "sigma_s must be a finite number > 0, got -1.0"),
        ("hifst", "entropy_window=0", "entropy_window must be an odd integer in [3, 15], got 0"),
        ("msjf", "radius=-1", "radius must be an integer >= 1, got -1"),
        ("msjf", "eps=nan", "eps must be a finite number (default 0.001), got 'nan'"),
        ("msjf", "scales=1,0", "scales must be one or more values, each in (0, 4], got (1.0, 0.0)"),
        ("svd", "k=20", "k must be in [1, window - 1 = 19], got 20"),
    ],
)
def test_cli_refuses_out_of_range_parameters_in_one_line(image_dir, tmp_path, method, param, needle):
    out = tmp_path / "maps"
    res = _cli("--method", method, "--images", str(image_dir), "--out", str(out), "--param", param)
    assert res.exit_code == 2, res.output
    assert needle in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert "Traceback" not in res.output and not out.exists()
