"""How a mask stores its classes: the two GT polarities, named once for the whole package.

``"focus-white"`` (white = in-focus, the dbdbench convention and DUT's) and ``"blurred-white"``
(white = blurred, as CUHK and CTCUG distribute their masks). Datasets declare their polarity,
``--gt-polarity`` and ``--polarity`` options offer these names, and the protocols turn a mask of either
polarity into the form their rule is written for (:func:`dbdbench.metrics.protocol.focus_levels`).
"""

from __future__ import annotations

from dbdbench.errors import DbdError

FOCUS_WHITE = "focus-white"
BLURRED_WHITE = "blurred-white"
POLARITIES = (FOCUS_WHITE, BLURRED_WHITE)


def check_polarity(polarity: str, option: str = "--gt-polarity") -> None:
    """Raise a one-line :class:`DbdError` naming ``option`` for an unknown polarity."""
    if polarity not in POLARITIES:
        raise DbdError(f"{option} must be one of {', '.join(POLARITIES)}, got '{polarity}'")
