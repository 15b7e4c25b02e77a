"""dbdbench: the benchmark toolkit for defocus blur detection (DBD).

Convention everywhere: maps and masks are float32 in [0, 1] in memory, 1 = in-focus (sharp).
"""

from dbdbench._version import __version__
from dbdbench.errors import DbdError

__all__ = ["DbdError", "__version__"]


def __getattr__(name):
    # lazy: ``import dbdbench`` stays light. ``dbdbench.evaluate`` is the evaluator module, which is
    # callable: ``dbdbench.evaluate(...)`` runs ``dbdbench.evaluate.evaluate(...)``
    if name == "evaluate":
        import importlib

        return importlib.import_module("dbdbench.evaluate")
    raise AttributeError(f"module 'dbdbench' has no attribute {name!r}")
