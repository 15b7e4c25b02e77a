"""Published reference results shipped as package data (``dbdbench/leaderboards/published/``).

Each subfolder holds one publication's numbers and a ``meta.toml`` whose ``kind`` says what they
are (format: ``docs/leaderboards.md``). Shipped now:

``hifst-cvpr17`` (``kind = "curves"``)
    The precision-recall curves that Golestaneh & Karam released with HiFST (CVPR 2017) for 11
    methods on all 1000 CUHK images (Shi et al., CVPR 2014), protocol ``hifst``: 256 rows
    "precision recall", row t = threshold t. A curve's maxF is computed from its rows by the
    protocol's F-measure (:func:`dbdbench.metrics.curves.f_from_pr`), so these references are ranked
    with the user's results; the numbers they do not publish (MAE) are None.

``ddffnet-icme23`` (``kind = "table"``)
    The MAE / F / IoU table D-DFFNet (Jin et al., ICME 2023) printed for 13 methods on CUHK-TE-1,
    DUT-TE, CTCUG, EBD and EBD(1305), protocol ``ddffnet``: ``table.csv``, one row per method,
    dataset and split, each with its citation and source (BTBCRL is printed "BTBNet2"). Printed
    numbers are shown as printed and never ranked.

Every reference becomes a :class:`~dbdbench.leaderboards.results.Result` with ``source =
"published"``. :func:`attach_published` puts each beside the user's results of the same protocol
and image set, never beside another protocol's numbers.
"""

from __future__ import annotations

import csv
import sys
from importlib import resources

import numpy as np

from dbdbench.errors import DbdError
from dbdbench.leaderboards.results import Result
from dbdbench.metrics.curves import f_from_pr
from dbdbench.metrics.protocols import get_protocol, protocol_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Columns every published table has before the protocol's summary numbers.
TABLE_COLUMNS = ("method", "citation", "source", "protocol", "dataset", "split", "images")


def _root():
    return resources.files("dbdbench.leaderboards") / "published"


def published_sets() -> list[str]:
    """Names of the shipped publications (subfolders with a ``meta.toml``)."""
    return sorted(p.name for p in _root().iterdir() if (p / "meta.toml").is_file())


def _bad(where: str, what: str) -> DbdError:
    return DbdError(f"published reference file '{where}': {what}; reinstall dbdbench or fix the file")


def _load_curves(folder, meta: dict) -> list[Result]:
    """One result per method of a ``kind = "curves"`` set (see the module docstring)."""
    out = []
    for method, info in meta["methods"].items():
        rows = np.loadtxt((folder / info["file"]).read_text(encoding="utf-8").splitlines(), dtype=np.float64)
        precision, recall = rows[:, 0], rows[:, 1]
        f = f_from_pr(precision, recall)
        images = int(meta["images"])
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
                counts={"gt": images, "evaluated": images, "missing": 0},
                missing=[],
                dbdbench_version="published",
                source="published",
                citation=info["citation"],
                origin=meta["source"],
                aliases=tuple(a.lower() for a in meta.get("dataset_aliases", [meta["dataset"]])),
            )
        )
    return out


def _table_value(where: str, proto, key: str, text: str) -> float | None:
    if text.strip() == "":
        return None
    metric = proto.metric(key)
    try:
        v = float(text)
    except ValueError:
        raise _bad(where, f"{key} '{text}' is not a number") from None
    if not metric.contains(v):
        raise _bad(where, f"{key} {v} is outside [{metric.low:g}, {metric.high:g}]")
    return v


