"""One-line notes to the user: things done on their behalf that they should know about (skipped files,
a capped worker count, 0/1 masks read as binary).

A note is not an error: the run goes on. Notes go to the ``dbdbench`` logger at WARNING level, so a
library caller sees them on stderr (Python's last-resort handler) or routes them with
:mod:`logging`; the command line prints each as ``dbdbench: note: ...`` on stderr.
"""

from __future__ import annotations

import logging

LOGGER = logging.getLogger("dbdbench")


def note(message: str) -> None:
    """Tell the user ``message`` (one line, naming the file or option concerned)."""
    LOGGER.warning(message)
