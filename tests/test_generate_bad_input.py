"""generate-sim bad input through the CLI: one line ``dbdbench: error: ...`` naming the option or key,
exit 2, and nothing left that blocks a rerun."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.generators import generate, load_recipe
from dbdbench.generators.sources import SourceSet, scan_sources
from dbdbench.imageio import write_image
from dbdbench.params import MAX_SEED


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def _one_line_error(res, *fragments):
    assert res.exit_code == 2, res.output
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("dbdbench: error: "), res.stderr
    for fragment in fragments:
        assert fragment in res.stderr, res.stderr


@pytest.mark.parametrize("seed", ["-5", "abc", "1.5", str(MAX_SEED + 1)])
def test_bad_seed(tmp_path, seed):
    res = _cli("generate-sim", "--seed", seed, "--count", "2", "--size", "64", "--out", str(tmp_path / "o"))
    _one_line_error(res, f"--seed {seed} is not a valid seed", f"0..{MAX_SEED}")
    assert not (tmp_path / "o").exists()
    # the same option in evaluate (numpy refuses a negative seed with a traceback)
    res = _cli("evaluate", "--seed", seed, "--pred", str(tmp_path), "--gt", str(tmp_path))
    _one_line_error(res, f"--seed {seed} is not a valid seed")


def test_largest_seed_is_accepted(tmp_path):
    res = _cli(
        "generate-sim", "--seed", str(MAX_SEED), "--count", "1", "--size", "64", "--out", str(tmp_path)
    )
    assert res.exit_code == 0, res.output
    assert load_recipe(tmp_path / "recipe.toml").seed == MAX_SEED


@pytest.mark.parametrize(
    "value, reason",
    [
        ("inf", "must be a list of finite numbers"),
        ("nan", "must be a list of finite numbers"),
        ("1e9", "sigmas in (0, size = 48] pixels"),
        ("0", "sigmas in (0, size = 48] pixels"),
        ("49", "sigmas in (0, size = 48] pixels"),
    ],
)
def test_sigma_out_of_range(tmp_path, value, reason):
    rt = tmp_path / "r.toml"
    rt.write_text(f'recipe = "btbnet"\nsize = 48\n[btbnet]\nsigmas_px = [2, {value}]\n')
    res = _cli("generate-sim", "--recipe", str(rt), "--count", "2", "--out", str(tmp_path / "o"))
    _one_line_error(res, "key 'btbnet.sigmas_px'", reason)
    assert not (tmp_path / "o").exists()


def test_sigma_checked_against_the_size_option(tmp_path):
    rt = tmp_path / "r.toml"
    rt.write_text('recipe = "btbnet"\n[btbnet]\nsigmas_px = [40]\n')  # fine at the recipe's 320 px
    res = _cli(
        "generate-sim", "--recipe", str(rt), "--size", "32", "--count", "2", "--out", str(tmp_path / "o")
    )
    _one_line_error(res, "key 'btbnet.sigmas_px'", "size = 32")


def test_size_bounded_by_memory(tmp_path, monkeypatch):
    rt = tmp_path / "textures.toml"
    rt.write_text('recipe = "btbnet"\n[screen]\nprocedural_fraction = 1.0\n')
    args = [
        "generate-sim",
        "--recipe",
        str(rt),
        "--size",
        "100000",
        "--count",
        "2",
        "--out",
        str(tmp_path / "o"),
    ]
    # this machine: 160 B/px x 100000^2 px = 1490.1 GiB is more than any of ours has
    _one_line_error(_cli(*args), "--size 100000 needs about 1490.1 GiB of memory", "use --size")
    # 64 GiB available: the largest size is isqrt(64 GiB / 160 B) = 20724 px
    monkeypatch.setattr(generate, "available_memory", lambda: 64 << 30)
    _one_line_error(_cli(*args), "but 64.0 GiB is available; use --size 20724 or less")
    assert not (tmp_path / "o").exists()


def test_available_memory_with_and_without_psutil(monkeypatch):
    import os
    import sys

    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < generate.available_memory() <= total
    monkeypatch.setitem(sys.modules, "psutil", None)  # not installed: the free physical pages
    assert 0 < generate.available_memory() <= total


def test_memory_limit_hand_worked(monkeypatch):
    per_pixel = generate.get_recipe("btbnet").bytes_per_pixel
    monkeypatch.setattr(generate, "available_memory", lambda: 2 * per_pixel * 1000**2 + 5)
    r = load_recipe("btbnet")
    r.size = 1000
    generate.check_memory(r, workers=2, scheduler=None)  # exactly fits
    r.size = 1001
    with pytest.raises(DbdError, match=r"^size 1001 needs .* use size 1000 or less or fewer workers$"):
        generate.check_memory(r, workers=2, scheduler=None)
    generate.check_memory(r, workers=1, scheduler=None)  # one worker needs half
    generate.check_memory(r, workers=2, scheduler="tcp://host:1")  # a cluster's memory is not known here
    r.count = 1  # one sample: one worker renders at a time
    generate.check_memory(r, workers=2, scheduler=None)


def test_few_source_photos_note(tmp_path):
    r = load_recipe("btbnet")  # the default 40000 samples from the built-in sources
    builtin = scan_sources(None, r.size, min_sharpness=r.screen.min_sharpness, procedural_fraction=0.25)
    n = len(builtin.photos)
    note = generate.source_note(r, builtin)
    assert f"40000 samples from {n} source photos, about {round(30000 / n)} crops of each" in note
    assert "dead-leaves" in note and "--sources DIR" in note
    r.count = 200 * n // 3 * 4  # 200 crops per photo at most: no note
    assert generate.source_note(r, builtin) is None
    assert generate.source_note(r, SourceSet(photos=[], procedural_fraction=1.0)) is None
    # through the CLI: one photo, 201 samples
    import skimage.data

    write_image(tmp_path / "photos" / "coffee.png", skimage.data.coffee()[:, :400])
    out = tmp_path / "o"
    res = _cli(
        "generate-sim",
        "--sources",
        str(tmp_path / "photos"),
        "--count",
        "201",
        "--size",
        "64",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if "note:" in line]
    assert notes == [
        "generate-sim: note: 201 samples from 1 source photos, about 201 crops of each; "
        "pass --sources DIR with more sharp photos for a more varied set"
    ]


def test_failed_start_does_not_block_a_rerun(tmp_path):
    strict = tmp_path / "strict.toml"
    strict.write_text('recipe = "btbnet"\n[checks]\nmin_sharpness_ratio = 1e9\nmax_draws = 2\n')
    out = tmp_path / "o"
    args = ["generate-sim", "--count", "2", "--size", "64", "--out", str(out)]
    _one_line_error(_cli(*args, "--recipe", str(strict)), "sample 0 failed the recipe checks")
    assert not out.exists()  # the folder it created is gone
    assert _cli(*args).exit_code == 0  # a plain rerun with loose checks
    res = _cli(*args, "--recipe", str(strict), "--overwrite")
    _one_line_error(res, "sample 0 failed")
    assert not any(out.iterdir())  # the old set was overwritten, and nothing of the failed run stays
    assert _cli(*args, "--resume").exit_code == 0  # --resume is not blocked either
    assert len(list((out / "image").iterdir())) == 2
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("")
    mine = ["generate-sim", "--count", "2", "--size", "64", "--out", str(tmp_path / "mine")]
    _one_line_error(_cli(*mine, "--recipe", str(strict), "--overwrite"), "sample 0 failed")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["keep.txt"]  # the user's file stays
