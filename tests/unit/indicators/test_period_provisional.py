"""period_provisional at its edge: a period is provisional only when MORE than half of the reference group's
scored rows are provisional (its docstring); half is not more than half, so such a period is still published
as the latest (latest_published_period)."""

from __future__ import annotations

import pandas as pd

from indicators import index


def frame(provisional_2025: list[bool]) -> pd.DataFrame:
    """Four reference towns scored in 2024 (none provisional) and 2025 (as given), plus one town outside the
    reference group that is provisional in 2025 (it must not count)."""
    towns = ["01", "02", "03", "04"]
    rows = [(a, 2024, 50.0, False, True) for a in towns]
    rows += [(a, 2025, 50.0, p, True) for a, p in zip(towns, provisional_2025)]
    rows += [("99", 2025, 50.0, True, False)]
    return pd.DataFrame(rows, columns=["ags", "period", "score", "provisional", "in_reference_group"])


def test_two_of_four_provisional_towns_leave_the_period_final_and_it_is_the_latest():
    result = frame([True, True, False, False])
    result["period_provisional"] = index.period_provisional(result)
    assert not result["period_provisional"].any()  # 2 / 4 = 0.5 is not more than half
    assert index.latest_published_period(result) == 2025


def test_three_of_four_provisional_towns_make_the_period_provisional_and_the_one_before_the_latest():
    result = frame([True, True, True, False])
    result["period_provisional"] = index.period_provisional(result)
    assert result.groupby("period")["period_provisional"].all().to_dict() == {2024: False, 2025: True}
    assert index.latest_published_period(result) == 2024


def test_one_of_four_provisional_is_final():
    result = frame([True, False, False, False])
    assert not index.period_provisional(result).any()
