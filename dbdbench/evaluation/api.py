"""The public evaluation API: :func:`evaluate_many` (several methods, several protocols, one pass) and
:func:`evaluate` (one method, one protocol).

``evaluate_many`` runs in named steps: check the options (:func:`_check_options`), find the GT
(:func:`_reference`), pair each method's maps with it (:func:`_pair`), score every GT chunk on local
processes or a dask cluster (:func:`_score`), gather each method's records and the warnings about its
input (:func:`_gather`), then the bootstrap and the results (:func:`_assemble`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dbdbench.datasets import resolve
from dbdbench.errors import DbdError, ParameterError
from dbdbench.evaluation.checks import (
    bootstrap_note,
    inverted_images,
    looks_inverted,
    one_class_warning,
    polarity_warning,
    resized_warning,
    scale_notes,
)
from dbdbench.evaluation.result import LEVEL, EvaluationResult
from dbdbench.evaluation.scoring import chunks, score_items
from dbdbench.executor import run_tasks
from dbdbench.metrics.protocol import Protocol, stack
from dbdbench.metrics.protocols import DEFAULT_PROTOCOL, get_protocol, protocol_names
from dbdbench.pairing import Pairing, list_images, pair_by_stem, strip_affixes
from dbdbench.polarity import FOCUS_WHITE, check_polarity

#: most bootstrap resamples
MAX_BOOTSTRAP = 100_000


@dataclass
class _Reference:
    """The GT of a run: name -> mask path, and what the results record about it."""

    masks: dict[str, Path]
    dataset: str
    split: str | None
    polarity: str


@dataclass
class _Gathered:
    """One method's scored images: per protocol its records, and the warnings about its input."""

    names: list[str] = field(default_factory=list)
    records: dict[str, list[dict]] = field(default_factory=dict)
    resized_from: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inverted: tuple[int, int] = (0, 0)


def evaluate_many(
    preds: Mapping[str, str | os.PathLike],
    gt_dir: str | os.PathLike | None = None,
    *,
    dataset: str | None = None,
    root: str | os.PathLike | None = None,
    split: str | None = None,
    gt_polarity: str = FOCUS_WHITE,
    protocols: Sequence[str] | str = (DEFAULT_PROTOCOL,),
    dataset_name: str | None = None,
    pred_prefix: str = "",
    pred_suffix: str = "",
    allow_missing: bool = False,
    resize: bool = True,
    allow_resize: bool = False,
    bootstrap: int = 0,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    strict_polarity: bool = False,
) -> dict[tuple[str, str], EvaluationResult]:
    """Evaluate the prediction maps of several methods under several protocols in one pass.

    Each GT mask is decoded once and its derived data (each protocol's binarisation, the weighted
    F-measure's distance transform, the S-measure's split point, ...) computed once, then shared by
    the maps of every method; a worker task scores all methods on a chunk of GT masks. The results
    are identical to evaluating each method and protocol on its own (:func:`evaluate` is this
    function with one method and one protocol).

    Parameters
    ----------
    preds : mapping of str to path-like
        Method name -> folder of its maps (any image format, grey, high = in-focus), named like
        their GT by stem, optionally with a prefix/suffix (``out_of_focus0001_HiFSTBlurMap.png``).
        Names are used in result file names: no path separators.
    gt_dir : path-like, optional
        Folder of GT masks; or use ``dataset`` and ``root``.
    dataset, root, split : str, path-like, str, optional
        A registered dataset (``dbdbench.datasets.resolve``); with a split, maps for images outside
        it are ignored. ``split`` needs ``dataset``.
    gt_polarity : {"focus-white", "blurred-white"}
        How the masks in ``gt_dir`` are stored (a dataset knows its own).
    protocols : sequence of str, or str
        Protocol presets (:func:`dbdbench.metrics.protocols.protocol_names`, ``docs/evaluation.md``);
        a string may list several, comma-separated.
    dataset_name : str, optional
        The ``dataset`` the results record (default: the dataset's name, or the GT folder's name).
    pred_prefix, pred_suffix : str
        Removed from prediction stems before matching (the same for every method).
    allow_missing : bool
        Evaluate the matched pairs when some GT masks have no map (their names are recorded per
        method); otherwise that is an error.
    resize : bool
        Resize maps of another size to the GT size as each protocol does (each resized map is listed
        in ``per_image`` as ``resized_from`` and counted in one warning); False: an error.
    allow_resize : bool
        Resize also a map whose size is its GT's with width and height swapped; otherwise such a
        (transposed or rotated) map is an error naming it.
    bootstrap : int
        Bootstrap resamples of the images (0: none, at most 100000) for 95% confidence intervals;
        over fewer than 10 images a warning says they mean little.
    seed : int
        Seed of the bootstrap (the same for every result, so each equals its single run).
    workers : int
        Local worker processes.
    scheduler : str, optional
        dask.distributed scheduler address (overrides ``workers``).
    progress : bool, optional
        Force the progress bars on or off.
    strict_polarity : bool
        Make the GT polarity warning (``docs/evaluation.md``) an error.

    Returns
    -------
    dict of (method, protocol) to EvaluationResult
        Methods in the given order, protocols in the given order within each method.

    Raises
    ------
    DbdError
        Missing or empty folders, unmatched or duplicate names, unreadable images, size mismatch
        with ``resize=False``, a transposed map without ``allow_resize``, bad options
        (:class:`~dbdbench.errors.ParameterError`, naming the parameter), and with
        ``strict_polarity`` a GT that looks inverted.
    """
    protocols = _check_options(preds, protocols, bootstrap)
    ref = _reference(gt_dir, dataset, root, split, gt_polarity)
    pairings = _pair(preds, ref, pred_prefix, pred_suffix, allow_missing, subset=split is not None)
    methods = list(preds)
    scored = _score(
        methods, pairings, ref, protocols, resize=resize, allow_resize=allow_resize, workers=workers,
        scheduler=scheduler, progress=progress,
    )  # fmt: skip
    gathered = {m: _gather(j, m, scored, protocols, ref.polarity) for j, m in enumerate(methods)}
    _check_polarity_of(gathered, ref.polarity, dataset, strict_polarity)
    meta = {
        "dataset": dataset_name or ref.dataset,
        "split": ref.split,
        "gt": len(ref.masks),
        "sources": _sources(preds, ref, pred_prefix, pred_suffix),
    }
    return _assemble(gathered, pairings, protocols, meta, bootstrap, seed, progress)


