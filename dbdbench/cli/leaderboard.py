"""`dbdbench leaderboard` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("leaderboard", "the leaderboard issue (#6)")
