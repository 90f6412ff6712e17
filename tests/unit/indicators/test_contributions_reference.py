"""The cube decomposition of ``change_contributions`` against the frame version it replaced (kept here as the
reference): same rows, same order, same dtypes, every float bit for bit, on random towns, periods and
indicator sets, both aggregations and every kind of pairs. And the one input the frame version got wrong:
two values for one town, indicator and period."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.contributions import (COMPOSITION, OUTPUT_COLUMNS, _check_against_index, _log_mean,
                                      change_contributions, current_version, effective_weights, score_pairs,
                                      usable_values)
from indicators.engine import GEOMETRIC_FLOOR, index_indicators
from indicators.index import in_score, readiness_index

CATALOGUE = load_catalogue()
GEOMETRIC = dataclasses.replace(CATALOGUE, aggregation="geometric")
INDICATORS = index_indicators(CATALOGUE)
CONTEXT = [i for i in CATALOGUE.indicators if i not in INDICATORS]


def reference_change_contributions(values, index, catalogue, pairs="consecutive"):
    """``change_contributions`` as it was before the cube (commit 0c237cd): frame merges, concat, sort."""
    index = current_version(index, catalogue)
    geometric = catalogue.aggregation == "geometric"
    pair_frame = score_pairs(index, pairs)
    if pair_frame.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    scored = index.loc[index["score"].notna(), ["ags", "period", "score"]]
    used = usable_values(values, catalogue).merge(scored[["ags", "period"]], on=["ags", "period"])
    used = in_score(used, used["pillar"], index)  # pillars the score leaves out (added with the rule of 2026-12-03)
    used["c"] = effective_weights(used, catalogue)
    level = np.log(used["normalised"].clip(lower=GEOMETRIC_FLOOR)) if geometric else used["normalised"]
    used["level"] = level
    used["term"] = used["c"] * level
    _check_against_index(used, scored, geometric)
    key = ["ags", "period_from", "period_to"]
    keep = ["ags", "period", "indicator_id", "pillar", "value", "normalised", "c", "level", "term"]
    measured = ["value", "normalised", "c", "level", "term"]
    pair_keys = pair_frame[key]
    side_from = pair_keys.merge(used[keep].rename(columns={"period": "period_from"}), on=["ags", "period_from"])
    side_to = pair_keys.merge(used[keep].rename(columns={"period": "period_to"}), on=["ags", "period_to"])
    rows = (side_from.rename(columns={c: f"{c}_from" for c in measured})
            .merge(side_to.rename(columns={c: f"{c}_to" for c in measured}),
                   on=[*key, "indicator_id", "pillar"], how="outer")
            .merge(pair_frame, on=key))
    both = rows["level_from"].notna() & rows["level_to"].notna()
    mean_weight = (rows["c_from"] + rows["c_to"]) / 2
    rows["own"] = (mean_weight * (rows["level_to"] - rows["level_from"])).where(both)
    rows["rest"] = rows["term_to"].fillna(0.0) - rows["term_from"].fillna(0.0) - rows["own"].fillna(0.0)
    rows["one_sided"] = rows["own"].isna()
    composition = rows.groupby(key).agg(rest=("rest", "sum"), changed=("one_sided", "any"))
    composition = composition[composition["changed"]].reset_index().merge(pair_frame, on=key)
    composition = composition.assign(indicator_id=COMPOSITION, pillar=None, own=composition["rest"])
    out = pd.concat([rows, composition], ignore_index=True)
    if geometric:
        out["contribution"] = out["own"] * _log_mean(out["score_from"], out["score_to"])
    else:
        out["contribution"] = out["own"]
    out = out.rename(columns={"c_from": "weight_from", "c_to": "weight_to"})
    order = {indicator_id: n for n, indicator_id in enumerate(catalogue.indicators)}
    out["_order"] = out["indicator_id"].map(order).fillna(len(order))
    out = out.sort_values([*key, "_order"]).reset_index(drop=True)
    return out[OUTPUT_COLUMNS]


def random_values(seed: int, towns: int = 12) -> pd.DataFrame:
    """indicator_values rows of ``towns`` towns in up to four periods: each (town, period) keeps a random
    subset of the index indicators (so some towns miss a pillar and get no score, and the composition
    changes between periods), some context rows, some excluded values; raw values spread past both
    goalposts, some of them equal in two periods."""
    rng = np.random.default_rng(seed)
    periods = sorted(rng.choice([2015, 2018, 2019, 2021, 2023], size=rng.integers(2, 5), replace=False).tolist())
    rows = []
    for town in range(towns):
        ags = f"0{rng.integers(1, 10)}{town:06d}"  # towns not in sorted order of their keys
        for period in periods:
            kept = [i for i in INDICATORS if rng.random() < 0.85]
            for indicator_id in kept + [c for c in CONTEXT if rng.random() < 0.3]:
                low, high = CATALOGUE.indicators[indicator_id].goalposts
                value = float(np.round(rng.uniform(low - 0.2 * (high - low), high + 0.2 * (high - low)), 2))
                rows.append({"ags": ags, "indicator_id": indicator_id, "period": period, "value": value,
                             "imputed": bool(rng.random() < 0.2),
                             "excluded_reason": "territorial_change" if rng.random() < 0.03 else None})
    values = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)  # rows in any order
    return values


def index_for(values: pd.DataFrame, catalogue) -> pd.DataFrame:
    """The readiness index of ``values`` (every town in the reference group), as the asset computes it."""
    return readiness_index(values, catalogue, set(values["ags"]), sorted(values["period"].unique()))


@functools.lru_cache(maxsize=None)
def _seeded(seed: int, aggregation: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    catalogue = GEOMETRIC if aggregation == "geometric" else CATALOGUE
    values = random_values(seed)
    return values, index_for(values, catalogue)


def seeded(seed: int, catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``random_values(seed)`` and its index, computed once per seed and aggregation for the four kinds of
    pairs (a third of the parametrised test's time went into recomputing them); copies, so that no test can
    change another's input."""
    values, index = _seeded(seed, catalogue.aggregation)
    return values.copy(), index.copy()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("catalogue", [CATALOGUE, GEOMETRIC], ids=["arithmetic", "geometric"])