def _check_options(preds: Mapping, protocols: Sequence[str] | str, bootstrap: int) -> list[str]:
    """The protocol list; method names and the bootstrap count checked."""
    protocols = _protocol_list(protocols)
    if not preds:
        raise ParameterError("give at least one map folder in {preds}")
    for method in preds:
        if not method or method.strip() != method or any(c in method for c in "/\\:"):
            raise DbdError(
                f"method name '{method}' must be non-empty, without spaces around it, '/', '\\' or ':'"
            )
    if bootstrap < 0:
        raise ParameterError("{bootstrap} must be 0 or more, got {got}", got=bootstrap)
    if bootstrap > MAX_BOOTSTRAP:
        raise ParameterError(
            "{bootstrap} {got} is above the cap of {cap}; 1000 to 10000 resamples are usual",
            got=bootstrap,
            cap=MAX_BOOTSTRAP,
        )
    return protocols


def _protocol_list(protocols: Sequence[str] | str) -> list[str]:
    """Protocol names from a sequence or a comma-separated string; unknown or repeated: an error."""
    known = ", ".join(protocol_names())
    if isinstance(protocols, str):
        protocols = protocols.split(",")
    names = [p.strip() for p in protocols]
    if not names or not all(names):
        raise ParameterError("{protocols} needs one or more of {known}, comma-separated", known=known)
    for name in names:
        if name not in protocol_names():
            raise ParameterError(
                "unknown {protocols} '{got}'; choose one or more of {known}", got=name, known=known
            )
    if len(set(names)) != len(names):
        raise ParameterError("{protocols} lists a protocol twice: {got}", got=",".join(names))
    return names


def _reference(gt_dir, dataset, root, split, gt_polarity) -> _Reference:
    """The GT masks of a ``gt_dir`` or of a registered ``dataset`` (and its ``split``)."""
    if dataset is not None:
        if gt_dir is not None:
            raise ParameterError("give either {gt_dir} or {dataset}, not both")
        if root is None:
            raise ParameterError("{dataset} needs {root} (the folder that holds the dataset)")
        index = resolve(dataset, root, split)
        check_polarity(index.gt_polarity, "gt_polarity")
        masks = {s.name: Path(s.gt_path) for s in index.samples}
        if not masks:
            raise ParameterError(
                "{dataset} '{got}' (split {which}) has no samples; check {root} and {split}",
                got=dataset,
                which=split,
            )
        return _Reference(masks, index.name, index.split, index.gt_polarity)
    if gt_dir is None:
        raise ParameterError("give the ground truth: {gt_dir} DIR, or {dataset} NAME with {root} DIR")
    if split is not None:
        raise ParameterError(
            "{split} '{got}' selects images of a registered dataset, but {gt_dir} scores every mask in "
            "its folder: drop {split}, or give {dataset} and {root} instead of {gt_dir}",
            got=split,
        )
    check_polarity(gt_polarity, "gt_polarity")
    masks = list_images(gt_dir, what="--gt folder")
    if not masks:
        raise ParameterError(
            "{gt_dir} folder '{got}' has no images; point it at the ground-truth masks", got=gt_dir
        )
    return _Reference(masks, Path(gt_dir).resolve().name, None, gt_polarity)


