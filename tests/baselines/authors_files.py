"""The authors' released parameter files that some classical detectors cannot run without, found
under ``$DBDBENCH_DATA`` (a test skips, saying why, where they are absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: detector -> (its parameter, the file or folder under DBDBENCH_DATA)
AUTHORS_FILES = {
    "dbdf": ("model", "authors/dbdf"),
    "dhcf": ("checkpoint", "authors/dhde/DHDE_model.caffemodel"),
}


def required_params(name: str) -> dict:
    """Parameters detector ``name`` cannot run without (:data:`AUTHORS_FILES`); {} for the others."""
    if name not in AUTHORS_FILES:
        return {}
    key, rel = AUTHORS_FILES[name]
    path = Path(os.environ.get("DBDBENCH_DATA", "/nonexistent")) / rel
    if not path.exists():
        pytest.skip(f"{name} needs the authors' files {rel} under DBDBENCH_DATA")
    return {key: str(path)}
