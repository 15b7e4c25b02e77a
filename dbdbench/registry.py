"""A lazy registry of named things: the one pattern behind detectors, protocols, datasets, recipes and
mask families.

A :class:`Registry` holds entries by name. It is filled, on the first :meth:`~Registry.names` or
:meth:`~Registry.get`, from three sources, in this order:

1. its built-in entries, ``"module"`` or ``"module:attr"`` strings imported only then, so that
   importing a registry costs nothing;
2. the Python entry points of its ``group`` (``importlib.metadata``): this is how a package installed
   beside dbdbench adds a detector, a protocol, a dataset or a recipe without editing dbdbench;
3. :meth:`~Registry.register` calls (usable as a decorator), from the modules imported by 1 and 2 or
   at run time.

Loading a ``"module"`` entry imports the module, which registers what it defines (the ``@detector``
decorator does). Loading a ``"module:attr"`` entry imports the module and registers the object, unless
importing it already did: so an entry point may name a module or the decorated object
(``plugmean = mypkg:plugmean``). A registry's ``adopt`` turns a loaded object into an entry (a protocol
class is checked, a detector function must have been decorated) or raises ``TypeError``/``ValueError``.

A built-in entry that fails to load is a bug in dbdbench and raises. An entry point that fails (its
import raises, or it names an object that is not an entry) is one :class:`PluginWarning` naming the
distribution and the entry point; the rest of the registry still works.

Entries registered at run time exist in that process only; worker processes (``--workers``, dask)
rebuild their registries from the built-ins and the entry points, so a plug-in installed on the
worker's path is found there too.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from dbdbench.errors import DbdError

T = TypeVar("T")

#: Entry-point groups, one per registry that accepts plug-ins.
GROUPS = ("dbdbench.detectors", "dbdbench.protocols", "dbdbench.datasets", "dbdbench.recipes")


class PluginWarning(UserWarning):
    """A plug-in (an entry point of another distribution) could not be loaded."""


def _refuse(obj: Any) -> Any:
    raise TypeError(f"{obj!r} was not registered by importing its module")


class Registry(Generic[T]):
    """Entries of one kind by name, loaded lazily (see the module docstring).

    Parameters
    ----------
    kind : str
        What an entry is, in messages (``"method"``, ``"protocol"`` ...).
    builtin : sequence of str, or a callable returning one
        ``"module"`` or ``"module:attr"`` entries shipped with dbdbench, in listing order; a callable
        (such as a :func:`modules_importing` scan) is called on first use.
    group : str, optional
        Entry-point group of plug-ins (one of :data:`GROUPS`); None: no plug-ins.
    name_of : callable
        ``entry -> name``; default: the entry's ``name`` attribute.
    adopt : callable
        ``object -> entry`` for an object named by a ``"module:attr"`` entry that importing its module
        did not register; raises ``TypeError`` or ``ValueError`` for an object that is not an entry.
        Default: refuse every such object.
    check : callable, optional
        ``entry -> None``, raises ``TypeError`` or ``ValueError`` for an inconsistent entry; run by
        :meth:`register`.
    same : callable
        ``(registered, new) -> bool``: whether registering ``new`` under a taken name is the same entry
        again (a module imported twice) rather than a clash. Default: identity.
    origin : callable, optional
        ``entry -> module name`` where the entry is defined. With it, the entries of the built-in
        modules are listed in the order of ``builtin`` even when a module was imported (and
        registered its entries) before the first use; without it, in registration order.
    casefold : bool
        Look names up case-insensitively (names are registered lower-case).
    hint : str
        Appended to the unknown-name message (e.g. where the list is documented).
    """

    def __init__(
        self,
        kind: str,
        builtin: Sequence[str] | Callable[[], Sequence[str]] = (),
        *,
        group: str | None = None,
        name_of: Callable[[T], str] = lambda entry: entry.name,
        adopt: Callable[[Any], T] = _refuse,
        check: Callable[[T], None] | None = None,
        same: Callable[[T, T], bool] = lambda a, b: a is b,
        origin: Callable[[T], str] | None = None,
        casefold: bool = False,
        hint: str = "",
    ) -> None:
        if group is not None and group not in GROUPS:
            raise ValueError(f"unknown entry-point group {group!r}; use one of {GROUPS}")
        self.kind, self.group = kind, group
        self._builtin = builtin
        self._name_of, self._adopt, self._check, self._same = name_of, adopt, check, same
        self._origin = origin
        self._casefold, self._hint = casefold, hint
        self._entries: dict[str, T] = {}
        self._state = "empty"  # -> "loading" -> "loaded"

    @property
    def builtin(self) -> tuple[str, ...]:
        """The built-in entries (a scan runs once, here)."""
        if callable(self._builtin):
            self._builtin = self._builtin()
        return tuple(self._builtin)

    # -- filling ---------------------------------------------------------------------------------

    def register(self, entry: T) -> T:
        """Add an entry (returns it, so it can decorate a class or a function).

        Raises
        ------
        ValueError
            The name is taken by another entry, or ``check`` refuses the entry.
        """
        if self._check is not None:
            self._check(entry)
        name = self._key(self._name_of(entry))
        other = self._entries.get(name)
        if other is not None and not self._same(other, entry):
            raise ValueError(
                f"{self.kind} '{name}' is registered twice ({_where(other)} and {_where(entry)})"
            )
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests use it to clean up what they registered)."""
        self._entries.pop(self._key(name), None)

    def _key(self, name: str) -> str:
        return name.lower() if self._casefold else name

    def _load(self) -> None:
        if self._state != "empty":  # "loading": a module being imported registers into us
            return
        self._state = "loading"
        try:
            for spec in self.builtin:
                self._load_spec(spec)
        except BaseException:
            self._state = "empty"
            raise
        if self._origin is not None:
            rank = {spec.partition(":")[0]: i for i, spec in enumerate(self.builtin)}
            order = sorted(self._entries.items(), key=lambda kv: rank.get(self._origin(kv[1]), len(rank)))
            self._entries = dict(order)
        if self.group is not None:
            for ep in _entry_points(self.group):
                self._load_entry_point(ep)
        self._state = "loaded"

    def _load_spec(self, spec: str) -> None:
        module, _, attr = spec.partition(":")
        obj = importlib.import_module(module)
        if attr:
            self._take(getattr(obj, attr))

    def _take(self, obj: Any) -> None:
        """Register an object named by a ``"module:attr"`` entry, unless importing it already did."""
        if isinstance(obj, ModuleType) or any(self._same(e, obj) for e in self._entries.values()):
            return
        self.register(self._adopt(obj))

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else "an unknown distribution"
        try:
            self._take(ep.load())
        except Exception as exc:  # a broken plug-in must not break dbdbench: say so once, go on
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            # warn_explicit with a file that has no source line: one line on stderr, not two
            warnings.warn_explicit(
                f"plug-in package '{dist}': entry point '{ep.name} = {ep.value}' of group '{ep.group}' "
                f"was not loaded ({reason}); fix or uninstall the package",
                PluginWarning,
                filename="dbdbench plug-ins",
                lineno=1,
                module=__name__,
            )

    # -- reading ---------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """Names of every entry: the built-ins in listing order, then plug-ins, then the rest."""
        self._load()
        return tuple(self._entries)

    def entries(self) -> list[T]:
        """Every entry, in the order of :meth:`names`."""
        self._load()
        return list(self._entries.values())

    def get(self, name: str) -> T:
        """The entry called ``name``.

        Raises
        ------
        DbdError
            Unknown name; the one-line message lists the known names.
        """
        self._load()
        entry = self._entries.get(self._key(name))
        if entry is None:
            known = ", ".join(self._entries) or "none registered"
            raise DbdError(f"unknown {self.kind} '{name}'; choose one of: {known}{self._hint}")
        return entry

    def __contains__(self, name: object) -> bool:
        self._load()
        return isinstance(name, str) and self._key(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


def modules_importing(package: ModuleType | str, source: str, name: str) -> tuple[str, ...]:
    """The modules of a package that import ``name`` from module ``source``, found by reading them.

    This is how a package's built-in entries are found without a list to edit: a module that takes
    the registering decorator or class (``from source import ... name ...``) is a module that
    registers something. Nothing is imported. Modules of the package come first, then those of its
    subpackages, each group sorted by name (the listing order).

    Parameters
    ----------
    package : module or str
        The package (or its name) whose folder is read, recursively.
    source : str
        Dotted module name, e.g. ``"dbdbench.baselines.registry"``.
    name : str
        The imported name, e.g. ``"detector"``.

    Returns
    -------
    tuple of str
        Dotted names of the modules, ``source`` itself left out.
    """
    pkg = importlib.import_module(package) if isinstance(package, str) else package
    root = Path(pkg.__file__).resolve().parent
    imports = re.compile(rf"^from {re.escape(source)} import (\([^)]*\)|[^\n]*)", re.M)
    word = re.compile(rf"\b{re.escape(name)}\b")
    found = []
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        dotted = ".".join((pkg.__name__, *parts))
        if dotted == source or parts[-1] == "__init__":
            continue
        text = path.read_text(encoding="utf-8")
        if any(word.search(m.group(1)) for m in imports.finditer(text)):
            found.append((len(parts), dotted))
    return tuple(dotted for _, dotted in sorted(found))


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    """The group's entry points, one per (distribution, name), sorted for a stable listing order."""
    seen, out = set(), []
    for ep in metadata.entry_points(group=group):
        key = (ep.dist.name if ep.dist is not None else "", ep.name)
        if key not in seen:  # a distribution found twice on sys.path
            seen.add(key)
            out.append(ep)
    return sorted(out, key=lambda ep: (ep.name, ep.value))


def _where(entry: Any) -> str:
    target = getattr(entry, "func", entry)
    target = getattr(target, "__wrapped__", target)
    module = getattr(target, "__module__", None) or type(entry).__module__
    return f"{module}.{getattr(target, '__qualname__', type(entry).__qualname__)}"
