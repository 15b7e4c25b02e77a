"""`dbdbench predict` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("predict", "the baselines issue (#5)")
