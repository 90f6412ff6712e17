"""Change contributions, coherence and peer towns: hand-computed examples and properties."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from indicators.catalogue import load_catalogue
from indicators.coherence import coherence, coherence_markdown, counteracting, spearman
from indicators.contributions import COMPOSITION, change_contributions
from indicators.index import readiness_index
from indicators.peers import peer_towns, structure_features

FULL_CATALOGUE = load_catalogue()
# The hand-computed examples below use the three required pillars of method 0.2.0 and the optional one
# (weights 1/3 each are easy to follow by hand); the accessibility pillar of 0.3.0 changes none of the
# arithmetic tested here, only the number of pillars. It is left out of this test catalogue.
CATALOGUE = dataclasses.replace(
    FULL_CATALOGUE,
    pillars={p: spec for p, spec in FULL_CATALOGUE.pillars.items() if p != "accessibility"},
    indicators={i: spec for i, spec in FULL_CATALOGUE.indicators.items() if spec.pillar != "accessibility"})
GEOMETRIC = dataclasses.replace(CATALOGUE, aggregation="geometric")
PILLARS = list(CATALOGUE.pillars)
PILLAR_INDICATORS = [i for i, spec in CATALOGUE.indicators.items() if spec.pillar in CATALOGUE.pillars]


def values_frame(by_period: dict[int, dict[str, dict[str, float]]]) -> pd.DataFrame:
    """indicator_values rows from {period: {ags: {indicator_id: value}}}."""
    rows = [{"ags": ags, "indicator_id": i, "period": period, "value": v, "imputed": False, "quality_note": None}
            for period, towns in by_period.items() for ags, indicators in towns.items()
            for i, v in indicators.items()]
    return pd.DataFrame(rows)


def index_of(values: pd.DataFrame, catalogue=CATALOGUE, group=None) -> pd.DataFrame:
    group = set(values["ags"]) if group is None else group
    return readiness_index(values, catalogue, group, sorted(values["period"].unique()))


# All pillars' goalposts are chosen so that these raw values are easy to normalise by hand:
# broadband [0, 100] -> value itself; out_commuter [20, 90]; long-distance [0, 40]; population [-2, 2].
TOWN_2018 = {"gigabit_coverage": 40, "broadband_100_coverage": 70, "fibre_coverage": 10,
             "out_commuter_share": 55, "long_distance_commuter_share": 20,
             "population_change_5y": 0.0, "population_change_10y": 1.0}
TOWN_2021 = {**TOWN_2018, "gigabit_coverage": 70, "fibre_coverage": 40, "out_commuter_share": 62}


# --- contributions --------------------------------------------------------------------------------

def test_contributions_by_hand_without_composition_change():
    values = values_frame({2018: {"T": TOWN_2018}, 2021: {"T": TOWN_2021}})
    result = change_contributions(values, index_of(values), CATALOGUE).set_index("indicator_id")
    # Same indicators in both periods: every indicator weighs 1/3 (pillar) x 1/n (its pillar's size).
    # gigabit +30 points at 1/9, fibre +30 at 1/9, out-commuters (55->62: 50 -> 60) +10 at 1/6.
    assert result.loc["gigabit_coverage", "contribution"] == pytest.approx(30 / 9)
    assert result.loc["fibre_coverage", "contribution"] == pytest.approx(30 / 9)
    assert result.loc["out_commuter_share", "contribution"] == pytest.approx(10 / 6)
    assert result.loc["broadband_100_coverage", "contribution"] == 0.0
    assert COMPOSITION not in result.index
    assert result["contribution"].sum() == pytest.approx(60 / 9 + 10 / 6)
    row = result.loc["out_commuter_share"]
    assert (row["value_from"], row["value_to"]) == (55, 62)
    assert (row["normalised_from"], row["normalised_to"]) == pytest.approx((50.0, 60.0))
    assert row["score_to"] - row["score_from"] == pytest.approx(60 / 9 + 10 / 6)
    assert row["weight_from"] == pytest.approx(1 / 6) and row["weight_to"] == pytest.approx(1 / 6)


def test_composition_row_when_an_indicator_disappears_by_hand():
    later = {k: v for k, v in TOWN_2018.items() if k != "population_change_5y"}
    later["population_change_10y"] = 1.4  # normalised 75 -> 85
    values = values_frame({2018: {"T": TOWN_2018}, 2023: {"T": later}})
    result = change_contributions(values, index_of(values), CATALOGUE).set_index("indicator_id")
    # Demography 2018: (50 + 75) / 2 = 62.5, weights 1/6 each; 2023: 85 alone, weight 1/3.
    # 10-year change: mean weight (1/6 + 1/3) / 2 = 1/4, times +10 points = 2.5.
    assert result.loc["population_change_10y", "contribution"] == pytest.approx(2.5)
    # Composition: Δc · mean level of the 10-year change minus the term of the dropped 5-year change:
    # (1/3 - 1/6) * (75 + 85) / 2 - (1/6) * 50 = 13.333 - 8.333 = 5.0
    assert result.loc[COMPOSITION, "contribution"] == pytest.approx(5.0)
    assert math.isnan(result.loc["population_change_5y", "contribution"])
    assert math.isnan(result.loc["population_change_5y", "value_to"])
    # demography 62.5 -> 85 is +22.5 points in a pillar of weight 1/3: +7.5 in the score
    assert result["contribution"].sum() == pytest.approx(7.5)
    assert result["contribution"].sum() == pytest.approx(result["score_to"].iloc[0] - result["score_from"].iloc[0])


def test_composition_row_when_the_optional_pillar_appears():
    later = {**TOWN_2018, "coworking_within_10km": 5}  # coworking pillar at 100, 4 pillars now
    values = values_frame({2018: {"T": TOWN_2018}, 2023: {"T": later}})
    result = change_contributions(values, index_of(values), CATALOGUE).set_index("indicator_id")
    change = result["score_to"].iloc[0] - result["score_from"].iloc[0]
    assert change > 0
    assert result.loc[COMPOSITION, "contribution"] == pytest.approx(change)  # nothing else moved
    assert result.drop(index=COMPOSITION)["contribution"].fillna(0).abs().max() == 0.0
    assert result.loc["coworking_within_10km", "pillar"] == "local_work_infrastructure"


def test_territorial_change_values_are_left_out_of_contributions():
    values = values_frame({2018: {"T": TOWN_2018}, 2021: {"T": TOWN_2021}})
    flagged = (values["indicator_id"] == "population_change_5y") & (values["period"] == 2021)
    values.loc[flagged, "excluded_reason"] = "territorial_change"  # typed: decides, not note text
    result = change_contributions(values, index_of(values), CATALOGUE).set_index("indicator_id")
    assert math.isnan(result.loc["population_change_5y", "value_to"])  # excluded, as in the index
    assert COMPOSITION in result.index
    assert result["contribution"].sum() == pytest.approx(result["score_to"].iloc[0] - result["score_from"].iloc[0])


def test_pairs_consecutive_skip_unscored_periods_and_first_latest():
    no_demography = {k: v for k, v in TOWN_2018.items() if not k.startswith("population")}
    values = values_frame({2018: {"T": TOWN_2018}, 2019: {"T": no_demography},
                           2021: {"T": TOWN_2021}, 2023: {"T": TOWN_2018}})
    index = index_of(values)
    consecutive = change_contributions(values, index, CATALOGUE)
    pairs = set(zip(consecutive["period_from"], consecutive["period_to"]))
    assert pairs == {(2018, 2021), (2021, 2023)}  # 2019 has no score
    first_latest = change_contributions(values, index, CATALOGUE, pairs="first_latest")
    assert set(zip(first_latest["period_from"], first_latest["period_to"])) == {(2018, 2023)}
    assert first_latest["contribution"].abs().max() == pytest.approx(0.0)  # same values in 2018 and 2023
    both = change_contributions(values, index, CATALOGUE, pairs="both")
    assert len(set(zip(both["period_from"], both["period_to"]))) == 3


def test_index_from_other_values_is_refused():
    values = values_frame({2018: {"T": TOWN_2018}, 2021: {"T": TOWN_2021}})
    index = index_of(values)
    index.loc[index["period"] == 2021, "score"] += 1.0
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        change_contributions(values, index, CATALOGUE)


def test_geometric_contributions_by_hand():
    values = values_frame({2018: {"T": TOWN_2018}, 2021: {"T": TOWN_2021}})
    result = change_contributions(values, index_of(values, GEOMETRIC), GEOMETRIC).set_index("indicator_id")
    s0, s1 = result["score_from"].iloc[0], result["score_to"].iloc[0]
    log_mean = (s1 - s0) / (math.log(s1) - math.log(s0))
    # gigabit 40 -> 70 at effective weight 1/9 in logs
    assert result.loc["gigabit_coverage", "contribution"] == pytest.approx(log_mean * math.log(70 / 40) / 9)
    assert result["contribution"].sum() == pytest.approx(s1 - s0)


present_value = st.floats(min_value=-10, max_value=120, allow_nan=False)


@st.composite
def scored_town(draw) -> dict[str, float]:
    """Values for a town that gets a score: each required pillar keeps a non-empty random subset of
    its indicators; the optional coworking indicator is present or not."""
    town = {}
    for pillar in CATALOGUE.pillars:
        members = [i.indicator_id for i in CATALOGUE.in_pillar(pillar)]
        required = pillar in CATALOGUE.required_pillars
        kept = draw(st.lists(st.sampled_from(members), min_size=1 if required else 0, unique=True))
        town.update({i: draw(present_value) for i in kept})
    if draw(st.booleans()):
        town["population_density"] = draw(present_value)  # context: must not enter anything
    return town


# 40 examples (was 100, 9 s of the unit run's ~60): every one builds two index frames in pandas; the
# hand-computed cases above pin the arithmetic, this property sweeps compositions and both aggregations.
@settings(max_examples=40, deadline=None)
@given(first=scored_town(), second=scored_town(), geometric=st.booleans())
def test_contributions_sum_to_the_score_change(first, second, geometric):
    catalogue = GEOMETRIC if geometric else CATALOGUE
    values = values_frame({2018: {"T": first}, 2022: {"T": second}})
    index = index_of(values, catalogue)
    result = change_contributions(values, index, catalogue)
    change = result["score_to"].iloc[0] - result["score_from"].iloc[0]
    assert result["contribution"].sum() == pytest.approx(change, abs=1e-9)
    same_set = set(first) & set(PILLAR_INDICATORS) == set(second) & set(PILLAR_INDICATORS)
    assert (COMPOSITION in set(result["indicator_id"])) == (not same_set)
    assert "population_density" not in set(result["indicator_id"])
    if same_set and not geometric:  # unchanged composition: each row is its own change at its weight
        rows = result.dropna(subset=["normalised_from"])
        own = rows["weight_from"] * (rows["normalised_to"] - rows["normalised_from"])
        assert rows["contribution"].to_numpy() == pytest.approx(own.to_numpy(), abs=1e-9)


# --- coherence ------------------------------------------------------------------------------------

def coherence_towns() -> dict[str, dict[str, float]]:
    """Six towns: gigabit rises with the pillar, fibre falls against it (broadband dominates)."""
    towns = {}
    for n in range(6):
        towns[f"T{n}"] = {"gigabit_coverage": 10 + 10 * n, "broadband_100_coverage": 20 * n,
                          "fibre_coverage": 50 - 2 * n, "out_commuter_share": 30 + 5 * n,
                          "long_distance_commuter_share": 5 + n, "population_change_10y": 0.1 * n}
    return towns


def test_spearman_by_hand():
    a = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    assert spearman(a, a ** 3) == (1.0, 4)  # monotone transform: 1 over the 4 complete pairs
    assert spearman(a, -a)[0] == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (2,1,4,3): 1 - 6*Σd²/(n(n²-1)) = 1 - 6*4/60 = 0.6
    assert spearman(a, pd.Series([2.0, 1.0, 4.0, 3.0, 9.0]))[0] == pytest.approx(0.6)
    assert math.isnan(spearman(a, pd.Series([5.0] * 5))[0])  # constant
    assert math.isnan(spearman(a.iloc[:2], a.iloc[:2])[0])  # too few pairs


def test_coherence_monotone_indicator_is_1_and_reversed_one_counteracts():
    values = values_frame({2021: coherence_towns()})
    frame = coherence(values, index_of(values), CATALOGUE, set(coherence_towns()), 2021)
    own = frame[frame["kind"] == "indicator_pillar"].set_index("item_a")
    assert own.loc["gigabit_coverage", "spearman"] == pytest.approx(1.0)
    assert own.loc["gigabit_coverage", "item_b"] == "digital_infrastructure"
    assert own.loc["fibre_coverage", "spearman"] == pytest.approx(-1.0)
    assert own.loc["gigabit_coverage", "n"] == 6
    flagged = counteracting(frame)
    assert flagged["indicator_id"].tolist() == ["fibre_coverage"]
    assert flagged["pillar"].tolist() == ["digital_infrastructure"]
    assert "fibre_coverage" in coherence_markdown(frame).split("\n\n")[0]
    # every kind is there; indicator pairs only within a pillar; coworking (no data) left out
    assert set(frame["kind"]) == {"indicator_pillar", "indicator_score", "pillar_score", "indicator_indicator"}
    pairs = frame[frame["kind"] == "indicator_indicator"]
    pillar_of = {i: spec.pillar for i, spec in CATALOGUE.indicators.items()}
    assert all(pillar_of[a] == pillar_of[b] for a, b in zip(pairs["item_a"], pairs["item_b"]))
    assert "local_work_infrastructure" not in set(frame["item_a"]) | set(frame["item_b"])
    assert list(frame.columns) == ["period", "item_a", "item_b", "kind", "spearman", "n"]


def test_coherence_uses_reference_group_only_and_pairwise_complete():
    towns = coherence_towns()
    towns["T0"] = {k: v for k, v in towns["T0"].items() if k != "fibre_coverage"}  # one missing value
    towns["OUT"] = {**towns["T5"], "gigabit_coverage": 0}  # outside the group: would break monotony
    values = values_frame({2021: towns})
    group = {f"T{n}" for n in range(6)}
    frame = coherence(values, index_of(values, group=group), CATALOGUE, group, 2021)
    own = frame[frame["kind"] == "indicator_pillar"].set_index("item_a")
    assert own.loc["gigabit_coverage", "spearman"] == pytest.approx(1.0) and own.loc["gigabit_coverage", "n"] == 6
    assert own.loc["fibre_coverage", "n"] == 5


def test_counteracting_threshold():
    frame = pd.DataFrame({"period": 2021, "item_a": ["a", "b", "c", "d", "e"], "item_b": "p",
                          "kind": ["indicator_pillar"] * 4 + ["indicator_score"],
                          "spearman": [0.05, 0.3, np.nan, 0.0, -0.9], "n": 10})
    assert counteracting(frame)["indicator_id"].tolist() == ["d"]  # <= 0: zero counts; score rows do not
    assert counteracting(frame, threshold=0.1)["indicator_id"].tolist() == ["a", "d"]


# --- peers ----------------------------------------------------------------------------------------

def municipalities_frame(rows: list[tuple]) -> pd.DataFrame:
    """(ags, kreis_ags, population, area_km2, in_reference_group) rows."""
    return pd.DataFrame(rows, columns=["ags", "kreis_ags", "population", "area_km2", "in_reference_group"])


MUNICIPALITIES = municipalities_frame([
    ("01001001", "01001", 8000, 40.0, True),
    ("01001002", "01001", 8000, 40.0, True),    # identical to 01001001
    ("01001003", "01001", 15000, 20.0, True),
    ("01001004", "01001", 60000, 50.0, False),  # a city: shapes the Kreis density, not a peer
    ("06002001", "06002", 12000, 30.0, True),
    ("06002002", "06002", 6000, 80.0, True),
    ("14003001", "14003", 9000, 60.0, True),
    ("14003002", "14003", 19000, 35.0, True),
    ("14003003", "14003", 500, 10.0, False),
])
GROUP = set(MUNICIPALITIES.loc[MUNICIPALITIES["in_reference_group"], "ags"])


def peer_index() -> pd.DataFrame:
    towns = {ags: {**TOWN_2018, "gigabit_coverage": 10 * n} for n, ags in enumerate(sorted(GROUP))}
    values = values_frame({2018: towns, 2021: {ags: {**v, "fibre_coverage": 60} for ags, v in towns.items()}})
    return index_of(values, group=GROUP)


def test_peers_never_self_in_group_k_per_town():
    peers = peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=3)
    assert (peers["ags"] != peers["peer_ags"]).all()
    assert set(peers["peer_ags"]) <= GROUP and set(peers["ags"]) == GROUP
    assert peers.groupby("ags").size().eq(3).all()
    assert peers.groupby("ags")["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()
    assert peers.groupby("ags")["similarity"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert ((peers["similarity"] > 0) & (peers["similarity"] <= 1)).all()
    assert len(peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=50)) == len(GROUP) * (len(GROUP) - 1)


def test_identical_towns_are_each_others_first_peer():
    peers = peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=2).set_index(["ags", "rank"])
    assert peers.loc[("01001001", 1), "peer_ags"] == "01001002"
    assert peers.loc[("01001002", 1), "peer_ags"] == "01001001"
    assert peers.loc[("01001001", 1), "similarity"] == 1.0


def test_similarity_by_hand_and_kreis_density():
    features = structure_features(MUNICIPALITIES)
    # Kreis 01001: (8000+8000+15000+60000) / (40+40+20+50) km² = 606.67 / km², the city included
    assert math.exp(features.loc["01001003", "log_kreis_density"]) == pytest.approx(91000 / 150)
    assert features.loc["14003001", "east"] == 1.0 and features.loc["06002001", "east"] == 0.0
    # the expected distance from the raw rows, not from structure_features: per reference-group town its
    # population, area, its Kreis' density (every Gemeinde of the Kreis, the city and the small 14003003
    # included) and whether its Land code is 11-16; z-scores with the population standard deviation
    kreis_density = {"01001": (8000 + 8000 + 15000 + 60000) / (40 + 40 + 20 + 50), "06002": (12000 + 6000) / (30 + 80),
                     "14003": (9000 + 19000 + 500) / (60 + 35 + 10)}
    towns = {"01001001": (8000, 40.0, "01001", 0.0), "01001002": (8000, 40.0, "01001", 0.0),
             "01001003": (15000, 20.0, "01001", 0.0), "06002001": (12000, 30.0, "06002", 0.0),
             "06002002": (6000, 80.0, "06002", 0.0), "14003001": (9000, 60.0, "14003", 1.0),
             "14003002": (19000, 35.0, "14003", 1.0)}
    raw = np.array([[math.log(people), math.log(people / area), math.log(kreis_density[kreis]), east]
                    for people, area, kreis, east in towns.values()])
    z = dict(zip(towns, (raw - raw.mean(axis=0)) / raw.std(axis=0)))  # numpy's std: ddof=0
    distance = float(np.sqrt(((z["01001003"] - z["06002001"]) ** 2).sum()))
    peers = peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=6)
    row = peers[(peers["ags"] == "01001003") & (peers["peer_ags"] == "06002001")].iloc[0]
    assert row["similarity"] == pytest.approx(1 / (1 + distance))


def test_features_are_standardised_so_rescaling_changes_nothing():
    before = peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=4)
    scaled = MUNICIPALITIES.assign(population=MUNICIPALITIES["population"] * 1000)
    after = peer_towns(scaled, None, peer_index(), CATALOGUE, k=4)
    assert after[["ags", "peer_ags", "rank"]].equals(before[["ags", "peer_ags", "rank"]])
    assert after["similarity"].to_numpy() == pytest.approx(before["similarity"].to_numpy())


def test_extra_feature_in_any_unit_weighs_the_same():
    """Without standardisation a centrality in per-mille would swamp the logs; with it, nothing changes."""
    centrality = pd.DataFrame({"ags": sorted(GROUP), "centrality": [0.3, 0.1, 0.9, 0.5, 0.2, 0.7, 0.4]})
    before = peer_towns(MUNICIPALITIES, centrality, peer_index(), CATALOGUE, k=3)
    after = peer_towns(MUNICIPALITIES, centrality.assign(centrality=centrality["centrality"] * 1000),
                       peer_index(), CATALOGUE, k=3)
    assert after[["ags", "peer_ags", "rank"]].equals(before[["ags", "peer_ags", "rank"]])
    assert after["similarity"].to_numpy() == pytest.approx(before["similarity"].to_numpy())
    without = peer_towns(MUNICIPALITIES, None, peer_index(), CATALOGUE, k=3)
    assert not without[["ags", "peer_ags"]].equals(before[["ags", "peer_ags"]])  # the feature does count


def test_extra_features_change_peers_and_ties_break_by_ags():
    extra = pd.DataFrame({"ags": ["01001001", "01001002", "01001003", "06002001", "06002002",
                                  "14003001", "14003002"],
                          "centrality": [0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0]})
    peers = peer_towns(MUNICIPALITIES, extra, peer_index(), CATALOGUE, k=1).set_index("ags")
    assert peers.loc["01001001", "peer_ags"] != "01001002"  # no longer identical
    # two towns at exactly the same distance: the lower AGS wins
    twins = municipalities_frame([("01001001", "01001", 8000, 40.0, True), ("01001009", "01001", 8000, 40.0, True),
                                  ("01001005", "01001", 8000, 40.0, True)])
    ties = peer_towns(twins, None, peer_index().iloc[0:0], CATALOGUE, k=2).set_index(["ags", "rank"])
    assert ties.loc[("01001009", 1), "peer_ags"] == "01001001"
    assert ties.loc[("01001001", 1), "peer_ags"] == "01001005"


def test_each_peer_row_carries_the_dates_of_the_town_s_structure_features():
    """The page said "Ähnlichkeit" without the age of what it compares: each town's rows carry its population's date
    and its commuter balance's (the pipeline's ``job_centrality_date``); a date not given stays empty."""
    from indicators.peers import FEATURE_DATES

    days = {ags: dt.date(2023, 12, 31) if ags < "14" else dt.date(2022, 12, 31) for ags in MUNICIPALITIES["ags"]}
    towns = MUNICIPALITIES.assign(population_date=MUNICIPALITIES["ags"].map(days))
    centrality = pd.DataFrame({"ags": sorted(GROUP), "job_centrality": [3.0, 1.0, 9.0, 5.0, 2.0, 7.0, 4.0],
                               "job_centrality_date": [dt.date(2019, 6, 30)] * 6 + [dt.date(2018, 6, 30)]})
    peers = peer_towns(towns, centrality, peer_index(), CATALOGUE, k=2)
    assert list(peers.columns[4:6]) == FEATURE_DATES == ["population_date", "job_centrality_date"]
    for row in peers.itertuples():
        assert row.population_date == pd.Timestamp(days[row.ags])
        assert row.job_centrality_date == pd.Timestamp(2018 if row.ags == "14003002" else 2019, 6, 30)
    # the dates are no feature: the same peers as without them
    plain = peer_towns(MUNICIPALITIES, centrality.drop(columns="job_centrality_date"), peer_index(), CATALOGUE, k=2)
    assert plain[["ags", "peer_ags", "similarity"]].equals(peers[["ags", "peer_ags", "similarity"]])
    assert plain[FEATURE_DATES].isna().all().all()


def test_peer_gaps_use_latest_scored_period():
    index = peer_index()
    peers = peer_towns(MUNICIPALITIES, None, index, CATALOGUE, k=2)
    assert set(peers["period"]) == {2021}
    latest = index[index["period"] == 2021].set_index("ags")
    row = peers.iloc[0]
    assert row["gap_score"] == pytest.approx(latest.loc[row["peer_ags"], "score"] - latest.loc[row["ags"], "score"])
    assert row["gap_digital_infrastructure"] == pytest.approx(
        latest.loc[row["peer_ags"], "digital_infrastructure"] - latest.loc[row["ags"], "digital_infrastructure"])
    assert row["peer_score"] == pytest.approx(latest.loc[row["peer_ags"], "score"])
    assert {f"gap_{p}" for p in PILLARS} <= set(peers.columns)
    assert peers["gap_local_work_infrastructure"].isna().all()  # no coworking data: no invented gap


def test_peers_ignore_the_index():
    """Peers depend on structure only: a different index leaves them unchanged."""
    index = peer_index()
    shuffled = index.assign(score=index["score"].to_numpy()[::-1])
    a = peer_towns(MUNICIPALITIES, None, index, CATALOGUE)
    b = peer_towns(MUNICIPALITIES, None, shuffled, CATALOGUE)
    assert a[["ags", "peer_ags", "rank", "similarity"]].equals(b[["ags", "peer_ags", "rank", "similarity"]])


def test_peer_gaps_are_of_the_period_the_page_shows_not_a_newer_provisional_one():
    """A provisional newest period put its gaps beside the published period's pillar values on the page."""
    index = peer_index()
    assert set(index["period"]) == {2018, 2021}
    assert peer_towns(MUNICIPALITIES, None, index, CATALOGUE, k=2)["period"].unique().tolist() == [2021]
    index.loc[index["period"] == 2021, "period_provisional"] = True
    peers = peer_towns(MUNICIPALITIES, None, index, CATALOGUE, k=2)
    assert peers["period"].unique().tolist() == [2018]
    first = peers[peers["ags"] == "01001003"].iloc[0]
    by_ags = index[index["period"] == 2018].set_index("ags")["score"]
    assert first["gap_score"] == pytest.approx(by_ags[first["peer_ags"]] - by_ags["01001003"])
