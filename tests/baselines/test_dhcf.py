"""DHCF (Park et al., CVPR 2017): features, edges, network and weights reader against independent
references.

- Hand-crafted features of the authors' saved patches equal the Octave run of their code
  (``reference/dhde_features``) to 1e-5; patches and gradients cut at the reference's own edge
  positions equal the saved ones exactly.
- Edges (MATLAB's documented Canny) against the Octave edges (``reference/dhde_edge``, Octave's own
  Canny): agreement measured, not equality.
- The numpy network against a second forward pass written here with explicit loops in float64,
  Caffe's pooling rule and layout, to 1e-5; and on patches of a photo blurred with each of the 11
  sigma labels (the authors' training recipe) the right label is picked far above chance, which a
  transposed weight breaks.
- The ``.caffemodel`` reader: both layer formats, and one-line refusals of missing, garbage,
  truncated and other networks' files.
"""

from __future__ import annotations

import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dbdbench.baselines import dhcf as D
from dbdbench.baselines import dhcf_features as F
from dbdbench.baselines import dhcf_net as N
from dbdbench.baselines import dhcf_validation as V
from dbdbench.baselines.caffemodel import parse_net, read_weights
from dbdbench.errors import DbdError

REF = "reference/dhde_features"
WEIGHTS = "authors/dhde/DHDE_model.caffemodel"


@pytest.fixture(scope="module")
def weights_path(real_data):
    path = real_data / WEIGHTS
    if not path.is_file():
        pytest.skip(f"the authors' DHDE weights are not under DBDBENCH_DATA ({WEIGHTS})")
    return path


@pytest.fixture(scope="module")
def weights(weights_path):
    return N.load_weights(str(weights_path))


def _mat(real_data, folder, stem):
    import scipy.io

    path = real_data / folder / f"{stem}.mat"
    if not path.is_file():
        pytest.skip(f"{path} is absent: DBDBENCH_DATA has no DHDE reference")
    return scipy.io.loadmat(path)


STEMS = [
    "motion0138",
    "motion0239",
    "out_of_focus0011",
    "out_of_focus0031",
    "out_of_focus0035",
    "out_of_focus0080",
    "out_of_focus0088",
    "out_of_focus0223",
    "out_of_focus0284",
]


# -- hand-crafted features -------------------------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_features_equal_the_octave_reference(real_data, stem):
    ref = _mat(real_data, REF, stem)
    for s in (0, 1):
        grey = np.moveaxis(ref[f"pGry_s{s + 1}"], 2, 0)
        grad = ref[f"pGrd_s{s + 1}"].T
        for name, ours in zip(("DCT", "GRD", "SVD"), F.features(grey, grad, s), strict=True):
            expected = ref[f"f{name}_s{s + 1}"]
            assert ours.shape == expected.shape == (200, F.BINS[s] + 1)
            np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0, err_msg=f"{stem} s{s + 1} {name}")


def test_gradient_histogram_boundary_counts_in_the_lower_bin():
    """A magnitude exactly on a bin boundary (0.4 = boundary 10 of 25) counts below it (Octave)."""
    grey = np.random.default_rng(0).random((1, 27, 27))
    grad = np.zeros((1, 729))
    grad[0, :3] = 0.4
    _, grd, _ = F.features(grey, grad, 0)
    lg = grd[0, :25] / grd[0, :25].max()
    # 726 zeros in bin 0 and 3 values in bin 9 (0-based): log(1 + 3) / log(1 + 726)
    assert np.nonzero(lg)[0].tolist() == [0, 9]
    assert lg[9] == pytest.approx(np.log(4) / np.log(727), abs=1e-12)


