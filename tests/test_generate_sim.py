"""generate-sim end to end: reproducibility (workers, dask, resume after a kill), labels that agree with
the rendered blur, the output layout, and bad input."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage

from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.generators import generate_sim, read_defocus
from dbdbench.imageio import read_grey, read_rgb, write_image
from dbdbench.outputs import LOCK_FILE

SMALL = dict(count=6, size=64, seed=3, progress=False)


def tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file in the folder."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def journal_rows(folder: Path) -> list[str]:
    """Names of the samples recorded in the per-process journals ``.rows/*.jsonl``, sorted."""
    lines = [line for p in (folder / ".rows").glob("*.jsonl") for line in p.read_text().splitlines()]
    return sorted(json.loads(line)["name"] for line in lines)


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """One-worker reference runs of both recipes."""
    root = tmp_path_factory.mktemp("ref")
    out = {}
    for recipe in ("btbnet", "lens"):
        generate_sim(root / recipe, recipe=recipe, **SMALL)
        out[recipe] = tree(root / recipe)
    return out


def test_layout_and_manifest(reference, tmp_path):
    files = reference["btbnet"]
    names = [f"{i:06d}" for i in range(6)]
    assert sorted(files) == sorted(
        ["manifest.csv", "recipe.toml"] + [f"image/{n}.png" for n in names] + [f"gt/{n}.png" for n in names]
    )
    (tmp_path / "m.csv").write_bytes(files["manifest.csv"])
    with (tmp_path / "m.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == names and [int(r["index"]) for r in rows] == list(range(6))
    for key in (
        "source",
        "crop_x",
        "crop_size",
        "mask_kind",
        "focus",
        "sigma_px",
        "infocus_fraction",
        "seed",
    ):
        assert key in rows[0]
    for r in rows:
        (tmp_path / "g.png").write_bytes(files[r["gt"]])
        gt = read_grey(tmp_path / "g.png")
        assert gt.shape == (64, 64) and set(np.unique(gt)) <= {0, 255}
        assert float(r["infocus_fraction"]) == pytest.approx((gt == 255).mean(), abs=1e-6)
        assert 0.1 <= float(r["infocus_fraction"]) <= 0.9
        assert float(r["sigma_px"]) in (1.5, 2.0, 3.0, 4.0, 6.0)
        assert float(r["edge_band_px"]) == 2 * float(r["sigma_px"])
        assert r["focus"] in ("foreground", "background")


def test_identical_bytes_for_two_workers_and_cli(reference, tmp_path):
    generate_sim(tmp_path / "w2", recipe="btbnet", workers=2, **SMALL)
    assert tree(tmp_path / "w2") == reference["btbnet"]
    res = CliRunner().invoke(
        main,
        [
            "generate-sim",
            "--recipe",
            "lens",
            "--count",
            "6",
            "--size",
            "64",
            "--seed",
            "3",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "cli"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "6 samples" in res.output and "skipped: 1 blurry" in res.output
    assert tree(tmp_path / "cli") == reference["lens"]


def test_identical_bytes_on_dask_cluster(reference, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        generate_sim(tmp_path / "dask", recipe="btbnet", scheduler=cluster.scheduler_address, **SMALL)
    assert tree(tmp_path / "dask") == reference["btbnet"]


def test_resume_after_deleting_samples(reference, tmp_path):
    out = tmp_path / "r"
    generate_sim(out, recipe="btbnet", **SMALL)
    (out / "image" / "000001.png").unlink()
    (out / "gt" / "000004.png").unlink()
    s = generate_sim(out, recipe="btbnet", resume=True, **SMALL)
    assert s.generated == 2  # exactly the two samples with a missing file are redone
    assert tree(out) == reference["btbnet"]


def test_resume_counts_only_whole_journal_rows_with_files(reference, tmp_path):
    out = tmp_path / "j"
    generate_sim(out, recipe="btbnet", **SMALL)
    lines = [json.dumps(row) + "\n" for row in manifest(out)]
    (out / "manifest.csv").unlink()
    (out / ".rows").mkdir()
    (out / ".rows" / "host-1.jsonl").write_text("".join(lines[:3]))
    (out / ".rows" / "host-2.jsonl").write_text("".join(lines[3:5]) + lines[5][:40])  # killed mid-row
    (out / "image" / "000001.png").unlink()
    s = generate_sim(out, recipe="btbnet", resume=True, **SMALL)
    assert s.generated == 2  # sample 1 (file missing) and sample 5 (row cut short)
    assert tree(out) == reference["btbnet"]


#: A child that runs generate-sim and kills itself (SIGKILL, no clean-up) as soon as its third sample
#: is written: the kill point is the child's own, not a race with the test's clock.
KILLED_CHILD = """
import os, signal, sys
from dbdbench.generators import generate_sim, writer

write, done = writer.write_sample, []

def write_then_die(*args):
    write(*args)
    done.append(1)
    if len(done) == 3:
        os.kill(os.getpid(), signal.SIGKILL)

writer.write_sample = write_then_die
generate_sim(sys.argv[1], recipe="lens", count=40, size=64, seed=3, progress=False)
"""


def test_resume_after_killed_subprocess(reference, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(out)], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not (out / "manifest.csv").exists()
    before = len(journal_rows(out))
    assert before == 3
    s = generate_sim(out, recipe="lens", resume=True, count=40, size=64, seed=3, progress=False)
    assert s.generated == 40 - before
    # a clean 6-sample run holds the first 6 samples with the same bytes
    got = tree(out)
    got.pop(LOCK_FILE, None)  # a lock file a killed CLI run leaves (no longer held) is not part of the set
    ref = reference["lens"]
    for name in ref:
        if name.startswith(("image/", "gt/", "defocus/")):
            assert got[name] == ref[name], name
    assert got["manifest.csv"].splitlines()[:7] == ref["manifest.csv"].splitlines()
    clean = tmp_path / "clean"
    generate_sim(clean, recipe="lens", count=40, size=64, seed=3, progress=False)
    assert tree(clean) == got


def _focus_measure(rgb: np.ndarray) -> np.ndarray:
    """Local variance (7x7) of the Laplacian of the grey image: an independent focus measure."""
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = ndimage.laplace(grey)
    mean = ndimage.uniform_filter(lap, 7)
    return ndimage.uniform_filter(lap**2, 7) - mean**2


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(pos, neg).statistic / (pos.size * neg.size))


@pytest.mark.parametrize("recipe", ["btbnet", "lens"])
def test_labels_agree_with_rendered_blur(tmp_path, recipe):
    out = tmp_path / recipe
    generate_sim(out, recipe=recipe, count=8, size=96, seed=11, progress=False)
    pos, neg = [], []
    for row in manifest(out):
        fm = _focus_measure(read_rgb(out / row["image"]))
        gt = read_grey(out / row["gt"]) > 127
        inner = ndimage.binary_erosion(gt, iterations=4)
        outer = ndimage.binary_erosion(~gt, iterations=4)
        assert fm[inner].mean() > 3 * fm[outer].mean(), row["name"]
        pos.append(fm[inner])
        neg.append(fm[outer])
    assert _auc(np.concatenate(pos), np.concatenate(neg)) > 0.85


def test_lens_defocus_maps_match_labels(reference, tmp_path):
    out = tmp_path / "lens"
    for name, data in reference["lens"].items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    for row in manifest(out):
        coc = read_defocus(out / row["defocus"], float(row["defocus_scale"]))
        gt = read_grey(out / row["gt"]) == 255
        assert row["defocus_unit"] == "px CoC diameter"
        np.testing.assert_array_equal(gt, coc < float(row["infocus_coc_px"]))
        assert coc.max() == pytest.approx(float(row["coc_max_px"]), abs=1e-3)
        assert float(row["f_number"]) >= 1.0


def test_middlebury_depth_and_sources_folder(tmp_path):
    out = tmp_path / "mb"
    rtoml = tmp_path / "mb.toml"
    rtoml.write_text('recipe = "lens"\n[lens]\ndepth_source = "middlebury"\npsf = "polygon"\n')
    generate_sim(out, recipe=rtoml, count=3, size=64, progress=False)
    for row in manifest(out):
        assert row["source"] == "skimage:motorcycle_left.png"
        # the Motorcycle scene spans about 1.5 to 5 m (disparity 7 to ~100 px at f = 995 px, B = 0.193 m)
        assert 1.0 < float(row["depth_min_m"]) < float(row["depth_max_m"]) < 5.1


def _photo_folder(tmp_path: Path) -> Path:
    import skimage.data

    src = tmp_path / "photos"
    write_image(src / "a" / "astro.jpg", skimage.data.astronaut()[100:300, 100:300])
    write_image(src / "coffee.png", skimage.data.coffee()[:200, 200:400])
    write_image(src / "blurry.png", cv2.GaussianBlur(skimage.data.coffee()[:200, :200], (0, 0), 4))
    write_image(src / "tiny.png", skimage.data.coffee()[:40, :40])
    (src / "notes.txt").write_text("not an image")
    (src / "broken.png").write_bytes(b"\x89PNG garbage")
    return src


def test_sources_folder_with_masks_and_depths(tmp_path):
    src = _photo_folder(tmp_path)
    masks = tmp_path / "masks"
    disk = np.zeros((50, 80), np.uint8)
    cv2.circle(disk, (40, 25), 18, 255, -1)
    write_image(masks / "m1.png", disk)
    rtoml = tmp_path / "user.toml"
    rtoml.write_text(
        'recipe = "btbnet"\n[mask.weights]\nuser = 1.0\nellipses = 0.0\npolygons = 0.0\n'
        "blobs = 0.0\nsuperpixels = 0.0\nhalfplane = 0.0\nband = 0.0\ngradient = 0.0\n"
    )
    s = generate_sim(
        tmp_path / "o", recipe=rtoml, count=4, size=64, sources=src, masks=masks, progress=False, preview=True
    )
    assert s.sources == 2 and s.skipped_sources == {"unreadable": 2, "too_small": 1, "blurry": 1}
    rows = manifest(tmp_path / "o")
    assert {r["source"] for r in rows} <= {"a/astro.jpg", "coffee.png"}
    assert all(r["mask_kind"] == "user:m1.png" for r in rows)
    sheet = read_rgb(s.preview)
    assert sheet.shape == (160, 640, 3)
    red = (sheet[..., 0] == 255) & (sheet[..., 1] == 0) & (sheet[..., 2] == 0)
    assert red.sum() > 4 * 50  # every tile has its mask outlined
    # depth maps paired by stem (inverse depth: white = near)
    depths = tmp_path / "depths"
    ramp = np.tile(np.linspace(0, 255, 200).astype(np.uint8), (200, 1))
    write_image(depths / "a" / "astro.png", ramp)
    write_image(depths / "coffee.png", ramp[:, ::-1])
    generate_sim(tmp_path / "d", recipe="lens", count=3, size=64, sources=src, depths=depths, progress=False)
    for r in manifest(tmp_path / "d"):
        assert (
            r["depth_source"] == "folder" and 1.0 <= float(r["depth_min_m"]) < float(r["depth_max_m"]) <= 20
        )


def test_bad_sources(tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_bytes(b"nope")
    (junk / "b.txt").write_text("text")
    with pytest.raises(DbdError, match=r"no usable source among 2 files \(2 unreadable"):
        generate_sim(tmp_path / "o1", sources=junk, **SMALL)
    small = tmp_path / "small"
    write_image(small / "s.png", np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8))
    with pytest.raises(DbdError, match="1 smaller than --size 64"):
        generate_sim(tmp_path / "o2", sources=small, **SMALL)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DbdError, match="no usable source among 0 files"):
        generate_sim(tmp_path / "o3", sources=empty, **SMALL)
    with pytest.raises(DbdError, match="not a folder"):
        generate_sim(tmp_path / "o4", sources=tmp_path / "missing", **SMALL)
    with pytest.raises(DbdError, match="built-in sources: no usable source .* smaller than --size 2000"):
        generate_sim(tmp_path / "o5", count=2, size=2000, progress=False)
    mb = tmp_path / "mb.toml"
    mb.write_text('recipe = "lens"\n[lens]\ndepth_source = "middlebury"\n')
    with pytest.raises(DbdError, match="size 600 is larger than the Middlebury"):
        generate_sim(tmp_path / "o6", recipe=mb, count=2, size=600, progress=False)
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 7))  # nothing written


def test_folder_from_another_recipe_is_refused(reference, tmp_path):
    out = tmp_path / "x"
    generate_sim(out, recipe="btbnet", count=2, size=64, progress=False)
    with pytest.raises(DbdError, match="already holds a generated set"):
        generate_sim(out, recipe="btbnet", count=2, size=64, progress=False)
    with pytest.raises(DbdError, match="another recipe .*key 'recipe'"):
        generate_sim(out, recipe="lens", count=2, size=64, resume=True, progress=False)
    with pytest.raises(DbdError, match="key 'btbnet.sigmas_px'"):
        rt = tmp_path / "r.toml"
        rt.write_text('recipe = "btbnet"\n[btbnet]\nsigmas_px = [9]\n')
        generate_sim(out, recipe=rt, count=2, size=64, resume=True, progress=False)
    before = tree(out)
    res = CliRunner().invoke(
        main,
        ["generate-sim", "--recipe", "lens", "--count", "2", "--size", "64", "--out", str(out), "--resume"],
    )
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "dbdbench: error:" in res.output
    assert tree(out) == before
    generate_sim(out, recipe="lens", count=2, size=64, overwrite=True, progress=False)
    assert manifest(out)[0]["depth_source"] == "procedural"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(DbdError, match="holds no recipe.toml"):
        generate_sim(tmp_path / "other", count=2, size=64, progress=False)


def test_full_disk_leaves_no_half_written_sample(reference, tmp_path, monkeypatch):
    import dbdbench.atomic

    calls = {"n": 0}
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # recipe.toml, then two full samples (image, gt), then mid-sample
            os.close(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(dbdbench.atomic.os, "fdopen", fdopen)
    out = tmp_path / "full"
    with pytest.raises(DbdError, match="No space left on device; free disk space"):
        generate_sim(out, recipe="btbnet", **SMALL)
    monkeypatch.undo()
    files = tree(out)
    assert not any(".tmp" in name for name in files) and "manifest.csv" not in files
    assert journal_rows(out) == ["000000", "000001"]
    assert sorted(n for n in files if n.startswith(("image/", "gt/"))) == [
        "gt/000000.png",
        "gt/000001.png",
        "image/000000.png",
        "image/000001.png",
    ]
    generate_sim(out, recipe="btbnet", resume=True, **SMALL)
    assert tree(out) == reference["btbnet"]


def test_lens_jpeg_noise_and_gaussian_psf(tmp_path):
    body = 'recipe = "lens"\n[output]\nimage_format = "jpg"\n[lens]\npsf = "gaussian"\n'
    clean, noisy = tmp_path / "clean.toml", tmp_path / "noisy.toml"
    clean.write_text(body)
    noisy.write_text(body + "noise_read = 0.004\nnoise_shot = 0.001\n")
    generate_sim(tmp_path / "c", recipe=clean, count=3, size=64, progress=False)
    generate_sim(tmp_path / "n", recipe=noisy, count=3, size=64, progress=False)
    same = 0
    for rc, rn in zip(manifest(tmp_path / "c"), manifest(tmp_path / "n"), strict=True):
        assert rc["image"].endswith(".jpg") and (tmp_path / "c" / rc["image"]).read_bytes()[:2] == b"\xff\xd8"
        assert rc["psf"] == "gaussian"
        if rc["draw"] != rn["draw"]:  # noise can fail the sharpness check and force a redraw
            continue
        same += 1
        assert rc["f_number"] == rn["f_number"]
        a = read_rgb(tmp_path / "c" / rc["image"]).astype(float)
        b = read_rgb(tmp_path / "n" / rn["image"]).astype(float)
        assert 0.5 < np.abs(a - b).mean() < 12  # the same scene with sensor noise on top
    assert same >= 1


def test_impossible_checks_fail_cleanly(tmp_path):
    rt = tmp_path / "strict.toml"
    rt.write_text('recipe = "btbnet"\n[checks]\nmin_sharpness_ratio = 1e9\nmax_draws = 3\n')
    with pytest.raises(DbdError, match=r"sample 0 failed the recipe checks in all 3 draws .*sharpness ratio"):
        generate_sim(tmp_path / "o", recipe=rt, count=2, size=64, progress=False)
    assert not (tmp_path / "o" / "manifest.csv").exists()


def test_real_hand_drawn_masks_as_user_masks(real_data, tmp_path):
    """CUHK's hand-drawn blur masks (white = blurred, some RGBA) as the user mask family."""
    gt_dir = real_data / "cuhk" / "gt"
    rt = tmp_path / "user.toml"
    weights = "".join(
        f"{k} = 0.0\n"
        for k in ("ellipses", "polygons", "blobs", "superpixels", "halfplane", "band", "gradient")
    )
    rt.write_text(f'recipe = "btbnet"\n[mask.weights]\nuser = 1.0\n{weights}')
    generate_sim(tmp_path / "o", recipe=rt, count=5, size=64, masks=gt_dir, progress=False)
    for row in manifest(tmp_path / "o"):
        name = row["mask_kind"].removeprefix("user:")
        assert (gt_dir / name).is_file()
        assert 0.1 <= float(row["infocus_fraction"]) <= 0.9
