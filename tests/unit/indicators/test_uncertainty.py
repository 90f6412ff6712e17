"""Monte Carlo uncertainty and sensitivity analysis: helpers by hand, properties, and the published configuration."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from indicators.catalogue import load_catalogue
from indicators.index import normalise, readiness_index
from indicators.engine import nearest_values, normalise_matrix, overall_scores, pillar_scores, rank_matrix
from indicators.uncertainty import (
    CHOICES, _option_totals, _RankMoments, catalogue_settings, first_order_effect, masked_quantiles, monte_carlo, published_choices,
    sample_configuration, sample_configurations, uniform_weights,
)

CATALOGUE = load_catalogue()
INDEX_INDICATORS = [i.indicator_id for i in CATALOGUE.indicators.values() if i.pillar in CATALOGUE.pillars]
PUBLISHED = published_choices(CATALOGUE)

TOWN_A = {"gigabit_coverage": 90, "broadband_100_coverage": 100, "fibre_coverage": 50,
          "out_commuter_share": 55, "long_distance_commuter_share": 20,
          "population_change_5y": 0.5, "population_change_10y": -0.5, "population_density": 800,
          "ic_ice_station_car_minutes": 15, "oberzentrum_car_minutes": 30, "transit_stop_distance": 500,
          "transit_stop_within_1km_share": 90}


def values_for(town_values: dict[str, dict[str, float]], period: int = 2021,
               imputed: set[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """indicator_values rows as tests/unit/indicators/test_index.py builds them; (ags, indicator) in ``imputed`` are carried forward."""
    rows = [{"ags": ags, "indicator_id": i, "period": period, "value": v, "imputed": (ags, i) in imputed,
             "imputation": f"carried forward from {period - 1}" if (ags, i) in imputed else None,
             "quality_note": None}
            for ags, indicators in town_values.items() for i, v in indicators.items() if v is not None]
    return pd.DataFrame(rows, columns=["ags", "indicator_id", "period", "value", "imputed", "imputation",
                                       "quality_note"])


def scaled(town: dict[str, float], factor: float) -> dict[str, float]:
    return {k: v * factor for k, v in town.items()}


# Five ordinary towns (distinct values), two periods.
TOWNS = {f"0000000{n}": {**scaled(TOWN_A, 0.5 + 0.12 * n), "population_change_10y": 0.3 * n - 1.0}
         for n in range(1, 6)}
VALUES = pd.concat([values_for(TOWNS, 2021), values_for({a: scaled(t, 0.9) for a, t in TOWNS.items()}, 2022)],
                   ignore_index=True)
GROUP = set(TOWNS)


# --- sampling ------------------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), concentration=st.floats(0.5, 200))
def test_weights_sum_to_one_in_every_draw(seed, concentration):
    for configuration in sample_configurations(CATALOGUE, 20, seed, concentration):
        assert sum(configuration.pillar_weights.values()) == pytest.approx(1.0, abs=1e-12)
        assert set(configuration.pillar_weights) == set(CATALOGUE.pillars)
        for pillar in CATALOGUE.pillars:
            members = [configuration.indicator_weights[i.indicator_id] for i in CATALOGUE.in_pillar(pillar)]
            assert sum(members) == pytest.approx(1.0, abs=1e-12)
        assert all(w >= 0 for w in [*configuration.pillar_weights.values(), *configuration.indicator_weights.values()])
        assert configuration.normalisation in CHOICES["normalisation"]
        assert configuration.imputation in CHOICES["imputation"]
        assert configuration.aggregation in CHOICES["aggregation"]


def test_dirichlet_weights_are_centred_on_the_catalogue_and_vary():
    drawn = sample_configurations(CATALOGUE, 2000, seed=1)
    gigabit = np.array([c.indicator_weights["gigabit_coverage"] for c in drawn])
    digital = np.array([c.pillar_weights["digital_infrastructure"] for c in drawn])
    assert gigabit.mean() == pytest.approx(1 / 3, abs=0.01) and digital.mean() == pytest.approx(1 / 5, abs=0.01)
    # concentration 10: sd = sqrt(w (1 - w) / 11)
    assert gigabit.std() == pytest.approx(math.sqrt(2 / 9 / 11), rel=0.1)
    assert all(c.indicator_weights["coworking_within_10km"] == 1.0 for c in drawn)  # one-indicator pillar
    options = {c.normalisation for c in drawn} | {c.imputation for c in drawn} | {c.aggregation for c in drawn}
    assert options == {o for opts in CHOICES.values() for o in opts}


def test_fixed_configuration_is_the_normalised_catalogue():
    configuration = sample_configuration(np.random.default_rng(0), CATALOGUE, concentration=None, choices=PUBLISHED)
    assert configuration.pillar_weights == {p: 0.2 for p in CATALOGUE.pillars}
    assert configuration.indicator_weights["fibre_coverage"] == pytest.approx(1 / 3)
    assert (configuration.normalisation, configuration.imputation, configuration.aggregation) == \
        ("goalposts", "carry-forward", CATALOGUE.aggregation)


def test_unknown_choice_or_option_is_rejected():
    with pytest.raises(ValueError, match="unknown choice"):
        sample_configurations(CATALOGUE, 1, choices={"weighting": ["x"]})
    with pytest.raises(ValueError, match="subset"):
        sample_configurations(CATALOGUE, 1, choices={"normalisation": ["decimal-scaling"]})


# --- helpers by hand -----------------------------------------------------------------------------------------

def test_normalise_matrix_by_hand():
    values = np.array([[55.0, 10.0], [20.0, np.nan], [90.0, 30.0], [90.0, 20.0]])
    goalposts, directions = [(20, 90), (0, 40)], ["positive", "negative"]
    by_goalposts = normalise_matrix(values, "goalposts", goalposts, directions)
    assert by_goalposts[:, 0].tolist() == pytest.approx([50.0, 0.0, 100.0, 100.0])
    assert by_goalposts[0, 1] == pytest.approx(75.0) and math.isnan(by_goalposts[1, 1])
    min_max = normalise_matrix(values, "min-max", goalposts, directions)
    assert min_max[:, 0].tolist() == pytest.approx([50.0, 0.0, 100.0, 100.0])  # min 20, max 90 of the column
    assert min_max[[0, 2, 3], 1].tolist() == pytest.approx([100.0, 0.0, 50.0])  # reversed: 10 is best
    percentile = normalise_matrix(values, "rank-percentile", goalposts, directions)
    # ranks 2, 1, 3.5, 3.5 of 4 -> (r - 1) / 3 * 100
    assert percentile[:, 0].tolist() == pytest.approx([100 / 3, 0.0, 250 / 3, 250 / 3])
    assert normalise_matrix(np.array([[7.0], [7.0]]), "min-max", [(0, 10)], ["positive"]).ravel().tolist() == [50, 50]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50, 150, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from(INDEX_INDICATORS))
def test_goalpost_normalisation_equals_the_published_one(values, indicator_id):
    indicator = CATALOGUE.indicators[indicator_id]
    matrix = normalise_matrix(np.array(values)[:, None], "goalposts", [indicator.goalposts], [indicator.direction])
    assert matrix[:, 0].tolist() == normalise(values, *indicator.goalposts, indicator.direction).tolist()


def test_an_optional_pillar_counts_where_at_least_half_the_complete_towns_have_it():
    from indicators.engine import counted_pillars
    present = np.array([[True, True, True, True, False],     # required a (the fifth town lacks it)
                        [True, False, False, False, True]])  # optional b: 1 of the 4 complete towns
    assert counted_pillars(present, [True, False]).tolist() == [True, False]
    present[1, 1] = True  # 2 of 4
    assert counted_pillars(present, [True, False]).tolist() == [True, True]
    assert counted_pillars(present, [True, False], compared=np.array([1, 0, 0, 0, 1], bool)).tolist() == [True, True]
    assert counted_pillars(present, [True, False], compared=np.array([0, 1, 1, 1, 1], bool)).tolist() == [True, False]
    present[0] = False  # no town with a score: nothing to compare, everything present counts
    assert counted_pillars(present, [True, False]).tolist() == [True, True]
    pillars = np.array([[[50.0], [50.0], [50.0]], [[100.0], [np.nan], [np.nan]]])  # b for 1 of 3 towns
    assert overall_scores(pillars, np.ones((2, 1)), [True, False])[:, 0].tolist() == [50.0, 50.0, 50.0]


def test_pillar_and_overall_scores_by_hand():
    normalised = np.array([[60.0, 90.0, 30.0, 50.0], [0.0, np.nan, 100.0, np.nan]])
    pillar_of = ["a", "a", "a", "b"]
    weights = np.array([[1 / 3, 0.5], [1 / 3, 0.3], [1 / 3, 0.2], [1.0, 1.0]])  # two draws
    pillars = pillar_scores(normalised, pillar_of, ["a", "b"], weights)
    assert pillars[0, 0].tolist() == pytest.approx([60.0, 63.0])      # (60+90+30)/3 ; .5*60+.3*90+.2*30
    assert pillars[0, 1].tolist() == pytest.approx([50.0, 20 / 0.7])  # 90 missing: (.5*0 + .2*100) / .7
    assert pillars[1, 0].tolist() == [50.0, 50.0] and np.isnan(pillars[1, 1]).all()
    overall = overall_scores(pillars, np.array([[0.5, 0.75], [0.5, 0.25]]), [True, False])
    assert overall[0].tolist() == pytest.approx([55.0, 0.75 * 63 + 0.25 * 50])
    assert overall[1].tolist() == pytest.approx([50.0, 20 / 0.7])    # optional pillar b absent: a alone
    assert np.isnan(overall_scores(pillars, np.ones((2, 2)), [True, True])[1]).all()  # required b missing
    geometric = pillar_scores(np.array([[25.0, 100.0]]), ["a", "a"], ["a"], np.array([[0.5], [0.5]]), "geometric")
    assert geometric[0, 0, 0] == pytest.approx(50.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 5).map(float), st.floats(0, 100)), min_size=1, max_size=25))
def test_rank_matrix_equals_pandas_min_rank(scores):
    column = np.array([np.nan if s is None else s for s in scores])
    expected = pd.Series(column).rank(ascending=False, method="min").to_numpy()
    np.testing.assert_array_equal(rank_matrix(column), expected)
    np.testing.assert_array_equal(rank_matrix(np.stack([column, column[::-1]], axis=1))[:, 1], expected[::-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3)), min_size=6, max_size=6), min_size=1, max_size=8))
def test_masked_quantiles_equal_numpy_nanpercentile(rows):
    matrix = np.array([[np.nan if v is None else v for v in row] for row in rows])
    quantiles, count = masked_quantiles(matrix, (0.5, 0.05, 0.95))
    for r, row in enumerate(matrix):
        assert count[r] == (~np.isnan(row)).sum()
        if count[r]:
            np.testing.assert_allclose(quantiles[r], np.nanquantile(row, [0.5, 0.05, 0.95]), rtol=1e-12, atol=1e-9)
        else:
            assert np.isnan(quantiles[r]).all()


def test_first_order_effect_by_hand():
    options = np.array([0, 0, 1, 1])
    # rank fully determined by the option -> 1; option irrelevant -> 0
    assert first_order_effect(np.array([[1.0, 1.0, 3.0, 3.0]]), options) == pytest.approx(1.0)
    assert first_order_effect(np.array([[1.0, 3.0, 1.0, 3.0]]), options) == pytest.approx(0.0)
    # conditional means 1 and 2, overall 1.5: between = .25; total = mean((1,1,1,3) - 1.5)^2) = .75 -> 1/3
    assert first_order_effect(np.array([[1.0, 1.0, 1.0, 3.0]]), options) == pytest.approx(1 / 3)
    # a row that never varies is left out; an unranked draw (NaN) does not count
    assert first_order_effect(np.array([[2.0, 2.0, 2.0, 2.0], [1.0, np.nan, 3.0, 3.0]]), options) == pytest.approx(1.0)


def test_option_totals_of_all_choices_at_once_give_the_effects_of_one_choice_at_a_time():
    # whole-number ranks with unranked draws, three choices of 3, 2 and 4 options over 200 draws
    rng = np.random.default_rng(3)
    ranks = rng.integers(1, 40, size=(50, 200)).astype(float)
    ranks[rng.random(ranks.shape) < 0.1] = np.nan
    choices = [(rng.integers(0, n, size=200), n) for n in (3, 2, 4)]
    moments = _RankMoments.of(ranks)
    batched = _option_totals(moments, choices)
    for (option_of_draw, n), totals in zip(choices, batched):
        alone = first_order_effect(ranks, option_of_draw, n)
        assert first_order_effect(ranks, option_of_draw, n, moments, totals) == alone  # exact, not approx
        assert 0.0 < alone < 1.0


def test_wide_rank_matrix_ranked_in_column_blocks_equals_each_column_alone():
    # wider than one block (RANK_BLOCK_COLUMNS), with ties and unscored towns in every column
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 12, size=(40, 300)).astype(float)
    scores[rng.random(scores.shape) < 0.15] = np.nan
    wide = rank_matrix(scores)
    for column in range(scores.shape[1]):
        np.testing.assert_array_equal(wide[:, column], rank_matrix(scores[:, column]))
    expected = pd.DataFrame(scores).rank(ascending=False, method="min").to_numpy()
    np.testing.assert_array_equal(wide, expected)


# --- monte_carlo ---------------------------------------------------------------------------------------------

def test_bands_of_several_periods_equal_each_period_scored_alone():
    # Monte Carlo takes one period at a time: a period's bands must not depend on the other periods
    # (carry-forward only: nearest imputation may borrow from another period by design)
    restricted = {"imputation": ("carry-forward",)}
    both, _ = monte_carlo(VALUES, CATALOGUE, GROUP, [2021, 2022], draws=60, seed=11, choices=restricted)
    alone = pd.concat([monte_carlo(VALUES, CATALOGUE, GROUP, [period], draws=60, seed=11, choices=restricted)[0]
                       for period in (2021, 2022)], ignore_index=True)
    assert set(both["period"]) == {2021, 2022}
    pd.testing.assert_frame_equal(both, alone, check_exact=True)


def test_same_seed_gives_identical_frames_and_another_seed_differs():
    first = monte_carlo(VALUES, CATALOGUE, GROUP, [2021, 2022], draws=40, seed=7)
    again = monte_carlo(VALUES, CATALOGUE, GROUP, [2021, 2022], draws=40, seed=7)
    other = monte_carlo(VALUES, CATALOGUE, GROUP, [2021, 2022], draws=40, seed=8)
    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_frame_equal(first[1], again[1])
    assert not first[0].equals(other[0])
    assert not first[1].equals(other[1])


town_value = st.one_of(st.none(), st.floats(min_value=-5, max_value=120, allow_nan=False))
towns_strategy = st.lists(st.fixed_dictionaries({k: town_value for k in [*TOWN_A, "coworking_within_10km"]}),
                          min_size=1, max_size=7)


def frame_of(towns: list[dict], period: int = 2021) -> tuple[pd.DataFrame, dict[str, dict]]:
    named = {f"{n:08d}": town for n, town in enumerate(towns, start=1)}
    return values_for(named, period), named


@settings(max_examples=30, deadline=None)
@given(towns=towns_strategy, seed=st.integers(0, 1000))
def test_rank_bands_are_ordered_and_within_the_compared_towns(towns, seed):
    values, named = frame_of(towns)
    bands, sensitivity = monte_carlo(values, CATALOGUE, set(named), [2021], draws=25, seed=seed)
    ever_ranked = len(bands)
    assert (bands["rank_p05"] <= bands["rank_median"]).all() and (bands["rank_median"] <= bands["rank_p95"]).all()
    assert (bands["rank_p05"] >= 1).all() and (bands["rank_p95"] <= ever_ranked).all()
    assert (bands["rank_median"] <= bands["compared_towns_median"]).all()
    assert (bands["score_p05"] <= bands["score_median"]).all() and (bands["score_median"] <= bands["score_p95"]).all()
    assert ((bands["score_p05"] >= -1e-9) & (bands["score_p95"] <= 100 + 1e-9)).all()  # exp(log(100)) rounding
    assert ((bands["draws_scored"] >= 1) & (bands["draws_scored"] <= 25)).all()
    assert sensitivity["first_order"].between(0, 1).all()


@settings(max_examples=25, deadline=None)
@given(towns=st.lists(st.fixed_dictionaries({k: st.floats(-5, 120) for k in TOWN_A}), min_size=1, max_size=6),
       margin=st.floats(0.01, 20), seed=st.integers(0, 1000))
def test_a_town_dominating_every_indicator_is_first_in_every_draw(towns, margin, seed):
    # best in every indicator: highest where higher is better, lowest for the travel times (direction negative)
    best = {k: min(t[k] for t in towns) - margin if CATALOGUE.indicators[k].direction == "negative"
            else max(t[k] for t in towns) + margin for k in TOWN_A}
    values, named = frame_of([*towns, best])
    bands, _ = monte_carlo(values, CATALOGUE, set(named), [2021], draws=30, seed=seed)
    top = bands.set_index("ags").loc[max(named)]
    assert top["rank_p95"] == 1 and top["rank_p05"] == 1 and top["draws_scored"] == 30


@settings(max_examples=30, deadline=None)
@given(towns=towns_strategy, aggregation=st.sampled_from(["arithmetic", "geometric"]),
       outsider=st.booleans(), territorial=st.booleans())
def test_published_configuration_reproduces_readiness_index(towns, aggregation, outsider, territorial):
    catalogue = dataclasses.replace(CATALOGUE, aggregation=aggregation)
    values, named = frame_of(towns)
    if territorial and len(values):  # this value must be left out by both (no values: nothing to leave out)
        values.loc[values["indicator_id"] == "population_change_10y", "excluded_reason"] = \
            "territorial_change"  # typed: the index decides by it, not by note text
    group = set(list(named)[:-1]) if outsider and len(named) > 1 else set(named)
    published = readiness_index(values, catalogue, group, [2021]).dropna(subset=["rank"]) if len(values) else None
    bands, sensitivity = monte_carlo(values, catalogue, group, [2021], draws=5, concentration=None,
                                     choices=published_choices(catalogue))
    expected = published.set_index("ags") if published is not None else pd.DataFrame(columns=["rank", "score"])
    got = bands.set_index("ags")
    assert sorted(got.index) == sorted(expected.index)
    for ags in expected.index:
        assert got.loc[ags, "rank_median"] == expected.loc[ags, "rank"]
        assert got.loc[ags, "rank_published"] == expected.loc[ags, "rank"]
        assert got.loc[ags, "rank_p05"] == got.loc[ags, "rank_p95"] == expected.loc[ags, "rank"]
        assert got.loc[ags, "score_median"] == pytest.approx(expected.loc[ags, "score"], rel=1e-12)
        assert got.loc[ags, "score_published"] == expected.loc[ags, "score"]  # bit for bit
        assert got.loc[ags, "compared_towns_median"] == expected.loc[ags, "compared_towns"]
    scored = sensitivity.dropna(subset=["mean_abs_rank_shift"])
    assert (scored["mean_abs_rank_shift"] == 0).all() and (sensitivity["first_order"] == 0).all()


def test_towns_outside_the_reference_group_get_no_band():
    bands, _ = monte_carlo(VALUES, CATALOGUE, {"00000001", "00000003"}, [2021, 2022], draws=10)
    assert set(bands["ags"]) == {"00000001", "00000003"}
    assert (bands["compared_towns_median"] == 2).all() and bands["rank_p95"].max() <= 2


def test_geometric_aggregation_with_zero_scores_gives_no_nan():
    zero = {**TOWN_A, "gigabit_coverage": 0, "fibre_coverage": -3, "population_change_5y": -2.5,
            "population_change_10y": -4}
    values = values_for({"00000001": zero, "00000002": TOWN_A, "00000003": {k: 0 for k in TOWN_A}})
    bands, sensitivity = monte_carlo(values, CATALOGUE, {"00000001", "00000002", "00000003"}, [2021], draws=30,
                                     choices={"aggregation": ["geometric"]})
    assert len(bands) == 3 and (bands["draws_scored"] == 30).all()
    assert not bands.drop(columns="rank_published").isna().any().any()
    assert (bands["score_p05"] >= 0.01 - 1e-12).all()  # the floor
    assert not sensitivity[["mean_abs_rank_shift", "first_order"]].isna().any().any()


def test_imputation_none_drops_imputed_rows_and_can_change_the_rank():
    # A's gigabit coverage is carried forward and lifts A above B; without it B is first.
    a = {**TOWN_A, "gigabit_coverage": 100, "broadband_100_coverage": 60, "fibre_coverage": 10}
    b = {**TOWN_A, "gigabit_coverage": 50, "broadband_100_coverage": 70, "fibre_coverage": 30}
    # C's whole commuting pillar is carried forward: without imputation C has no score at all.
    c = {**TOWN_A, "gigabit_coverage": 10, "broadband_100_coverage": 20, "fibre_coverage": 0}
    imputed = {("A", "gigabit_coverage"), ("C", "out_commuter_share"), ("C", "long_distance_commuter_share")}
    values = values_for({"A": a, "B": b, "C": c}, imputed=imputed)
    fixed = {"normalisation": ["goalposts"], "aggregation": ["arithmetic"]}
    with_cf, _ = monte_carlo(values, CATALOGUE, {"A", "B", "C"}, [2021], draws=5, concentration=None,
                             choices={**fixed, "imputation": ["carry-forward"]})
    without, sensitivity = monte_carlo(values, CATALOGUE, {"A", "B", "C"}, [2021], draws=5, concentration=None,
                                       choices={**fixed, "imputation": ["none"]})
    assert with_cf.set_index("ags")["rank_median"].to_dict() == {"A": 1, "B": 2, "C": 3}
    ranks = without.set_index("ags")["rank_median"].to_dict()
    assert ranks == {"B": 1, "A": 2}  # C is not scored in any draw: no band
    digital_a = (60 + 10) / 2  # gigabit dropped, the pillar averages the remaining two
    accessibility = (75 + 50 + 80 + 90) / 4  # 15 and 30 min of 60, 500 of 2500 m reversed; 90 %
    score_a = (digital_a + (50 + 50) / 2 + (62.5 + 37.5) / 2 + accessibility) / 4
    assert without.set_index("ags").loc["A", "score_median"] == pytest.approx(score_a)
    none_row = sensitivity[(sensitivity["choice"] == "imputation") & (sensitivity["option"] == "none")].iloc[0]
    assert none_row["scored_share"] == pytest.approx(2 / 3)  # A and B of the three published-ranked towns
    assert none_row["mean_abs_rank_shift"] == pytest.approx(1.0)  # A 1 -> 2, B 2 -> 1


def test_sensitivity_has_a_row_per_choice_and_option_with_effects_in_0_1():
    bands, sensitivity = monte_carlo(VALUES, CATALOGUE, GROUP, [2021, 2022], draws=60, seed=3)
    for choice, options in CHOICES.items():
        rows = sensitivity[sensitivity["choice"] == choice]
        assert rows["option"].tolist() == list(options)
        assert rows["first_order"].nunique() == 1
    pillar_rows = sensitivity[sensitivity["choice"].str.startswith("pillar_weight:")]
    assert set(pillar_rows["choice"]) == {f"pillar_weight:{p}" for p in CATALOGUE.pillars}
    assert pillar_rows.groupby("choice").size().eq(3).all()
    indicator_rows = sensitivity[sensitivity["choice"].str.startswith("indicator_weight:")]
    assert "indicator_weight:coworking_within_10km" not in set(indicator_rows["choice"])  # alone in its pillar
    assert len(set(indicator_rows["choice"])) == 11  # 3 broadband + 2 commuting + 2 population + 4 accessibility
    assert sensitivity["first_order"].between(0, 1).all()
    assert sensitivity.groupby("choice")["draws"].sum().eq(60).all()
    assert (sensitivity["mean_abs_rank_shift"].dropna() >= 0).all()


def test_first_order_is_one_for_the_only_varying_choice_that_reorders_towns():
    # arithmetic and geometric means order these two towns differently: (50, 50) vs (100, 10)
    even = {**TOWN_A, "gigabit_coverage": 50, "broadband_100_coverage": 50, "fibre_coverage": 50}
    uneven = {**TOWN_A, "gigabit_coverage": 100, "broadband_100_coverage": 100, "fibre_coverage": 1}
    values = values_for({"E": even, "U": uneven})
    _, sensitivity = monte_carlo(values, CATALOGUE, {"E", "U"}, [2021], draws=40, concentration=None,
                                 choices={"normalisation": ["goalposts"], "imputation": ["carry-forward"]})
    effect = sensitivity.groupby("choice")["first_order"].first()
    assert effect["aggregation"] == pytest.approx(1.0)
    assert effect["normalisation"] == 0.0 and effect["imputation"] == 0.0
    shift = sensitivity.set_index(["choice", "option"])["mean_abs_rank_shift"]
    assert shift[("aggregation", "arithmetic")] == 0.0 and shift[("aggregation", "geometric")] == 1.0


def test_nearest_imputation_looks_both_ways_within_the_window():
    observed = pd.DataFrame({"ags": ["T", "T"], "indicator_id": ["population_change_10y"] * 2,
                             "period": [2013, 2021], "value": [1.0, 3.0]})
    found = nearest_values(observed, [2017, 2018, 2027], CATALOGUE).set_index("period")["value"]
    assert found.loc[2018] == 3.0   # 2021 is 3 years away, 2013 is 5
    assert found.loc[2017] == 1.0   # a tie (4 and 4 years) goes to the earlier value
    assert 2027 not in found.index  # 6 years from 2021: beyond carry_forward_years (5)


# --- the defended alternatives (catalogue uncertainty section) -----------------------------------------------

def test_uniform_weights_stay_within_25_percent_of_the_catalogue():
    drawn = sample_configurations(CATALOGUE, 500, seed=2, weight_spread=0.25)
    digital = np.array([[c.indicator_weights[i.indicator_id] for i in CATALOGUE.in_pillar("digital_infrastructure")]
                        for c in drawn])
    pillars = np.array([list(c.pillar_weights.values()) for c in drawn])
    for matrix in (digital, pillars):
        assert np.allclose(matrix.sum(axis=1), 1.0)
        ratios = matrix[:, :, None] / matrix[:, None, :]  # equal catalogue weights: ratios within 0.75/1.25 .. 1.25/0.75
        assert ratios.min() >= 0.75 / 1.25 - 1e-12 and ratios.max() <= 1.25 / 0.75 + 1e-12
        assert matrix.mean(axis=0) == pytest.approx(np.full(matrix.shape[1], 1 / matrix.shape[1]), abs=0.01)
    assert all(c.indicator_weights["coworking_within_10km"] == 1.0 for c in drawn)
    with pytest.raises(ValueError, match="spread"):
        uniform_weights(np.random.default_rng(0), [1, 1], 1.5)


def test_percentile_goalposts_by_hand():
    column = np.arange(1.0, 22.0)[:, None]  # 1..21: 5th percentile 2, 95th percentile 20
    scaled = normalise_matrix(column, "percentile-goalposts", [(0, 100)], ["positive"])[:, 0]
    assert scaled[[0, 1, 10, 19, 20]].tolist() == pytest.approx([0.0, 0.0, 50.0, 100.0, 100.0])
    reversed_ = normalise_matrix(column, "percentile-goalposts", [(0, 100)], ["negative"])[:, 0]
    assert reversed_[10] == pytest.approx(50.0) and reversed_[0] == 100.0
    mostly_equal = np.array([[0.0]] * 20 + [[10.0]])  # p05 == p95: the full range is used instead
    assert normalise_matrix(mostly_equal, "percentile-goalposts", [(0, 100)], ["positive"])[[0, 20], 0].tolist() == \
        [0.0, 100.0]


def test_geometric_pillars_is_arithmetic_within_and_geometric_across_pillars():
    values = values_for({"A": TOWN_A, "B": scaled(TOWN_A, 0.8)})
    fixed = {"normalisation": ["goalposts"], "imputation": ["carry-forward"], "aggregation": ["geometric-pillars"]}
    bands, _ = monte_carlo(values, CATALOGUE, {"A", "B"}, [2021], draws=3, concentration=None, choices=fixed)
    a = bands.set_index("ags").loc["A"]
    # pillars of A (arithmetic within): digital (90+100+50)/3 = 80, commuting 50, demographic (62.5+37.5)/2 = 50,
    # accessibility (75+50+80+90)/4 = 73.75 (15, 30 min of 0..60 and 500 m of 0..2500 reversed; 90 % of 0..100)
    # published (arithmetic across): (80+50+50+73.75)/4 = 253.75/4 = 63.4375
    assert a["score_published"] == pytest.approx(63.4375)
    assert a["score_median"] == pytest.approx((80 * 50 * 50 * 73.75) ** (1 / 4))  # geometric across: 61.97


def test_score_band_uses_the_draws_on_the_published_scale():
    choices = {"normalisation": ["rank-percentile", "goalposts"], "imputation": ["carry-forward"],
               "aggregation": ["arithmetic"]}
    bands, _ = monte_carlo(VALUES, CATALOGUE, GROUP, [2021], draws=40, seed=5, concentration=None, choices=choices)
    # weights fixed, goalposts in the score band only: every quantile is the published score
    assert np.allclose(bands["score_p05"], bands["score_published"])
    assert np.allclose(bands["score_p95"], bands["score_published"])
    only_percentile, _ = monte_carlo(VALUES, CATALOGUE, GROUP, [2021], draws=10, seed=5, concentration=None,
                                     choices={**choices, "normalisation": ["rank-percentile"]})
    # no draw on the published scale: the band falls back to all draws. Rank-percentile over the five towns
    # (every raw value rises with n): a town of rank r in {0, 25, 50, 75, 100} scores r in digital, commuting
    # and demographic; in accessibility its three travel-time/distance indicators (direction negative) score
    # 100 - r and the 1-km share r, so (3 (100 - r) + r) / 4 = 75 - r/2. Score (3 r + 75 - r/2) / 4 = 18.75 + 0.625 r:
    # 18.75, 34.375, 50, 65.625, 81.25
    assert sorted(only_percentile["score_median"].round(6)) == [18.75, 34.375, 50.0, 65.625, 81.25]


def test_catalogue_settings_are_what_the_pipeline_samples():
    settings_ = catalogue_settings(CATALOGUE)
    assert settings_["choices"] == {"normalisation": ("goalposts", "percentile-goalposts", "z-score"),
                                    "imputation": ("carry-forward", "nearest"),
                                    "aggregation": ("arithmetic", "geometric-pillars")}
    assert settings_["weight_spread"] == 0.25 and settings_["draws"] == 1000 and settings_["seed"] == 20261124
    wrong = dataclasses.replace(CATALOGUE, uncertainty={**CATALOGUE.uncertainty, "weights": {"method": "ahp"}})
    with pytest.raises(ValueError, match="weights.method"):
        catalogue_settings(wrong)
    drawn = sample_configurations(CATALOGUE, 200, settings_["seed"], settings_["concentration"], settings_["choices"],
                                  settings_["weight_spread"])
    assert {c.normalisation for c in drawn} == {"goalposts", "percentile-goalposts", "z-score"}
    assert {c.aggregation for c in drawn} == {"arithmetic", "geometric-pillars"}


def test_draws_and_seed_are_the_catalogues_and_only_the_catalogues():
    """Without draws or seed, monte_carlo samples the catalogue's; a catalogue without them is refused (no number
    of the code stands in for a missing one)."""
    mine = dataclasses.replace(CATALOGUE, uncertainty={**CATALOGUE.uncertainty, "draws": 7, "seed": 3})
    implied, _ = monte_carlo(VALUES, mine, GROUP, [2021])
    given, _ = monte_carlo(VALUES, CATALOGUE, GROUP, [2021], draws=7, seed=3)
    other, _ = monte_carlo(VALUES, CATALOGUE, GROUP, [2021], draws=7, seed=4)
    pd.testing.assert_frame_equal(implied, given)
    assert not implied.equals(other)  # the seed is used, not ignored
    for missing in ("draws", "seed"):
        bare = dataclasses.replace(CATALOGUE, uncertainty={k: v for k, v in CATALOGUE.uncertainty.items() if k != missing})
        with pytest.raises(ValueError, match="catalogue uncertainty: draws .* and seed must be whole numbers"):
            catalogue_settings(bare)
        with pytest.raises(ValueError, match="catalogue uncertainty"):
            monte_carlo(VALUES, bare, GROUP, [2021], **({"seed": 1} if missing == "draws" else {"draws": 2}))


def test_a_town_without_a_published_rank_gets_no_band_though_nearest_draws_score_it():
    """D has no commuting value in 2021, only in 2022: unranked in 2021 as published, scored there by the draws
    that take the nearest (later) value. A band beside no rank read as a rank D does not have."""
    commuting = {"out_commuter_share", "long_distance_commuter_share"}
    d_2021 = {k: v for k, v in TOWN_A.items() if k not in commuting}
    values = pd.concat([VALUES, values_for({"D": d_2021}, 2021), values_for({"D": TOWN_A}, 2022)], ignore_index=True)
    bands, _ = monte_carlo(values, CATALOGUE, GROUP | {"D"}, [2021, 2022], draws=20,
                           choices={"imputation": ["nearest"]})
    assert ("D", 2022) in set(zip(bands["ags"], bands["period"]))
    assert ("D", 2021) not in set(zip(bands["ags"], bands["period"]))
    assert bands["rank_published"].notna().all()
    # the draws did score D in 2021: the other towns' 2021 ranks were compared with six towns, not five
    assert bands.loc[bands["period"] == 2021, "compared_towns_median"].eq(6).all()


def test_a_band_end_beyond_the_compared_towns_is_the_last_rank():
    """Ludwigsstadt 2018: "Rang 3.197 von 3223, Rangband 2.922–3.261" – a draw ranks more towns than the published
    configuration; the band's end is published as that count."""
    import numpy as np

    from indicators.uncertainty import capped_at_compared

    published = np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]])  # 2 towns ranked in the first period, 3 in the second
    ranks = np.array([1.5, 2.7, 3.0, 1.5, 2.7, 3.0])
    assert capped_at_compared(ranks, published).tolist() == [1.5, 2.0, 2.0, 1.5, 2.7, 3.0]
