"""The installed OpenCV must be the contrib build (ximgproc); the check names the fix otherwise."""

from __future__ import annotations

import cv2
import pytest

from dbdbench import cvcompat
from dbdbench.errors import DbdError


def test_contrib_build_installed():
    mod = cvcompat.ximgproc()
    assert hasattr(mod, "dtFilter") and hasattr(mod, "guidedFilter")


def test_shadowed_build_gives_fix(monkeypatch):
    monkeypatch.delattr(cv2, "ximgproc")
    with pytest.raises(DbdError, match="opencv-contrib-python-headless"):
        cvcompat.ximgproc()
