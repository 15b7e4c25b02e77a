"""The registry of evaluation protocols: the one list of them, and lookup by name.

:data:`BUILTIN` names each shipped protocol's class (``"module:Class"``, in display order); the
modules are imported on first use, so importing this registry is cheap and the protocol modules
import only their base, :mod:`dbdbench.metrics.protocol`. Plug-in packages add protocols through
``dbdbench.protocols`` entry points naming a class (or a module that calls :func:`register`);
:func:`register` also adds one at run time (a test), known in that process only.

Everything that lists or describes protocols asks here: the ``evaluate --protocol`` and
``leaderboard --protocol`` choices, :func:`dbdbench.evaluation.load_result`, the leaderboard tables,
figures and sensitivity view, and the demo.
"""

from __future__ import annotations

import re

from dbdbench.metrics.protocol import Protocol
from dbdbench.registry import Registry

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

_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def _check(cls: type[Protocol]) -> None:
    """Refuse a protocol class whose metadata contradict each other (a programming error)."""
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise TypeError(f"{cls!r} is not a subclass of dbdbench.metrics.protocol.Protocol")
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


def _adopt(obj: object) -> type[Protocol]:
    _check(obj)  # type: ignore[arg-type]
    return obj  # type: ignore[return-value]


PROTOCOLS: Registry[type[Protocol]] = Registry(
    "protocol", BUILTIN, group="dbdbench.protocols", adopt=_adopt, check=_check, origin=lambda c: c.__module__
)


def register(cls: type[Protocol]) -> type[Protocol]:
    """Add a protocol class to the registry (usable as a class decorator).

    Raises
    ------
    ValueError
        Inconsistent metadata (see :class:`~dbdbench.metrics.protocol.Protocol`), or the name is
        taken by another class.
    """
    PROTOCOLS.names()  # the built-ins first, so that they keep their display order
    return PROTOCOLS.register(cls)


def protocol_names() -> tuple[str, ...]:
    """Names of the registered protocols: the built-ins in display order, then plug-ins, then others."""
    return PROTOCOLS.names()


def get_protocol(name: str) -> Protocol:
    """A new instance of the protocol called ``name``.

    Raises
    ------
    DbdError
        Unknown name; the message lists the registered ones.
    """
    return PROTOCOLS.get(name)()
