"""Check that one OpenCV distribution provides the ``cv2`` module.

PyPI ships OpenCV as four distributions (``opencv-python``, ``opencv-python-headless``,
``opencv-contrib-python``, ``opencv-contrib-python-headless``) that all write the same ``cv2/``
folder: with two installed, the later install overwrites the earlier one's files, and uninstalling
either leaves a broken ``cv2``. dbdbench needs only the core module and depends on
``opencv-python-headless``, which is also what pysodmetrics pins; a user's ``opencv-python`` next to
it is the usual way to get two.

``python -m dbdbench.cvcompat`` prints the one distribution found, or a one-line error and exits 1
(CI runs it after installing).
"""

from __future__ import annotations

import importlib.metadata
import sys

from dbdbench.errors import DbdError


def cv2_distributions() -> list[str]:
    """Installed distributions whose recorded files include ``cv2/__init__.py``.

    Returns
    -------
    list of str
        ``"name version"`` of each, sorted; distributions without a file record are not seen.
    """
    found = set()
    for dist in importlib.metadata.distributions():
        if any(f.as_posix() == "cv2/__init__.py" for f in dist.files or ()):
            found.add(f"{dist.metadata['Name']} {dist.version}")
    return sorted(found)


def check_single_opencv() -> str:
    """The one distribution that provides ``cv2``.

    Raises
    ------
    DbdError
        Two or more distributions provide ``cv2``; the message names them and the fix.
    """
    found = cv2_distributions()
    if len(found) > 1:
        names = " ".join(f.split()[0] for f in found)
        raise DbdError(
            f"{len(found)} installed distributions provide the cv2 module and overwrite each other's "
            f"files: {', '.join(found)}; keep one: pip uninstall -y {names} && "
            "pip install opencv-python-headless"
        )
    return found[0] if found else "none recorded"


def main() -> int:
    try:
        print(f"OpenCV distribution: {check_single_opencv()}")
    except DbdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
