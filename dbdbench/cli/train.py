"""`dbdbench train` (not landed yet)."""

from dbdbench.cli import not_landed

command = not_landed("train", "the BTBNet/BTBCRL issue (#7)")
