"""The one sanitiser of user-given names (dbdbench/names.py), against hand-worked escapes."""

from __future__ import annotations

import html
import json

import pytest

from dbdbench import names
from dbdbench.errors import DbdError


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "tab\there", "esc\x1b[31m", "bidi\u202eevil", "nul\x00"])
def test_control_characters_are_refused_with_one_line(bad):
    with pytest.raises(DbdError) as info:
        names.check_name(bad, "--name")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("--name: the name") and "control character" in msg


@pytest.mark.parametrize("good", ["lapvar", "HiFST (published)", "dct<x>&y", "=1+1", "Δ-net", "a b"])
def test_printable_names_pass_unchanged(good):
    assert names.check_name(good, "--name") == good


def test_markdown_neutralises_html_links_and_cells():
    assert names.markdown("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert names.markdown("[x](javascript:alert(1))") == r"\[x\](javascript:alert(1))"
    assert names.markdown("a|b *c* _d_ `e` ~f~ \\") == r"a\|b \*c\* \_d\_ \`e\` \~f\~ \\"
    assert names.markdown("R&D\nnext") == "R&amp;D next"  # a newline would end the table row
    assert names.markdown("CUHK") == "CUHK"


def test_latex_html_csv_and_script_escapes():
    assert names.latex("a_b & 50% #1 {x} ~ ^ \\ $") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} \$"
    )
    assert names.html("\"'<>&") == "&quot;&#x27;&lt;&gt;&amp;"
    assert html.unescape(names.html("</script>")) == "</script>"
    assert [names.csv_cell(c) for c in ("=SUM(A1)", "+1", "-x", "@cmd", "\tx", "ok", "")] == [
        "'=SUM(A1)", "'+1", "'-x", "'@cmd", "'\tx", "ok", ""
    ]  # fmt: skip
    embedded = names.script_json({"m": "</script><b>&"})
    assert "<" not in embedded and ">" not in embedded and json.loads(embedded) == {"m": "</script><b>&"}
    assert names.heading("protocol sod, dataset CUHK") == "Protocol sod, dataset CUHK"
