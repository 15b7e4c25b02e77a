"""One OpenCV distribution provides cv2, and the check names every one when there are more."""

from __future__ import annotations

import importlib.metadata
from pathlib import PurePosixPath

import pytest

from dbdbench import cvcompat
from dbdbench.errors import DbdError


def test_exactly_one_installed_distribution_ships_cv2():
    """Meant for CI's fresh virtual environment (``.ci/run``), where installing dbdbench must leave
    exactly one OpenCV distribution. It FAILS, on purpose, in an environment where several OpenCV
    wheels were installed over each other (such as a system Python that has ``opencv-python``,
    ``opencv-python-headless`` and a contrib wheel): that environment's ``cv2/`` holds whichever files
    were written last, and this test is there to say so loudly."""
    found = cvcompat.cv2_distributions()
    assert len(found) == 1, f"cv2 provided by {found}: run 'python -m dbdbench.cvcompat' for the fix"
    assert found[0].split()[0].lower() == "opencv-python-headless"  # our dependency, and pysodmetrics'


class _Dist:
    def __init__(self, name, version, files):
        self.metadata = {"Name": name}
        self.version = version
        self.files = None if files is None else [PurePosixPath(f) for f in files]


def _fake(monkeypatch, dists):
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))


def test_two_distributions_are_one_line_naming_both_and_the_fix(monkeypatch, capsys):
    _fake(
        monkeypatch,
        [
            _Dist("numpy", "2.0", ["numpy/__init__.py"]),
            _Dist("opencv-python", "4.10.0.84", ["cv2/__init__.py", "cv2/data/__init__.py"]),
            _Dist("opencv-python-headless", "4.10.0.84", ["cv2/__init__.py"]),
            _Dist("no-record", "1", None),
        ],
    )
    assert cvcompat.cv2_distributions() == ["opencv-python 4.10.0.84", "opencv-python-headless 4.10.0.84"]
    with pytest.raises(DbdError) as err:
        cvcompat.check_single_opencv()
    msg = str(err.value)
    assert "\n" not in msg and "opencv-python 4.10.0.84, opencv-python-headless 4.10.0.84" in msg
    assert "pip uninstall -y opencv-python opencv-python-headless" in msg
    assert cvcompat.main() == 1
    assert capsys.readouterr().err.startswith("error: 2 installed distributions provide the cv2 module")


def test_one_distribution_passes(monkeypatch, capsys):
    _fake(monkeypatch, [_Dist("opencv-python-headless", "4.11.0.86", ["cv2/__init__.py"])])
    assert cvcompat.check_single_opencv() == "opencv-python-headless 4.11.0.86"
    assert cvcompat.main() == 0
    assert "opencv-python-headless 4.11.0.86" in capsys.readouterr().out


def test_no_contrib_module_is_used_anywhere():
    """dbdbench's code uses only OpenCV's core modules (the headless wheel has no ximgproc)."""
    import importlib
    from pathlib import Path

    files = [
        p
        for pkg in ("dbdbench", "dbdbench.baselines", "dbdbench.generators", "dbdbench.leaderboards")
        for p in Path(importlib.import_module(pkg).__file__).parent.rglob("*.py")
    ]
    assert len(files) > 30
    contrib = ("cv2.ximgproc", "cv2.xphoto", "cv2.xfeatures2d", "ximgproc()")
    assert [str(p) for p in files if any(c in p.read_text() for c in contrib)] == []
