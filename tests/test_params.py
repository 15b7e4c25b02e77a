"""dbdbench.params: the one coercion rule of --param values and recipe files, and the range checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dbdbench.errors import DbdError
from dbdbench.params import at_least, between, coerce, each, matches, odd_between, positive, to_text


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("yes", False, True),
        (" Off ", True, False),
        ("1", False, True),
        (True, False, True),
        ("21", 15, 21),
        (np.int64(7), 15, 7),
        ("0.5", 1.0, 0.5),
        ("1e-3", 1.0, 0.001),
        (3, 1.0, 3.0),
        ("x.png", "", "x.png"),
        (Path("m.pt"), "", "m.pt"),
        ("1, 0.8,0.6", (1.0,), (1.0, 0.8, 0.6)),
        ([2, 5], [1.0], [2.0, 5.0]),
        ({"a": 1}, {"a": 0.5}, {"a": 1.0}),
    ],
)
def test_values_are_converted_to_the_default_type(value, default, expected):
    got = coerce(value, default, "p")
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "default"),
    [
        ("maybe", False),
        (1, False),  # a number is not a bool
        (True, 3),  # nor a bool an integer
        ("1.5", 3),
        (2.0, 3),
        ("nan", 1.0),
        (math.inf, 1.0),
        ("-inf", 1.0),
        (True, 1.0),
        (3, "a"),
        ("1,x", (1.0,)),
        ([1, math.nan], [1.0]),
        ({"a": "1"}, {"a": 0.5}),
    ],
)
def test_wrong_types_and_non_finite_numbers_are_refused(value, default):
    with pytest.raises(DbdError, match=r"^p must be .* \(default .*\), got ") as err:
        coerce(value, default, "p")
    assert "\n" not in str(err.value)


def test_typed_sources_do_not_parse_text():
    # a TOML recipe has typed values: a quoted number is a mistake there, a value on the command line
    assert coerce("3", 320, "p") == 3
    with pytest.raises(DbdError, match=r"key 'size' must be an integer \(default 320\), got '3'"):
        coerce("3", 320, "recipe r.toml: key 'size'", text=False)


@pytest.mark.parametrize("default", [True, 15, 0.001, 2.5e-7, (1.0, 0.8, 0.6), "lbp"])
def test_to_text_is_read_back_by_coerce(default):
    assert coerce(to_text(default), default, "p") == default


@pytest.mark.parametrize(
    ("check", "inside", "outside", "text"),
    [
        (at_least(2), [2, 3, 1e9], [1, 1.999, -5], ">= 2"),
        (positive(), [1e-12, 3], [0, -1], "> 0"),
        (between(0, 1), [0, 0.5, 1], [-0.01, 1.01], "in [0, 1]"),
        (between(0, 1, open_low=True, open_high=True), [0.001, 0.999], [0, 1], "in (0, 1)"),
        (odd_between(3, 15), [3, 7, 15], [1, 2, 4, 17], "an odd integer in [3, 15]"),
        (odd_between(3), [3, 21, 1001], [1, 2, 22], "an odd integer >= 3"),
        (matches(r"cpu|cuda(:\d+)?", "cpu or cuda"), ["cpu", "cuda:1"], ["gpu", "cuda:", "cpu0"], "cpu"),
        (
            each(between(0, 4, open_low=True)),
            [(1.0,), (0.5, 4.0)],
            [(), (0.0,), (1.0, 5.0)],
            "each in (0, 4]",
        ),
    ],
)
def test_checks(check, inside, outside, text):
    assert text in check.text
    assert all(check.test(v) for v in inside)
    assert not any(check.test(v) for v in outside)


def test_recipe_files_use_the_same_rule(tmp_path):
    from dbdbench.generators.recipe import load_recipe

    f = tmp_path / "r.toml"
    f.write_text('recipe = "btbnet"\n[btbnet]\ntruncate = nan\n')
    with pytest.raises(
        DbdError, match=r"r.toml': key 'btbnet.truncate' must be a finite number \(default 3\)"
    ):
        load_recipe(f)
    f.write_text('recipe = "btbnet"\nsize = "320"\n')
    with pytest.raises(DbdError, match="key 'size' must be an integer"):
        load_recipe(f)
