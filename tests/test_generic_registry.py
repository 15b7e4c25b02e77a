"""The generic lazy registry (dbdbench/registry.py): built-ins imported on first use, entry points,
registration clashes, the unknown-name message, broken plug-ins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

from dbdbench.errors import DbdError
from dbdbench.registry import PluginWarning, Registry, modules_importing


@dataclass(frozen=True)
class Thing:
    name: str
    size: int = 1


def _adopt(obj):
    if type(obj).__name__ != "Thing" or isinstance(obj, type):
        raise TypeError(f"{obj!r} is not a Thing")
    return obj


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    """A package ``regpkg`` on sys.path: ``things`` registers one Thing on import, ``loose`` defines one,
    and a distribution ``regdist`` whose entry points (group dbdbench.recipes) name them."""
    root = tmp_path / "site"
    (root / "regpkg").mkdir(parents=True)
    (root / "regpkg" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Thing:
                name: str
                size: int = 1
            """
        )
    )
    (root / "regpkg" / "things.py").write_text("import regpkg\nregpkg.REG.register(regpkg.Thing('eager'))\n")
    (root / "regpkg" / "loose.py").write_text("from regpkg import Thing\nLOOSE = Thing('loose', 2)\n")
    (root / "regpkg" / "boom.py").write_text("raise RuntimeError('boom at import')\n")
    info = root / "regdist-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regdist\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[dbdbench.recipes]\nloose = regpkg.loose:LOOSE\nboom = regpkg.boom\nodd = regpkg.loose:Thing\n"
    )
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m == "regpkg" or m.startswith("regpkg.")]:
        del sys.modules[name]


def test_builtins_are_imported_on_first_use_only(pkg):
    import regpkg

    regpkg.REG = reg = Registry("thing", ["regpkg.things", "regpkg.loose:LOOSE"], adopt=_adopt)
    assert "regpkg.things" not in sys.modules  # creating the registry imports nothing
    assert reg.names() == ("eager", "loose")  # listing order: the built-in list's
    assert reg.get("loose") == regpkg.Thing("loose", 2) and "eager" in reg and len(reg) == 2


def test_unknown_name_is_one_line_listing_the_known_ones():
    reg = Registry("widget", hint=" (see docs)")
    reg.register(Thing("a"))
    reg.register(Thing("b"))
    with pytest.raises(DbdError) as err:
        reg.get("c")
    assert str(err.value) == "unknown widget 'c'; choose one of: a, b (see docs)"


def test_casefold_and_clashes():
    reg = Registry("thing", casefold=True, check=lambda t: None if t.size > 0 else _raise("size"))
    reg.register(Thing("abc"))
    assert reg.get("ABC") is reg.get("abc")
    reg.register(reg.get("abc"))  # the same entry again (a module imported twice) is fine
    with pytest.raises(ValueError, match="thing 'abc' is registered twice"):
        reg.register(Thing("abc", 3))
    with pytest.raises(ValueError, match="size"):
        reg.register(Thing("zero", 0))
    reg.unregister("abc")
    assert reg.names() == ()


def _raise(what):
    raise ValueError(what)


def test_entry_points_load_after_the_builtins_and_a_broken_one_warns(pkg):
    import regpkg

    regpkg.REG = reg = Registry("thing", ["regpkg.things"], group="dbdbench.recipes", adopt=_adopt)
    with pytest.warns(PluginWarning) as caught:
        names = reg.names()
    assert names == ("eager", "loose")  # the good entry point loaded after the built-in
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2, messages
    assert messages[0].startswith("plug-in package 'regdist': entry point 'boom = regpkg.boom'")
    assert "RuntimeError: boom at import" in messages[0]
    assert "entry point 'odd = regpkg.loose:Thing'" in messages[1] and "is not a Thing" in messages[1]


def test_unknown_group_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown entry-point group"):
        Registry("thing", group="dbdbench.nope")


def test_importing_the_registries_imports_no_entry():
    """Importing the detector and protocol registries imports no detector or protocol module until one
    is asked for (the CLI starts fast)."""
    code = (
        "import sys, dbdbench.baselines.registry as d, dbdbench.metrics.protocols as p; "
        "entries = [*d.DETECTORS.builtin, *(e.split(':')[0] for e in p.BUILTIN)]; "
        "print(len(entries), [m for m in entries if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, loaded = out.split(" ", 1)
    assert int(count) >= 12 and loaded.strip() == "[]"


def test_modules_importing_finds_the_registering_modules_by_their_imports(tmp_path, monkeypatch):
    root = tmp_path / "scanpkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "reg.py").write_text("def deco(f):\n    return f\n")
    (root / "zeta.py").write_text("from scanpkg.reg import deco\n")
    (root / "alpha.py").write_text("from scanpkg.reg import (\n    other,\n    deco,\n)\n")
    (root / "sub" / "deep.py").write_text("import os\nfrom scanpkg.reg import deco  # registers\n")
    (root / "mention.py").write_text('"""Uses deco from scanpkg.reg."""\nfrom scanpkg.reg import decorate\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = modules_importing("scanpkg", "scanpkg.reg", "deco")
    finally:
        for name in [m for m in sys.modules if m.startswith("scanpkg")]:
            del sys.modules[name]
    assert found == ("scanpkg.alpha", "scanpkg.zeta", "scanpkg.sub.deep")


def test_builtin_order_survives_an_early_import(pkg):
    """A built-in module imported before the first use (registering then) still lists in order."""
    import regpkg

    where = {"loose": "regpkg.loose", "eager": "regpkg.things", "eager-early": "regpkg.things"}
    regpkg.REG = reg = Registry(
        "thing", ["regpkg.loose:LOOSE", "regpkg.things"], adopt=_adopt, origin=lambda t: where[t.name]
    )
    reg.register(regpkg.Thing("eager-early"))  # as if regpkg.things had been imported first
    assert reg.names() == ("loose", "eager-early", "eager")