def _pair(preds: Mapping, ref: _Reference, prefix: str, suffix: str, allow_missing: bool, subset: bool):
    """Method -> :class:`~dbdbench.pairing.Pairing` of its maps with the GT (errors name the method)."""
    pairings = {}
    for method, pred_dir in preds.items():
        try:
            items = list_images(pred_dir, what="--pred folder")
            if not items:
                raise DbdError(f"--pred folder '{pred_dir}' has no images; point it at the prediction maps")
            if subset:
                # a folder of maps for the whole dataset, evaluated on one split: ignore the other names
                items = {k: v for k, v in items.items() if strip_affixes(k, prefix, suffix) in ref.masks}
                if not items:
                    raise DbdError(
                        f"no map in --pred folder '{pred_dir}' is named like an image of split "
                        f"'{ref.split}'; check --pred-prefix/--pred-suffix"
                    )
            pairings[method] = pair_by_stem(
                items, ref.masks, prefix=prefix, suffix=suffix, allow_missing=allow_missing
            )
        except DbdError as exc:
            if len(preds) > 1:
                raise DbdError(f"method '{method}': {exc}") from None
            raise
    return pairings


def _score(
    methods,
    pairings: dict[str, Pairing],
    ref: _Reference,
    protocols,
    *,
    workers,
    scheduler,
    progress,
    **rules,
) -> list:
    """Score every GT mask with a map, in chunks: ``[(name, GtScore)]`` in name order.

    ``rules`` are :func:`~dbdbench.evaluation.scoring.score_items`' size rules (``resize``,
    ``allow_resize``).
    """
    by_name = [{n: str(p) for n, p, _ in pairings[m].pairs} for m in methods]
    gt_items = [
        (name, str(ref.masks[name]), tuple(pred.get(name) for pred in by_name))
        for name in sorted(ref.masks)
        if any(name in pred for pred in by_name)
    ]
    parallel = workers > 1 or bool(scheduler)
    tasks = chunks(gt_items, workers, parallel)
    func = partial(score_items, protocols=tuple(protocols), polarity=ref.polarity, **rules)
    what = f"{len(methods)} methods, " if len(methods) > 1 else ""
    per_task = f" ({len(tasks[0])} GT masks per task)" if parallel else ""
    desc = f"evaluate {what}{','.join(protocols)}{per_task}"
    results = run_tasks(func, tasks, workers=workers, scheduler=scheduler, desc=desc, progress=progress)
    return [
        (item[0], score)
        for task, chunk in zip(tasks, results, strict=True)
        for item, score in zip(task, chunk, strict=True)
    ]


def _gather(j: int, method: str, scored: list, protocols: list[str], polarity: str) -> _Gathered:
    """Method ``j``'s records and warnings; each counts only its own images, so that a result equals
    its single-method run."""
    out = _Gathered(records={p: [] for p in protocols})
    gt_scales, map_scales, resized, separations = [], [], [], []
    one_class = 0
    for name, gt_score in scored:
        entry = gt_score.maps[j]
        if entry is None:
            continue
        out.names.append(name)
        gt_scales.append((name, gt_score.scale))
        map_scales.append((name, entry.scale))
        one_class += gt_score.one_class
        separations.append(entry.separation)
        out.resized_from.append(entry.resized_from)
        if entry.resized_from:
            resized.append((name, entry.resized_from, gt_score.size))
        for p, rec in zip(protocols, entry.records, strict=True):
            out.records[p].append(rec)
    n = len(out.names)
    out.warnings += scale_notes("GT masks", gt_scales, n) + scale_notes(f"maps of {method}", map_scales, n)
    if resized:
        out.warnings.append(resized_warning(method, resized, n))
    if one_class == n:
        out.warnings.append(one_class_warning(n, polarity))
    out.inverted = inverted_images(separations)
    return out


def _check_polarity_of(gathered: dict[str, _Gathered], polarity: str, dataset, strict: bool) -> None:
    """Add the polarity warning to each method whose maps look inverted; with ``strict``, stop."""
    inverted = {m: g.inverted for m, g in gathered.items() if looks_inverted(*g.inverted)}
    if inverted and strict:
        raise ParameterError(
            "{warning}; {strict_polarity} makes this an error",
            warning=polarity_warning(inverted, polarity, dataset),
            python={"strict_polarity": "strict_polarity=True"},
        )
    for m, kn in inverted.items():
        gathered[m].warnings.append(polarity_warning({m: kn}, polarity, dataset))


