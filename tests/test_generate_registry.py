"""The recipe and mask-family registries: every registered entry honours the interface, and a family
added by one function and one registration reaches every recipe."""

from __future__ import annotations

import numpy as np
import pytest

from dbdbench.errors import DbdError
from dbdbench.generators.generate import Job, render_sample
from dbdbench.generators.masks import FAMILIES, draw_region, lens_objects, mask_family
from dbdbench.generators.recipe import RECIPES, default_recipe, dump_recipe, get_recipe, recipe_from_dict
from dbdbench.generators.sources import SourceSet
from dbdbench.imageio import write_image

PROCEDURAL = SourceSet(photos=[], procedural_fraction=1.0)  # dead-leaves textures: no files read


def _job(recipe) -> Job:
    return Job(out="", recipe=recipe, sources=PROCEDURAL)


@pytest.mark.parametrize("name", RECIPES.names())
def test_every_recipe_round_trips_and_renders_valid_samples(name):
    kind = get_recipe(name)
    r = default_recipe(name)
    r.size, r.checks.max_draws = 48, 200
    assert isinstance(r.section, kind.options) and getattr(r, name) is r.section
    assert all(getattr(r, other) is None for other in RECIPES.names() if other != name)
    assert recipe_from_dict(r.to_dict()) == r and f"[{name}]" in dump_recipe(r)
    assert kind.bytes_per_pixel > 0 and callable(kind.render_function())
    image, infocus, row, extra = render_sample(_job(r), 3)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert infocus.shape == (48, 48) and infocus.dtype == np.float32 and set(np.unique(infocus)) <= {0, 1}
    assert row["index"] == "3" and row["mask_kind"]
    for value in extra.values():
        assert value.shape == (48, 48)
    again = render_sample(_job(r), 3)
    np.testing.assert_array_equal(again[0], image)


@pytest.mark.parametrize("name", FAMILIES.names())
def test_every_mask_family_draws_a_seeded_binary_region(name, tmp_path):
    family = FAMILIES.get(name)
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    disc = np.where(np.hypot(*np.mgrid[-20:20, -30:30]) < 15, 255, 0).astype(np.uint8)
    write_image(tmp_path / "disc.png", disc)
    paths = (str(tmp_path / "disc.png"),)
    a, kind = draw_region(np.random.default_rng(4), 64, {name: 1.0}, image, paths)
    b, _ = draw_region(np.random.default_rng(4), 64, {name: 1.0}, image, paths)
    assert kind == (f"{name}:disc.png" if "paths" in family.inputs else name)
    assert a.dtype == np.float32 and a.shape == (64, 64) and 0 < a.mean() < 1
    assert set(np.unique(a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert family.weight == default_recipe("btbnet").mask.weights[name]


def test_the_default_weights_and_lens_objects():
    assert set(default_recipe("lens").mask.weights) == set(FAMILIES.names())
    assert set(lens_objects()) == {"ellipses", "polygons", "blobs", "superpixels", "user"}


@pytest.fixture
def squares():
    """A family registered for one test: a centred square of a random side."""

    @mask_family("squares", weight=0.0, lens_object=True)
    def draw(rng, size):
        side = int(rng.integers(size // 4, size // 2))
        m = np.zeros((size, size), np.float32)
        m[(size - side) // 2 : (size + side) // 2, (size - side) // 2 : (size + side) // 2] = 1
        return m

    yield draw
    FAMILIES.unregister("squares")


def test_a_registered_family_reaches_recipes_and_both_renderers(squares):
    data = {"recipe": "btbnet", "size": 48, "mask": {"weights": {k: 0.0 for k in FAMILIES.names()}}}
    data["mask"]["weights"]["squares"] = 1.0
    for name in ("btbnet", "lens"):
        r = recipe_from_dict({**data, "recipe": name})
        r.checks.max_draws = 200
        _, infocus, row, _ = render_sample(_job(r), 0)
        assert set(row["mask_kind"].split("+")) == {"squares"}
        side = int(round(np.sqrt(min(infocus.sum(), (1 - infocus).sum()))))
        assert 12 <= side < 24  # one centred square, in focus or blurred
    with pytest.raises(DbdError, match=r"mask.weights' has unknown families \['circles'\]"):
        recipe_from_dict({"recipe": "btbnet", "mask": {"weights": {"circles": 1.0}}})


def test_unknown_recipe_lists_the_registered_ones():
    with pytest.raises(DbdError, match="key 'recipe' must be \"btbnet\" or \"lens\", got 'nope'"):
        recipe_from_dict({"recipe": "nope"})
    with pytest.raises(DbdError, match="unknown recipe 'nope'; choose one of: btbnet, lens"):
        get_recipe("nope")
