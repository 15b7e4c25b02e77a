"""Nothing lost, nothing silent: every command refuses to overwrite what it did not write, refuses
outputs that overlap its inputs, says what it skipped, and turns bad files and bad numbers into one
line with exit status 2 (issue 14, each case reproduced with three small images)."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_line_error, run

from dbdbench.errors import DbdError
from dbdbench.imageio import read_grey, read_rgb, write_image
from dbdbench.outputs import MANIFEST_FILE

H, W = 24, 32


def digest(folder: Path) -> dict[str, str]:
    """Name -> sha1 of every file under ``folder``: to show that nothing changed."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def three(tmp_path):
    """Three photos in img/, their masks in gt/, and two annotators' copies in a1/ and a2/."""
    for i, n in enumerate("abc"):
        m = np.zeros((H, W), np.uint8)
        m[6:18, 8 + i : 24] = 255
        write_image(tmp_path / "gt" / f"{n}.png", m)
        write_image(tmp_path / "a1" / f"{n}.png", m)
        write_image(tmp_path / "a2" / f"{n}.png", m)
        write_image(tmp_path / "img" / f"{n}.png", np.dstack([m, m // 2, 255 - m]))
    return tmp_path


# ---- 1. data loss -------------------------------------------------------------------------------


def test_predict_never_writes_into_its_images_or_over_other_files(three):
    before = digest(three)
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "img")
    one_line_error(res, "--out", "is the --images input itself")
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "img" / "maps")
    one_line_error(res, "inside the --images folder")
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three)
    one_line_error(res, "contains the --images input")
    # a GT folder with the same stems: nothing is replaced without --overwrite
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "gt")
    one_line_error(res, "gt/a.png' already exists", "2 more of the 3 files", "--overwrite")
    assert digest(three) == before
    res = run(
        "predict", "--method", "lapvar", "--images", three / "img", "--out", three / "gt", "--overwrite"
    )
    assert res.exit_code == 0, res.output
    assert digest(three / "gt") != before and digest(three / "img") == digest(three / "img")


def test_predict_refuses_a_second_file_of_one_name(three):
    write_image(three / "m" / "b.jpg", read_rgb(three / "img" / "b.png"))
    for extra in ([], ["--overwrite"]):
        res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "m", *extra)
        one_line_error(res, "holds 'b.jpg', which has the name of the new 'b.png'")
    assert sorted(p.name for p in (three / "m").iterdir()) == ["b.jpg"]


def test_predict_dataset_output_inside_the_dataset_is_refused(three):
    (three / "image").mkdir()
    for p in (three / "img").iterdir():
        (three / "image" / p.name).write_bytes(p.read_bytes())
    res = run("predict", "--method", "lapvar", "--dataset", "folder", "--root", three, "--out", three / "m")
    one_line_error(res, "inside the --root folder")


def test_merge_report_and_output_rules(three):
    before = digest(three)
    args = ["annotations", "merge", three / "a1", three / "a2"]
    one_line_error(
        run(*args, "--out", three / "o", "--report", three / "a1" / "x.png"),
        "must be a file name ending in .csv",
    )
    one_line_error(
        run(*args, "--out", three / "o", "--report", three / "a1" / "r.csv"), "inside the annotator folder"
    )
    one_line_error(run(*args, "--out", three / "a1" / "o"), "inside the annotator folder")
    one_line_error(run(*args, "--out", three / "gt"), "gt/a.png' already exists")
    (three / "r-annotators.csv").write_text("keep me\n")
    one_line_error(
        run(*args, "--out", three / "o", "--report", three / "r.csv"), "r-annotators.csv' already exists"
    )
    assert digest(three) == before | {"r-annotators.csv": hashlib.sha1(b"keep me\n").hexdigest()}
    assert not (three / "o").exists() and not (three / "r.csv").exists()
    res = run(*args, "--out", three / "o", "--report", three / "r.csv", "--overwrite")
    assert res.exit_code == 0, res.output
    assert (three / "r-annotators.csv").read_text().startswith("annotator,")


