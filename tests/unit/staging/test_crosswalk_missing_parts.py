"""bring_forward: a merged value is missing when any part is (its docstring: "A part without value or weight
makes the whole missing"); pandas' groupby sum would skip the missing part and return a partial total."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from staging import crosswalk

# 2013: A and B are merged into A; population weights 1,000 and 500
WALK = pd.DataFrame([("2013", "A", "A"), ("2013", "B", "A")], columns=["vintage", "ags", "current_ags"])
WEIGHTS = pd.DataFrame([("A", "2013", 1000), ("B", "2013", 500)], columns=["ags", "vintage", "population"])


def observations(rows: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    """rows: (ags, unit, value), one measure per unit, all of 30.06.2021 in key vintage 2013."""
    frame = pd.DataFrame([(a, "gemeinde", dt.date(2021, 6, 30), f"m_{u}", v, u, "", "src", "2021")
                          for a, u, v in rows],
                         columns=["ags", "level", "reference_date", "measure", "value", "unit", "note",
                                  "source_id", "vintage"])
    return frame.assign(key_vintage="2013")


def merged(frame: pd.DataFrame, weights: pd.DataFrame = WEIGHTS) -> pd.Series:
    result = crosswalk.bring_forward(frame, WALK, weights)
    assert result["ags"].tolist() == ["A"] * result["measure"].nunique()  # one merged row per measure
    return result.set_index("measure")["value"]


def test_both_parts_present_give_the_sum_and_the_weighted_share():
    """The control case: persons summed (100 + 40), % weighted by population ((50·1000 + 20·500) / 1500 = 40)."""
    values = merged(observations([("A", "persons", 100.0), ("B", "persons", 40.0),
                                  ("A", "%", 50.0), ("B", "%", 20.0)]))
    assert values["m_persons"] == 140.0
    assert values["m_%"] == pytest.approx(40.0)


def test_a_count_with_a_missing_part_is_missing_not_the_other_parts_total():
    values = merged(observations([("A", "persons", 100.0), ("B", "persons", None)]))
    assert pd.isna(values["m_persons"])  # not 100: B's inhabitants are unknown, not zero


def test_a_share_with_a_missing_part_is_missing_not_the_other_parts_share():
    values = merged(observations([("A", "%", 50.0), ("B", "%", None)]))
    assert pd.isna(values["m_%"])  # not 50 (A alone) nor 33.3 (50·1000 / 1500)


def test_a_share_whose_part_has_a_value_but_no_weight_is_missing():
    """B has a value but its register gives no population: its weight is unknown, so the mean is too."""
    no_weight_for_b = WEIGHTS[WEIGHTS["ags"] == "A"]
    values = merged(observations([("A", "%", 50.0), ("B", "%", 20.0)]), no_weight_for_b)
    assert pd.isna(values["m_%"])  # not 50 (A's share with B's weight taken as 0)
