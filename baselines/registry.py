"""The registry of defocus blur detectors.

A detector maps an image (grey, RGB or RGBA) to a float32 map of shape (H, W) in [0, 1],
1 = in-focus. Each detector module decorates its function with :func:`detector`, which registers it
when the module is imported; the registry imports the modules listed in ``_MODULES`` on first use.
Deep models register without torch installed and import it only when they run.

The function's signature is the one statement of its parameters: their names, defaults and types
(bool, int, float, str or a tuple of floats; a ``float`` annotation makes an int default a float).
``checks`` adds each parameter's valid range (:mod:`dbdbench.params`), enforced on every call, from
the command line or from Python, with a one-line :class:`~dbdbench.errors.DbdError` naming the
parameter and the range.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbdbench.errors import DbdError
from dbdbench.params import Check, coerce, kind_of

# Modules (relative to dbdbench.baselines) that register detectors, in listing order.
_MODULES = (
    "focus_operators",
    "hifst",
    "lbp",
    "svd",
    "zhuo",
    "msjf",
    "dhcf",
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
        ``func(image, **params) -> map``; image (H, W, 3) uint8 RGB (grey and RGBA are converted),
        map (H, W) float32 in [0, 1], 1 = in-focus. Checks its parameters (:meth:`resolve`).
    citation : str
        Short citation of the paper it implements (authors, venue, year).
    params : dict
        Parameter name -> default value; the only keyword arguments ``func`` accepts.
    description : str
        One line on what it computes.
    kind : str
        ``"classical"`` or ``"deep"``.
    checks : dict
        Parameter name -> :class:`~dbdbench.params.Check`, its valid range.
    """

    name: str
    func: Callable[..., Any]
    citation: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    kind: str = "classical"
    checks: dict[str, Check] = field(default_factory=dict)

    def resolve(self, given: Mapping[str, Any], *, text: bool = True) -> dict[str, Any]:
        """Every parameter: the defaults updated by ``given``, converted and range-checked.

        Parameters
        ----------
        given : mapping
            Parameter name -> value; strings are parsed (:func:`dbdbench.params.coerce`).
        text : bool
            Parse string values (False: values must already have the parameter's type).

        Raises
        ------
        DbdError
            An unknown parameter (the message lists the valid ones), a value of the wrong type or
            outside its range (the message names the parameter and the range).
        """
        out = dict(self.params)
        for key, value in given.items():
            if key not in self.params:
                valid = ", ".join(f"{k} (default {v!r})" for k, v in self.params.items()) or "none"
                raise DbdError(
                    f"unknown parameter '{key}' for method '{self.name}'; valid parameters: {valid}"
                )
            what = f"{self.name}: parameter {key}"
            out[key] = coerce(value, self.params[key], what, text=text)
            if key in self.checks and not self.checks[key].test(out[key]):
                raise DbdError(f"{what} must be {self.describe(key)}, got {out[key]!r}")
        return out

    def describe(self, key: str) -> str:
        """The type and valid range of a parameter in words, e.g. ``an integer >= 2``."""
        kind = kind_of(self.params[key])
        check = self.checks.get(key)
        if check is None:
            return kind
        if check.text.startswith(("an ", "one ")):
            return check.text
        return f"{kind} {check.text}"


def _signature_defaults(func: Callable[..., Any]) -> dict[str, Any]:
    """Keyword parameters after ``image`` and their defaults; those bound by a partial are left out."""
    bound = func.keywords if isinstance(func, functools.partial) else {}
    params = list(inspect.signature(func).parameters.values())
    if not params or params[0].name != "image":
        raise TypeError(f"detector {func!r}: the first parameter must be 'image'")
    out = {}
    for p in params[1:]:
        if p.name in bound:
            continue
        if p.default is inspect.Parameter.empty or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise TypeError(f"detector {func!r}: parameter '{p.name}' needs a default value")
        default = p.default
        if p.annotation in ("float", float) and isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        kind_of(default)  # TypeError for a type the command line cannot give
        out[p.name] = default
    return out


def detector(
    name: str,
    *,
    citation: str,
    description: str,
    checks: Mapping[str, Check] | None = None,
    kind: str = "classical",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a detector function; its parameters and defaults come from its signature.

    Parameters
    ----------
    name : str
        Name on the command line (``--method``).
    citation : str
        Short citation of the implemented paper.
    description : str
        One line on what it computes.
    checks : mapping of str to Check, optional
        Valid range of each parameter (:mod:`dbdbench.params`); every int and float parameter
        should have one (the shared detector tests require it).
    kind : str
        ``"classical"`` or ``"deep"``.

    Returns
    -------
    callable
        Decorator returning a wrapper that resolves (converts and checks) the parameters before
        calling the function; the wrapper is the registered :attr:`Method.func`.

    Examples
    --------
    A complete one is in docs/baselines.md, "Adding a detector"::

        @detector("mine", citation="Me, 2026", description="...", checks={"window": at_least(3)})
        def mine(image, window: int = 15, refine: bool = False): ...
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        defaults = _signature_defaults(func)
        extra = sorted(set(checks or {}) - set(defaults))
        if extra:
            raise TypeError(f"detector '{name}': checks for unknown parameters {extra}")

        @functools.wraps(func)
        def run(image, **params):
            return func(image, **method.resolve(params))

        method = Method(name, run, citation, defaults, description, kind, dict(checks or {}))
        register(method)
        return run

    return wrap


def register(method: Method) -> Method:
    """Add a detector to the registry (done by :func:`detector`)."""

    def origin(m: Method):
        return getattr(m.func, "__wrapped__", m.func)

    if method.name in _REGISTRY and origin(_REGISTRY[method.name]) is not origin(method):
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
