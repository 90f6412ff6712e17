"""Normalisation, aggregation and the index against hand-computed values, plus properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from indicators.catalogue import load_catalogue
from indicators.index import aggregate, normalise, provisional, readiness_index

CATALOGUE = load_catalogue()


def test_normalise_with_fixed_goalposts_by_hand():
    # out_commuter_share goalposts 20..90: 55 -> (55-20)/70*100 = 50
    assert normalise(55, 20, 90) == pytest.approx(50.0)
    assert normalise(10, 20, 90) == 0.0 and normalise(95, 20, 90) == 100.0  # clipped
    assert normalise(-1, -2, 2) == pytest.approx(25.0)  # population change -1 %/year
    assert normalise(25, 0, 100, "negative") == pytest.approx(75.0)


def test_weighted_arithmetic_aggregation_by_hand():
    scores = pd.DataFrame({"a": [50.0, 80.0], "b": [100.0, np.nan]})
    # row 0: (1*50 + 3*100) / 4 = 87.5; row 1: b missing -> weights renormalised over a -> 80
    assert aggregate(scores, {"a": 1, "b": 3}).tolist() == pytest.approx([87.5, 80.0])


def test_geometric_aggregation_by_hand():
    scores = pd.DataFrame({"a": [25.0], "b": [100.0]})
    assert aggregate(scores, {"a": 1, "b": 1}, "geometric").iloc[0] == pytest.approx(50.0)  # sqrt(25*100)


def test_all_missing_row_gives_nan():
    assert math.isnan(aggregate(pd.DataFrame({"a": [np.nan]}), {"a": 1}).iloc[0])


def values_for(town_values: dict[str, dict[str, float]], period: int = 2021) -> pd.DataFrame:
    rows = [{"ags": ags, "indicator_id": i, "period": period, "value": v, "imputed": False, "quality_note": None}
            for ags, indicators in town_values.items() for i, v in indicators.items()]
    return pd.DataFrame(rows)


TOWN_A = {"gigabit_coverage": 90, "broadband_100_coverage": 100, "fibre_coverage": 50,
          "out_commuter_share": 55, "long_distance_commuter_share": 20,
          "population_change_5y": 0.5, "population_change_10y": -0.5, "population_density": 800,
          "ic_ice_station_car_minutes": 15, "oberzentrum_car_minutes": 30, "transit_stop_distance": 500,
          "transit_stop_within_1km_share": 90}


def test_index_of_one_town_by_hand():
    result = readiness_index(values_for({"00000001": TOWN_A}), CATALOGUE, {"00000001"}, [2021]).iloc[0]
    digital = (90 + 100 + 50) / 3          # goalposts 0..100
    commuting = (50 + 50) / 2              # (55-20)/70*100 = 50 ; 20/40*100 = 50
    demographic = (62.5 + 37.5) / 2        # (0.5+2)/4*100 ; (-0.5+2)/4*100
    # direction negative, reversed: 100 - 15/60*100 = 75 ; 100 - 30/60*100 = 50 ; 100 - 500/2500*100 = 80 ; 90
    accessibility = (75 + 50 + 80 + 90) / 4
    assert result["digital_infrastructure"] == pytest.approx(digital)
    assert result["commuting_potential"] == pytest.approx(commuting)
    assert result["demographic_dynamics"] == pytest.approx(demographic)
    assert result["accessibility"] == pytest.approx(accessibility)
    assert result["score"] == pytest.approx((digital + commuting + demographic + accessibility) / 4)
    assert result["rank"] == 1 and result["missing_pillars"] is None


def test_missing_pillar_gives_no_score_and_names_it():
    town = {k: v for k, v in TOWN_A.items() if not k.startswith("population_change")}
    result = readiness_index(values_for({"00000001": town}), CATALOGUE, {"00000001"}, [2021]).iloc[0]
    assert math.isnan(result["score"]) and result["missing_pillars"] == "demographic_dynamics"


def test_territorial_change_values_are_left_out():
    values = values_for({"00000001": TOWN_A})
    values.loc[values["indicator_id"] == "population_change_10y", "excluded_reason"] = \
        "territorial_change"  # typed: the index decides by it, not by note text
    result = readiness_index(values, CATALOGUE, {"00000001"}, [2021]).iloc[0]
    assert result["demographic_dynamics"] == pytest.approx(62.5)  # only the 5-year change is used


def test_rank_only_within_reference_group():
    better = {**TOWN_A, "gigabit_coverage": 100}
    result = readiness_index(values_for({"A": TOWN_A, "B": better, "C": better}), CATALOGUE, {"A", "B"}, [2021])
    ranks = result.set_index("ags")["rank"]
    assert ranks["B"] == 1 and ranks["A"] == 2 and pd.isna(ranks["C"])
    assert set(result["compared_towns"]) == {2}


def test_towns_shown_with_the_same_score_share_a_rank():
    """Ranks compare scores at their published precision (one decimal): 63.4375 and 63.4475 are both shown as
    63.4, so both are first and the next town is third; the stored scores keep their full precision."""
    slightly_better = {**TOWN_A, "gigabit_coverage": 90.12}  # digital +0.04, score +0.01
    worse = {**TOWN_A, "gigabit_coverage": 0}
    result = readiness_index(values_for({"A": TOWN_A, "B": slightly_better, "C": worse}), CATALOGUE,
                             {"A", "B", "C"}, [2021]).set_index("ags")
    assert CATALOGUE.score_decimals == 1
    assert result.loc["A", "score"] == pytest.approx(63.4375) and result.loc["B", "score"] == pytest.approx(63.4475)
    assert result["rank"].to_dict() == {"A": 1, "B": 1, "C": 3}
    one_more = readiness_index(values_for({"A": TOWN_A, "B": {**TOWN_A, "gigabit_coverage": 90.3}}), CATALOGUE,
                               {"A", "B"}, [2021]).set_index("ags")  # 63.4625 is shown as 63.5: ranked ahead
    assert one_more["rank"].to_dict() == {"A": 2, "B": 1}


indicator_value = st.floats(min_value=-5, max_value=120, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(base=st.fixed_dictionaries({k: indicator_value for k in TOWN_A}),
       indicator=st.sampled_from([k for k in TOWN_A if k != "population_density"]),
       raise_by=st.floats(min_value=0.01, max_value=50))
def test_raising_an_indicator_never_lowers_its_pillar_or_the_score(base, indicator, raise_by):
    """... for direction positive; for direction negative (travel times) it never raises them."""
    pillar = CATALOGUE.indicators[indicator].pillar
    sign = -1 if CATALOGUE.indicators[indicator].direction == "negative" else 1
    before = readiness_index(values_for({"T": base}), CATALOGUE, {"T"}, [2021]).iloc[0]
    after = readiness_index(values_for({"T": {**base, indicator: base[indicator] + raise_by}}),
                            CATALOGUE, {"T"}, [2021]).iloc[0]
    assert sign * (after[pillar] - before[pillar]) >= -1e-9
    assert sign * (after["score"] - before["score"]) >= -1e-9
    for column in [*CATALOGUE.required_pillars, "score"]:
        assert 0.0 <= after[column] <= 100.0


def test_optional_pillar_without_data_is_named_not_invented():
    """No coworking data (the offline case): score from the required pillars, and a note saying so."""
    without = readiness_index(values_for({"T": TOWN_A}), CATALOGUE, {"T"}, [2021]).iloc[0]
    assert pd.isna(without["local_work_infrastructure"]) and pd.notna(without["score"])
    assert without["notes"] == ("local_work_infrastructure not scored: no data from local_inputs, osm_coworking "
                                "for this period")
    assert without["missing_pillars"] is None
    with_coworking = readiness_index(values_for({"T": {**TOWN_A, "coworking_within_10km": 5}}),
                                     CATALOGUE, {"T"}, [2021]).iloc[0]
    assert with_coworking["local_work_infrastructure"] == 100.0 and with_coworking["notes"] is None
    # five equally weighted pillars now, the optional one at 100
    assert with_coworking["score"] == pytest.approx((4 * without["score"] + 100) / 5)


def test_an_optional_pillar_few_towns_have_is_left_out_of_every_score_and_said():
    """Mölln, the one town that delivered its own coworking list (offline, no OSM), was scored on five pillars and
    the others on four: its weak coworking pillar took it from rank 8 to 23 of 50 for delivering data. An optional
    pillar counts where at least half of the towns have it; the town keeps its pillar score, typed and explained."""
    towns = {f"0000000{i}": {**TOWN_A, "out_commuter_share": 40 + 5 * i} for i in range(1, 5)}
    towns["00000001"]["coworking_within_10km"] = 1  # one of four towns: 25 % < 50 %

    def index_of(town_values):
        values = values_for(town_values)
        values.loc[values["indicator_id"] == "gigabit_coverage", "imputed"] = True  # carried forward
        return readiness_index(values, CATALOGUE, set(towns), [2021]).set_index("ags")
    alone = index_of(towns)
    without = index_of({**towns, "00000001": {**TOWN_A, "out_commuter_share": 45}})
    assert without.loc["00000001", "imputed_share"] > 0
    assert alone.loc["00000001", "local_work_infrastructure"] == 20.0  # shown on its page
    assert alone.loc["00000001", "score"] == pytest.approx(without.loc["00000001", "score"])  # not in the score
    assert alone["rank"].tolist() == without["rank"].tolist()
    assert alone["imputed_share"].tolist() == without["imputed_share"].tolist()  # it describes the score
    assert alone["newest_input_date"].tolist() == without["newest_input_date"].tolist()
    assert alone.loc["00000001", "uncompared_pillars"] == "local_work_infrastructure"
    assert alone.loc["00000001", "omitted_pillars"] is None
    assert alone.loc["00000001", "notes"].startswith("local_work_infrastructure not in the score: fewer than half")
    assert alone.loc["00000002", "uncompared_pillars"] is None and alone.loc["00000002", "notes"].startswith(
        "local_work_infrastructure not scored: no data")
    # two of four towns have it: half, so it counts for them (and they are ranked with it)
    towns["00000002"]["coworking_within_10km"] = 5
    half = readiness_index(values_for(towns), CATALOGUE, set(towns), [2021]).set_index("ags")
    assert half["uncompared_pillars"].isna().all()
    assert half.loc["00000001", "score"] == pytest.approx((4 * without.loc["00000001", "score"] + 20) / 5)


def test_pillar_and_indicator_weights_are_positive_and_declared():
    assert all(float(p["weight"]) > 0 for p in CATALOGUE.pillars.values())
    for pillar in CATALOGUE.pillars:
        assert sum(i.weight for i in CATALOGUE.in_pillar(pillar)) > 0


def test_town_of_the_reference_group_without_data_gets_unscored_rows():
    """e.g. a Gemeinde formed after the last release of every source: visible, not silently absent."""
    result = readiness_index(values_for({"00000001": TOWN_A}), CATALOGUE, {"00000001", "00000002"}, [2021])
    empty = result.set_index("ags").loc["00000002"]
    assert math.isnan(empty["score"]) and pd.isna(empty["rank"])
    assert empty["missing_pillars"] == ", ".join(CATALOGUE.required_pillars)
    assert result.set_index("ags").loc["00000001", "compared_towns"] == 1


def test_provisional_rows_periods_and_input_dates_by_hand():
    """Honest time: a row is provisional when less than half its inputs are the period's own data;
    a period is provisional when most scored reference-group rows are; input dates span the inputs."""
    inputs = {k: v for k, v in TOWN_A.items() if k != "population_density"}  # the 11 pillar indicators (5 pillars)
    own = values_for({"A": inputs, "B": inputs, "C": inputs}, period=2021).assign(reference_date=pd.Timestamp("2021-12-31"))
    later = own.assign(period=2023)
    # in 2023 (inputs in TOWN_A order; every weight 1, four pillars): A carries its first 6 inputs:
    # digital 3/3, commuting 2/2, demography 1/2, accessibility 0/4 -> (1 + 1 + 0.5 + 0) / 4 = 0.625
    # of the score's weight carried (own 0.375 < 1/2: provisional); B its first 5: (1 + 1 + 0 + 0) / 4
    # = 0.5 (own 0.5: not provisional); C none
    carried = {"A": 6, "B": 5, "C": 0}
    later["imputed"] = later.groupby("ags").cumcount() < later["ags"].map(carried)
    later.loc[later["imputed"], "reference_date"] = pd.Timestamp("2019-06-30")
    later.loc[~later["imputed"], "reference_date"] = pd.Timestamp("2023-12-31")
    result = readiness_index(pd.concat([own, later]), CATALOGUE, {"A", "B", "C"}, [2021, 2023]).set_index(["ags", "period"])
    assert result.loc[("A", 2023), "imputed_share"] == 0.625 and result.loc[("A", 2023), "provisional"]
    assert result.loc[("B", 2023), "imputed_share"] == 0.5 and not result.loc[("B", 2023), "provisional"]
    assert not result.loc[("C", 2023), "provisional"]
    # one of three scored towns provisional in 2023: the period as a whole is not
    assert not result.xs(2023, level="period")["period_provisional"].any()
    assert result.loc[("A", 2023), "oldest_input_date"] == pd.Timestamp("2019-06-30")
    assert result.loc[("A", 2023), "newest_input_date"] == pd.Timestamp("2023-12-31")
    assert result.loc[("C", 2021), "oldest_input_date"] == pd.Timestamp("2021-12-31")
    # two of three provisional: the period is provisional for every row, also C's
    later.loc[later["ags"] == "B", "imputed"] = later.loc[later["ags"] == "A", "imputed"].to_numpy()
    result = readiness_index(pd.concat([own, later]), CATALOGUE, {"A", "B", "C"}, [2021, 2023]).set_index(["ags", "period"])
    assert result.xs(2023, level="period")["period_provisional"].all()
    assert not result.xs(2021, level="period")["period_provisional"].any()


def test_a_row_without_a_score_is_not_provisional():
    """Nieste 2021: no demographic value, so no score; 2/3 of the weight of the pillars it had was carried forward,
    and its page read "Index 2021 · vorläufig" under no score (index review of 5 December). Without a score there is
    nothing to qualify; the carried share stays in the row, the page shows none (reports.context)."""
    inputs = {k: v for k, v in TOWN_A.items() if k != "population_density"}
    without_demography = {k: v for k, v in inputs.items() if CATALOGUE.indicators[k].pillar != "demographic_dynamics"}
    rows = values_for({"A": inputs, "N": without_demography}, period=2021).assign(
        reference_date=pd.Timestamp("2021-12-31"))
    rows["imputed"] = rows["ags"].eq("N")  # every input of N carried forward
    result = readiness_index(rows, CATALOGUE, {"A", "N"}, [2021]).set_index(["ags", "period"])
    assert pd.isna(result.loc[("N", 2021), "score"]) and result.loc[("N", 2021), "imputed_share"] == 1.0
    assert not result.loc[("N", 2021), "provisional"]
    assert provisional(pd.Series([1.0, 1.0]), pd.Series([True, False])).tolist() == [True, False]