@pytest.mark.parametrize("stem", STEMS[:3])
def test_patches_and_gradients_at_the_reference_edges_equal_the_saved_ones(real_data, stem):
    edges = _mat(real_data, "reference/dhde_edge", stem)
    ref = _mat(real_data, REF, stem)
    grey, labels = edges["gray"], edges["map"]
    for s, r in enumerate(F.RADII):
        rows, cols = F.edge_positions(labels, s)
        assert len(rows) == int(ref[f"nEdges_s{s + 1}"][0, 0])
        rows, cols = rows[:200], cols[:200]
        np.testing.assert_array_equal(rows + 1, ref[f"rows_s{s + 1}"].ravel())
        np.testing.assert_array_equal(cols + 1, ref[f"cols_s{s + 1}"].ravel())
        np.testing.assert_array_equal(
            F.cut_patches(grey, rows, cols, r), np.moveaxis(ref[f"pGry_s{s + 1}"], 2, 0)
        )
        grad = F.cut_patches(F.gradient_magnitude(np.pad(grey, r, mode="edge")), rows + r, cols + r, r)
        stacked = grad.transpose(0, 2, 1).reshape(200, -1)  # MATLAB's column stacking
        np.testing.assert_allclose(stacked, ref[f"pGrd_s{s + 1}"].T, atol=1e-15, rtol=0)


# -- edges -----------------------------------------------------------------------------------------


def test_canny_finds_a_step_edge_and_nothing_on_a_flat_image():
    img = np.zeros((40, 40))
    img[:, 20:] = 1.0
    edges = F.canny(img, 0.1, 0.2)
    cols = np.nonzero(edges.any(axis=0))[0]
    assert cols.tolist() in ([19], [20])  # one thin line at the step
    assert edges[2:-2, cols[0]].all()  # along the whole step (away from the corners)
    assert not F.canny(np.full((20, 20), 0.5), 0.1, 0.2).any()


@pytest.mark.parametrize("stem", ["motion0138", "out_of_focus0035", "out_of_focus0284"])
def test_edges_agree_with_octave_edges(real_data, stem):
    """Octave's Canny is not MATLAB's (reference README section 4): the labels agree on >= 98% of
    the pixels, and the edges of each scale overlap with IoU >= 0.5 (measured: 0.53-0.82)."""
    ref = _mat(real_data, "reference/dhde_edge", stem)
    agree = V.edge_agreement(F.edge_labels(ref["gray"]), ref["map"])
    assert agree["pixels"] >= 0.98 and agree["iou_s1"] >= 0.5 and agree["iou_s2"] >= 0.5, agree


def test_value_channel_is_the_reference_grey(real_data):
    from dbdbench.imageio import read_rgb

    ref = _mat(real_data, "reference/dhde_edge", "out_of_focus0035")
    rgb = read_rgb(real_data / "reference/inputs/out_of_focus0035.png").astype(np.float64) / 255
    np.testing.assert_array_equal(F.value_channel(rgb), ref["gray"])


# -- network ---------------------------------------------------------------------------------------


