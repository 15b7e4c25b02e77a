"""`dbdbench annotations` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("annotations", "the datasets issue (#3)")