def _assemble(gathered, pairings, protocols, meta, bootstrap, seed, progress):
    """One :class:`EvaluationResult` per (method, protocol), with its bootstrap intervals."""
    protos = {p: get_protocol(p) for p in protocols}
    bar = tqdm(
        total=bootstrap * len(gathered) * len(protocols),
        desc="bootstrap",
        unit="resample",
        disable=True if not bootstrap else (not progress) if progress is not None else None,
        delay=1.0,
        dynamic_ncols=True,
        leave=False,
    )
    results = {}
    with bar:
        for m, g in gathered.items():
            warnings = list(g.warnings)
            if bootstrap and (note := bootstrap_note(len(g.names))):
                warnings.append(note)
            for p in protocols:
                stacked = stack(g.records[p])
                results[(m, p)] = EvaluationResult(
                    protocol=p,
                    method=m,
                    dataset=meta["dataset"],
                    split=meta["split"],
                    counts={"gt": meta["gt"], "evaluated": len(g.names), "missing": len(pairings[m].missing)},
                    missing=pairings[m].missing,
                    warnings=warnings,
                    summary=protos[p].summarize(stacked),
                    intervals=_bootstrap(protos[p], stacked, bootstrap, seed, bar) if bootstrap else {},
                    bootstrap={"n": bootstrap, "level": LEVEL, "seed": seed} if bootstrap else None,
                    curves=protos[p].curves(stacked),
                    per_image=_per_image(protos[p], g, p),
                    sources=meta["sources"][m],
                )
    return results


def _sources(preds: Mapping, ref: _Reference, pred_prefix: str, pred_suffix: str) -> dict[str, dict]:
    """Per method, where its maps and the GT are (the result's ``sources``, for the map browser)."""
    gt_dirs = {Path(p).resolve().parent for p in ref.masks.values()}
    gt_dir = str(gt_dirs.pop()) if len(gt_dirs) == 1 else None
    return {
        m: {"pred_dir": str(Path(d).resolve()), "gt_dir": gt_dir, "gt_polarity": ref.polarity,
            "pred_prefix": pred_prefix, "pred_suffix": pred_suffix}
        for m, d in preds.items()
    }  # fmt: skip


def _per_image(proto: Protocol, g: _Gathered, p: str) -> list[dict]:
    """Rows ``name``, the protocol's per-image scores, and ``resized_from`` when a map was resized."""
    rows = [
        {"name": n, **{k: float(r[k]) for k in proto.per_image_keys}}
        for n, r in zip(g.names, g.records[p], strict=True)
    ]
    if any(g.resized_from):
        for row, size in zip(rows, g.resized_from, strict=True):
            row["resized_from"] = size
    return rows


def _bootstrap(proto: Protocol, stacked: dict, n_boot: int, seed: int, bar) -> dict[str, list[float]]:
    """Percentile intervals at :data:`LEVEL` of every summary number, images resampled (seeded)."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(stacked.values())))
    draws = {k: [] for k in proto.summary_keys}
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        summary = proto.summarize({k: v[idx] for k, v in stacked.items()})
        for k in draws:
            draws[k].append(summary[k])
        bar.update(1)
    tail = (1 - LEVEL) / 2 * 100
    return {k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in draws.items()}


def evaluate(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike | None = None,
    *,
    protocol: str = DEFAULT_PROTOCOL,
    name: str | None = None,
    **options,
) -> EvaluationResult:
    """Evaluate a folder of prediction maps under one protocol: :func:`evaluate_many` with one entry.

    Parameters
    ----------
    pred_dir : path-like
        Folder of maps (any image format, grey, high = in-focus), named like their GT by stem.
    gt_dir : path-like, optional
        Folder of GT masks; or give ``dataset`` and ``root``.
    protocol : str
        A registered protocol (:func:`dbdbench.metrics.protocols.protocol_names`).
    name : str, optional
        Method name for the result (default: the prediction folder's name).
    **options
        Every other keyword parameter of :func:`evaluate_many` (``dataset``, ``root``, ``split``,
        ``gt_polarity``, ``pred_prefix``, ``bootstrap``, ``workers``, ...), meaning the same there.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    DbdError
        As :func:`evaluate_many`.
    """
    for key in ("preds", "protocols"):
        if key in options:
            raise TypeError(f"evaluate() takes no '{key}'; use evaluate_many for several")
    name = name or Path(pred_dir).resolve().name
    return evaluate_many({name: pred_dir}, gt_dir, protocols=[protocol], **options)[(name, protocol)]


def _signature_of_evaluate() -> inspect.Signature:
    """``evaluate``'s own parameters, then ``evaluate_many``'s other keyword ones (help(), IDEs)."""
    own = list(inspect.signature(evaluate).parameters.values())[:-1]
    taken = {p.name for p in own} | {"preds", "protocols"}
    rest = [p for p in inspect.signature(evaluate_many).parameters.values() if p.name not in taken]
    return inspect.signature(evaluate).replace(parameters=own + rest)


evaluate.__signature__ = _signature_of_evaluate()
