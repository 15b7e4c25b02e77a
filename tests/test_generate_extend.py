"""generate-sim --resume with a larger --count: the set grows to exactly what a straight run of that
count writes (every file byte for byte), and every other change is refused."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from dbdbench.cli import main
from dbdbench.errors import DbdError
from dbdbench.generators import generate, generate_sim, load_recipe
from tests.test_generate_sim import tree

OPTS = dict(size=64, seed=5, progress=False)


def _cli(*args):
    return CliRunner().invoke(main, ["generate-sim", *args])


@pytest.mark.parametrize(("recipe", "workers"), [("btbnet", 1), ("lens", 2)])
def test_extend_20_to_40_equals_a_straight_run(tmp_path, recipe, workers):
    straight = tmp_path / "straight"
    generate_sim(straight, recipe=recipe, count=40, **OPTS)
    out = tmp_path / "grown"
    generate_sim(out, recipe=recipe, count=20, **OPTS)
    first = tree(out)
    s = generate_sim(out, recipe=recipe, count=40, resume=True, workers=workers, **OPTS)
    assert (s.count, s.generated) == (40, 20)
    grown = tree(out)
    for name, data in first.items():  # the 20 samples already there were not rewritten
        if name.startswith(("image/", "gt/", "defocus/")):
            assert grown[name] == data, name
    expected = {"recipe.toml", "manifest.csv"} | {
        f"{d}/{i:06d}.png"
        for d in ("image", "gt") + (("defocus",) if recipe == "lens" else ())
        for i in range(40)
    }
    assert set(grown) == expected
    assert grown == tree(straight)  # image/, gt/, defocus/, manifest.csv and recipe.toml


def test_resume_without_count_keeps_the_folder_count(tmp_path):
    out = tmp_path / "o"
    generate_sim(out, count=4, **OPTS)
    before = tree(out)
    s = generate_sim(out, resume=True, **OPTS)  # the recipe's count (40000) does not apply
    assert (s.count, s.generated) == (4, 0)
    assert tree(out) == before


def test_smaller_count_or_other_change_is_refused_in_one_line(tmp_path):
    out = tmp_path / "o"
    generate_sim(out, count=6, **OPTS)
    before = tree(out)
    base = ["--size", "64", "--out", str(out), "--resume"]
    res = _cli("--count", "4", "--seed", "5", *base)
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "--count 4 is smaller than the 6 samples" in res.output and "--count 6 or more" in res.output
    res = _cli("--count", "9", "--seed", "6", *base)  # extending with another seed
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "another recipe (key 'seed' is 5 there and 6 now)" in res.output
    assert tree(out) == before


def test_failed_extension_restores_the_recipe(tmp_path, monkeypatch):
    out = tmp_path / "o"
    generate_sim(out, count=3, **OPTS)
    before = tree(out)

    def fail(job, index):
        raise DbdError(f"sample {index} failed")

    monkeypatch.setattr(generate, "make_sample", fail)
    with pytest.raises(DbdError, match="sample 3 failed"):
        generate_sim(out, count=5, resume=True, **OPTS)
    assert tree(out) == before  # recipe.toml says 3 samples again
    monkeypatch.undo()
    assert generate_sim(out, count=5, resume=True, **OPTS).generated == 2


def test_caller_recipe_is_not_changed(tmp_path):
    r = load_recipe("btbnet")
    r.btbnet.sigmas_px = [2.0, 3.0]
    kept = copy.deepcopy(r)
    generate_sim(tmp_path / "o", recipe=r, count=3, size=64, seed=1, sources=None, progress=False)
    assert r == kept  # count, size, seed, generator_version and the fingerprint stay the caller's
    written = load_recipe(tmp_path / "o" / "recipe.toml")
    assert (written.count, written.size, written.seed, written.btbnet.sigmas_px) == (3, 64, 1, [2.0, 3.0])
    assert written.sources_fingerprint and not kept.sources_fingerprint
