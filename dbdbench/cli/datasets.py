"""`dbdbench datasets` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("datasets", "the datasets issue (#3)")
