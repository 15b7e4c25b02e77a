"""dbdbench: the benchmark toolkit for defocus blur detection (DBD).

Convention everywhere: maps and masks are float32 in [0, 1] in memory, 1 = in-focus (sharp).
"""

from dbdbench._version import __version__
from dbdbench.errors import DbdError

__all__ = ["DbdError", "__version__", "evaluate"]


def __getattr__(name):
    # lazy, so that ``import dbdbench`` stays light: ``dbdbench.evaluate`` is
    # :func:`dbdbench.evaluation.evaluate`
    if name == "evaluate":
        from dbdbench.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'dbdbench' has no attribute {name!r}")
