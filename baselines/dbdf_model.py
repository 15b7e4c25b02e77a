"""The released parameters of DBDF: learned linear filters and per-scale naive-Bayes tables.

Jianping Shi, Li Xu and Jiaya Jia, "Discriminative Blur Detection Features", CVPR 2014. The authors
release, beside their MATLAB code, ``learned_linear_filter.mat`` (``W_11``, ``W_15``, ``W_21``: one
filter per column over the patch flattened column by column) and ``nb_classifier.mat`` (``nb11``,
``nb15``, ``nb21``: MATLAB Statistics Toolbox ``NaiveBayes`` objects, a Gaussian per feature and
class). dbdbench does not ship them: the user points ``--param model=DIR`` at the folder holding them.

``nb_classifier.mat`` stores MATLAB classdef (MCOS) objects, which scipy cannot read; the optional
extra ``dbdf`` installs ``mat-io``, which can. The same tables as plain structs
(``nb_classifier_plain.mat``: ``nb11``, ``nb15``, ``nb21`` with fields ``Mu`` and ``Sigma``, 2 classes x
5 features, and ``Prior``) are read with scipy alone and are used when present.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dbdbench.errors import DbdError

#: Patch sides of the three scales, with their released tables.
SCALES = (11, 15, 21)
#: Features per patch: kurtosis, gradient histogram span, power spectrum, two learned filters.
N_FEATURES = 5
#: Learned filters of a scale the features use (the first two columns of ``W_<s>``).
N_FILTERS = 2
FILTER_FILE = "learned_linear_filter.mat"
NB_FILE = "nb_classifier.mat"
NB_PLAIN_FILE = "nb_classifier_plain.mat"
RELEASE = (
    "the authors' release of Shi, Xu & Jia, CVPR 2014 (the MATLAB code of 'Discriminative Blur "
    "Detection Features', folder blur_detection/)"
)


@dataclass(frozen=True)
class ScaleModel:
    """Parameters of one scale.

    Attributes
    ----------
    filters : ndarray, shape (p * p, 2), float64
        The two learned linear filters used, column-major patch order.
    mu, sigma : ndarray, shape (2, 5), float64
        Per class (row 0 sharp, row 1 blurred) and feature: Gaussian mean and standard deviation.
    prior : ndarray, shape (2,), float64
        Class priors.
    """

    filters: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    prior: np.ndarray


def _missing_model_message() -> str:
    return (
        f"dbdf needs the authors' parameter files: download {RELEASE}, which holds {FILTER_FILE} "
        f"and {NB_FILE}, and pass --param model=DIR with the folder holding them"
    )


def _loadmat(path: Path, expected: str) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path))
    except Exception as err:  # scipy raises many kinds on a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DbdError(
            f"{path}: not a readable MATLAB file ({reason}); expected {expected} from {RELEASE}"
        ) from None


def _filters(folder: Path) -> dict[int, np.ndarray]:
    path = folder / FILTER_FILE
    if not path.is_file():
        raise DbdError(f"{path} is missing; {_missing_model_message()}")
    expected = "variables W_11, W_15, W_21 of shape (s*s, K) with K >= 2"
    data = _loadmat(path, expected)
    out = {}
    for s in SCALES:
        w = data.get(f"W_{s}")
        if not (
            isinstance(w, np.ndarray) and w.ndim == 2 and w.shape[0] == s * s and w.shape[1] >= N_FILTERS
        ):
            got = "absent" if w is None else f"of shape {getattr(w, 'shape', '?')}"
            raise DbdError(f"{path}: W_{s} is {got}; expected {expected} ({RELEASE})")
        w = np.asarray(w[:, :N_FILTERS], dtype=np.float64)
        if not np.isfinite(w).all():
            raise DbdError(f"{path}: W_{s} holds NaN or infinite values; expected {RELEASE}")
        out[s] = w
    return out


def _struct_field(struct, name: str):
    try:
        return struct[name][0, 0]
    except (KeyError, ValueError, IndexError, TypeError):
        return None


def _tables_from_plain(path: Path) -> dict[int, tuple]:
    expected = "structs nb11, nb15, nb21 with fields Mu and Sigma (2 x 5) and Prior (2)"
    data = _loadmat(path, expected)
    out = {}
    for s in SCALES:
        nb = data.get(f"nb{s}")
        names = getattr(getattr(nb, "dtype", None), "names", None) or ()
        if not all(k in names for k in ("Mu", "Sigma", "Prior")):
            raise DbdError(
                f"{path}: nb{s} is absent or not a struct with Mu, Sigma, Prior; expected {expected}"
            )
        out[s] = (
            _struct_field(nb, "Mu"),
            _struct_field(nb, "Sigma"),
            _struct_field(nb, "Prior"),
            path,
            expected,
        )
    return out


def _tables_from_objects(path: Path) -> dict[int, tuple]:
    expected = "NaiveBayes objects nb11, nb15, nb21 (2 classes, 5 normal features)"
    try:
        import matio
    except ImportError:
        raise DbdError(
            f"{path} holds MATLAB NaiveBayes objects, which need the mat-io package: "
            f"pip install 'dbdbench[dbdf]', or put {NB_PLAIN_FILE} (the same tables as plain structs) "
            "in that folder"
        ) from None
    try:
        data = matio.load_from_mat(str(path))
    except Exception as err:  # mat-io raises many kinds on a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DbdError(f"{path}: not a readable MATLAB file ({reason}); expected {expected}") from None
    out = {}
    for s in SCALES:
        props = getattr(data.get(f"nb{s}"), "properties", None)
        if not isinstance(props, dict) or "Params" not in props or "Prior" not in props:
            raise DbdError(f"{path}: nb{s} is absent or not a NaiveBayes object; expected {expected}")
        dist = np.asarray(props.get("Dist", [["normal"]]), dtype=object).ravel()
        if any(str(np.asarray(d).ravel()[0]) != "normal" for d in dist):
            raise DbdError(f"{path}: nb{s} uses non-normal feature distributions; expected {expected}")
        params = np.asarray(props["Params"], dtype=object)
        try:
            pairs = np.array([[np.asarray(c, np.float64).ravel() for c in row] for row in params])
            mu, sigma = pairs[..., 0], pairs[..., 1]
        except (ValueError, TypeError, IndexError):
            raise DbdError(f"{path}: nb{s} has malformed Gaussian parameters; expected {expected}") from None
        out[s] = (mu, sigma, props["Prior"], path, expected)
    return out


def _check_table(s: int, mu, sigma, prior, path: Path, expected: str) -> tuple:
    try:
        mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
        prior = np.asarray(prior, np.float64).ravel()
    except (ValueError, TypeError):
        raise DbdError(f"{path}: nb{s} has non-numeric tables; expected {expected}") from None
    shape = (2, N_FEATURES)
    if mu.shape != shape or sigma.shape != shape or prior.shape != (2,):
        raise DbdError(
            f"{path}: nb{s} has Mu {mu.shape}, Sigma {sigma.shape}, Prior {prior.shape}; expected {expected}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all() and (sigma > 0).all()):
        raise DbdError(f"{path}: nb{s} has non-finite means or non-positive deviations; expected {expected}")
    if not ((prior > 0).all() and abs(prior.sum() - 1) < 1e-6):
        raise DbdError(f"{path}: nb{s} has priors {prior.tolist()}, not two positive values summing to 1")
    return mu, sigma, prior


def _tables(folder: Path) -> dict[int, tuple]:
    plain, objects = folder / NB_PLAIN_FILE, folder / NB_FILE
    if plain.is_file():
        raw = _tables_from_plain(plain)
    elif objects.is_file():
        raw = _tables_from_objects(objects)
    else:
        raise DbdError(f"{objects} is missing (nor is there {NB_PLAIN_FILE}); {_missing_model_message()}")
    return {s: _check_table(s, *raw[s]) for s in SCALES}


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str, stamp: tuple) -> dict[int, ScaleModel]:
    path = Path(folder)
    filters, tables = _filters(path), _tables(path)
    return {s: ScaleModel(filters[s], *tables[s]) for s in SCALES}


def load_model(folder: str | Path) -> dict[int, ScaleModel]:
    """Read and check the released DBDF parameters of a folder.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``learned_linear_filter.mat`` and ``nb_classifier_plain.mat`` or
        ``nb_classifier.mat`` (the latter needs ``mat-io``, extra ``dbdf``).

    Returns
    -------
    dict
        Patch side (11, 15, 21) -> :class:`ScaleModel`. Cached while the files are unchanged.

    Raises
    ------
    DbdError
        No folder given, a missing folder or file, a file that is not a MATLAB file (or damaged), or
        one with other variables or shapes than the release's: one line naming the file and what
        was expected.
    """
    if not str(folder):
        raise DbdError(_missing_model_message())
    path = Path(folder).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise DbdError(f"dbdf: --param model={folder} {what}; {_missing_model_message()}")
    stamp = tuple(
        (name, f.stat().st_mtime_ns, f.stat().st_size)
        for name in (FILTER_FILE, NB_FILE, NB_PLAIN_FILE)
        if (f := path / name).is_file()
    )
    return _load_cached(str(path.resolve()), stamp)
