"""contracts.parse_number with several thousands groups, and median_problem at its edges; expected values
from the German notation (a dot every three digits, a decimal comma) and the docstrings' rules."""

from __future__ import annotations

import pytest

from sources import contracts


@pytest.mark.parametrize("text, number", [
    ("62.432.560", 62_432_560.0),       # m², as destatis_changes quotes such an area (62.4 km²)
    ("1.234.567,5", 1_234_567.5),
    ("-1.234.567", -1_234_567.0),
    ("83.155.031", 83_155_031.0),       # an eight-digit population figure
    ("1.000.000.000", 1_000_000_000.0),  # three groups
])
def test_german_thousands_with_several_groups(text, number):
    assert contracts.parse_number(text) == number


def test_an_area_in_m2_with_two_groups_is_62_km2():
    """destatis_changes divides the m² figure by 1e6: 62.432.560 m² is 62.43 km², not 0.0000624."""
    assert contracts.parse_number("62.432.560") / 1e6 == pytest.approx(62.43256)


# a distance declared in km with a typical level up to 50 km: a file in metres has a median of thousands
KM = contracts.Rule(unit="km", min=0, max=1_000_000, median_min=0.5, median_max=50)


def test_a_median_above_median_max_is_flagged():
    problem = contracts.median_problem("distance_km", KM, 100, 1500.0)  # metres read as km
    assert problem is not None
    assert "median 1500 of 100 values" in problem and "0.5 to 50" in problem


def test_a_median_below_median_min_and_one_inside_the_level():
    assert contracts.median_problem("distance_km", KM, 100, 0.0015) is not None  # km read where m expected
    assert contracts.median_problem("distance_km", KM, 100, 50.0) is None  # the bound itself is typical
    assert contracts.median_problem("distance_km", KM, 100, 0.5) is None
    assert contracts.median_problem("distance_km", KM, 100, 12.0) is None


def test_only_a_declared_maximum_still_flags_a_median_above_it():
    only_max = contracts.Rule(unit="minutes", median_max=120)
    assert contracts.median_problem("car_minutes", only_max, 100, 7200.0) is not None  # seconds for minutes
    assert contracts.median_problem("car_minutes", only_max, 100, 0.1) is None  # no lower level declared


def test_exactly_share_evidence_values_are_enough_for_the_median_check():
    """Docstring: "at least SHARE_EVIDENCE figures" (10)."""
    assert contracts.SHARE_EVIDENCE == 10
    assert contracts.median_problem("distance_km", KM, 10, 1500.0) is not None
    assert contracts.median_problem("distance_km", KM, 9, 1500.0) is None
