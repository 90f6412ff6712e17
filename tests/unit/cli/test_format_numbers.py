"""cli.format's numbers as its docstrings state them: a decimal comma, a dot between thousands, halves rounded
away from zero (the reports' rounding), the ASCII hyphen as minus, an en dash for any missing value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cli.format import de_int, de_number, de_signed, is_missing


@pytest.mark.parametrize("value, digits, shown", [
    (-1.25, 1, "-1,3"),  # -1.25 is exact in binary: a true half, away from zero; ASCII minus, not U+2212
    (1.25, 1, "1,3"),
    (-1234.5, 0, "-1.235"),
    (-0.04, 1, "0,0"),  # shown as zero: no sign
    (1234567.891, 2, "1.234.567,89"),
])
def test_de_number(value, digits, shown):
    assert de_number(value, digits) == shown


def test_a_negative_gap_has_the_ascii_minus():
    assert de_signed(-0.1) == "-0,1" and de_signed(1.66) == "+1,7"


@pytest.mark.parametrize("value, shown", [(10802, "10.802"), (np.int64(10802), "10.802"), (10802.0, "10.802"),
                                          (999, "999"), (1_000_000, "1.000.000"), (0, "0")])
def test_de_int_has_a_dot_between_thousands(value, shown):
    assert de_int(value) == shown


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_values_are_an_en_dash_never_zero(missing):
    assert is_missing(missing)
    assert de_int(missing) == "–"
    assert de_number(missing) == "–"


@pytest.mark.parametrize("value", [0, 0.0, -1, 10802])
def test_numbers_are_not_missing(value):
    assert not is_missing(value)


@pytest.mark.parametrize("value", [2.7, 1234.5, -0.5])
def test_de_int_refuses_a_fraction_instead_of_cutting_it(value):
    with pytest.raises(ValueError, match="no whole count"):
        de_int(value)
