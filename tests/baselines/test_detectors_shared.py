"""The contract every registered detector keeps, tested for each one by being registered.

Parametrised over :func:`~dbdbench.baselines.registry.list_methods`: a new detector is covered
here without editing this file. Classical detectors run on small images (64 x 64) with their default
parameters. Deep detectors run from an untrained ``tiny`` checkpoint written here (no training, no
download) when PyTorch is installed and are skipped, saying why, otherwise; an untrained network has
no polarity, so only the polarity test leaves them out.

Contract: a float32 map of the image's shape in [0, 1], finite and not constant on a textured image;
the sharp half of a half-blurred image ranks higher; grey and RGBA photos give the map of the
equivalent RGB photo; an unknown parameter, a non-finite number, or a value outside a parameter's
declared range is a one-line DbdError naming the parameter; every numeric parameter declares its
range; an image too small for the detector is a one-line DbdError or a valid map, never a crash.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from authors_files import required_params  # a helper module of this folder

from dbdbench.baselines.predict import run_detector
from dbdbench.baselines.registry import Method, get_method, list_methods
from dbdbench.errors import DbdError

#: Detectors whose first call in a process takes far over 10 s (pymatting compiles its solver with
#: numba): their cases are marked slow, so the fast set (-m "not slow") skips them.
SLOW = {"lbp-matting"}


def _cases(names: list[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


METHODS = _cases([m.name for m in list_methods()])
CLASSICAL = _cases([m.name for m in list_methods() if m.kind == "classical"])
NUMERIC = (int, float, tuple, list)


def half_blurred(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 random 2 x 2-pixel texture whose right half is Gaussian-blurred (sigma 3)."""
    rng = np.random.default_rng(seed)
    sharp = cv2.resize(
        rng.integers(0, 256, (h // 2, w // 2, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_NEAREST
    )
    img = sharp.copy()
    img[:, w // 2 :] = cv2.GaussianBlur(sharp, (0, 0), 3)[:, w // 2 :]
    return img


@pytest.fixture(scope="module")
def deep_checkpoints(tmp_path_factory):
    """Model name -> an untrained ``tiny`` checkpoint of it (PyTorch required)."""
    pytest.importorskip("torch", reason="deep detectors need PyTorch (extra 'deep') to run")
    import torch

    from dbdbench.baselines.deep.checkpoint import save_checkpoint
    from dbdbench.baselines.deep.models import build_model

    folder = tmp_path_factory.mktemp("checkpoints")
    out = {}
    for m in list_methods():
        if m.kind == "deep":
            torch.manual_seed(0)
            network = "dbdbench.baselines.deep.examples:SmallNet" if m.name == "torch" else None
            model = build_model(m.name, "tiny", network=network)
            out[m.name] = str(save_checkpoint(folder / f"{m.name}.pt", model))
    return out


@pytest.fixture
def run(request):
    """``run(name, image, **params)``: the registered function, with a checkpoint for deep models."""

    def call(name: str, image: np.ndarray, **params) -> np.ndarray:
        method = get_method(name)
        params = {**required_params(name), **params}
        if method.kind == "deep":
            params.setdefault("checkpoint", request.getfixturevalue("deep_checkpoints")[name])
        return method.func(image, **params)

    return call


def _numeric(method: Method) -> list[str]:
    return [k for k, v in method.params.items() if isinstance(v, NUMERIC) and not isinstance(v, bool)]


@pytest.mark.parametrize("name", METHODS)
def test_registration_is_complete(name):
    method = get_method(name)
    assert method.citation and method.description and method.kind in ("classical", "deep")
    missing = [k for k in _numeric(method) if k not in method.checks]
    assert not missing, f"{name}: declare the valid range of {missing} in @detector(checks=...)"
    assert method.resolve(dict(method.params), text=False) == method.params  # defaults are in range


@pytest.mark.parametrize("name", METHODS)
def test_map_shape_dtype_range(name, run):
    img = half_blurred(48, 64)
    out = run(name, img)
    assert out.shape == (48, 64) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert out.max() > out.min()  # a textured image never gives a constant map


@pytest.mark.parametrize("name", CLASSICAL)
def test_sharp_half_ranks_higher(name):
    img = half_blurred()
    out = run_detector(name, img, required_params(name))
    margin = 8  # away from the borders and the sharp/blurred boundary
    sharp, blurred = out[margin:-margin, 4:28].mean(), out[margin:-margin, 36:60].mean()
    assert sharp > blurred + 0.1, (sharp, blurred)


@pytest.mark.parametrize("name", METHODS)
def test_grey_and_rgba_give_the_map_of_the_rgb_photo(name, run):
    img = half_blurred(40, 48, seed=1)
    grey = img[:, :, 1]
    np.testing.assert_array_equal(run(name, grey), run(name, np.dstack([grey] * 3)))
    rgba = np.dstack([img, np.full(img.shape[:2], 77, np.uint8)])
    np.testing.assert_array_equal(run(name, rgba), run(name, img))


@pytest.mark.parametrize("name", METHODS)
def test_unknown_parameter_names_the_valid_ones(name, run):
    method = get_method(name)
    with pytest.raises(DbdError, match=f"unknown parameter 'bogus' for method '{name}'") as err:
        run(name, half_blurred(), bogus=1)
    assert all(k in str(err.value) for k in method.params) and "\n" not in str(err.value)


NON_FINITE = (float("nan"), float("inf"), "nan", "-inf")


@pytest.mark.parametrize("name", METHODS)
def test_non_finite_numbers_are_refused(name, run):
    method = get_method(name)
    for key in _numeric(method):
        for value in NON_FINITE:
            bad = (
                [value]
                if isinstance(method.params[key], (tuple, list)) and not isinstance(value, str)
                else value
            )
            with pytest.raises(DbdError, match=f"parameter {key} must be") as err:
                run(name, half_blurred(), **{key: bad})
            assert "\n" not in str(err.value)


# Candidate values; every one outside a parameter's declared range must be refused.
PROBES = (-1000, -1, 0, 1, 2, 4, 1e-9, 0.5, 0.99, 1.5, 14, 15, 16, 17, 1000)


@pytest.mark.parametrize("name", METHODS)
def test_values_outside_the_declared_range_are_refused(name, run):
    method = get_method(name)
    tried = 0
    for key, check in method.checks.items():
        default = method.params[key]
        for probe in PROBES:
            value = type(default)([probe]) if isinstance(default, (tuple, list)) else probe
            if isinstance(default, int) and value != int(value):
                continue
            value = type(default)(value) if not isinstance(default, (tuple, list)) else value
            if check.test(value):
                continue
            tried += 1
            expected = f"{name}: parameter {key} must be {method.describe(key)}, got"
            with pytest.raises(DbdError, match=re.escape(expected)):
                run(name, half_blurred(), **{key: value})
    assert tried or not method.checks, f"{name}: no probe falls outside any range; extend PROBES"


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (2, 3), (7, 5), (9, 30)])
def test_too_small_images_are_an_error_or_a_map(name, shape, run):
    img = np.random.default_rng(2).integers(0, 256, (*shape, 3), dtype=np.uint8)
    try:
        out = run(name, img)
    except DbdError as err:
        assert "\n" not in str(err) and ("small" in str(err)), str(err)
        return
    assert shape != (0, 0), "an empty image must be refused"
    assert out.shape == shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


DOCS = Path(__file__).resolve().parents[2] / "docs" / "baselines.md"


def test_docs_table_lists_every_classical_parameter_and_its_range():
    from dbdbench.params import to_text

    # rows of the parameter table: "| name | `key=default` | range |" (other tables on the page differ)
    param_row = re.compile(r"^\| [a-z0-9-]+ \| `")
    rows = {line.strip() for line in DOCS.read_text(encoding="utf-8").splitlines() if param_row.match(line)}
    expected = {
        f"| {m.name} | `{k}={to_text(v)}` | {m.describe(k)} |"
        for m in list_methods()
        if m.kind == "classical"
        for k, v in m.params.items()
    }
    assert not expected - rows, f"add these rows to {DOCS.name}: {sorted(expected - rows)}"
    stale = rows - expected
    assert not stale, f"remove or update these rows of {DOCS.name}: {sorted(stale)}"


def test_documented_example_detector_registers_and_keeps_the_contract():
    from dbdbench.baselines import registry

    text = DOCS.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    code = next(b for b in blocks if "meangrad" in b)  # the "Adding a detector" example
    try:
        exec(compile(code, str(DOCS), "exec"), {})
        method = get_method("meangrad")
        assert method.params == {"window": 15, "refine": False}
        out = run_detector("meangrad", half_blurred())
        assert out.shape == (64, 64) and out.dtype == np.float32
        assert out[8:-8, 4:28].mean() > out[8:-8, 36:60].mean() + 0.1
        with pytest.raises(DbdError, match="meangrad: parameter window must be an integer >= 2, got 1"):
            method.func(half_blurred(), window=1)
    finally:
        registry.DETECTORS.unregister("meangrad")
