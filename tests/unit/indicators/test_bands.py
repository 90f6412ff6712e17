"""Rank bands in planner's words (indicators/bands.py): boundaries by hand and properties."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from indicators.bands import CODES, REGIONS, band_categories, band_category


@pytest.mark.parametrize("p05, p95, n, code", [
    (1, 10, 100, "top_10"), (1, 10.5, 100, "top_25"), (3, 25, 100, "top_25"), (91, 100, 100, "bottom_10"),
    (90, 100, 100, "bottom_25"), (76, 99, 100, "bottom_25"), (75, 99, 100, "lower_third"),
    (1, 33, 99, "upper_third"), (34, 66, 99, "middle_third"), (33, 66, 99, "upper_two_thirds"),
    (67, 99, 99, "lower_third"), (10, 50, 100, "upper_half"), (51, 90, 100, "lower_half"),
    (5, 66, 100, "upper_two_thirds"), (40, 95, 100, "lower_two_thirds"), (5, 95, 100, "unclear"),
    (1, 1, 1, "unclear"), (1, 1, 2, "upper_half"),  # one town alone cannot be placed in a field
])
def test_band_category_boundaries_by_hand(p05, p95, n, code):
    assert band_category(p05, p95, n).code == code


def test_words_in_german_and_english():
    top = band_category(27.0, 450.0, 2198)
    assert top.code == "top_25"
    assert top.de == "mit hoher Wahrscheinlichkeit unter den besten 25 %"
    assert top.en == "very likely among the best 25 %"
    assert top.band_share == pytest.approx((450 - 27) / 2198)
    assert band_category(299.0, 1462.1, 2198).code == "upper_two_thirds"  # 1462.1 / 2198 = 0.665
    wide = band_category(299.0, 1800.0, 2198)
    assert (wide.code, wide.de, wide.en) == ("unclear", "nicht sicher einzuordnen", "cannot be placed with confidence")
    missing = band_category(None, float("nan"), 2198)
    assert missing.code == "not_ranked" and missing.de == "kein Rang" and math.isnan(missing.band_share)


def test_impossible_bands_are_rejected():
    for p05, p95, n in [(0, 3, 10), (5, 3, 10), (1, 1, 0)]:
        with pytest.raises(ValueError, match="rank band"):
            band_category(p05, p95, n)
    # a draw ranking more towns than the published count: the worse end reads as the last rank
    assert band_category(2533.85, 3131.0, 3128).code == "bottom_25"
    assert band_category(3129.0, 3131.0, 3128).code == "bottom_10"


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 3000), a=st.floats(0, 1), b=st.floats(0, 1))
def test_the_statement_holds_for_every_rank_in_the_band_and_is_the_narrowest(n, a, b):
    low, high = 1 + min(a, b) * (n - 1), 1 + max(a, b) * (n - 1)
    category = band_category(low, high, n)
    assert category.code in CODES
    fits = [code for code, (start, stop) in REGIONS.items()
            if (low - 1) / n >= start - 1e-12 and high / n <= stop + 1e-12]
    if category.code == "unclear":
        assert not fits
    else:
        start, stop = REGIONS[category.code]
        width = stop - start
        assert all(stop - start >= width - 1e-12 for start, stop in (REGIONS[c] for c in fits))
        # every integer rank inside the band lies inside the named region
        for rank in range(math.ceil(low), math.floor(high) + 1):
            assert (rank - 1) / n >= start - 1e-12 and rank / n <= stop + 1e-12


def test_band_categories_on_a_frame_keep_the_index():
    frame = pd.DataFrame({"rank_p05": [1.0, None, 5.0], "rank_p95": [2.0, None, 95.0],
                          "compared_towns": [100, 100, 100]}, index=[7, 8, 9])
    out = band_categories(frame)
    assert out.index.tolist() == [7, 8, 9]
    assert out["band_code"].tolist() == ["top_10", "not_ranked", "unclear"]
    assert out.loc[7, "band_de"] == "mit hoher Wahrscheinlichkeit unter den besten 10 %"
