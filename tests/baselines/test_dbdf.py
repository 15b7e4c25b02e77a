"""DBDF (Shi, Xu & Jia, CVPR 2014): each feature against a direct formula, the naive Bayes against
scipy's normal density, the inference against exact enumeration and the Potts solver, the maps
against the authors' Octave output, and the one-line errors for bad parameter folders."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
import scipy.io
import scipy.stats
from click.testing import CliRunner

from dbdbench.baselines import dbdf_features as F
from dbdbench.baselines.dbdf import (
    MIN_SIDE,
    blur_maps,
    blurred_posterior,
    dbdf,
    grey_unit,
    multiscale_inference,
    scale_features,
)
from dbdbench.baselines.dbdf_model import ScaleModel, load_model
from dbdbench.baselines.potts import potts_marginals
from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.imageio import read_rgb, write_image

STEMS = [f"xu100_{i}" for i in range(1, 6)] + [f"dut500_{i}" for i in range(1, 6)]


def _image(h=40, w=44, seed=0):
    return np.random.default_rng(seed).random((h, w))


def _matlab_grad(im):
    dx = np.hstack([np.diff(im, axis=1), -im[:, -1:]])
    dy = np.vstack([np.diff(im, axis=0), -im[-1:, :]])
    return dx, dy


def test_gradients_hand_case():
    im = np.array([[1.0, 3.0], [4.0, 8.0]])
    dx, dy = F.gradients(im)
    np.testing.assert_array_equal(dx, [[2, -3], [4, -8]])
    np.testing.assert_array_equal(dy, [[3, 5], [-4, -8]])


def test_local_kurtosis_is_scipy_kurtosis_of_the_patch_gradients():
    im, p = _image(), 11
    q = F.local_kurtosis(im, p)
    dx, dy = _matlab_grad(im)
    o = p // 2
    for y, x in ((o, o), (20, 17), (40 - o - 1, 44 - o - 1)):
        kx = scipy.stats.kurtosis(dx[y - o : y + o + 1, x - o : x + o + 1].ravel(), fisher=False)
        ky = scipy.stats.kurtosis(dy[y - o : y + o + 1, x - o : x + o + 1].ravel(), fisher=False)
        assert q[y, x] == pytest.approx(min(np.log(kx), np.log(ky)), rel=1e-10)
    assert q[0, 0] == q[o, o] and q[-1, 5] == q[-1 - o, o]  # replicated border


def test_local_kurtosis_of_a_patch_whose_gradients_sum_to_zero_is_the_smallest_value():
    im = _image(30, 30)
    im[:, :12] = 0.5  # flat: every gradient 0 in the patches of the first columns
    q = F.local_kurtosis(im, 11)
    assert np.isfinite(q).all()
    assert q[15, 5] == q.min()


def _em_one(x, steps=100):
    """The two-Gaussian EM of the paper, one patch, a plain scalar loop over the mirrored samples."""
    x = np.concatenate([x, -x])
    v1, v2, w, prev = 0.5, 1e-4, 0.5, 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return _em_steps(x, v1, v2, w, prev, steps)


def _em_steps(x, v1, v2, w, prev, steps):
    for _ in range(steps):
        if not abs(prev - w) / prev > 1e-3:
            break
        prev = w
        n2 = w * np.exp(-(x * x) / (2 * v2)) / np.sqrt(2 * np.pi * v2)
        n1 = (1 - w) * np.exp(-(x * x) / (2 * v1)) / np.sqrt(2 * np.pi * v1)
        g = n2 / (n1 + n2)
        v1 = float(np.sum((1 - g) * x * x) / np.sum(1 - g))
        v2 = float(np.sum(g * x * x) / np.sum(g))
        w = float(np.sum(g) / len(x))
    s0, s1 = np.sqrt(v1), np.sqrt(v2)
    return s0 if s0 > s1 else s1


def test_gmm_span_equals_a_scalar_em_per_patch():
    rng = np.random.default_rng(3)
    rows = np.abs(np.concatenate([rng.normal(0, 0.3, (20, 30)), rng.normal(0, 0.02, (20, 91))], axis=1))
    rows[5, :] = 0.0  # degenerate: the fit breaks down (NaN)
    got = F.gmm_span(rows**2)
    want = np.array([_em_one(r) for r in rows])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert np.isnan(got[5]) and np.isnan(want[5])
    assert np.nanmedian(got) == pytest.approx(0.3, rel=0.25)  # the wide component's deviation


def test_gradient_histogram_span_map_layout():
    im, p = _image(36, 38), 11
    q = F.gradient_histogram_span(im, p)
    dx, dy = _matlab_grad(im)
    mag = np.sqrt(dx**2 + dy**2)
    o = p // 2
    y, x = 17, 20  # an inner patch centre: its own fit
    assert q[y, x] == pytest.approx(_em_one(mag[y - o : y + o + 1, x - o : x + o + 1].ravel()), rel=1e-10)
    # the 3 outer rings of patches and the border repeat the nearest inner patch
    assert q[0, 0] == q[o + 3, o + 3] and q[o + 1, 20] == q[o + 3, 20]


def _slope_one(patch):
    """Power-spectrum feature of one patch written out from its description."""
    p = patch.shape[0]
    h = (p - 1) // 2
    s = np.abs(np.fft.fft2(patch / patch.sum())) ** 2
    s = s[:h, :h] / (h * h)
    radius = {}
    for v in range(1, h + 1):
        for u in range(1, h + 1):
            radius.setdefault(int(np.floor(np.hypot(u, v) + 0.5)), []).append(s[v - 1, u - 1])
    rings = sorted(radius)
    avg = [np.mean(radius[r]) for r in rings]
    bins = sorted(set(np.floor(np.log(r) / 0.2 + 0.5) * 0.2 for r in rings))
    acc = [0.0] * len(bins)
    idx = -1
    for r, a in zip(rings, avg, strict=True):
        if idx + 1 < len(bins) and np.log(r) >= bins[idx + 1]:
            idx += 1
        acc[idx] += a
    logs = np.log(acc[:-1])
    return float(np.sum(logs[np.isfinite(logs)]))


@pytest.mark.parametrize("p", [11, 21])
def test_power_spectrum_slope_against_a_written_out_patch(p):
    im = _image(30, 33, seed=p)
    q = F.power_spectrum_slope(im, p)
    o = p // 2
    for y, x in ((o, o), (15, 16)):
        assert q[y, x] == pytest.approx(_slope_one(im[y - o : y + o + 1, x - o : x + o + 1]), rel=1e-9)
    np.testing.assert_allclose(F.power_spectrum_slope(im * 0.25, p), q, rtol=1e-9)  # scale-free
    assert F.power_spectrum_slope(np.zeros((15, 15)), 11)[7, 7] == 0.0  # all-black patch
    # a constant patch: power only at frequency 0, 1 / h^2 after dividing by the sum; every other
    # bin is empty (exactly 0, as the authors' FFT gives it) and left out
    assert F.power_spectrum_slope(np.full((15, 15), 0.7), 11)[7, 7] == pytest.approx(
        -2 * np.log(5), rel=1e-12
    )


def test_learned_filter_responses_are_patch_dot_filter_clipped_at_matlab_percentiles():
    rng = np.random.default_rng(5)
    im, p = _image(25, 27), 5
    filters = rng.normal(size=(p * p, 2))
    out = F.learned_filter_responses(im, filters)
    o = p // 2
    raw = np.array(
        [
            [
                im[y - o : y + o + 1, x - o : x + o + 1].ravel(order="F") @ filters[:, 0]
                for x in range(o, 27 - o)
            ]
            for y in range(o, 25 - o)
        ]
    )
    srt = np.sort(raw.ravel())
    n = srt.size

    def prctile(pct):  # MATLAB: sorted values at (k - 0.5) / n, linear in between
        pos = pct / 100 * n - 0.5
        k = int(np.floor(pos))
        return srt[k] + (pos - k) * (srt[k + 1] - srt[k])

    want = np.clip(raw, prctile(3), prctile(97))
    np.testing.assert_allclose(out[0][o:-o, o:-o], want, rtol=1e-12, atol=1e-12)
    assert len(out) == 2 and out[1].shape == im.shape


def test_blurred_posterior_against_scipy_normal_densities():
    rng = np.random.default_rng(7)
    model = ScaleModel(
        np.zeros((121, 2)), rng.normal(size=(2, 5)), rng.uniform(0.5, 2, (2, 5)), np.array([0.663, 0.337])
    )
    data = rng.normal(size=(50, 5)) * 3
    log = [
        scipy.stats.norm.logpdf(data, model.mu[c], model.sigma[c]).sum(axis=1) + np.log(model.prior[c])
        for c in (0, 1)
    ]
    want = 1 / (1 + np.exp(log[0] - log[1]))
    np.testing.assert_allclose(blurred_posterior(data, model), want, rtol=1e-12)


def test_inference_on_a_chain_equals_exact_enumeration():
    layers = [np.array([[0.2]]), np.array([[0.9]]), np.array([[0.4]])]
    alpha = 0.5
    x = np.array([a.item() for a in layers])
    z = (x - x.mean()) / x.std(ddof=1)
    num = den = 0.0
    for labels in itertools.product((1, 2), repeat=3):  # 1 blurred, 2 sharp
        unary = [
            np.exp(-abs(1 - zi)) if li == 1 else np.exp(-abs(zi)) for zi, li in zip(z, labels, strict=True)
        ]
        w = np.prod(unary)
        w *= np.exp(-alpha * ((labels[0] != labels[1]) + (labels[1] != labels[2])))
        den += w
        num += w * (labels[0] == 1)
    assert multiscale_inference(layers, alpha).item() == pytest.approx(num / den, rel=1e-9)


def test_inference_on_equal_layers_matches_the_potts_solver():
    rng = np.random.default_rng(11)
    layers = [rng.random((12, 14)) for _ in range(3)]
    ours = multiscale_inference(layers, 0.5)
    theirs = potts_marginals(np.stack(layers), alpha=0.5, tol=1e-6, max_iter=2000)[0]
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_inference_links_nested_layers_at_their_centres():
    # a 1 x 1 coarse layer inside 3 x 3 and 5 x 5 ones: only the centre pixels of the finer layers
    # reach it directly, so flipping a corner of the finest layer moves it less than its centre
    base = [np.full((1, 1), 0.5), np.full((3, 3), 0.5), np.full((5, 5), 0.5)]
    ref = multiscale_inference(base, 0.5).item()
    centre = [a.copy() for a in base]
    centre[2][2, 2] = 1.0
    corner = [a.copy() for a in base]
    corner[2][0, 0] = 1.0
    assert multiscale_inference(centre, 0.5).item() - ref > multiscale_inference(corner, 0.5).item() - ref > 0


# --- the authors' maps ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authors(real_data):
    ref = real_data / "reference"
    if not (ref / "dbdf_final").is_dir() or not (real_data / "authors/dbdf").is_dir():
        pytest.skip(
            f"{real_data} has no reference/dbdf_final or authors/dbdf: the shared real-data folder has both"
        )
    return ref, load_model(real_data / "authors/dbdf")


def _reference(ref, folder, stem):
    return scipy.io.loadmat(str(ref / folder / f"{stem}.mat"))["map"]


def _r(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("stem", ["xu100_1"])
def test_scale_11_posterior_equals_the_authors(authors, stem):
    ref, model = authors
    im = grey_unit(read_rgb(ref / "inputs" / f"{stem}.png"))
    post = blurred_posterior(scale_features(im, 11, model[11].filters), model[11])
    post = (post - post.min()) / (post.max() - post.min())
    want = _reference(ref, "dbdf_nb_s11", stem)[5:-5, 5:-5]
    assert _r(post, want) >= 0.9999
    assert np.abs(post - want).mean() < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_every_scale_and_the_final_map_against_the_authors(authors, stem):
    ref, model = authors
    post, blurred = blur_maps(grey_unit(read_rgb(ref / "inputs" / f"{stem}.png")), model)
    for s in (11, 15, 21):
        o = s // 2
        assert _r(post[s], _reference(ref, f"dbdf_nb_s{s}", stem)[o:-o, o:-o]) >= 0.999, s
    final = _reference(ref, "dbdf_final", stem)
    assert _r(blurred, final) >= 0.999
    assert np.abs(blurred - final).mean() < 2e-3


# --- parameter folders ---------------------------------------------------------------------------


@pytest.fixture
def released(real_data, tmp_path):
    """A copy of the authors' folder in tmp_path (tests only; never kept)."""
    src = real_data / "authors/dbdf"
    if not src.is_dir():
        pytest.skip(f"{src} is missing: the shared real-data folder holds the authors' files")
    dst = tmp_path / "dbdf"
    shutil.copytree(src, dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def _error(folder) -> str:
    with pytest.raises(DbdError) as err:
        load_model(folder)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_no_model_says_what_to_download_and_where_to_point():
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(DbdError, match="learned_linear_filter.mat and nb_classifier.mat.*--param model=DIR"):
        dbdf(img)


def test_missing_folder_or_files(tmp_path, released):
    assert "does not exist" in _error(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in _error(tmp_path / "file")
    (released / "learned_linear_filter.mat").unlink()
    assert "learned_linear_filter.mat is missing" in _error(released)


def test_damaged_and_foreign_files(released):
    filt = released / "learned_linear_filter.mat"
    data = filt.read_bytes()
    filt.write_bytes(data[: len(data) // 3])  # truncated
    msg = _error(released)
    assert str(filt) in msg and "W_11, W_15, W_21" in msg
    filt.write_text("not a mat file")
    assert "not a readable MATLAB file" in _error(released)
    scipy.io.savemat(str(filt), {"W_11": np.zeros((121, 46)), "W_15": np.zeros((100, 82))})
    assert "W_15 is of shape (100, 82)" in _error(released)
    scipy.io.savemat(str(filt), {"W_11": np.zeros((121, 46)), "W_15": np.zeros((225, 82))})
    assert "W_21 is absent" in _error(released)


def test_naive_bayes_tables_of_another_release(released):
    plain = released / "nb_classifier_plain.mat"
    tables = scipy.io.loadmat(str(plain))
    bad = {k: v for k, v in tables.items() if not k.startswith("__")}
    bad["nb15"] = {"Mu": np.zeros((2, 4)), "Sigma": np.ones((2, 4)), "Prior": np.array([0.5, 0.5])}
    scipy.io.savemat(str(plain), bad)
    msg = _error(released)
    assert str(plain) in msg and "nb15 has Mu (2, 4)" in msg and "2 x 5" in msg
    scipy.io.savemat(str(plain), {"nb11": np.zeros(3)})
    assert "nb11 is absent or not a struct" in _error(released)


def test_original_objects_read_with_mat_io_equal_the_plain_tables(released):
    pytest.importorskip("matio", reason="reading nb_classifier.mat needs mat-io (extra 'dbdf')")
    plain = load_model(released)
    (released / "nb_classifier_plain.mat").unlink()
    objects = load_model(released)
    for s in (11, 15, 21):
        for name in ("mu", "sigma", "prior"):
            np.testing.assert_array_equal(getattr(objects[s], name), getattr(plain[s], name))


def test_damaged_original_objects(released):
    pytest.importorskip("matio", reason="reading nb_classifier.mat needs mat-io (extra 'dbdf')")
    (released / "nb_classifier_plain.mat").unlink()
    objects = released / "nb_classifier.mat"
    objects.write_bytes(objects.read_bytes()[:900])  # truncated
    msg = _error(released)
    assert str(objects) in msg and "not a readable MATLAB file" in msg and "NaiveBayes objects" in msg
    scipy.io.savemat(str(objects), {"nb11": 1.0})  # a MAT file of other content
    assert "nb11 is absent or not a NaiveBayes object" in _error(released)


def test_original_objects_without_mat_io_say_what_to_install(released, monkeypatch):
    import builtins

    (released / "nb_classifier_plain.mat").unlink()
    real_import = builtins.__import__

    def no_matio(name, *args, **kwargs):
        if name == "matio":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matio)
    msg = _error(released)
    assert "mat-io" in msg and "dbdbench[dbdf]" in msg and "nb_classifier_plain.mat" in msg


def test_too_small_image_is_refused(real_data):
    img = np.zeros((MIN_SIDE - 1, 40, 3), np.uint8)
    with pytest.raises(DbdError, match="too small"):
        dbdf(img, model=str(real_data / "authors/dbdf"))


def test_cli_without_model_is_one_line(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    write_image(images / "a.png", np.zeros((32, 32, 3), np.uint8))
    res = CliRunner().invoke(
        main, ["predict", "--method", "dbdf", "--images", str(images), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2, res.output
    assert "--param model=DIR" in res.output and len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_cli_with_the_model_and_two_workers_writes_the_maps(real_data, tmp_path):
    from dbdbench.imageio import read_grey

    images = tmp_path / "images"
    rgb = read_rgb(real_data / "reference/inputs/xu100_1.png")[100:160, 100:164]
    for name, img in (("a", rgb), ("b", rgb[::-1].copy())):
        write_image(images / f"{name}.png", img)
    model = str(real_data / "authors/dbdf")
    out = tmp_path / "maps"
    args = ["predict", "--method", "dbdf", "--images", str(images), "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--param", f"model={model}", "--workers", "2"])
    assert res.exit_code == 0, res.output
    for name in ("a", "b"):
        want = np.rint(dbdf(read_rgb(images / f"{name}.png"), model=model) * 255)
        np.testing.assert_array_equal(read_grey(out / f"{name}.png"), want)