@pytest.mark.parametrize("pairs", ["consecutive", "first_latest", "both", [(2018, 2023), (2023, 2018)]],
                         ids=["consecutive", "first_latest", "both", "list"])
def test_same_rows_and_bits_as_the_frame_version(seed, catalogue, pairs):
    values, index = seeded(seed, catalogue)
    expected = reference_change_contributions(values, index, catalogue, pairs)
    result = change_contributions(values, index, catalogue, pairs)
    if expected.empty:
        assert result.empty and list(result.columns) == OUTPUT_COLUMNS
        return
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    for column in result.select_dtypes("float").columns:  # bit for bit: -0.0 is not 0.0 here
        new, old = result[column].to_numpy(), expected[column].to_numpy()
        assert np.array_equal(np.isnan(new), np.isnan(old)), column
        assert np.array_equal(new[~np.isnan(new)].view("int64"), old[~np.isnan(old)].view("int64")), column


def test_the_random_inputs_cover_what_the_decomposition_branches_on():
    """Guards the test above against inputs too tame to tell the versions apart."""
    seen = pd.concat([change_contributions(*seeded(seed, CATALOGUE), CATALOGUE, "both") for seed in range(12)])
    assert (seen["indicator_id"] == COMPOSITION).sum() > 50  # the set of indicators changes often
    assert seen["contribution"].isna().sum() > 50  # indicators present on one side only
    assert (seen.groupby(["ags", "period_from", "period_to"])["indicator_id"].size() > 1).all()
    assert (seen["period_from"] > seen["period_to"]).sum() == 0
    assert seen["pillar"].nunique() == len(CATALOGUE.pillars)


def test_two_values_for_one_town_indicator_and_period_are_refused():
    values = random_values(1)
    index = index_for(values, CATALOGUE)
    scored = index.loc[index["score"].notna(), ["ags", "period"]]
    usable = values[values["excluded_reason"].isna() & values["indicator_id"].isin(INDICATORS)]
    row = usable.merge(scored, on=["ags", "period"]).iloc[0]
    # Leave the row alone in its pillar, then give it twice: two equal values that are a pillar's only ones
    # rebuild the same score (each weighs half), so the index check cannot see them. The frame version
    # returned the row twice and counted it twice in the composition row.
    same_cell = (values["ags"] == row["ags"]) & (values["period"] == row["period"])
    pillar = CATALOGUE.indicators[row["indicator_id"]].pillar
    others = same_cell & values["indicator_id"].map(lambda i: CATALOGUE.indicators[i].pillar == pillar) & (
        values["indicator_id"] != row["indicator_id"])
    alone = values[~others].reset_index(drop=True)
    index = index_for(alone, CATALOGUE)
    assert index.set_index(["ags", "period"]).loc[(row["ags"], row["period"]), "score"] > 0
    doubled = pd.concat([alone, alone[(alone["ags"] == row["ags"]) & (alone["period"] == row["period"])
                                      & (alone["indicator_id"] == row["indicator_id"])]], ignore_index=True)
    with pytest.raises(ValueError, match=f"{row['indicator_id']} of {row['ags']} in {row['period']} is given "
                                         "more than once"):
        change_contributions(doubled, index, CATALOGUE, "both")
