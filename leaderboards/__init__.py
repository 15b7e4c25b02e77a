"""Leaderboards: tables, plots, web page, and published reference results.

- :mod:`~dbdbench.leaderboards.results` — result files as rows (read by ``dbdbench.evaluation.load_result``),
  grouped by protocol, dataset and split
- :mod:`~dbdbench.leaderboards.tables` — ranking with ties; Markdown, LaTeX (booktabs), CSV
- :mod:`~dbdbench.leaderboards.style` — one colour-blind-safe colour and marker per method
- :mod:`~dbdbench.leaderboards.plots` — PR curves, F against threshold, bars with intervals
- :mod:`~dbdbench.leaderboards.page` — the self-contained HTML page
- :mod:`~dbdbench.leaderboards.published` — published reference curves and tables shipped as package data
- :mod:`~dbdbench.leaderboards.sensitivity` — the same predictions under every protocol
- :mod:`~dbdbench.leaderboards.build` — everything above into one folder (``dbdbench leaderboard``)

The whole pipeline on built-in data (``dbdbench demo``) is :mod:`dbdbench.pipeline`.
"""
