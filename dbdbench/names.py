"""User-given names (method, dataset): checked once where they enter, escaped wherever they are written.

A name reaches files a reader trusts: result files, ``leaderboard.md``, ``.tex``, ``.csv`` and the web
page. :func:`check_name` refuses, at the command line, what no file format can hold on one line
(control characters, newlines). The escapes make any name, even one read from a hand-edited result
file, appear as the text it is:

* :func:`markdown`: HTML special characters become entities (no raw ``<img onerror>`` or
  ``</script>``), and Markdown punctuation is backslash-escaped (no ``[x](javascript:...)`` link, no
  emphasis, no table cell break);
* :func:`latex`: the ten LaTeX special characters;
* :func:`html`: :func:`html.escape` with quotes, so a name is safe in text and in attribute values;
* :func:`csv_cell`: a cell starting with ``= + - @`` (or a tab or carriage return) is prefixed with
  ``'``, so a spreadsheet shows it as text instead of running it as a formula (OWASP "CSV
  injection").

Every escape keeps the user's case and characters otherwise.
"""

from __future__ import annotations

import html as _html
import json
import unicodedata

from dbdbench.errors import DbdError

#: Markdown punctuation that can make a link or image (``[ ]``), emphasis, a code span or a cell break.
_MD_PUNCT = frozenset("\\`*_[]|~")

_TEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

#: First characters a spreadsheet reads as the start of a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _control(name: str) -> str | None:
    """The first control character of ``name`` (newline, tab, escape, ...), or None."""
    return next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)


def check_name(name: str, what: str) -> str:
    """Refuse a name that holds a control character (newline, tab, escape, a bidi override).

    Parameters
    ----------
    name : str
        A method or dataset name given by the user.
    what : str
        Where it came from, for the message (``"--name"``, ``"--pred NAME=DIR"``).

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    DbdError
        One line naming ``what``, the character and the fix.
    """
    bad = _control(name)
    if bad is not None:
        raise DbdError(
            f"{what}: the name {name!r} holds the control character {bad!r} "
            f"(U+{ord(bad):04X}); give a name of printable characters"
        )
    return name


def markdown(text: str) -> str:
    """``text`` as literal Markdown text: HTML-escaped, Markdown punctuation backslash-escaped,
    control characters as spaces (a newline would end a table row)."""
    text = "".join(" " if _control(c) else c for c in str(text))
    text = _html.escape(text, quote=False)
    # the entities just made start with '&' and end with ';', neither of which is escaped below
    return "".join("\\" + c if c in _MD_PUNCT else c for c in text)


def latex(text: str) -> str:
    """``text`` as literal LaTeX text (special characters escaped, control characters as spaces)."""
    return "".join(_TEX.get(c, " " if _control(c) else c) for c in str(text))


def html(text: str) -> str:
    """``text`` as literal HTML text or attribute value (``& < > " '`` as entities)."""
    return _html.escape(str(text), quote=True)


def script_json(value) -> str:
    """``value`` as JSON to embed in an inline ``<script>``: ``< > &`` as ``\\u`` escapes, so a name
    holding ``</script>`` cannot end the script."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: ``'`` before a leading ``= + - @``."""
    text = str(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def heading(text: str) -> str:
    """``text`` with its first character upper-cased and the rest as given (``str.capitalize``
    would lower-case a dataset name such as ``CUHK``)."""
    return text[:1].upper() + text[1:]
