"""How a mask stores its classes: the two GT polarities, named once for the whole package.

``"focus-white"`` (white = in-focus, the dbdbench convention and DUT's) and ``"blurred-white"``
(white = blurred, as CUHK and CTCUG distribute their masks). Datasets declare their polarity,
``--gt-polarity`` and ``--polarity`` options offer these names, and the protocols turn a mask of either
polarity into the form their rule is written for (:func:`dbdbench.metrics.protocol.focus_levels`).
"""

from __future__ import annotations

from dbdbench.errors import ParameterError

FOCUS_WHITE = "focus-white"
BLURRED_WHITE = "blurred-white"
POLARITIES = (FOCUS_WHITE, BLURRED_WHITE)


def check_polarity(polarity: str, param: str = "polarity") -> None:
    """Raise a one-line :class:`~dbdbench.errors.ParameterError` naming ``param`` for an unknown polarity.

    Parameters
    ----------
    polarity : str
        The value to check.
    param : str
        The caller's parameter that holds it (``"gt_polarity"``); a command line names its option.
    """
    if polarity not in POLARITIES:
        known = ", ".join(POLARITIES)
        template = "{" + param + "} must be one of {known}, got '{got}'"
        raise ParameterError(template, known=known, got=polarity)


def white_means(polarity: str) -> str:
    """What white is in a mask of this polarity: ``"in-focus"`` or ``"blurred"``."""
    check_polarity(polarity)
    return "in-focus" if polarity == FOCUS_WHITE else "blurred"
