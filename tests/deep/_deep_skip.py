"""Imported first by every test module here: skips the module when PyTorch (extra ``deep``) is absent."""

import pytest

torch = pytest.importorskip("torch")
