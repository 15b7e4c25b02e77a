"""`dbdbench figure`: the visual comparison figure, checked pixel by pixel on constant images, its
image choice against `evaluate`'s per-image scores, and one-line errors on bad input."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.evaluation import evaluate_many
from dbdbench.imageio import write_image
from dbdbench.leaderboards.gallery import WIDTHS, make_gallery

#: image name -> (photo height, width, RGB colour)
PHOTOS = {"a": (40, 60, (200, 30, 30)), "b": (80, 40, (30, 200, 30)), "c": (50, 100, (30, 30, 200))}
#: method -> constant map value per image
MAPS = {"m1": {"a": 51, "b": 77, "c": 102}, "m2": {"a": 153, "b": 179, "c": 204}}


def constant_case(root):
    """Constant photos and maps; GT stored blurred-white with its left half blurred (255)."""
    for name, (h, w, colour) in PHOTOS.items():
        write_image(root / "image" / f"{name}.png", np.full((h, w, 3), colour, np.uint8))
        gt = np.zeros((h, w), np.uint8)
        gt[:, : w // 2] = 255
        write_image(root / "gt" / f"{name}.png", gt)
        for m, values in MAPS.items():
            write_image(root / m / f"{name}.png", np.full((h, w), values[name], np.uint8))
    return root


def run(*args):
    return CliRunner().invoke(main, ["figure", *map(str, args)])


def runs(line: np.ndarray, min_len: int = 20) -> list[tuple[tuple[int, ...], int]]:
    """The long runs of equal pixels along a line: (value, length), short ones (gaps, frames) dropped."""
    out, start = [], 0
    for i in range(1, len(line) + 1):
        if i == len(line) or not np.array_equal(line[i], line[start]):
            if i - start >= min_len:
                out.append((tuple(int(v) for v in np.atleast_1d(line[start])), i - start))
            start = i
    return out


@pytest.mark.parametrize("width", ["double", "single"])
def test_cells_hold_the_known_images(tmp_path, width):
    root = constant_case(tmp_path)
    out = tmp_path / "fig" / "compare.png"
    res = run(
        "--images", root / "image", "--gt", root / "gt", "--gt-polarity", "blurred-white",
        "--pred", f"m1={root / 'm1'}", "--pred", f"m2={root / 'm2'}", "--stems", "b,a,c",
        "--width", width, "--out", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.parent.iterdir()} == {"compare.png", "compare.svg", "compare.pdf"}
    png = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert png.shape[1] == round(WIDTHS[width] * 300)  # the paper width at 300 dpi
    tops = []
    for name, (h, w, colour) in PHOTOS.items():
        ys, xs = np.nonzero(np.all(png == colour, axis=2))
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        assert len(ys) == (y1 - y0) * (x1 - x0)  # one solid rectangle: the photo's cell
        assert abs((x1 - x0) / (y1 - y0) - w / h) < 0.03  # the photo's aspect ratio is kept
        assert x1 - x0 > png.shape[1] / 4 - 10  # four equal columns across the width
        tops.append((y0, name))
        line = png[(y0 + y1) // 2]
        values = [v for v, _ in runs(line)]
        # photo | m1 | m2 | GT: blurred left half shown black, in-focus right half white
        grey = [(v, v, v) for v in (MAPS["m1"][name], MAPS["m2"][name])]
        assert values[:5] == [colour, *grey, (0, 0, 0), (255, 255, 255)], (name, values)
    assert [n for _, n in sorted(tops)] == ["b", "a", "c"]  # rows in the order given
    # the SVG: the names as text over one raster holding the same cells; the PDF: a PDF
    svg = ET.fromstring(out.with_suffix(".svg").read_bytes())
    (image,) = [e for e in svg.iter() if e.tag.endswith("}image")]
    assert float(image.get("width")) == pytest.approx(WIDTHS[width] * 72, abs=0.01)
    href = next(v for k, v in image.attrib.items() if k.endswith("href"))
    raster = cv2.imdecode(np.frombuffer(base64.b64decode(href.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    for _, _, colour in PHOTOS.values():
        assert np.all(raster[..., ::-1] == colour, axis=2).sum() == np.all(png == colour, axis=2).sum()
    words = "".join(svg.itertext())
    assert all(name in words for name in ("Image", "m1", "m2", "GT"))
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_scores_and_picks_follow_evaluate(tmp_path):
    rng = np.random.default_rng(1)
    h, w = 24, 32
    for i in range(6):
        gt = np.zeros((h, w), np.uint8)
        gt[:, : 8 + 3 * i] = 255
        write_image(tmp_path / "image" / f"i{i}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        write_image(tmp_path / "gt" / f"i{i}.png", gt)
        for m, noise in (("good", 40), ("poor", 160), ("mixed", 40 if i % 2 else 250)):
            pred = np.clip(gt.astype(int) + rng.normal(0, noise, (h, w)), 0, 255).astype(np.uint8)
            write_image(tmp_path / m / f"i{i}.png", pred)
    preds = {m: tmp_path / m for m in ("good", "poor", "mixed")}
    ref = evaluate_many(preds, tmp_path / "gt", protocols=["sod"])
    f = {m: {r["name"]: r["max_f"] for r in ref[(m, "sod")].per_image} for m in preds}
    mae = {m: {r["name"]: r["mae"] for r in ref[(m, "sod")].per_image} for m in preds}
    names = sorted(f["good"])
    hardest = sorted(names, key=lambda n: (np.mean([f[m][n] for m in preds]), n))[:3]
    spread = sorted(names, key=lambda n: (-(max(f[m][n] for m in preds) - min(f[m][n] for m in preds)), n))
    common = {
        "images_dir": tmp_path / "image",
        "gt_dir": tmp_path / "gt",
        "rows": 3,
        "score": "mae",
        "width": "single",
    }
    g = make_gallery(preds, tmp_path / "h.png", pick="hardest", **common)
    assert g.names == hardest
    for n in g.names:
        for m in preds:
            assert g.scores[n][m]["f"] == pytest.approx(f[m][n], abs=1e-12)
            assert g.scores[n][m]["mae"] == pytest.approx(mae[m][n], abs=1e-12)
    assert make_gallery(preds, tmp_path / "d.png", pick="disagree", **common).names == spread[:3]
    r1 = make_gallery(preds, tmp_path / "r1.png", pick="random", seed=3, **common).names
    r2 = make_gallery(preds, tmp_path / "r2.png", pick="random", seed=3, **common).names
    assert r1 == r2 and len(set(r1)) == 3 and set(r1) <= set(names)
    assert (tmp_path / "r1.png").read_bytes() == (tmp_path / "r2.png").read_bytes()  # reproducible bytes


def assert_one_line_error(res, *fragments):
    assert res.exit_code == 2, res.output
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dbdbench: error: "), res.stderr
    for fragment in fragments:
        assert fragment in err[0], err[0]


def base_args(root):
    return ["--images", root / "image", "--gt", root / "gt", "--pred", f"m1={root / 'm1'}",
            "--pred", f"m2={root / 'm2'}"]  # fmt: skip


def test_missing_photo_or_map_of_a_named_image(tmp_path):
    root = constant_case(tmp_path)
    (root / "image" / "b.png").unlink()
    out = tmp_path / "o" / "f.png"
    assert_one_line_error(
        run(*base_args(root), "--stems", "a,b", "--out", out), "no photo named 'b'", "image"
    )
    (root / "m2" / "c.png").unlink()
    assert_one_line_error(run(*base_args(root), "--stems", "c", "--out", out), "method 'm2'", "'c'", "m2")
    assert_one_line_error(run(*base_args(root), "--stems", "zz", "--out", out), "no GT mask is named 'zz'")
    assert not out.parent.exists()
    # picking skips the incomplete images and says so
    res = run(*base_args(root), "--rows", "1", "--out", out)
    assert res.exit_code == 0, res.output
    assert "2 of 3 images lack a photo or a map" in res.stderr and "(--pick hardest: a)" in res.stdout


def test_rows_beyond_the_images_and_resized_maps_are_notes(tmp_path):
    root = constant_case(tmp_path)
    write_image(root / "m1" / "a.png", np.full((10, 10), 51, np.uint8))
    res = run(*base_args(root), "--rows", "9", "--out", tmp_path / "f.png")
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("dbdbench: note:")]
    assert any("--rows 9: only 3 images" in n for n in notes)
    resized = [n for n in notes if "resized for the figure" in n]
    assert len(resized) == 1 and "a.png' is 10x10" in resized[0] and "photo 60x40" in resized[0]


def test_non_images_and_corrupt_files(tmp_path):
    root = constant_case(tmp_path)
    (root / "m1" / "readme.txt").write_text("not a map")
    res = run(*base_args(root), "--rows", "1", "--out", tmp_path / "ok.png")
    assert res.exit_code == 0 and "skipped 1 entry" in res.stderr and "readme.txt" not in res.stdout
    (root / "m1" / "readme.txt").unlink()
    (root / "m2" / "a.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "bad" / "f.png"
    assert_one_line_error(run(*base_args(root), "--stems", "a", "--out", out), "a.png")
    assert not out.parent.exists()


def test_option_errors(tmp_path):
    root = constant_case(tmp_path)
    assert_one_line_error(
        run(*base_args(root), "--out", tmp_path / "f.pdf"), "must be a file name ending in .png"
    )
    one = ["--images", root / "image", "--gt", root / "gt", "--pred", f"m1={root / 'm1'}"]
    assert_one_line_error(run(*one, "--pick", "disagree", "--out", tmp_path / "f.png"), "at least two")
    assert_one_line_error(run(*base_args(root), "--pick", "worst", "--out", tmp_path / "f.png"), "--pick")
    assert_one_line_error(run(*base_args(root), "--pred", f"m1={root / 'm2'}", "--out", tmp_path / "f.png"),
                          "given twice")  # fmt: skip
    (tmp_path / "f.svg").write_text("mine")
    assert_one_line_error(run(*base_args(root), "--out", tmp_path / "f.png"), "f.svg")
    assert (tmp_path / "f.svg").read_text() == "mine" and not (tmp_path / "f.png").exists()
    assert_one_line_error(run(*base_args(root), "--out", root / "m1" / "f.png"), "--pred")


def test_real_cuhk_dataset_gt_is_shown_inverted(real_data, tmp_path):
    """CUHK stores its masks white = blurred: the GT column shows them inverted, from the dataset's
    own photos and the HiFST authors' maps (named <stem>_HiFSTBlurMap)."""
    from dbdbench.imageio import read_grey

    cuhk = real_data / "cuhk"
    stems = ["out_of_focus0011", "motion0138"]
    g = make_gallery(
        {"HiFST": cuhk / "results" / "hifst"}, tmp_path / "cuhk.png", dataset="cuhk-full", root=cuhk,
        pred_suffix="_HiFSTBlurMap", names=stems, width="single",
    )  # fmt: skip
    assert g.names == stems and g.methods == ["HiFST"]
    png = cv2.cvtColor(cv2.imread(str(tmp_path / "cuhk.png")), cv2.COLOR_BGR2RGB)
    for name, row in zip(stems, g.layout.boxes, strict=True):
        x0, y0, x1, y1 = row[-1]  # the GT cell
        shown = png[y0:y1, x0:x1, 0].astype(float)
        stored = read_grey(cuhk / "gt" / f"{name}.png")
        want = cv2.resize(255 - stored, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(float)
        assert np.abs(shown - want).mean() < 3  # inverted (the stored mask would differ by ~255 on most)
        h, w = read_grey(cuhk / "results" / "hifst" / f"{name}_HiFSTBlurMap.png").shape
        assert abs((x1 - x0) / (y1 - y0) - w / h) < 0.02
