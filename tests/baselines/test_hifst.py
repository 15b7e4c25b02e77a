"""HiFST: the coefficient stage against direct per-pixel DCTs, and the whole detector against the
authors' own maps on the real CUHK photos."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dctn

from dbdbench.baselines import hifst as H
from dbdbench.baselines.edge_filters import domain_transform_rf
from dbdbench.baselines.imageops import entropy_filter_matlab


def _direct_layers(grad: np.ndarray, scales=H.SCALES, layers=117) -> np.ndarray:
    """Per pixel: |orthonormal 2-D DCT-II| of each centred patch (zero padding), u + v >= M - 1,
    all scales pooled, sorted, smallest ``layers`` kept - the method as the paper states it."""
    pad = max(scales) // 2
    gp = np.pad(grad.astype(np.float64), pad)
    out = np.empty((*grad.shape, layers))
    for r in range(grad.shape[0]):
        for c in range(grad.shape[1]):
            vals = []
            for m in scales:
                h = m // 2
                patch = gp[r + pad - h : r + pad + h + 1, c + pad - h : c + pad + h + 1]
                coef = np.abs(dctn(patch, norm="ortho"))
                u, v = np.indices((m, m))
                vals.append(coef[u + v >= m - 1])
            out[r, c] = np.sort(np.concatenate(vals))[:layers]
    return out


def test_layers_equal_direct_dct_with_tiles_and_file_backing(monkeypatch):
    rng = np.random.default_rng(3)
    grad = rng.random((9, 13)) * 50
    grad[4:, 6:] = 0.0  # a flat corner: many exact zeros
    expected = _direct_layers(grad)
    tiled = H.sorted_coefficient_layers(grad, tile_pixels=40)  # several tiles, ragged edges
    np.testing.assert_allclose(tiled, expected, rtol=0, atol=1e-4 * grad.max())
    monkeypatch.setattr(H, "LAYERS_IN_MEMORY_BYTES", 0)
    on_disk = H.sorted_coefficient_layers(grad)
    assert isinstance(on_disk, np.memmap)
    np.testing.assert_array_equal(np.asarray(on_disk), np.asarray(H.sorted_coefficient_layers(grad)))


def test_strided_layers_are_the_full_layers_at_every_sth_pixel():
    rng = np.random.default_rng(11)
    grad = rng.random((23, 30)) * 50
    full = H.sorted_coefficient_layers(grad)
    for stride in (2, 3, 5):
        strided = H.sorted_coefficient_layers(grad, stride=stride, tile_pixels=17)  # ragged tiles
        assert strided.shape == (-(-23 // stride), -(-30 // stride), 117)
        np.testing.assert_allclose(strided, full[::stride, ::stride], rtol=0, atol=1e-4 * grad.max())


def test_stride_is_checked_and_upsampling_keeps_grid_values():
    from dbdbench.errors import DbdError

    img = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(DbdError, match="hifst: parameter stride must be an integer"):
            H.hifst(img, stride=bad)
    grid = np.random.default_rng(1).random((4, 5))
    up = H._upsample_grid(grid, 3, (11, 13))  # grid pixels 0, 3, 6, 9 (rows) and 0..12 (cols)
    np.testing.assert_allclose(up[::3, ::3], grid, atol=1e-6)
    np.testing.assert_allclose(up[1, 0], (2 * grid[0, 0] + grid[1, 0]) / 3, atol=1e-6)
    np.testing.assert_allclose(up[10], up[9], atol=1e-6)  # beyond the last grid row: nearest


@pytest.mark.parametrize("failure", ["disk full", "map"])
def test_a_failing_layer_file_is_one_line_and_leaves_no_file(monkeypatch, tmp_path, failure):
    """The large-photo path: a full disk or a failed mapping is a DbdError naming the fix, and the
    temporary file is gone afterwards."""
    import errno
    import tempfile

    from dbdbench.errors import DbdError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(H, "LAYERS_IN_MEMORY_BYTES", 0)
    if failure == "disk full":

        def allocate(fd, nbytes):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(H, "_allocate", allocate)
    else:

        def memmap(*args, **kwargs):
            raise OSError(errno.ENOMEM, "Cannot allocate memory")

        monkeypatch.setattr(H.np, "memmap", memmap)
    img = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    with pytest.raises(DbdError) as err:
        H.hifst(img)
    msg = str(err.value)
    assert "\n" not in msg and "40x30 photo" in msg and "stride=4" in msg and str(tmp_path) in msg
    assert list(tmp_path.iterdir()) == []


def test_layer_file_is_removed_after_success_and_memory_errors_are_one_line(monkeypatch, tmp_path):
    import tempfile

    from dbdbench.errors import DbdError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(H, "LAYERS_IN_MEMORY_BYTES", 0)
    img = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    on_disk = H.hifst(img)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(H, "LAYERS_IN_MEMORY_BYTES", 2**40)
    np.testing.assert_array_equal(on_disk, H.hifst(img))

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(H, "entropy_filter_matlab", no_memory)
    with pytest.raises(DbdError, match="hifst: not enough memory for a 40x30 photo; pass --param stride=4"):
        H.hifst(img)


def test_selection_equals_a_full_sort_of_the_same_coefficients():
    """The partial selection keeps exactly the 117 smallest of the 2660 triangle coefficients."""
    rng = np.random.default_rng(7)
    grad = (rng.random((11, 14)) * 40).astype(np.float32)
    grad[:5, :6] = 0.0  # exact ties (zeros)
    grad[6:, 9:] = 3.0  # and a constant patch
    scs = [H._Scale.make(m) for m in H.SCALES]
    coefs = np.empty((H.BLOCK * sum(s.width for s in scs), grad.size), dtype=np.float32)
    gp = np.pad(grad, max(H.SCALES) // 2)
    H._tile_coefficients(gp, slice(0, 11), slice(0, 14), scs, coefs, H._Workspace())
    kept = np.delete(np.abs(coefs), H._waste_index(scs), axis=0)
    assert kept.shape[0] == sum(m * (m + 1) // 2 for m in H.SCALES) == 2660  # the triangles
    full = np.sort(kept, axis=0)[:117].T.reshape(11, 14, 117)
    np.testing.assert_array_equal(H.sorted_coefficient_layers(grad, tile_pixels=grad.size), full)


def test_coefficient_stage_memory_is_bounded_by_the_tile():
    """Peak memory grows with the image only by the 117 layers kept, not by its 2660 coefficients."""
    import tracemalloc

    rng = np.random.default_rng(4)
    peaks, sizes = [], []
    for rows in (8, 40):
        grad = rng.random((rows, 300)).astype(np.float32)
        tracemalloc.start()
        layers = H.sorted_coefficient_layers(grad, tile_pixels=600)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sizes.append(layers.nbytes)
    growth = peaks[1] - peaks[0]
    assert growth < 1.5 * (sizes[1] - sizes[0]) + 2**20, (peaks, sizes)
    assert peaks[1] < 40 * 300 * 2660 * 4 / 4  # a quarter of all coefficient maps at once


def test_entropy_filter_hand_worked():
    # A 0/1 checkerboard: every full 7x7 window holds 25 of one value and 24 of the other.
    checker = (np.indices((12, 12)).sum(axis=0) % 2).astype(float)
    p = np.array([25, 24]) / 49
    expected = -(p * np.log2(p)).sum()
    ent = entropy_filter_matlab(checker)
    np.testing.assert_allclose(ent[3:-3, 3:-3], expected, atol=1e-12)
    np.testing.assert_allclose(entropy_filter_matlab(np.full((5, 4), 0.3)), 0, atol=1e-12)


def test_entropy_filter_equals_scikit_image_rank_entropy():
    from skimage.filters.rank import entropy

    x = np.random.default_rng(5).random((40, 57)) ** 3
    q = np.clip(np.floor(x * 255 + 0.5), 0, 255).astype(np.uint8)
    ref = entropy(np.pad(q, 3, mode="symmetric"), np.ones((7, 7), bool))[3:-3, 3:-3]
    np.testing.assert_allclose(entropy_filter_matlab(x), ref, atol=1e-12)


def test_entropy_window_is_capped_where_the_8_bit_counts_hold():
    """15 x 15 = 225 pixels fit the filter's 8-bit window counts (equal to scikit-image on a flat
    region, where one level fills the window); 17 x 17 would saturate, so hifst refuses it."""
    from skimage.filters.rank import entropy

    from dbdbench.errors import DbdError

    x = np.random.default_rng(6).random((40, 40))
    x[:, :25] = 0.5
    q = np.clip(np.floor(x * 255 + 0.5), 0, 255).astype(np.uint8)
    ref = entropy(np.pad(q, 7, mode="symmetric"), np.ones((15, 15), bool))[7:-7, 7:-7]
    np.testing.assert_allclose(entropy_filter_matlab(x, 15), ref, atol=1e-12)
    with pytest.raises(DbdError, match=r"entropy_window must be an odd integer in \[3, 15\], got 17"):
        H.hifst(q, entropy_window=17)


def test_domain_transform_keeps_edges_and_constants():
    guide = np.zeros((40, 40))
    guide[:, 20:] = 1.0  # a strong guide edge between columns 19 and 20
    src = guide.copy()
    out = domain_transform_rf(src, guide, 15, 0.25, 3)
    assert np.abs(out - src).max() < 1e-3  # nothing leaks across the edge
    flat = domain_transform_rf(np.full((30, 30), 0.7), np.zeros((30, 30)), 15, 0.25, 3)
    np.testing.assert_allclose(flat, 0.7, atol=1e-5)
    noisy = np.random.default_rng(0).random((40, 40))
    assert domain_transform_rf(noisy, np.zeros((40, 40)), 15, 0.25, 3).std() < 0.2 * noisy.std()


# -- real data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hifst_maps(real_data, tmp_path_factory):
    """Our HiFST maps of the 9 CUHK photos (as written by predict, 8-bit) and the authors' maps."""
    from dbdbench.baselines import predict_paths
    from dbdbench.imageio import read_unit
    from dbdbench.pairing import list_images

    images = list_images(real_data / "cuhk" / "image")
    assert len(images) == 9
    out = tmp_path_factory.mktemp("hifst")
    predict_paths("hifst", list(images.items()), out, workers=2)
    ours = {n: read_unit(out / f"{n}.png") for n in images}
    authors = {n: read_unit(real_data / "cuhk/results/hifst" / f"{n}_HiFSTBlurMap.png") for n in images}
    return ours, authors


