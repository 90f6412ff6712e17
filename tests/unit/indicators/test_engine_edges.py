"""The scoring engine at two edges: the nearest-value window includes carry_forward_years itself (nearest_values'
docstring: "within the indicator's carry_forward_years"), and the geometric mean floors a zero at 0.01 (the
docstring of weighted_mean and GEOMETRIC_FLOOR: "so one zero does not wipe out the rest")."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from indicators import engine

# nearest_values reads only indicator_id and carry_forward_years of each indicator
CATALOGUE = SimpleNamespace(indicators={"x": SimpleNamespace(indicator_id="x", carry_forward_years=5)})


def observed(periods_values: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame({"ags": "01053090", "indicator_id": "x", "period": list(periods_values),
                         "value": list(periods_values.values())})


def test_a_value_exactly_carry_forward_years_old_is_used():
    found = engine.nearest_values(observed({2021: 7.0}), [2026], CATALOGUE)
    assert found[["ags", "indicator_id", "period", "value"]].values.tolist() == [["01053090", "x", 2026, 7.0]]


def test_a_value_exactly_carry_forward_years_later_is_used():
    found = engine.nearest_values(observed({2031: 9.0}), [2026], CATALOGUE)
    assert found["value"].tolist() == [9.0]


def test_a_value_one_year_beyond_the_window_is_not_used():
    assert engine.nearest_values(observed({2020: 7.0, 2032: 9.0}), [2026], CATALOGUE).empty


def test_geometric_mean_of_0_and_100_floors_the_zero_at_0_01():
    """√(0.01 · 100) = 1.0 with equal weights; without the floor the zero would make it 0 (log 0)."""
    scores = np.array([[0.0], [100.0]])  # (components, towns)
    present = np.ones_like(scores, dtype=bool)
    mean, total = engine.weighted_mean(scores, present, np.array([[1.0], [1.0]]), "geometric")
    assert mean[0, 0] == pytest.approx(math.sqrt(0.01 * 100)) == pytest.approx(1.0)
    assert total[0, 0] == 2.0


def test_geometric_mean_with_unequal_weights_and_a_floored_score():
    """Weights 1 and 3: 0.005 is floored to 0.01, so (0.01¹ · 100³)^(1/4) = 10^(( -2 + 6) / 4) = 10."""
    scores = np.array([[0.005], [100.0]])
    mean, _ = engine.weighted_mean(scores, np.ones_like(scores, dtype=bool), np.array([[1.0], [3.0]]), "geometric")
    assert mean[0, 0] == pytest.approx(10.0)


def test_geometric_mean_above_the_floor_is_unchanged():
    """√(4 · 25) = 10: scores above 0.01 are not touched by the floor."""
    scores = np.array([[4.0], [25.0]])
    mean, _ = engine.weighted_mean(scores, np.ones_like(scores, dtype=bool), np.array([[1.0], [1.0]]), "geometric")
    assert mean[0, 0] == pytest.approx(10.0)
