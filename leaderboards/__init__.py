"""Leaderboards: tables, plots, web page, and published reference results."""
