"""Published reference results shipped as package data (``dbdbench/leaderboards/published/``).

Each subfolder holds one publication's numbers and a ``meta.toml`` naming the protocol, the dataset
and each method's citation. Shipped now:

``hifst-cvpr17``
    The precision-recall curves that Golestaneh & Karam released with HiFST (CVPR 2017) for 11
    methods on all 1000 CUHK images (Shi et al., CVPR 2014), protocol ``hifst``: 256 rows
    "precision recall", row t = threshold t.

A published curve becomes a :class:`~dbdbench.leaderboards.results.Result` with ``source =
"published"``; its maxF is the maximum of F = 1.3 P R / (0.3 P + R) over the published rows, and the
numbers it does not publish (MAE) are None.
"""

from __future__ import annotations

import sys
from importlib import resources

import numpy as np

from dbdbench.errors import DbdError
from dbdbench.leaderboards.results import Result

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BETA2 = 0.3


def f_measure(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """F = (1 + b2) P R / (b2 P + R) with b2 = 0.3, and 0 where P = R = 0.

    Parameters
    ----------
    precision, recall : ndarray, float, values in [0, 1]

    Returns
    -------
    ndarray, float64, same shape
    """
    p = np.asarray(precision, dtype=np.float64)
    r = np.asarray(recall, dtype=np.float64)
    den = BETA2 * p + r
    return np.divide((1 + BETA2) * p * r, den, out=np.zeros_like(den), where=den > 0)


def _root():
    return resources.files("dbdbench.leaderboards") / "published"


def published_sets() -> list[str]:
    """Names of the shipped publications (subfolders with a ``meta.toml``)."""
    return sorted(p.name for p in _root().iterdir() if (p / "meta.toml").is_file())


def load_published(name: str | None = None) -> list[Result]:
    """Load shipped reference results.

    Parameters
    ----------
    name : str, optional
        One publication (see :func:`published_sets`); all of them by default.

    Returns
    -------
    list of Result
        One per method, ``source="published"``, curves with thresholds 0..255, ``summary["max_f"]``
        from the curve and ``summary["mae"] = None``.
    """
    out = []
    for set_name in [name] if name else published_sets():
        folder = _root() / set_name
        meta = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))
        for method, info in meta["methods"].items():
            rows = np.loadtxt(
                (folder / info["file"]).read_text(encoding="utf-8").splitlines(), dtype=np.float64
            )
            precision, recall = rows[:, 0], rows[:, 1]
            f = f_measure(precision, recall)
            out.append(
                Result(
                    method=method,
                    dataset=meta["dataset"],
                    protocol=meta["protocol"],
                    split=None,
                    summary={"max_f": float(f.max()), "mae": None},
                    curves={
                        "thresholds": [float(t) for t in range(len(rows))],
                        "precision": precision.tolist(),
                        "recall": recall.tolist(),
                        "f": f.tolist(),
                    },
                    counts={"gt": int(meta["images"]), "evaluated": int(meta["images"]), "missing": 0},
                    dbdbench_version="published",
                    source="published",
                    citation=info["citation"],
                    aliases=tuple(a.lower() for a in meta.get("dataset_aliases", [meta["dataset"]])),
                )
            )
    return out


def attach_published(results: list[Result], protocols=None, same_as: str | None = None) -> list[Result]:
    """Add the published references to a list of results.

    A reference joins the group of a user result that has its protocol, covers the same number of
    ground-truth images, and names its dataset by one of the reference's aliases (or ``same_as``);
    it then takes that result's dataset and split, so it shares the table and figures. A reference
    with no such result forms its own group. References of protocols outside ``protocols`` (when
    given) are left out: protocols are never mixed.

    Parameters
    ----------
    results : list of Result
        User results.
    protocols : sequence of str, optional
        Protocols to keep.
    same_as : str, optional
        A user dataset name declared to be the references' image set (e.g. ``"gt"`` for results
        evaluated with ``--gt cuhk/gt``).

    Returns
    -------
    list of Result
        ``results`` followed by the references.

    Raises
    ------
    DbdError
        A result on the ``same_as`` dataset under a reference's protocol covers another number of
        images than the reference.
    """
    refs = []
    for ref in load_published():
        if protocols is not None and ref.protocol not in protocols:
            continue
        for r in results:
            if r.protocol != ref.protocol or r.source == "published":
                continue
            named = r.dataset.lower() in ref.aliases or (same_as is not None and r.dataset == same_as)
            if not named:
                continue
            if r.counts.get("gt") != ref.counts["gt"]:
                if same_as is not None and r.dataset == same_as:
                    raise DbdError(
                        f"result file '{r.path}' covers {r.counts.get('gt')} images of '{r.dataset}', "
                        f"but the published {ref.protocol} curves cover {ref.counts['gt']}; "
                        "evaluate on the same image set or drop --published-dataset"
                    )
                continue
            ref.dataset, ref.split = r.dataset, r.split
            break
        refs.append(ref)
    return list(results) + refs