def _naive_forward(layers, features: np.ndarray, image: np.ndarray) -> np.ndarray:
    """One patch through the network with explicit loops over output positions, float64.

    ``image`` is a Caffe blob C x H x W; pooling windows start at ``p * stride`` and end at
    ``min(start + kernel, size)``, with ``ceil((size - kernel) / stride) + 1`` windows.
    """

    def conv(x, w, b):
        o, c, k, _ = w.shape
        h, wd = x.shape[1] - k + 1, x.shape[2] - k + 1
        y = np.zeros((o, h, wd))
        for i in range(h):
            for j in range(wd):
                y[:, i, j] = np.tensordot(w, x[:, i : i + k, j : j + k], axes=3) + b
        return np.maximum(y, 0)

    def pool(x, k=3, s=3):
        c, h, w = x.shape
        oh, ow = int(np.ceil((h - k) / s)) + 1, int(np.ceil((w - k) / s)) + 1
        y = np.zeros((c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                y[:, i, j] = x[:, i * s : min(i * s + k, h), j * s : min(j * s + k, w)].max(axis=(1, 2))
        return y

    L = {k: (w.astype(np.float64), b.astype(np.float64)) for k, (w, b) in layers.items()}
    x = pool(conv(image.astype(np.float64), *L["conv1"]))
    x = pool(conv(x, *L["conv2"]))
    x = conv(conv(x, *L["conv3"]), *L["conv4"])
    h = np.concatenate([features.astype(np.float64), x.ravel()])  # C x H x W flattening
    for name in ("fc1", "fc2", "fc3"):
        w, b = L[name]
        h = np.maximum(w @ h + b, 0)
    e = np.exp(h - h.max())
    return e / e.sum()


def test_network_equals_a_naive_forward_pass(weights):
    rng = np.random.default_rng(0)
    n = 3
    feats = rng.integers(0, 40, (n, 120)).astype(np.float32)
    image = rng.integers(0, 256, (n, 3, 27, 27)).astype(np.float32)
    ours = N.forward(weights, feats, image)
    for i in range(n):
        np.testing.assert_allclose(
            ours[i], _naive_forward(weights.layers, feats[i], image[i]), atol=1e-5, rtol=0
        )


def test_caffe_pooling_sizes():
    assert [N.pooled_size(s, 3, 3) for s in (25, 7, 9, 3, 4)] == [9, 3, 3, 1, 2]


def test_network_inputs_are_rounded_and_transposed():
    dct = np.full((1, 14), 0.5 / 255)  # 0.5 rounds away from zero: 1
    rgb = np.zeros((1, 27, 27, 3))
    rgb[0, 2, 5, 1] = 7 / 255  # row 2, column 5, green
    feats, image = N.network_inputs(dct, dct * 0, dct * 0, rgb, scale=1)
    assert feats.shape == (1, 120) and feats[0, :26].sum() == 0 and (feats[0, 26:40] == 1).all()
    assert image.shape == (1, 3, 27, 27) and image[0, 1, 5, 2] == 7 and image.sum() == 7


@pytest.fixture(scope="module")
def blurred_inputs(real_data):
    from dbdbench.imageio import read_rgb

    rgb = read_rgb(real_data / "cuhk/image/out_of_focus0035.jpg").astype(np.float64) / 255
    return V.blurred_patches(rgb, per_scale=40, seed=0)


def test_network_recognises_the_blur_labels(weights, blurred_inputs):
    """Chance is 1/11; measured on 880 patches: 44% exact, 82% within one label."""
    conf = V.confusion(weights, blurred_inputs)
    n = conf.sum()
    exact = np.trace(conf) / n
    near = sum(np.trace(conf, k) for k in (-1, 0, 1)) / n
    assert exact >= 0.35 and near >= 0.75, (exact, near, conf)
    # predictions grow with the true blur: mean predicted label increases along the rows
    mean_pred = (conf * np.arange(11)).sum(axis=1) / conf.sum(axis=1)
    assert np.corrcoef(mean_pred, np.arange(11))[0, 1] >= 0.95, mean_pred


def test_a_transposed_weight_breaks_the_recognition(weights, blurred_inputs):
    layers = dict(weights.layers)
    w, b = layers["conv2"]
    layers["conv2"] = (np.ascontiguousarray(w.transpose(0, 1, 3, 2)), b)
    w, b = layers["fc1"]
    layers["fc1"] = (np.ascontiguousarray(np.roll(w, 40, axis=1)), b)  # feature blocks misread
    conf = V.confusion(N.Weights(layers), blurred_inputs)
    good = np.trace(V.confusion(weights, blurred_inputs))
    assert np.trace(conf) < 0.6 * good, (np.trace(conf), good)


# -- the weights file ------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _v1_net(shapes: dict) -> bytes:
    """A NetParameter in the old format (``layers``: name 4, blobs 6, legacy num/channels/h/w)."""
    net = _field(1, b"old")
    for name, blobs in shapes.items():
        layer = _field(4, name.encode()) + _varint(5 << 3) + _varint(4)
        for shape in blobs:
            dims = (1,) * (4 - len(shape)) + tuple(shape)
            blob = b"".join(_varint(k << 3) + _varint(d) for k, d in zip((1, 2, 3, 4), dims, strict=True))
            data = np.arange(int(np.prod(shape)), dtype="<f4")
            blob += _field(5, data.tobytes())
            layer += _field(6, blob)
        net += _field(2, layer)
    return net


def test_reader_reads_the_old_layer_format(tmp_path):
    path = tmp_path / "old.caffemodel"
    path.write_bytes(_v1_net(N.EXPECTED))
    blobs = read_weights(path, N.EXPECTED, network="DHDE", release="X")
    w, b = blobs["fc1"]
    assert w.shape == (300, 145) and w[1, 2] == 147 and b.shape == (300,)
    assert parse_net(path.read_bytes())[0].type == "V1:4"


def test_reader_refuses_missing_garbage_truncated_and_other_networks(tmp_path, weights_path):
    def refused(path, *words):
        with pytest.raises(DbdError) as err:
            N.load_weights(str(path))
        msg = str(err.value)
        assert "\n" not in msg and str(path) in msg and "DHDE_model.caffemodel" in msg, msg
        for w in words:
            assert w in msg, msg

    refused(tmp_path / "none.caffemodel", "does not exist")
    garbage = tmp_path / "garbage.caffemodel"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    refused(garbage)
    data = weights_path.read_bytes()
    for cut in (7, len(data) // 2, len(data) - 3):
        truncated = tmp_path / f"cut{cut}.caffemodel"
        truncated.write_bytes(data[:cut])
        refused(truncated)
    other = dict(N.EXPECTED)
    other["fc3"] = ((2, 150), (2,))  # a two-class release
    wrong = tmp_path / "two_class.caffemodel"
    wrong.write_bytes(_v1_net(other))
    refused(wrong, "fc3", "(11, 150)")
    missing = tmp_path / "no_fc3.caffemodel"
    missing.write_bytes(_v1_net({k: v for k, v in N.EXPECTED.items() if k != "fc3"}))
    refused(missing, "fc3")
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"\x80\x04\x95" + struct.pack("<Q", 10) + b"garbage..")
    refused(pickle)


def test_without_weights_one_line_says_what_to_download(tmp_path):
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(DbdError, match="DHDE_model.caffemodel.*--checkpoint FILE"):
        D.dhcf(img)
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), img)
    command = [
        sys.executable,
        "-m",
        "dbdbench",
        "predict",
        "--method",
        "dhcf",
        "--images",
        str(tmp_path / "images"),
    ]
    for extra, word in (
        ([], "DHDE_model.caffemodel"),
        (["--checkpoint", str(tmp_path / "no.caffemodel")], "no.caffemodel"),
    ):
        proc = subprocess.run(
            [*command, "--out", str(tmp_path / "out"), *extra], capture_output=True, text=True
        )
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and word in lines[0], proc.stderr
        assert not any((tmp_path / "out").glob("*.png"))


