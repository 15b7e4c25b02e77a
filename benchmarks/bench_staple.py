"""STAPLE speed: EM over distinct vote patterns (dbdbench) vs the textbook per-pixel EM.

Reference: the per-pixel formulation of Warfield et al. (2004), vectorised with numpy over all pixels,
run for the same number of iterations; both must give the same posterior. Run:

    .venv/bin/python benchmarks/bench_staple.py [--size 1024x1600] [--annotators 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from dbdbench.datasets.staple import staple


def per_pixel_staple(votes: np.ndarray, iterations: int, init: float = 0.99):
    """Textbook STAPLE over every pixel: votes (n, N) bool; returns posterior (N,), p, q."""
    d = votes.astype(np.float64)
    f = d.mean()
    p = np.full(len(d), init)
    q = np.full(len(d), init)

    def e_step(p, q):
        a = f * np.prod(np.where(votes, p[:, None], 1 - p[:, None]), axis=0)
        b = (1 - f) * np.prod(np.where(votes, 1 - q[:, None], q[:, None]), axis=0)
        return a / (a + b)

    for _ in range(iterations):
        w = e_step(p, q)
        p = (d @ w) / w.sum()
        q = ((1 - d) @ (1 - w)) / (1 - w).sum()
    return e_step(p, q), p, q


def annotations(h: int, w: int, n: int, seed: int = 0) -> list[np.ndarray]:
    """A smooth random in-focus region and n annotators who each trace its edge differently."""
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 40)
    out = []
    for _ in range(n):
        jitter = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 8)
        out.append(field + 0.02 * jitter > 0)
    return out


def best_of(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1024x1600")
    ap.add_argument("--annotators", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    h, w = map(int, args.size.split("x"))
    anns = annotations(h, w, args.annotators)
    res = staple(anns)
    votes = np.stack([a.ravel() for a in anns])
    ref_post, ref_p, ref_q = per_pixel_staple(votes, res.iterations)
    np.testing.assert_allclose(res.posterior.ravel(), ref_post, atol=1e-9)
    np.testing.assert_allclose(res.sensitivity, ref_p, atol=1e-9)
    t_ours = best_of(lambda: staple(anns), args.repeats)
    t_ref = best_of(lambda: per_pixel_staple(votes, res.iterations), args.repeats)
    print(
        f"STAPLE, {args.annotators} annotators, {h}x{w} masks, {res.iterations} EM iterations "
        f"(best of {args.repeats}; results equal to 1e-9)"
    )
    print(f"{'implementation':<32}{'seconds':>10}{'ratio':>10}")
    print(f"{'per-pixel EM (reference)':<32}{t_ref:>10.3f}{1.0:>10.2f}")
    print(f"{'dbdbench (vote patterns)':<32}{t_ours:>10.3f}{t_ref / t_ours:>10.2f}")


if __name__ == "__main__":
    main()
