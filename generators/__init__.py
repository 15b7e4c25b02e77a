"""Simulated defocus data generators (``dbdbench generate-sim``).

``generate_sim(out, recipe="btbnet", count=..., size=..., ...)`` writes ``image/``, ``gt/`` (and
``defocus/`` for the lens recipe), ``recipe.toml`` and ``manifest.csv``; ``read_defocus`` reads a lens
set's CoC maps back in pixels.
"""

from dbdbench.generators.generate import Summary, generate_sim
from dbdbench.generators.lens import read_defocus
from dbdbench.generators.recipe import Recipe, load_recipe

__all__ = ["Recipe", "Summary", "generate_sim", "load_recipe", "read_defocus"]