def test_merge_refuses_one_folder_twice(three):
    res = run("annotations", "merge", three / "a1", three / "a1", "--out", three / "o")
    one_line_error(res, "annotator folder", "a1' is given twice")
    (three / "alias").symlink_to(three / "a2")
    res = run("annotations", "merge", three / "a1", three / "a2", three / "alias", "--out", three / "o")
    one_line_error(res, "is given twice (also as")


def test_merge_reads_zero_one_masks_as_binary_with_a_note(three):
    for d in ("a1", "a2"):
        for p in (three / d).iterdir():
            write_image(p, (read_grey(p) // 255).astype(np.uint8))  # labels 0/1, not 0/255
    res = run("annotations", "merge", three / "a1", three / "a2", "--out", three / "o")
    assert res.exit_code == 0, res.output
    for n in "abc":  # the same as merging the 0/255 masks: the GT itself
        np.testing.assert_array_equal(
            read_grey(three / "o" / f"{n}.png"), read_grey(three / "gt" / f"{n}.png")
        )
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("dbdbench: note:")]
    assert len(notes) == 1 and "6 masks hold only the values 0 and 1" in notes[0], res.stderr


def test_export_twice_into_one_folder(three):
    src1 = three / "s1"
    src2 = three / "s2"
    for src, names in ((src1, "abc"), (src2, "xy")):
        for n in names:
            write_image(src / "gt" / f"{n}.png", read_grey(three / "gt" / "a.png"))
            write_image(src / "image" / f"{n}.jpg", read_rgb(three / "img" / "a.png"))
    assert run("datasets", "export", "folder", "--root", src1, "--out", three / "e").exit_code == 0
    before = digest(three / "e")
    one_line_error(
        run("datasets", "export", "folder", "--root", src2, "--out", three / "e"),
        "is not empty",
        "--overwrite",
    )
    assert digest(three / "e") == before
    one_line_error(
        run("datasets", "export", "folder", "--root", src1, "--out", src1 / "e"), "inside the --root"
    )
    res = run("datasets", "export", "folder", "--root", src2, "--out", three / "e", "--overwrite")
    assert res.exit_code == 0, res.output
    assert sorted(digest(three / "e")) == [
        MANIFEST_FILE,
        "gt/x.png",
        "gt/y.png",
        "image/x.jpg",
        "image/y.jpg",
    ]


def test_evaluate_out_rules(three):
    ev = ["evaluate", "--pred", three / "a1", "--gt", three / "gt"]
    before = digest(three)
    before["results/keep.csv"] = hashlib.sha1(b"precious\n").hexdigest()
    tmp_path = three / "results"
    tmp_path.mkdir()
    one_line_error(run(*ev, "--out", three / "gt" / "a.png"), "must be a file name ending in .json")
    one_line_error(run(*ev, "--out", three / "gt" / "r.json"), "inside the --gt folder")
    (tmp_path / "keep.csv").write_text("precious\n")
    one_line_error(run(*ev, "--out", tmp_path / "keep.json"), "keep.csv' already exists")
    assert not (tmp_path / "keep.json").exists() and (tmp_path / "keep.csv").read_text() == "precious\n"
    (tmp_path / "isdir.json").mkdir()
    one_line_error(run(*ev, "--out", tmp_path / "isdir.json"), "is a folder")
    assert not (tmp_path / "isdir.csv").exists()
    one_line_error(run(*ev, "--out", f"{tmp_path / 'sub'}/"), "sub/' must be a file name ending in .json")
    assert not (tmp_path / "sub").exists()
    one_line_error(run(*ev, "--out", "."), "'.' must be a file name ending in .json")
    assert digest(three) == before
    out = tmp_path / "r" / "m.json"
    assert run(*ev, "--out", out).exit_code == 0
    one_line_error(run(*ev, "--out", out), "m.json' already exists", "1 more of the 2 files")
    assert run(*ev, "--out", out, "--overwrite").exit_code == 0


def test_leaderboard_is_not_written_over(tmp_path):
    from board_helpers import write_result

    (tmp_path / "runs").mkdir()
    res_file = write_result(tmp_path / "runs", "m", method="m")
    assert run("leaderboard", res_file, "--out", tmp_path / "board").exit_code == 0
    before = digest(tmp_path / "board")
    one_line_error(run("leaderboard", res_file, "--out", tmp_path / "board"), "already exists", "--overwrite")
    assert digest(tmp_path / "board") == before
    assert run("leaderboard", res_file, "--out", tmp_path / "board", "--overwrite").exit_code == 0


def test_generate_sim_output_inside_its_sources_is_refused(tmp_path):
    write_image(tmp_path / "photos" / "p.png", np.zeros((64, 64, 3), np.uint8))
    res = run(
        "generate-sim", "--sources", tmp_path / "photos", "--out", tmp_path / "photos" / "o", "--count", 1
    )
    one_line_error(res, "inside the --sources folder")
    assert sorted(digest(tmp_path)) == ["photos/p.png"]


def test_demo_and_train_outputs(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    one_line_error(run("demo", "--out", tmp_path), "is not empty", "--overwrite")
    assert sorted(digest(tmp_path)) == ["mine.txt"]
    (tmp_path / "data").mkdir()
    res = run("train", "--model", "btbnet", "--data", tmp_path / "data", "--out", tmp_path / "data" / "run")
    one_line_error(res, "inside the --data folder")


# ---- 2. image reading ---------------------------------------------------------------------------


def _png(w: int, h: int, rows: int) -> bytes:
    """An 8-bit grey PNG whose header says ``w`` x ``h`` and whose data holds ``rows`` rows."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([255]) * w for _ in range(rows))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def test_png_with_missing_rows_is_an_error_not_black(three):
    (three / "a1" / "b.png").write_bytes(_png(W, H, 10))  # 10 of its 24 rows
    one_line_error(run("evaluate", "--pred", three / "a1", "--gt", three / "gt"), "b.png", "truncated")


@pytest.mark.parametrize(
    "side, fragment",
    [
        (12000, "truncated: its header says 12000x12000"),
        (30000, "30000x30000 = 900000000 pixels, over the limit of 200000000 pixels"),
        (100000, "DBDBENCH_MAX_PIXELS"),
    ],
)
def test_huge_headers_are_refused_before_decoding(tmp_path, side, fragment):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(side, side, 0))
    for reader in (read_rgb, read_grey):
        with pytest.raises(DbdError, match=fragment) as info:
            reader(path)
        assert "bomb.png" in str(info.value) and "\n" not in str(info.value)


def test_pixel_limit_comes_from_the_environment(tmp_path, monkeypatch):
    path = write_image(tmp_path / "p.png", np.zeros((H, W), np.uint8))
    monkeypatch.setenv("DBDBENCH_MAX_PIXELS", str(H * W - 1))
    msg = rf"{W}x{H} = {W * H} pixels, over the limit of {W * H - 1} pixels \(DBDBENCH_MAX_PIXELS\)"
    with pytest.raises(DbdError, match=msg):
        read_grey(path)
    monkeypatch.setenv("DBDBENCH_MAX_PIXELS", str(H * W))
    assert read_grey(path).shape == (H, W)
    monkeypatch.setenv("DBDBENCH_MAX_PIXELS", "many")
    with pytest.raises(DbdError, match="DBDBENCH_MAX_PIXELS='many' is not a positive integer"):
        read_grey(path)
    # above OpenCV's own limit (2**30 pixels) its error becomes ours, too
    monkeypatch.setenv("DBDBENCH_MAX_PIXELS", str(10**11))
    big = tmp_path / "big.png"
    big.write_bytes(_png(100000, 100000, 0))
    with pytest.raises(DbdError, match="big.png"):
        read_grey(big)


@pytest.mark.parametrize("kw", [{}, {"progressive": True}, {"exif_thumbnail": True}])
def test_jpeg_header_size_agrees_with_pillow(tmp_path, monkeypatch, kw):
    """The frame header read without decoding gives Pillow's size; the limit applies to it."""
    import io

    from PIL import Image

    from dbdbench.imageio import _header_size

    rng = np.random.default_rng(1)
    im = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    extra = {}
    if kw.pop("exif_thumbnail", False):  # an APP1 segment holding its own SOF before the main one
        thumb = io.BytesIO()
        im.resize((8, 6)).save(thumb, "JPEG")
        exif = im.getexif()
        exif[0x0112] = 6
        extra["exif"] = exif.tobytes() + thumb.getvalue()
    path = tmp_path / "p.jpg"
    im.save(path, "JPEG", **kw, **extra)
    data = np.fromfile(path, np.uint8)
    with Image.open(path) as ref:
        assert _header_size(data) == ref.size == (53, 37)
    monkeypatch.setenv("DBDBENCH_MAX_PIXELS", str(53 * 37 - 1))
    with pytest.raises(DbdError, match="53x37"):
        read_rgb(path)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif", ".webp"])
def test_truncated_files_of_every_format_are_errors(tmp_path, ext):
    rng = np.random.default_rng(0)
    full = write_image(tmp_path / f"full{ext}", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 9 // 10])
    for reader in (read_rgb, read_grey):
        with pytest.raises(DbdError, match="cut"):
            reader(cut)


# ---- 3. skipped entries -------------------------------------------------------------------------


def _clutter(folder: Path) -> None:
    (folder / "anim.gif").write_bytes(b"GIF89a")
    (folder / "photo.heic").write_bytes(b"\x00")
    (folder / "sub").mkdir()
    (folder / "gone.png").symlink_to(folder / "nowhere.png")
    (folder / "loop1.png").symlink_to(folder / "loop2.png")
    (folder / "loop2.png").symlink_to(folder / "loop1.png")
    (folder / ".hidden.png").write_bytes(b"")


def test_predict_says_what_it_skipped(three):
    _clutter(three / "img")
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "m")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (three / "m").iterdir()) == [MANIFEST_FILE, "a.png", "b.png", "c.png"]
    notes = [ln for ln in res.stderr.splitlines() if ln.startswith("dbdbench: note:")]
    assert notes == [
        f"dbdbench: note: --images folder: skipped 6 entries in {three / 'img'} (2 unsupported .gif/.heic, "
        "1 dangling symlink, 2 symlink loops, 1 subfolder; subfolders are not searched)"
    ], res.stderr


def test_verify_reports_skipped_entries(three):
    (three / "image").mkdir()
    for p in (three / "img").iterdir():
        (three / "image" / p.name).write_bytes(p.read_bytes())
    _clutter(three / "gt")
    res = run("datasets", "verify", "folder", "--root", three)
    assert res.exit_code == 1, res.output
    assert "PROBLEM 3 entries in" in res.output and "gone.png (dangling symlink)" in res.output
    assert "loop1.png (symlink loop)" in res.output
    assert "info    1 subfolders in" in res.output and "not searched: sub" in res.output
    assert "gt/anim.gif, gt/photo.heic" in res.output
    assert "all checks passed" not in res.output


def test_unreadable_folder_is_one_line(three, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    one_line_error(run("evaluate", "--pred", three / "a1", "--gt", three / "gt"), "permission denied")


def test_unsearchable_folder_is_one_line(three, monkeypatch):
    real_is_symlink = Path.is_symlink

    def denied(self):
        if self.parent.name == "a1":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_symlink(self)

    monkeypatch.setattr(Path, "is_symlink", denied)
    one_line_error(
        run("evaluate", "--pred", three / "a1", "--gt", three / "gt"), "permission denied", "a.png"
    )


def test_permission_error_anywhere_is_one_line(three, monkeypatch):
    real_stat = Path.stat

    def denied(self, *a, **kw):
        if self.name == "gt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *a, **kw)

    monkeypatch.setattr(Path, "stat", denied)
    res = run("evaluate", "--pred", three / "a1", "--gt", three / "gt")
    one_line_error(res, f"cannot access '{three / 'gt'}': permission denied")


# ---- 4. numeric options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["evaluate", "--pred", ".", "--gt", ".", "--seed", "-5"], "--seed -5 is not a valid seed"),
        (["demo", "--seed", "-1"], "--seed -1 is not a valid seed"),
        (["generate-sim", "--out", "x", "--seed", "-5"], "--seed -5 is not a valid seed"),
        (["evaluate", "--pred", ".", "--gt", ".", "--workers", "0"], "'--workers'"),
        (["evaluate", "--pred", ".", "--gt", ".", "--scheduler", "notanaddress"], "write tcp://HOST:PORT"),
        (["predict", "--scheduler", "tcp://host:99999"], "not a scheduler address"),
        (["train", "--model", "btbnet", "--lr", "nan"], "'--lr': 'nan' is not a finite number"),
        (["train", "--model", "btbnet", "--max-minutes", "inf"], "'--max-minutes': 'inf' is not a finite"),
        (["train", "--model", "btbnet", "--epochs", "0"], "'--epochs'"),
        (["train", "--model", "btbnet", "--threads", "0"], "'--threads'"),
        (["train", "--model", "btbnet", "--batch-size", "-1"], "'--batch-size'"),
        (["train", "--model", "btbnet", "--train-size", "8"], "'--train-size'"),
    ],
)
def test_bad_numbers_are_one_line(tmp_path, args, fragment):
    line = one_line_error(run(*args), fragment)
    assert line.endswith("--help'")
    assert not (Path.cwd() / "x").exists()


