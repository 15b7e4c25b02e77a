"""OpenCV environment checks.

PyPI ships OpenCV as four distributions (opencv-python, -headless, -contrib-python,
-contrib-python-headless) that all install the same ``cv2`` module and overwrite each other. dbdbench
depends on ``opencv-contrib-python-headless`` for ``cv2.ximgproc`` (guided, joint-bilateral and
domain-transform filters); another package may pull in a plain distribution that shadows it.
"""

from __future__ import annotations

from dbdbench.errors import DbdError

FIX = (
    "pip uninstall -y opencv-python opencv-python-headless opencv-contrib-python "
    "&& pip install --force-reinstall --no-deps opencv-contrib-python-headless"
)


def ximgproc():
    """Return ``cv2.ximgproc``, or raise a one-line :class:`DbdError` saying how to fix the install."""
    import cv2

    mod = getattr(cv2, "ximgproc", None)
    if mod is None:
        raise DbdError(
            f"OpenCV {cv2.__version__} has no ximgproc module: another OpenCV distribution shadows "
            f"opencv-contrib-python-headless; fix: {FIX}"
        )
    return mod
