"""`dbdbench evaluate` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("evaluate", "the evaluator issue (#2)")
