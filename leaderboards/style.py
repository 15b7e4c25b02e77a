"""One fixed colour, marker and line style per method across every figure of a leaderboard.

Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), distinguishable
under the common colour-vision deficiencies; with more methods than colours the marker changes too,
so (colour, marker) stays unique for up to 40 methods. Published references are drawn dashed with
hollow markers, user results solid with filled markers.

Figures are sized for a single column of a two-column paper (3.5 in wide), with 7 pt text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Okabe-Ito colours; black and the pale yellow (weak on white) come last.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#F0E442",  # yellow
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")

COLUMN_WIDTH_IN = 3.5

RC = {
    "text.parse_math": False,  # a method or dataset name holding '$' is text, not a formula
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 5.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "axes.linewidth": 0.6,
    "svg.hashsalt": "dbdbench",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}


@dataclass(frozen=True)
class MethodStyle:
    """How one method is drawn.

    Attributes
    ----------
    color : str
        Hex colour.
    marker : str
        Matplotlib marker.
    linestyle : str
        ``"-"`` for user results, ``"--"`` for published references.
    filled : bool
        Filled markers for user results, hollow for published references.
    """

    color: str
    marker: str
    linestyle: str = "-"
    filled: bool = True

    def line_kwargs(self) -> dict:
        """Keyword arguments for ``Axes.plot``."""
        return {
            "color": self.color,
            "marker": self.marker,
            "linestyle": self.linestyle,
            "markerfacecolor": self.color if self.filled else "white",
            "markeredgecolor": self.color,
        }


class Styles:
    """Fixed styles for a set of method labels.

    Parameters
    ----------
    labels : iterable of str
        Every method label that will appear in any figure (user results and published references).
        User methods come first, in case-insensitive sorted order, then the published references
        not named like a user method: the first eight user methods get distinct colours, and the same
        set of labels always gets the same styles. A published reference named like a user method
        shares its colour and marker and differs in line style.
    """

    def __init__(self, labels: Iterable[str]):
        suffix = " (published)"
        labels = set(labels)
        user = sorted({lab for lab in labels if not lab.endswith(suffix)}, key=str.casefold)
        refs = sorted(
            {lab.removesuffix(suffix) for lab in labels if lab.endswith(suffix)} - set(user), key=str.casefold
        )
        self._index = {b: i for i, b in enumerate(user + refs)}
        self._suffix = suffix

    def __call__(self, label: str) -> MethodStyle:
        """The style of one label (a KeyError names a label that was not declared)."""
        published = label.endswith(self._suffix)
        i = self._index[label.removesuffix(self._suffix)]
        return MethodStyle(
            color=OKABE_ITO[i % len(OKABE_ITO)],
            marker=MARKERS[i % len(MARKERS)],
            linestyle="--" if published else "-",
            filled=not published,
        )
