"""Recipe files: defaults, overrides, round trip and errors that name the key."""

from __future__ import annotations

import pytest

from dbdbench.errors import DbdError
from dbdbench.generators.recipe import dump_recipe, load_recipe


def test_builtin_defaults():
    r = load_recipe("btbnet")
    assert (r.recipe, r.count, r.size, r.seed) == ("btbnet", 40000, 320, 0)
    assert r.btbnet.compositing == "normalized" and r.lens is None
    assert load_recipe("lens").lens.psf == "disk"


def test_file_overrides_and_round_trip(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text('recipe = "btbnet"\ncount = 12\n[btbnet]\nsigmas_px = [2, 5]\ncompositing = "naive"\n')
    r = load_recipe(f)
    assert r.count == 12 and r.btbnet.sigmas_px == [2.0, 5.0] and r.btbnet.compositing == "naive"
    assert r.size == 320  # untouched keys keep their defaults
    text = dump_recipe(r)
    assert "[lens]" not in text
    (tmp_path / "again.toml").write_text(text)
    again = load_recipe(tmp_path / "again.toml")
    assert again == r and dump_recipe(again) == text


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('recipe = "btbnet"\n[btbnet]\nsigma = 2\n', "btbnet.sigma"),
        ('recipe = "btbnet"\nsize = "big"\n', "size"),
        ('recipe = "btbnet"\n[btbnet]\ncompositing = "smear"\n', "btbnet.compositing"),
        ('recipe = "lens"\n[lens]\ncoc_max_px = [9, 3]\n', "lens.coc_max_px"),
        ('recipe = "lens"\n[mask.weights]\nstars = 1\n', "mask.weights"),
        ('recipe = "btbnet"\n[lens]\npsf = "disk"\n', "lens"),
        ('recipe = "gauss"\n', "recipe"),
        ("count = 3\n", "recipe"),
    ],
)
def test_invalid_recipe_names_the_key(tmp_path, body, key):
    f = tmp_path / "bad.toml"
    f.write_text(body)
    with pytest.raises(DbdError, match=f"'{key}'") as info:
        load_recipe(f)
    assert "bad.toml" in str(info.value)


def test_not_toml_or_missing(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("recipe = [\n")
    with pytest.raises(DbdError, match="not valid TOML"):
        load_recipe(f)
    with pytest.raises(DbdError, match="neither btbnet, lens nor"):
        load_recipe(tmp_path / "missing.toml")


def test_partial_weights_table_merges_with_the_defaults(tmp_path):
    f = tmp_path / "r.toml"
    f.write_text('recipe = "btbnet"\n[mask.weights]\nellipses = 3\n')
    weights = load_recipe(f).mask.weights
    defaults = load_recipe("btbnet").mask.weights
    assert weights == {**defaults, "ellipses": 3.0} and len(weights) == 8


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('recipe = "lens"\n[lens]\ndepth_far_m = inf\n', "lens.depth_far_m"),
        ('recipe = "lens"\n[lens]\nnoise_shot = nan\n', "lens.noise_shot"),
        ('recipe = "lens"\n[lens]\ncoc_max_px = [8, 400]\n', "lens.coc_max_px"),
        ('recipe = "btbnet"\n[mask.weights]\nblobs = inf\n', "mask.weights"),
        ('recipe = "btbnet"\n[btbnet]\ntruncate = 1e9\n', "btbnet.truncate"),
        ('recipe = "btbnet"\nseed = -1\n', "seed"),
    ],
)
def test_non_finite_and_oversized_values_name_the_key(tmp_path, body, key):
    f = tmp_path / "bad.toml"
    f.write_text(body)
    with pytest.raises(DbdError, match=f"key '{key}' "):
        load_recipe(f)
