"""One scoring engine (indicators/engine.py): the published index is the draw with the catalogue's choices.

The snapshot tests compare the pipeline's readiness_index with (a) the engine run directly and
(b) an independent row-by-row pandas computation of the published method (the former pandas
engine, kept here as an oracle), and the Monte Carlo's published configuration with both.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from indicators import engine
from indicators.catalogue import load_catalogue
from indicators.uncertainty import monte_carlo, published_choices

CATALOGUE = load_catalogue()


def oracle_index(values: pd.DataFrame, group: set[str], periods: list[int]) -> pd.DataFrame:
    """Published scores the plain way: normalise each row, pivot, weighted means per town with pandas.

    Independent of the engine's matrix code (no cube, no batched weights); arithmetic only, as the
    catalogue publishes. Returns (ags, period) -> score and rank among ``group``."""
    assert CATALOGUE.aggregation == "arithmetic"
    indicators = {i.indicator_id: i for i in CATALOGUE.indicators.values() if i.pillar in CATALOGUE.pillars}
    used = values[values["indicator_id"].isin(indicators) & values["excluded_reason"].isna()
                  & values["period"].isin(periods)].copy()
    def scaled(value, indicator):
        low, high = indicators[indicator].goalposts
        return min(max((value - low) / (high - low) * 100.0, 0.0), 100.0)

    used["scaled"] = [scaled(v, i) for v, i in zip(used["value"], used["indicator_id"])]
    used.loc[used["indicator_id"].map(lambda i: indicators[i].direction) == "negative", "scaled"] = \
        100.0 - used["scaled"]
    used["pillar"] = used["indicator_id"].map(lambda i: indicators[i].pillar)
    used["w"] = used["indicator_id"].map(lambda i: float(indicators[i].weight))
    pillars = (used.assign(ws=used["w"] * used["scaled"]).groupby(["ags", "period", "pillar"])[["ws", "w"]].sum()
               .pipe(lambda f: f["ws"] / f["w"]).unstack("pillar"))
    weights = pd.Series({p: float(s["weight"]) for p, s in CATALOGUE.pillars.items()})[pillars.columns]
    score = (pillars.fillna(0) * weights).sum(axis=1) / (pillars.notna() * weights).sum(axis=1)
    complete = pillars.reindex(columns=CATALOGUE.required_pillars).notna().all(axis=1)
    frame = pd.DataFrame({"score": score.where(complete)}).reset_index()
    # as published: rounded as SQL's round(score, 1) rounds (halves away from zero), an implementation apart
    frame["shown"] = [r for (r,) in duckdb.execute("SELECT round(v, ?) FROM unnest(?::DOUBLE[]) t(v)",
                                                   [CATALOGUE.score_decimals, frame["score"].tolist()]).fetchall()]
    ranked = frame["shown"].astype(float).where(frame["ags"].isin(group))
    frame["rank"] = ranked.groupby(frame["period"]).rank(ascending=False, method="min")
    return frame.set_index(["ags", "period"])


@pytest.fixture(scope="module")
def snapshot_inputs(snapshot_warehouse):
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        values = con.execute("SELECT * FROM indicator_values").df()
        group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
        index = con.execute("SELECT * FROM readiness_index WHERE method_version = ?",
                            [CATALOGUE.method_version]).df()
    # the index periods (some without any score) and the scored ones, which the Monte Carlo uses
    periods = sorted(int(p) for p in index["period"].unique())
    scored = sorted(int(p) for p in index.loc[index["score"].notna(), "period"].unique())
    return values, group, periods, scored, index.set_index(["ags", "period"]).sort_index()


def test_published_index_is_the_engine_with_the_catalogue_choices(snapshot_inputs):
    values, group, periods, _, index = snapshot_inputs
    inputs = engine.prepare(values, CATALOGUE, set(index.index.get_level_values("ags")), periods)
    pillars, overall = engine.score_method(inputs, CATALOGUE, engine.published_method(CATALOGUE))
    direct = pd.DataFrame({"score": overall.ravel(), **{p: pillars[:, k, :].ravel()
                                                        for k, p in enumerate(CATALOGUE.pillars)}},
                          index=pd.MultiIndex.from_product([inputs.periods, inputs.towns], names=["period", "ags"]))
    direct = direct.swaplevel().reindex(index.index)
    scored = index["score"].notna()
    assert scored.sum() > 100  # the snapshot scores every pilot town in several periods
    for column in ["score", *CATALOGUE.pillars]:  # bit for bit, missing where missing
        np.testing.assert_array_equal(direct[column].to_numpy(), index[column].to_numpy(dtype=float))


def test_published_index_matches_an_independent_pandas_computation(snapshot_inputs):
    values, group, periods, _, index = snapshot_inputs
    oracle = oracle_index(values, group, periods).reindex(index.index)
    scored = index["score"].notna()
    assert (oracle["score"].notna() == scored).all()
    assert np.abs(oracle.loc[scored, "score"] - index.loc[scored, "score"]).max() < 1e-9
    ranked = index["rank"].notna()
    assert ranked.sum() > 0 and (oracle["rank"].notna() == ranked).all()
    assert (oracle.loc[ranked, "rank"].astype(int) == index.loc[ranked, "rank"].astype(int)).all()


def test_monte_carlo_published_configuration_is_the_published_index(snapshot_inputs):
    values, group, _, periods, index = snapshot_inputs
    bands, _ = monte_carlo(values, CATALOGUE, group, periods, draws=3, concentration=None,
                           choices=published_choices(CATALOGUE))
    got = bands.set_index(["ags", "period"])
    published = index[index["rank"].notna()]
    assert len(published) > 0 and set(published.index) <= set(got.index)
    np.testing.assert_array_equal(got.loc[published.index, "score_published"].to_numpy(),
                                  published["score"].to_numpy(dtype=float))
    assert (got.loc[published.index, "rank_published"].astype(int) == published["rank"].astype(int)).all()
    # every draw is the published configuration: the band collapses onto the published rank
    assert (got.loc[published.index, "rank_p05"] == published["rank"].astype(float)).all()
    assert (got.loc[published.index, "rank_p95"] == published["rank"].astype(float)).all()


def test_pipeline_writes_rank_bands_and_score_intervals_next_to_the_score(snapshot_inputs):
    *_, index = snapshot_inputs
    ranked = index[index["rank"].notna()]
    for column in ["rank_p05", "rank_median", "rank_p95", "score_p05", "score_median", "score_p95"]:
        assert ranked[column].notna().all(), column
    assert (ranked["rank_p05"] <= ranked["rank_p95"]).all() and (ranked["score_p05"] <= ranked["score_p95"]).all()


def test_z_score_normalisation_by_hand():
    # 1..21: winsorised at the 5th/95th percentile (2 and 20), mean 11, population sd of the clipped values
    column = np.arange(1.0, 22.0)[:, None]
    clipped = np.clip(column[:, 0], 2.0, 20.0)
    sd = float(np.sqrt(((clipped - 11.0) ** 2).mean()))
    scaled = engine.normalise_matrix(column, "z-score", [(0, 100)], ["positive"])[:, 0]
    assert scaled[10] == pytest.approx(50.0)
    assert scaled[0] == scaled[1] == pytest.approx(50.0 + 10.0 * (2.0 - 11.0) / sd)  # 1 winsorised to 2
    assert scaled[20] == pytest.approx(50.0 + 10.0 * 9.0 / sd)
    mirrored = engine.normalise_matrix(column, "z-score", [(0, 100)], ["negative"])[:, 0]
    assert mirrored == pytest.approx(100.0 - scaled)  # z of the negated value: best is the lowest
    assert engine.normalise_matrix(np.array([[3.0], [3.0]]), "z-score", [(0, 1)], ["positive"]).ravel().tolist() == \
        [50.0, 50.0]


def test_duplicate_values_for_one_cell_are_an_error_naming_the_cell():
    values = pd.DataFrame({"ags": ["01", "01"], "indicator_id": ["fibre_coverage"] * 2, "period": [2021, 2021],
                           "value": [10.0, 20.0], "imputed": [False, False], "excluded_reason": [None, None]})
    with pytest.raises(ValueError, match="01 fibre_coverage 2021"):
        engine.prepare(values, CATALOGUE, {"01"}, [2021])