def _load_table(set_name: str, folder, meta: dict) -> list[Result]:
    """One result per row of a ``kind = "table"`` set (see the module docstring)."""
    name = f"{set_name}/{meta['file']}"
    reader = csv.DictReader((folder / meta["file"]).read_text(encoding="utf-8").splitlines())
    header = tuple(reader.fieldnames or ())
    if header[: len(TABLE_COLUMNS)] != TABLE_COLUMNS:
        raise _bad(name, f"the columns must start with {', '.join(TABLE_COLUMNS)}")
    out = []
    for i, row in enumerate(reader, start=2):
        where = f"{name}, line {i}"
        if row["protocol"] not in protocol_names():
            raise _bad(where, f"unknown protocol '{row['protocol']}'")
        proto = get_protocol(row["protocol"])
        numbers = header[len(TABLE_COLUMNS) :]
        unknown = [k for k in numbers if k not in proto.summary_keys]
        if unknown:
            raise _bad(where, f"column '{unknown[0]}' is not a summary number of protocol {proto.name}")
        summary = {k: _table_value(where, proto, k, row[k]) for k in numbers}
        images = int(row["images"])
        out.append(
            Result(
                method=row["method"],
                dataset=row["dataset"],
                protocol=proto.name,
                split=row["split"] or None,
                summary=summary,
                counts={"gt": images, "evaluated": images, "missing": 0},
                missing=[],
                dbdbench_version="published",
                source="published",
                ranked=False,
                citation=row["citation"],
                origin=row["source"],
                aliases=(row["dataset"].lower(),),
            )
        )
    return out


def load_published(name: str | None = None) -> list[Result]:
    """Load shipped reference results.

    Parameters
    ----------
    name : str, optional
        One publication (see :func:`published_sets`); all of them by default.

    Returns
    -------
    list of Result
        One per method (curves) or per table row (tables), ``source="published"``.

    Raises
    ------
    DbdError
        A shipped file that breaks the format (unknown kind or protocol, a number outside its
        metric's range, ...).
    """
    out = []
    for set_name in [name] if name else published_sets():
        folder = _root() / set_name
        meta = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))
        kind = meta.get("kind")
        if kind == "curves":
            out += _load_curves(folder, meta)
        elif kind == "table":
            out += _load_table(set_name, folder, meta)
        else:
            raise _bad(f"{set_name}/meta.toml", f"kind {kind!r} is neither 'curves' nor 'table'")
    return out


def _joins(ref: Result, r: Result, same_as: str | None) -> bool:
    """Whether the reference ``ref`` belongs in the table of the user result ``r``."""
    if r.protocol != ref.protocol or r.source == "published":
        return False
    if ref.split is not None:
        # a row of a published table: one split of a registered dataset, named as dbdbench names it
        return r.dataset.lower() in ref.aliases and r.split == ref.split
    named = r.dataset.lower() in ref.aliases or (same_as is not None and r.dataset == same_as)
    if not named:
        return False
    if r.counts.get("gt") != ref.counts["gt"]:
        if same_as is not None and r.dataset == same_as:
            raise DbdError(
                f"result file '{r.path}' covers {r.counts.get('gt')} images of '{r.dataset}', "
                f"but the published {ref.protocol} curves cover {ref.counts['gt']}; "
                "evaluate on the same image set or drop --published-dataset"
            )
        return False
    return True


def attach_published(results: list[Result], protocols=None, same_as: str | None = None) -> list[Result]:
    """Add the published references to a list of results.

    A published curve joins the group of a user result that has its protocol, covers the same
    number of ground-truth images, and names its dataset by one of the curve's aliases (or
    ``same_as``). A row of a published table joins the group of a user result with its protocol,
    dataset and split (e.g. ``ddffnet``, ``cuhk``, ``te1``). A joining reference takes that result's
    dataset and split, so it shares the table and figures; a reference with no such result forms a
    group of its own. References of protocols outside ``protocols`` (when given) are left out:
    protocols are never mixed.

    Parameters
    ----------
    results : list of Result
        User results.
    protocols : sequence of str, optional
        Protocols to keep.
    same_as : str, optional
        A user dataset name declared to be the published curves' image set (e.g. ``"gt"`` for
        results evaluated with ``--gt cuhk/gt``).

    Returns
    -------
    list of Result
        ``results`` followed by the references.

    Raises
    ------
    DbdError
        A result on the ``same_as`` dataset under a curve set's protocol covers another number of
        images than the curves.
    """
    refs = []
    for ref in load_published():
        if protocols is not None and ref.protocol not in protocols:
            continue
        for r in results:
            if _joins(ref, r, same_as):
                ref.dataset, ref.split = r.dataset, r.split
                break
        refs.append(ref)
    return list(results) + refs
