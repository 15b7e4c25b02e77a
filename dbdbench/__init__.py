"""dbdbench: the benchmark toolkit for defocus blur detection (DBD).

Convention everywhere: maps and masks are float32 in [0, 1] in memory, 1 = in-focus (sharp).
"""

from dbdbench._version import __version__
from dbdbench.errors import DbdError

__all__ = ["DbdError", "__version__", "evaluate", "evaluate_many"]


def __getattr__(name):
    # lazy, so that ``import dbdbench`` stays light: ``dbdbench.evaluate`` and
    # ``dbdbench.evaluate_many`` are :func:`dbdbench.evaluation.evaluate` and ``evaluate_many``
    if name in ("evaluate", "evaluate_many"):
        from dbdbench import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'dbdbench' has no attribute {name!r}")