def test_unreachable_scheduler_fails_fast_in_one_line(three):
    pytest.importorskip("distributed", reason="--scheduler needs the dask extra")
    res = run("evaluate", "--pred", three / "a1", "--gt", three / "gt", "--scheduler", "tcp://127.0.0.1:1")
    one_line_error(res, "cannot reach the dask scheduler at 'tcp://127.0.0.1:1'")


def test_a_port_that_does_not_speak_dask_is_refused_fast(three, monkeypatch):
    """A listening port that sends no dask handshake (an HTTP dashboard, a proxy) fails in one line."""
    pytest.importorskip("distributed", reason="--scheduler needs the dask extra")
    import socket

    from dbdbench import executor

    monkeypatch.setattr(executor, "CONNECT_TIMEOUT_S", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts connections, says nothing
        port = server.getsockname()[1]
        res = run(
            "evaluate", "--pred", three / "a1", "--gt", three / "gt", "--scheduler", f"127.0.0.1:{port}"
        )
    one_line_error(res, f"no dask scheduler answers at '127.0.0.1:{port}'", "8786")


def test_a_real_tcp_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    from dbdbench.executor import run_tasks

    with distributed.LocalCluster(
        n_workers=1, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        assert run_tasks(abs, [-1, -2], scheduler=cluster.scheduler_address) == [1, 2]


def test_workers_are_capped_at_the_task_count(monkeypatch):
    import joblib

    from dbdbench import executor

    started = []
    real = joblib.Parallel

    class Recording(real):
        def __init__(self, n_jobs=None, **kw):
            started.append(n_jobs)
            super().__init__(n_jobs=n_jobs, **kw)

    monkeypatch.setattr(joblib, "Parallel", Recording)
    monkeypatch.setattr(executor, "cpu_cores", lambda: 2)
    messages = []
    monkeypatch.setattr(executor, "note", messages.append)
    monkeypatch.setattr(executor, "_NOTED", set())
    assert executor.run_tasks(abs, [-1, -2, -3], workers=1000) == [1, 2, 3]
    assert executor.run_tasks(abs, [-4, -5, -6], workers=1000) == [4, 5, 6]
    assert started == [3, 3]
    assert messages == ["--workers 1000: 3 processes on 2 CPU cores, which they will share"]  # once
    assert executor.run_tasks(abs, [-1, -2], workers=1000) == [1, 2] and started[-1] == 2
    assert len(messages) == 1  # 2 processes on 2 cores: nothing to say


# ---- 6. failures leave no temporary files -------------------------------------------------------


def test_failed_predict_leaves_only_complete_maps(three):
    (three / "img" / "b.png").write_bytes(_png(W, H, 3))  # truncated: the run stops there
    res = run("predict", "--method", "lapvar", "--images", three / "img", "--out", three / "m")
    one_line_error(res, "b.png", "truncated")
    assert sorted(p.name for p in (three / "m").iterdir()) == [MANIFEST_FILE, "a.png"]  # no .tmp, no b.png


def test_console_script_refusal_is_one_line(three):
    """Through the real entry point: one line on stderr, exit 2, the photos untouched."""
    before = digest(three / "img")
    proc = subprocess.run(
        [sys.executable, "-m", "dbdbench", "predict", "--method", "lapvar", "--images", str(three / "img"),
         "--out", str(three / "img")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "is the --images input itself" in proc.stderr
    assert digest(three / "img") == before
