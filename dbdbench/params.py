"""Typed parameters: one coercion rule for detector parameters (``--param KEY=VALUE``) and recipe
files, and the range checks that detectors declare.

:func:`coerce` converts a value to the type of a default value; text (from the command line) is
parsed. :class:`Check` states a valid range in words, which the error messages and
``dbdbench predict --list`` show.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbdbench.errors import DbdError

#: The largest seed of any ``--seed`` or recipe ``seed``: numpy takes no negative seed, and TOML
#: integers are signed 64-bit.
MAX_SEED = 2**63 - 1

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def kind_of(default: Any) -> str:
    """What :func:`coerce` makes of values for a parameter with this default, in words."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a finite number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, (list, tuple)):
        return "a list of finite numbers"
    if isinstance(default, dict):
        return "a table of finite numbers"
    raise TypeError(f"no coercion rule for parameters like {default!r} ({type(default).__name__})")


def to_text(value: Any) -> str:
    """A value as the command line writes it (what :func:`coerce` parses back): ``true``, ``15``,
    ``0.001``, ``1,0.8,0.6``; an empty string is ``''``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(f"{v:g}" for v in value)
    if isinstance(value, str) and not value:
        return "''"
    return str(value)


def _number(value: Any) -> float | None:
    """``value`` as a finite float when it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _parse_float(text: str) -> float | None:
    try:
        return _number(float(text.strip()))
    except ValueError:
        return None


def _convert(value: Any, default: Any, text: bool) -> tuple[bool, Any]:
    parse = text and isinstance(value, str)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return True, value
        if parse and value.strip().lower() in _TRUE | _FALSE:
            return True, value.strip().lower() in _TRUE
        return False, value
    if isinstance(default, int):
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return True, int(value)
        if parse:
            try:
                return True, int(value.strip())
            except ValueError:
                pass
        return False, value
    if isinstance(default, float):
        x = _parse_float(value) if parse else _number(value)
        return x is not None, value if x is None else x
    if isinstance(default, str):
        if isinstance(value, str | os.PathLike):
            return True, os.fspath(value)
        return False, value
    if isinstance(default, (list, tuple)):
        if parse:
            items = [_parse_float(v) for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)):
            items = [_number(v) for v in value]
        else:
            return False, value
        if any(v is None for v in items):
            return False, value
        return True, type(default)(items)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            return False, value
        items = {k: _number(v) for k, v in value.items()}
        if any(v is None for v in items.values()):
            return False, value
        return True, items
    raise TypeError(f"no coercion rule for parameters like {default!r} ({type(default).__name__})")


def coerce(value: Any, default: Any, what: str, *, text: bool = True) -> Any:
    """Convert ``value`` to the type of ``default``, or raise a one-line DbdError naming ``what``.

    Parameters
    ----------
    value : any
        The given value.
    default : bool, int, float, str, list or tuple of float, or dict of str to float
        The parameter's default; its type is the target type. An int is accepted for a float, a
        path for a string; numbers must be finite.
    what : str
        How the error names the parameter, e.g. ``"lapvar: window"`` or ``"recipe r.toml: key
        'count'"``.
    text : bool
        Parse strings (command-line values): ``true/false/yes/no/on/off/1/0`` for a bool, decimal
        numbers, comma-separated numbers for a list. Typed sources (TOML) pass False, so a quoted
        number there is a type error.

    Returns
    -------
    The converted value: bool, int, float, str, list/tuple of float (the default's container) or
    dict of float.

    Raises
    ------
    DbdError
        The value cannot be converted (including NaN and infinite numbers).
    """
    ok, out = _convert(value, default, text)
    if not ok:
        raise DbdError(f"{what} must be {kind_of(default)} (default {to_text(default)}), got {value!r}")
    return out


@dataclass(frozen=True)
class Check:
    """A valid range of a parameter: a test and its description.

    Attributes
    ----------
    text : str
        The range in words, completing "must be ...", e.g. ``"an integer >= 2"``.
    test : callable
        ``test(value) -> bool`` on the coerced value.
    """

    text: str
    test: Callable[[Any], bool]


def _fmt(x: float) -> str:
    return f"{x:g}"


def at_least(low: float) -> Check:
    """``value >= low``."""
    return Check(f">= {_fmt(low)}", lambda v: v >= low)


def positive() -> Check:
    """``value > 0``."""
    return Check("> 0", lambda v: v > 0)


def between(low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> Check:
    """``low <= value <= high``; ``open_low``/``open_high`` make that end strict."""
    text = f"in {'(' if open_low else '['}{_fmt(low)}, {_fmt(high)}{')' if open_high else ']'}"

    def test(v) -> bool:
        return (v > low if open_low else v >= low) and (v < high if open_high else v <= high)

    return Check(text, test)


def odd_between(low: int, high: int | None = None) -> Check:
    """An odd integer in ``[low, high]`` (no upper end when ``high`` is None)."""
    text = f"an odd integer >= {low}" if high is None else f"an odd integer in [{low}, {high}]"
    return Check(text, lambda v: v % 2 == 1 and v >= low and (high is None or v <= high))


def matches(pattern: str, text: str) -> Check:
    """A string that fully matches the regular expression ``pattern``, described by ``text``."""
    return Check(text, lambda v: re.fullmatch(pattern, v) is not None)


def each(check: Check) -> Check:
    """A non-empty list whose every item passes ``check``."""
    return Check(f"one or more values, each {check.text}", lambda v: len(v) > 0 and all(map(check.test, v)))