@pytest.mark.slow  # the hifst_maps fixture runs HiFST on 9 full-size photos
def test_hifst_correlates_with_authors_maps(hifst_maps):
    ours, authors = hifst_maps
    for name in ours:
        assert ours[name].shape == authors[name].shape, name
        r = np.corrcoef(ours[name].ravel(), authors[name].ravel())[0, 1]
        assert r >= 0.9999, f"{name}: Pearson {r:.6f}"


@pytest.mark.filterwarnings("ignore:This class will be removed:UserWarning")
@pytest.mark.slow  # the hifst_maps fixture runs HiFST on 9 full-size photos
def test_hifst_maxf_matches_authors_maps(hifst_maps, real_data):
    import py_sod_metrics

    from dbdbench.imageio import read_grey

    ours, authors = hifst_maps
    fm_ours, fm_auth = py_sod_metrics.Fmeasure(), py_sod_metrics.Fmeasure()
    names = [n for n in ours if n.startswith("out_of_focus")]
    assert len(names) == 7
    for name in names:
        gt = 255 - read_grey(real_data / "cuhk/gt" / f"{name}.png")  # white = blurred on disk
        fm_ours.step(np.rint(ours[name] * 255).astype(np.uint8), gt)
        fm_auth.step(np.rint(authors[name] * 255).astype(np.uint8), gt)
    max_ours = fm_ours.get_results()["fm"]["curve"].max()
    max_auth = fm_auth.get_results()["fm"]["curve"].max()
    assert abs(max_ours - max_auth) <= 0.02, (max_ours, max_auth)
    assert max_ours > 0.5  # and the maps are informative at all


def test_stride_4_correlates_with_authors_maps(real_data):
    """Stride 4 (the layers at 1/16 of the pixels, like blur-detector) on two CUHK photos: closer to
    the authors' maps than blur-detector's 0.98 (benchmarks/bench_baselines.py --part hifst)."""
    from dbdbench.imageio import read_rgb, read_unit

    for name in ("out_of_focus0035", "motion0138"):
        img = read_rgb(real_data / "cuhk/image" / f"{name}.jpg")
        ref = read_unit(real_data / "cuhk/results/hifst" / f"{name}_HiFSTBlurMap.png")
        r = np.corrcoef(H.hifst(img, stride=4).ravel(), ref.ravel())[0, 1]
        assert r >= 0.99, f"{name}: Pearson {r:.4f}"
