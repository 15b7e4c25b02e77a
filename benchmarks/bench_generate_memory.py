"""Working memory of one ``generate-sim`` sample, in bytes per output pixel, against the figure
``generate-sim`` uses to bound ``--size`` (:attr:`dbdbench.generators.recipe.RecipeKind.bytes_per_pixel`).

Each (recipe, size) runs in a fresh Python process that generates two samples from dead-leaves
textures only (so any size works) and reports two measures of the sample's memory:

- the peak of the allocations traced by :mod:`tracemalloc` (numpy arrays, including those OpenCV's
  Python binding returns), and
- the growth of the process's peak resident set (``ru_maxrss``) over the run, which also counts
  OpenCV's internal buffers and the allocator's slack.

Both are divided by ``size**2``. Small sizes carry a fixed overhead per pixel; the figure used must
exceed the measures at the large sizes.

Usage::

    .venv/bin/python benchmarks/bench_generate_memory.py [--sizes 512 1536]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import resource, sys, tempfile, tracemalloc
from pathlib import Path
from dbdbench.generators import generate_sim
recipe, size = sys.argv[1], int(sys.argv[2])
tmp = Path(tempfile.mkdtemp())
(tmp / "r.toml").write_text(f'recipe = "{recipe}"\\n[screen]\\nprocedural_fraction = 1.0\\n')
generate_sim(tmp / "warm", recipe=tmp / "r.toml", count=1, size=64, progress=False)  # imports
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
generate_sim(tmp / "o", recipe=tmp / "r.toml", count=2, size=size, progress=False)
peak = tracemalloc.get_traced_memory()[1]
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(peak / size**2, grown / size**2)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1536])
    args = ap.parse_args()
    from dbdbench.generators.recipe import get_recipe

    print(f"{'recipe':<8}{'size':>6}{'traced B/px':>13}{'RSS B/px':>10}{'used B/px':>11}")
    for recipe in ("btbnet", "lens"):
        for size in args.sizes:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, recipe, str(size)], capture_output=True, text=True, check=True
            ).stdout.split()
            traced, rss = (float(x) for x in out[-2:])
            print(f"{recipe:<8}{size:>6}{traced:>13.0f}{rss:>10.0f}{get_recipe(recipe).bytes_per_pixel:>11}")


if __name__ == "__main__":
    main()