# -- the whole detector ----------------------------------------------------------------------------


def test_map_of_a_half_blurred_scene_ranks_the_sharp_half_higher(weights_path):
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)
    sharp = cv2.resize(texture, (180, 120), interpolation=cv2.INTER_NEAREST)
    img = sharp.copy()
    img[:, 90:] = cv2.GaussianBlur(sharp, (0, 0), 2.5)[:, 90:]
    out = D.dhcf(img, checkpoint=str(weights_path))
    assert out.shape == (120, 180) and out.dtype == np.float32
    assert out[10:-10, 10:75].mean() > out[10:-10, 105:170].mean() + 0.3


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This class will be removed:UserWarning")
def test_sod_maxf_on_the_cuhk_defocus_photos(real_data, weights_path, tmp_path):
    """The 7 CUHK defocus photos through predict (8-bit maps): sod maxF >= 0.75 (lapvar 0.832,
    hifst 0.821)."""
    import py_sod_metrics

    from dbdbench.baselines import predict_paths
    from dbdbench.imageio import read_grey, read_unit
    from dbdbench.pairing import list_images

    images = {
        n: p for n, p in list_images(real_data / "cuhk" / "image").items() if n.startswith("out_of_focus")
    }
    assert len(images) == 7
    predict_paths("dhcf", list(images.items()), tmp_path, params={"checkpoint": str(weights_path)}, workers=2)
    fm = py_sod_metrics.Fmeasure()
    for name in images:
        gt = 255 - read_grey(real_data / "cuhk/gt" / f"{name}.png")  # white = blurred on disk
        fm.step(np.rint(read_unit(tmp_path / f"{name}.png") * 255).astype(np.uint8), gt)
    assert fm.get_results()["fm"]["curve"].max() >= 0.75
