"""Recipes of ``generate-sim``: every parameter of a simulated set, with its unit and default.

A recipe is a tree of dataclasses that loads from and dumps to TOML. The built-in recipes are
``btbnet`` (Gaussian blur of a drawn region, after Zhao et al., "Defocus Blur Detection via
Multi-Stream Bottom-Top-Bottom Fully Convolutional Network", CVPR 2018, and its TPAMI 2020 BTBCRL
version; their exact sources, kernels and sigmas were never published, so every value here is a
documented default, not a reproduction) and ``lens`` (thin-lens rendering of a depth scene). The
output folder keeps the fully resolved recipe as ``recipe.toml``; loading that file back reproduces
the set.

A recipe file names the recipe it extends (``recipe = "btbnet"`` or ``"lens"``) and overrides any
key; the keys it leaves out keep their defaults, inside tables too (a partial ``[mask.weights]`` table
changes only the families it names). Unknown keys, wrong types, non-finite floats and out-of-range
values raise :class:`~dbdbench.errors.DbdError` naming the key.

Each recipe is a :class:`RecipeKind` in :data:`RECIPES`: its name, the dataclass of its own table
(``[btbnet]``, ``[lens]``), the range checks of that table, its render function and its working
memory, all in its own module (``generators/btbnet.py``, ``generators/lens.py``: the modules that
import :class:`RecipeKind`, imported on first use). Plug-in packages add recipes through
``dbdbench.recipes`` entry points naming a :class:`RecipeKind`. The mask families and their default
weights come from :data:`dbdbench.generators.masks.FAMILIES`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbdbench.errors import DbdError
from dbdbench.params import MAX_SEED, coerce
from dbdbench.registry import Registry, modules_importing


def _default_weights() -> dict[str, float]:
    from dbdbench.generators.masks import default_weights

    return default_weights()


@dataclass
class OutputOptions:
    """Image files. ``image_format``: ``png`` (lossless) or ``jpg`` (``jpeg_quality`` 1..100)."""

    image_format: str = "png"
    jpeg_quality: int = 95


@dataclass
class ScreenOptions:
    """Source screening. A photo is kept when it is at least ``size`` pixels on its short side and
    its sharpness (variance of the 3x3 Laplacian of the grey image in [0, 1], at full resolution)
    is at least ``min_sharpness``; ``procedural_fraction`` of the samples drawn from the built-in
    sources use a dead-leaves texture instead of a photo."""

    min_sharpness: float = 0.002
    procedural_fraction: float = 0.25


@dataclass
class CheckOptions:
    """Per-sample checks. The in-focus fraction must lie in [``infocus_min``, ``infocus_max``] and the
    mean squared Laplacian of the in-focus region must be at least ``min_sharpness_ratio`` times that
    of the blurred region (both eroded by ``margin_px`` away from the mask edge). A failing draw is
    redrawn from the next per-sample stream, up to ``max_draws`` draws."""

    infocus_min: float = 0.1
    infocus_max: float = 0.9
    min_sharpness_ratio: float = 1.5
    margin_px: int = 4
    max_draws: int = 40


@dataclass
class MaskOptions:
    """Region drawing. ``weights``: relative frequency of each mask family (``user`` is used only
    with ``--masks``; a recipe file's table merges with these key by key); ``focused_foreground``:
    probability that the drawn region is the in-focus one (otherwise the region is blurred and the
    rest is in focus)."""

    weights: dict[str, float] = field(default_factory=_default_weights)
    focused_foreground: float = 0.5


@dataclass
class Recipe:
    """The fully resolved recipe of a simulated set (see the module docstring).

    ``generator_version``: the dbdbench version that resolved the recipe (set when resolved: a
    folder written by another version is not resumed, as its samples may differ);
    ``sources``, ``masks``, ``depths``: absolute folders or ``"builtin"``/``""``;
    ``sources_fingerprint``: a digest of the accepted source list (set when resolved), so that a
    resumed run refuses a changed source folder; ``section``: the options of the recipe itself (its
    :attr:`RecipeKind.options` dataclass), the TOML table named after the recipe and read as
    ``r.btbnet``, ``r.lens`` (None when the recipe is another one).
    """

    recipe: str = "btbnet"
    generator_version: str = ""
    count: int = 40000
    size: int = 320
    seed: int = 0
    sources: str = "builtin"
    masks: str = ""
    depths: str = ""
    sources_fingerprint: str = ""
    output: OutputOptions = field(default_factory=OutputOptions)
    screen: ScreenOptions = field(default_factory=ScreenOptions)
    checks: CheckOptions = field(default_factory=CheckOptions)
    mask: MaskOptions = field(default_factory=MaskOptions)
    section: Any = None

    def __getattr__(self, name: str) -> Any:
        # r.<recipe name>: the section of that recipe, None for another registered recipe
        if name.startswith("_") or "recipe" not in self.__dict__:
            raise AttributeError(name)
        if name == self.recipe:
            return self.section
        if name in RECIPES:
            return None
        raise AttributeError(f"'Recipe' object has no attribute '{name}'")

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain TOML-ready values, the section as the table named after the recipe."""
        out = dataclasses.asdict(self)
        section = out.pop("section")
        if section is not None:
            out[self.recipe] = section
        return out


#: ``need(condition, key, text)``: raise the recipe's error for ``key`` when ``condition`` is false.
Need = Callable[[bool, str, str], None]


@dataclass(frozen=True)
class RecipeKind:
    """A registered recipe.

    Attributes
    ----------
    name : str
        ``--recipe`` name and the value of a recipe file's ``recipe`` key; also the name of its table.
    options : type
        Dataclass of the recipe's own table; its defaults are the recipe's defaults.
    render : str or callable
        ``render(rng, job) -> (image, infocus, info, extra)`` or None for a draw rejected early;
        ``job`` is a :class:`dbdbench.generators.generate.Job`; image (size, size, 3) uint8, infocus
        (size, size) float32 in {0, 1}, info the manifest fields, extra label maps by folder name.
        A string ``"module:function"`` is imported when first used.
    bytes_per_pixel : int
        Working memory of one sample in flight, bytes per output pixel (bounds ``--size``): above
        the peak that ``benchmarks/bench_generate_memory.py`` measures (float32 copies of the image
        and mask, blur accumulators, their temporaries), with a margin for allocator slack.
    check : callable
        ``check(options, recipe, need)``: the table's range checks (``need`` as :data:`Need`,
        keys dotted like the TOML: ``"lens.psf"``).
    description : str
        One line for listings.
    """

    name: str
    options: type
    render: str | Callable[..., Any]
    bytes_per_pixel: int
    check: Callable[[Any, Recipe, Need], None] = lambda options, recipe, need: None
    description: str = ""

    def render_function(self) -> Callable[..., Any]:
        """The render function (imported now for a ``"module:function"`` string)."""
        if callable(self.render):
            return self.render
        module, _, attr = self.render.partition(":")
        return getattr(importlib.import_module(module), attr)


def _adopt(obj: object) -> RecipeKind:
    if not isinstance(obj, RecipeKind):
        raise TypeError(f"{obj!r} is not a dbdbench.generators.recipe.RecipeKind")
    if not dataclasses.is_dataclass(obj.options):
        raise TypeError(f"recipe '{obj.name}': options must be a dataclass")
    return obj


RECIPES: Registry[RecipeKind] = Registry(
    "recipe",
    # every module of the generators that imports RecipeKind registers one (btbnet.py, lens.py)
    functools.partial(modules_importing, "dbdbench.generators", __name__, "RecipeKind"),
    group="dbdbench.recipes",
    adopt=_adopt,
    origin=lambda kind: kind.render_function().__module__,
)


def get_recipe(name: str) -> RecipeKind:
    """The registered recipe ``name``.

    Raises
    ------
    DbdError
        Unknown name; the message lists the registered recipes.
    """
    return RECIPES.get(name)


def default_recipe(name: str) -> Recipe:
    """The registered recipe ``name`` with its defaults."""
    if name not in RECIPES:
        known = ", ".join(RECIPES.names())
        raise DbdError(f"--recipe '{name}' is unknown; use one of {known} or a .toml recipe file")
    return Recipe(recipe=name, section=get_recipe(name).options())


def _apply(obj: Any, table: dict[str, Any], prefix: str, source: str) -> None:
    names = {f.name: f for f in dataclasses.fields(obj)}
    if isinstance(obj, Recipe):  # its section is the table named after the recipe
        del names["section"]
        names[obj.recipe] = None
    for key, value in table.items():
        where = f"{prefix}{key}"
        if key not in names:
            known = ", ".join(sorted(names))
            raise DbdError(f"recipe {source}: unknown key '{where}'; known keys here: {known}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            if not isinstance(value, dict):
                raise DbdError(f"recipe {source}: key '{where}' must be a table [{where}]")
            _apply(current, value, f"{where}.", source)
        else:
            value = coerce(value, current, f"recipe {source}: key '{where}'", text=False)
            if isinstance(current, dict):  # a partial table overrides key by key, the rest stay
                value = {**current, **value}
            setattr(obj, key, value)


def recipe_from_dict(data: dict[str, Any], source: str = "") -> Recipe:
    """Build and validate a recipe from a parsed TOML table.

    Parameters
    ----------
    data : dict
        Must hold ``recipe`` (a name in :data:`RECIPES`); other keys override that recipe's defaults.
    source : str
        Where the table came from, for error messages.
    """
    data = dict(data)
    name = data.pop("recipe", None)
    if not isinstance(name, str) or name not in RECIPES:
        known = " or ".join(f'"{n}"' for n in RECIPES.names())
        raise DbdError(f"recipe {source}: key 'recipe' must be {known}, got {name!r}")
    for other in RECIPES.names():
        if other != name and other in data:
            raise DbdError(f"recipe {source}: key '{other}' does not belong to a recipe = \"{name}\" file")
    r = default_recipe(name)
    _apply(r, data, "", source)
    validate(r, source)
    return r


def _need(cond: bool, source: str, key: str, text: str) -> None:
    if not cond:
        raise DbdError(f"recipe {source}: key '{key}' {text}")


def _floats(obj: Any, prefix: str = ""):
    """(key, value) of every float and float list in a recipe tree, keys dotted like the TOML."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = obj.recipe if isinstance(obj, Recipe) and f.name == "section" else f.name
        if dataclasses.is_dataclass(value):
            yield from _floats(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            yield f"{prefix}{key}", [value]
        elif isinstance(value, list):
            yield f"{prefix}{key}", value
        elif isinstance(value, dict):
            yield f"{prefix}{key}", list(value.values())


def validate(r: Recipe, source: str = "") -> None:
    """Check value ranges; raise :class:`DbdError` naming the first bad key.

    Every float must be finite; blur sizes (``btbnet.sigmas_px``, ``lens.coc_max_px``) are at most
    ``size`` pixels (a blur wider than the image is a flat colour, and its kernel would not fit).
    """
    from dbdbench.generators.masks import FAMILIES  # cv2: only when a recipe is checked

    _need(r.count >= 1, source, "count", "must be at least 1")
    _need(r.count <= 999999, source, "count", "must be at most 999999 (six-digit names)")
    _need(r.size >= 16, source, "size", "must be at least 16 pixels")
    _need(0 <= r.seed <= MAX_SEED, source, "seed", f"must be an integer in 0..{MAX_SEED}")
    _need(r.output.image_format in ("png", "jpg"), source, "output.image_format", "must be png or jpg")
    _need(1 <= r.output.jpeg_quality <= 100, source, "output.jpeg_quality", "must be in 1..100")
    _need(r.screen.min_sharpness >= 0, source, "screen.min_sharpness", "must be >= 0")
    _need(0 <= r.screen.procedural_fraction <= 1, source, "screen.procedural_fraction", "must be in [0, 1]")
    c = r.checks
    _need(
        0 <= c.infocus_min < c.infocus_max <= 1,
        source,
        "checks.infocus_min",
        "and checks.infocus_max must satisfy 0 <= min < max <= 1",
    )
    _need(c.min_sharpness_ratio >= 0, source, "checks.min_sharpness_ratio", "must be >= 0")
    _need(c.margin_px >= 0, source, "checks.margin_px", "must be >= 0")
    _need(c.max_draws >= 1, source, "checks.max_draws", "must be at least 1")
    families = FAMILIES.names()
    bad = sorted(set(r.mask.weights) - set(families))
    _need(not bad, source, "mask.weights", f"has unknown families {bad}; use {list(families)}")
    _need(all(w >= 0 for w in r.mask.weights.values()), source, "mask.weights", "must be >= 0")
    _need(0 <= r.mask.focused_foreground <= 1, source, "mask.focused_foreground", "must be in [0, 1]")
    kind = get_recipe(r.recipe)
    _need(
        isinstance(r.section, kind.options),
        source,
        r.recipe,
        f"must be a [{r.recipe}] table of {kind.options.__name__}",
    )
    kind.check(r.section, r, lambda cond, key, text: _need(cond, source, key, text))
    # last, so that a key with a range check names its range (inf and nan fail every comparison)
    for key, values in _floats(r):
        _need(all(math.isfinite(v) for v in values), source, key, f"must be finite, got {values!r}")


def read_toml(path: Path, what: str = "recipe file") -> dict[str, Any]:
    """Parse a TOML file.

    Raises
    ------
    DbdError
        The file is not valid UTF-8 TOML (the message gives the parser's reason).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DbdError(f"{what} '{path}' is not valid TOML ({exc}); fix the syntax") from None


def load_recipe(spec: str | os.PathLike) -> Recipe:
    """A built-in recipe by name, or a recipe TOML file.

    Parameters
    ----------
    spec : str or path-like
        A recipe name (``"btbnet"``, ``"lens"``, a plug-in's) or the path of a ``.toml`` file.

    Returns
    -------
    Recipe
        Validated; ``count``, ``size``, ``seed`` and folders as in the file or the defaults.
    """
    spec_s = str(spec)
    if spec_s in RECIPES:
        return default_recipe(spec_s)
    path = Path(spec_s)
    if not path.is_file():
        known = ", ".join(RECIPES.names())
        raise DbdError(f"--recipe '{spec_s}' is neither {known} nor an existing .toml file")
    return recipe_from_dict(read_toml(path), f"file '{path}'")


def dump_recipe(r: Recipe) -> str:
    """The recipe as TOML text (sorted sections, exact floats)."""
    import tomli_w

    return tomli_w.dumps(r.to_dict())
