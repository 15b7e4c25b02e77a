"""`dbdbench demo` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("demo", "the leaderboard issue (#6)")
