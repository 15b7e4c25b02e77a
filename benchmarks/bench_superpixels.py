"""How well the ``superpixels`` mask family follows image edges, and what it costs per mask.

For crops of the built-in source photos (320 px, the btbnet default), the share of the region's
boundary pixels that lie on strong image edges (Canny, thresholds 50/150 after a sigma-1 Gaussian,
dilated by one pixel for tolerance) and the time per mask of:

- ``superpixels`` (watershed from a grid of seeds, ``dbdbench.generators.masks``);
- the same region drawing on SEEDS superpixels (Van den Bergh et al., ECCV 2012; OpenCV contrib's
  ``ximgproc``, what the family used before), when ``cv2.ximgproc`` is installed;
- ``blobs`` (smooth noise, blind to the image): the share a region gets by chance.

Usage::

    python benchmarks/bench_superpixels.py [--count 60]
"""

from __future__ import annotations

import argparse
import functools
import time

import cv2
import numpy as np

from dbdbench.generators import masks
from dbdbench.generators.sources import load_photo, random_crop, scan_sources

SIZE = 320


def edge_counts(mask: np.ndarray, image: np.ndarray) -> tuple[int, int]:
    """(boundary pixels on strong edges, boundary pixels) of a 0/1 mask on its image."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (0, 0), 1.0), 50, 150)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8)) > 0
    kernel = np.ones((3, 3), np.uint8)
    boundary = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, kernel) > 0
    boundary[[0, -1], :] = boundary[:, [0, -1]] = False  # the frame is not a region edge
    return int(edges[boundary].sum()), int(boundary.sum())


@functools.lru_cache(maxsize=2)
def _seeds_engine(size: int):
    return cv2.ximgproc.createSuperpixelSEEDS(size, size, 3, 100, 2)


def seeds_labels(small: np.ndarray) -> np.ndarray:
    """SEEDS labels with the parameters the family used (100 cells, 3 levels, 2 iterations)."""
    engine = _seeds_engine(small.shape[0])
    engine.iterate(cv2.cvtColor(small, cv2.COLOR_RGB2LAB), 2)
    return engine.getLabels()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=60, help="crops (seeds 0..count-1)")
    args = ap.parse_args()
    photos = scan_sources(None, SIZE, min_sharpness=0.0, procedural_fraction=0.0).photos
    methods = {"superpixels (watershed)": masks.superpixels}
    if hasattr(cv2, "ximgproc"):
        seeds_family = _with_labels(seeds_labels)
        methods["superpixels on SEEDS (before)"] = seeds_family
    else:
        print("cv2.ximgproc not installed: no SEEDS row\n")
    methods["blobs (chance)"] = lambda rng, size, image: masks.blobs(rng, size)
    crops = []
    for i in range(args.count):
        rng = np.random.default_rng(i)
        crops.append(random_crop(rng, load_photo(photos[i % len(photos)].path), SIZE)[0])
    for fn in methods.values():  # warm-up: caches, first calls
        fn(np.random.default_rng(0), SIZE, crops[0])
    print(f"{args.count} crops of {len(photos)} built-in photos, {SIZE} px\n")
    print("| family | boundary pixels on strong edges | ms / mask |")
    print("|---|---|---|")
    for name, fn in methods.items():
        hits = total = 0
        seconds = 0.0
        for i, crop in enumerate(crops):
            t = time.perf_counter()
            m = fn(np.random.default_rng(i), SIZE, crop)
            seconds += time.perf_counter() - t
            h, n = edge_counts(m, crop)
            hits += h
            total += n
        print(f"| {name} | {100 * hits / total:.1f}% | {1e3 * seconds / len(crops):.2f} |")


def _with_labels(labels_fn):
    """``masks.superpixels`` with another labelling (the region drawing unchanged)."""

    def draw(rng, size, image):
        original = masks.superpixel_labels
        masks.superpixel_labels = labels_fn
        try:
            return masks.superpixels(rng, size, image)
        finally:
            masks.superpixel_labels = original

    return draw


if __name__ == "__main__":
    main()
