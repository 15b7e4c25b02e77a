"""MkDocs hook: lay the sources out as they are installed, for the API reference.

``generators/``, ``baselines/`` and ``leaderboards/`` are installed as subpackages of ``dbdbench``
(``setup.py``); mkdocstrings reads sources without importing them, so it needs them in that layout.
The copy goes to ``build/api-src`` (ignored by git) before mkdocstrings starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parent
TREE = ROOT / "build" / "api-src" / "dbdbench"
SUBPACKAGES = ("generators", "baselines", "leaderboards")


@event_priority(100)  # before mkdocstrings' own on_config, which fixes its search paths
def on_config(config):
    shutil.rmtree(TREE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "dbdbench", TREE, ignore=ignore)
    for sub in SUBPACKAGES:
        shutil.copytree(ROOT / sub, TREE / sub, ignore=ignore)
    return config
