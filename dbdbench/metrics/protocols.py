"""The registry of evaluation protocols: the one list of them, and lookup by name.

:data:`BUILTIN` names each shipped protocol's class (``"module:Class"``, in display order); the
modules are imported on first use, so importing this registry is cheap and the protocol modules
import only their base, :mod:`dbdbench.metrics.protocol`. :func:`register` adds a protocol at run
time (a plug-in, a test); it is then known in this process only (worker processes of ``--workers`` or
``--scheduler`` load the built-ins only).

Everything that lists or describes protocols asks here: the ``evaluate --protocol`` and
``leaderboard --protocol`` choices, :func:`dbdbench.evaluation.load_result`, the leaderboard tables,
figures and sensitivity view, and the demo.
"""

from __future__ import annotations

import importlib
import re

from dbdbench.errors import DbdError
from dbdbench.metrics.protocol import Protocol

#: The shipped protocols, ``"module:Class"``, in display order: the only place that lists them.
BUILTIN = (
    "dbdbench.metrics.protocol_sod:SodProtocol",
    "dbdbench.metrics.protocol_hifst:HifstProtocol",
    "dbdbench.metrics.protocol_zhao:ZhaoProtocol",
    "dbdbench.metrics.protocol_binseg:BinsegProtocol",
    "dbdbench.metrics.protocol_ddffnet:DdffnetProtocol",
)

#: The protocol used when none is named (``evaluate``, :func:`dbdbench.evaluate`).
DEFAULT_PROTOCOL = "sod"

_classes: dict[str, type[Protocol]] = {}
_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def _check(cls: type[Protocol]) -> None:
    """Refuse a protocol class whose metadata contradict each other (a programming error)."""
    proto = cls()
    if not _NAME.fullmatch(proto.name or ""):
        raise ValueError(f"{cls.__name__}.name must be lower-case letters, digits, - or _: {proto.name!r}")
    keys = proto.summary_keys
    if not keys or len(set(keys)) != len(keys):
        raise ValueError(f"protocol '{proto.name}': metrics must name distinct summary keys")
    for what, key in (("headline_f", proto.headline_f), ("headline_mae", proto.headline_mae)):
        if (key is not None or what == "headline_f") and key not in keys:
            raise ValueError(f"protocol '{proto.name}': {what} {key!r} is not one of its metrics")
    unknown = [k for k in proto.table_keys if k not in keys]
    if unknown:
        raise ValueError(f"protocol '{proto.name}': table_keys {unknown} are not among its metrics")
    bad = [m.key for m in proto.metrics if not m.low < m.high]
    if bad:
        raise ValueError(f"protocol '{proto.name}': metrics {bad} need low < high")


def register(cls: type[Protocol]) -> type[Protocol]:
    """Add a protocol class to the registry (usable as a class decorator).

    Raises
    ------
    ValueError
        Inconsistent metadata (see :class:`~dbdbench.metrics.protocol.Protocol`), or the name is
        taken by another class.
    """
    _load_builtin()
    _check(cls)
    other = _classes.get(cls.name)
    if other is not None and other is not cls:
        raise ValueError(f"protocol name '{cls.name}' is taken by {other.__module__}.{other.__name__}")
    _classes[cls.name] = cls
    return cls


def _load_builtin() -> None:
    if _classes:
        return
    for entry in BUILTIN:
        module, attr = entry.split(":")
        cls = getattr(importlib.import_module(module), attr)
        _check(cls)
        _classes[cls.name] = cls


def protocol_names() -> tuple[str, ...]:
    """Names of the registered protocols: the built-ins in display order, then those registered."""
    _load_builtin()
    return tuple(_classes)


def get_protocol(name: str) -> Protocol:
    """A new instance of the protocol called ``name``.

    Raises
    ------
    DbdError
        Unknown name.
    """
    _load_builtin()
    cls = _classes.get(name)
    if cls is None:
        raise DbdError(f"unknown --protocol '{name}'; choose one of {', '.join(_classes)}")
    return cls()
