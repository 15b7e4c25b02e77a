"""The registry of defocus blur detectors.

A detector maps an RGB uint8 image of shape (H, W, 3) to a float32 map of shape (H, W) in [0, 1],
1 = in-focus. Each detector module registers a :class:`Method` when imported; the registry imports
the modules listed in ``_MODULES`` on first use. Deep models register without torch installed and
import it only when they run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbdbench.errors import DbdError

# Modules (relative to dbdbench.baselines) that register detectors, in listing order.
_MODULES = (
    "focus_operators",
    "hifst",
    "lbp",
    "svd",
    "zhuo",
    "msjf",
    "deep.predictor",
)

_REGISTRY: dict[str, Method] = {}
_LOADED = False


@dataclass(frozen=True)
class Method:
    """A registered detector.

    Attributes
    ----------
    name : str
        Name used on the command line (``--method``).
    func : callable
        ``func(image, **params) -> map``; image (H, W, 3) uint8 RGB, map (H, W) float32 in [0, 1],
        1 = in-focus.
    citation : str
        Short citation of the paper it implements (authors, venue, year).
    params : dict
        Parameter name -> default value; the only keyword arguments ``func`` accepts.
    description : str
        One line on what it computes.
    kind : str
        ``"classical"`` or ``"deep"``.
    """

    name: str
    func: Callable[..., Any]
    citation: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    kind: str = "classical"


def register(method: Method) -> Method:
    """Add a detector to the registry (called by detector modules at import time)."""
    if method.name in _REGISTRY and _REGISTRY[method.name].func is not method.func:
        raise ValueError(f"detector '{method.name}' is registered twice")
    _REGISTRY[method.name] = method
    return method


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    for mod in _MODULES:
        importlib.import_module(f"dbdbench.baselines.{mod}")
    _LOADED = True


def list_methods() -> list[Method]:
    """All registered detectors, in registry order."""
    _load()
    return list(_REGISTRY.values())


def get_method(name: str) -> Method:
    """Look up a detector by name.

    Raises
    ------
    DbdError
        Unknown name; the message lists the valid ones.
    """
    _load()
    if name not in _REGISTRY:
        raise DbdError(f"unknown method '{name}'; choose one of: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]
