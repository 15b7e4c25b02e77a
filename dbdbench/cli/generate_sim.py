"""`dbdbench generate-sim` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("generate-sim", "the generator issue (#4)")
