"""The registry of defocus blur detectors.

A detector maps an image (grey, RGB or RGBA) to a float32 map of shape (H, W) in [0, 1],
1 = in-focus. Each detector module decorates its function with :func:`detector`, which registers it
when the module is imported. The built-in detector modules are found, not listed: every module of
this package that imports :func:`detector` (``from dbdbench.baselines.registry import detector``) is
imported on first use, so adding a detector touches its module only. Plug-ins register through the
``dbdbench.detectors`` entry points (:mod:`dbdbench.registry`) with the same decorator. Deep models
register without torch installed and import it only when they run.

The function's signature is the one statement of its parameters: their names, defaults and types
(bool, int, float, str or a tuple of floats; a ``float`` annotation makes an int default a float).
``checks`` adds each parameter's valid range (:mod:`dbdbench.params`), enforced on every call, from
the command line or from Python, with a one-line :class:`~dbdbench.errors.DbdError` naming the
parameter and the range.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dbdbench.errors import DbdError
from dbdbench.params import Check, coerce, kind_of
from dbdbench.registry import Registry, modules_importing


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


def _origin(obj: Any) -> Any:
    """The undecorated function of a Method or of a function :func:`detector` returned."""
    func = obj.func if isinstance(obj, Method) else obj
    return getattr(func, "__wrapped__", func)


def _adopt(obj: Any) -> Method:
    """An entry point's object: a :class:`Method`, or a function that :func:`detector` registered."""
    if isinstance(obj, Method):
        return obj
    raise TypeError(f"{obj!r} is not a detector; decorate it with @detector(...) from {__name__}")


DETECTORS: Registry[Method] = Registry(
    "method",
    # every module of this package that imports the decorator, in the order of ``predict --list``
    functools.partial(modules_importing, __package__, __name__, "detector"),
    group="dbdbench.detectors",
    adopt=_adopt,
    same=lambda a, b: _origin(a) is _origin(b),
    origin=lambda m: _origin(m).__module__,
)


def register(method: Method) -> Method:
    """Add a detector to the registry (done by :func:`detector`).

    Raises
    ------
    ValueError
        Another function is registered under the same name.
    """
    return DETECTORS.register(method)


def list_methods() -> list[Method]:
    """All registered detectors: the built-ins, then the plug-ins, then those registered at run time."""
    return DETECTORS.entries()


def get_method(name: str) -> Method:
    """Look up a detector by name.

    Raises
    ------
    DbdError
        Unknown name; the message lists the valid ones.
    """
    return DETECTORS.get(name)
