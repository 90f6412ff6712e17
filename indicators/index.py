"""The published index: pillar scores, overall score, rank and the honest-time columns per town and period.

The scoring itself is :mod:`indicators.engine` with the catalogue's choices (the same engine the
Monte Carlo of indicators/uncertainty.py draws from); this module adds what a published row
says besides its score: missing and omitted pillars, the carried-forward share, input dates,
rank, provisional flags. All functions are pure (pandas/numpy in, pandas/numpy out) and tested
against hand-computed values in tests/unit/indicators/test_index.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators import engine, flags
from indicators.catalogue import Catalogue
from indicators.engine import index_rows  # noqa: F401  (one rule for every user of the index)
from sources.frames import per_distinct


def normalise(values, low: float, high: float, direction: str = "positive"):
    """Min-max with fixed goalposts, clipped to 0..100; reversed for direction 'negative' (the engine's goalposts)."""
    return engine.goalpost_scale(values, low, high, direction)


def aggregate(scores: pd.DataFrame, weights: dict[str, float], method: str = "arithmetic") -> pd.Series:
    """Weighted mean across columns, renormalising weights over the non-missing columns of each row.

    ``geometric`` uses the weighted geometric mean (scores floored at 0.01 so one zero
    does not wipe out the rest). A row with no value at all gives NaN. The engine's
    :func:`indicators.engine.weighted_mean` for one weight set, on a DataFrame.
    """
    if method not in ("arithmetic", "geometric"):
        raise ValueError(f"aggregation {method!r} must be 'arithmetic' or 'geometric'")
    matrix = scores.to_numpy(dtype=float).T
    weight_column = np.array([[float(weights[c])] for c in scores.columns]).reshape(len(scores.columns), 1)
    mean, _ = engine.weighted_mean(matrix, ~np.isnan(matrix), weight_column, method)
    return pd.Series(mean[:, 0], index=scores.index)


# Honest time: an index row is "provisional" when less than this share of its score's weight rests on
# the period's own data (the rest carried forward from earlier releases; carried_weight_share). A period is published as
# "the latest" (latest_ranking, headline of the reports) only when most of the reference group's
# scored rows of that period are not provisional; later periods are shown as provisional carry-forwards.
MIN_OWN_DATA_SHARE = 0.5


def readiness_index(values: pd.DataFrame, catalogue: Catalogue, reference_group: set[str],
                    periods: list[int]) -> pd.DataFrame:
    """Pillar scores, overall score and rank per (ags, period) for the given index periods.

    ``values`` holds indicator_values rows (ags, indicator_id, period, value, imputed,
    excluded_reason). A value computed across a territorial change (e.g. population change
    of a town that absorbed a neighbour) is left out: it measures the merger, not the
    town. The overall score needs every pillar; a town missing one gets no score (NaN)
    and the pillar is named in ``missing_pillars``. Ranks compare towns of ``reference_group``;
    each of its towns has a row in every period, even without any data (all pillars missing).
    """
    indicators = {i.indicator_id: i for i in catalogue.indicators.values() if i.pillar in catalogue.pillars}
    used = values[index_rows(values, catalogue) & values["period"].isin(periods)].copy()
    # the engine with the catalogue's choices: the published score is one Monte Carlo draw
    inputs = engine.prepare(values, catalogue, set(used["ags"]) | set(reference_group), periods)
    compared = np.isin(inputs.towns, list(reference_group))  # the towns whose ranking an optional pillar must suit
    pillar_cube, overall = engine.score_method(inputs, catalogue, engine.published_method(catalogue), compared)
    rows = pd.MultiIndex.from_product([inputs.periods, inputs.towns], names=["period", "ags"])
    result = pd.DataFrame({pillar: pillar_cube[:, k, :].ravel() for k, pillar in enumerate(catalogue.pillars)},
                          index=rows)
    result["score"] = overall.ravel()
    result = result.swaplevel().sort_index()
    # a row per reference-group town and period, and per other town only where it has data that period
    result = result[result.index.isin(pd.MultiIndex.from_frame(used[["ags", "period"]]))
                    | result.index.get_level_values("ags").isin(set(reference_group))]
    pillar_weights = {p: float(spec["weight"]) for p, spec in catalogue.pillars.items()}
    required = catalogue.required_pillars
    result["missing_pillars"] = _missing_pillars(result, required)
    result["omitted_pillars"] = _omitted_pillars(result, catalogue)
    result["uncompared_pillars"] = _uncompared_pillars(result, pillar_cube, inputs.periods, catalogue, compared)
    sources = {p: catalogue.pillar_sources(p) for p in catalogue.pillars}
    # rendered once per distinct pair of typed values, not once per row (hundreds of thousands Germany-wide)
    pairs = result["omitted_pillars"].fillna("") + "|" + result["uncompared_pillars"].fillna("")
    result["notes"] = per_distinct(pairs, lambda pair: flags.render_omitted(
        pair.split("|")[0] or None, sources, uncompared=pair.split("|")[1] or None))
    # what the score rests on, for the two below
    used = in_score(used, used["indicator_id"].map({i: spec.pillar for i, spec in indicators.items()}),
                    result["uncompared_pillars"].rename_axis(["ags", "period"]).reset_index())
    result["imputed_share"] = carried_weight_share(used, indicators, pillar_weights).reindex(result.index).round(3)
    dates = input_dates(used).reindex(result.index)
    result["oldest_input_date"] = dates["oldest_input_date"]
    result["newest_input_date"] = dates["newest_input_date"]
    result = result.reset_index()
    result["in_reference_group"] = result["ags"].isin(reference_group)
    result["rank"] = _rank(result, catalogue.score_decimals)
    result["compared_towns"] = result.groupby("period")["rank"].transform("count")
    result["provisional"] = provisional(result["imputed_share"], result["score"].notna())
    result["period_provisional"] = period_provisional(result)
    result["method_version"] = catalogue.method_version
    return result


def input_dates(used: pd.DataFrame) -> pd.DataFrame:
    """Oldest and newest reference date of the inputs of each (ags, period): what a score rests on.

    Without a ``reference_date`` column (hand-made test frames) both are missing (NaT)."""
    if "reference_date" not in used or used.empty:
        empty = pd.MultiIndex.from_arrays([[], []], names=["ags", "period"])
        return pd.DataFrame({"oldest_input_date": pd.Series(dtype="datetime64[ns]"),
                             "newest_input_date": pd.Series(dtype="datetime64[ns]")}, index=empty)
    dates = pd.to_datetime(used["reference_date"]).groupby([used["ags"], used["period"]])
    return pd.DataFrame({"oldest_input_date": dates.min(), "newest_input_date": dates.max()})


def carried_weight_share(used: pd.DataFrame, indicators: dict, pillar_weights: dict[str, float]) -> pd.Series:
    """Share (0-1) of each (ags, period) score's weight that rests on carried-forward values.

    Each input counts with the weight it has in the score (pillar weight times its share of the
    pillar's indicator weights), not one vote per indicator: four slowly changing accessibility
    indicators of 2018/2020 must not outvote the three broadband figures of the period itself.
    """
    frame = pd.DataFrame({"ags": used["ags"], "period": used["period"], "imputed": used["imputed"].astype(float),
                          "pillar": used["indicator_id"].map({k: i.pillar for k, i in indicators.items()}),
                          "weight": used["indicator_id"].map({k: float(i.weight) for k, i in indicators.items()})})
    keys = ["ags", "period", "pillar"]
    in_pillar = frame["weight"] / frame.groupby(keys)["weight"].transform("sum")
    frame["weight"] = (in_pillar * frame["pillar"].map(pillar_weights)).fillna(0.0)
    frame["carried"] = frame["weight"] * frame["imputed"]
    sums = frame.groupby(["ags", "period"])[["carried", "weight"]].sum()
    return (sums["carried"] / sums["weight"]).where(sums["weight"] > 0)


def provisional(imputed_share: pd.Series, scored: pd.Series | None = None) -> pd.Series:
    """A row is provisional when less than MIN_OWN_DATA_SHARE of its inputs are the period's own data.

    A row without inputs (no data at all), or without a score (``scored`` False: a required pillar missing), is not
    provisional: it has no score to qualify. Nieste's page read "Index 2021 · vorläufig" under no score, the share
    taken over the pillars it had (index review of 5 December)."""
    own = 1.0 - imputed_share
    qualifies = imputed_share.notna() if scored is None else imputed_share.notna() & scored.to_numpy(dtype=bool)
    return (own < MIN_OWN_DATA_SHARE).where(qualifies, False).astype(bool)


def period_provisional(result: pd.DataFrame) -> pd.Series:
    """Per row, whether its period as a whole is provisional: more than half of the reference
    group's scored rows of the period are provisional (then the period is not published as "the latest")."""
    scored = result[result["in_reference_group"] & result["score"].notna()]
    share = scored.groupby("period")["provisional"].mean()
    flags = (share > 0.5).to_dict()
    return result["period"].map(lambda period: bool(flags.get(period, False))).astype(bool)


def latest_published_period(index: pd.DataFrame) -> int | None:
    """The period published as "the latest": the newest scored one that is not provisional, else the newest
    scored one (the latest_ranking view in warehouse/views.sql applies the same rule in SQL). Every page part and
    the peer comparison take this one, so a page never puts one year's pillar beside another year's gaps."""
    scored = index[index["score"].notna()]
    final = scored.loc[~scored["period_provisional"].fillna(False).astype(bool), "period"]
    periods = final if not final.empty else scored["period"]
    return int(periods.max()) if not periods.empty else None


def _missing_pillars(result: pd.DataFrame, required: list[str]) -> np.ndarray:
    """Required pillars without a score per row (', '-separated in the given order), None where none is missing.

    Column by column over the pillars, not row by row (a Python call per row was seconds of the step)."""
    missing = np.full(len(result), "", dtype=object)
    for pillar in required:
        absent = result[pillar].isna().to_numpy()
        missing[absent] = np.where(missing[absent] == "", pillar, missing[absent] + ", " + pillar)
    missing[missing == ""] = None
    return missing


def _omitted_pillars(result: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """Optional pillars a score leaves out for lack of data (comma-separated ids), instead of inventing values."""
    omitted = pd.Series("", index=result.index)
    for pillar in sorted(set(catalogue.pillars) - set(catalogue.required_pillars)):
        omitted = omitted.where(result[pillar].notna(), (omitted + ",").where(omitted != "", "") + pillar)
    return omitted.replace("", None)


def _uncompared_pillars(result: pd.DataFrame, pillar_cube: np.ndarray, periods: list[int],
                        catalogue: Catalogue, compared: np.ndarray) -> pd.Series:
    """Optional pillars a row has but its score leaves out: in its period fewer than half of the towns have them
    (engine.counted_pillars on the engine's own pillar scores), comma-separated ids; None where none."""
    required = [p in catalogue.required_pillars for p in catalogue.pillars]
    uncounted = {period: [p for p, counted in zip(catalogue.pillars, engine.counted_pillars(
        ~np.isnan(pillar_cube[i]), required, compared)) if not counted] for i, period in enumerate(periods)}
    uncompared = np.full(len(result), "", dtype=object)
    row_periods = result.index.get_level_values("period")
    for period, pillars in uncounted.items():
        rows = row_periods == period
        for pillar in pillars:  # rows with a score only: without one, "not in the score" would say nothing
            has = rows & result[pillar].notna().to_numpy() & result["score"].notna().to_numpy()
            uncompared[has] = np.where(uncompared[has] == "", pillar, uncompared[has] + "," + pillar)
    uncompared[uncompared == ""] = None
    return pd.Series(uncompared, index=result.index, dtype=object)


def in_score(used: pd.DataFrame, pillars: pd.Series, index: pd.DataFrame) -> pd.DataFrame:
    """Indicator values ``used`` (ags, period; ``pillars`` their pillar) without those of pillars their index row
    leaves out of its score (``index``: ags, period, uncompared_pillars). What describes or decomposes a score
    rests on these: Mölln's own coworking count, left out of its score, had lowered its imputed share from 0.75 to
    0.6, and the decomposition could not rebuild the score."""
    if "uncompared_pillars" not in index:  # an index of a method before 0.3.1: every pillar it has counts
        return used
    listed = index.loc[index["uncompared_pillars"].notna(), ["ags", "period", "uncompared_pillars"]]
    if listed.empty:
        return used
    left_out = pd.MultiIndex.from_tuples({(a, p, pillar) for a, p, ids in listed.itertuples(index=False)
                                          for pillar in flags.pillar_ids(ids)})
    return used[~pd.MultiIndex.from_arrays([used["ags"], used["period"], pillars]).isin(left_out)]


def _rank(result: pd.DataFrame, decimals: int) -> pd.Series:
    """Rank 1 = best score among reference-group towns with a score in the same period (the engine's ranking, at the
    score's published precision)."""
    eligible = result["score"].where(result["in_reference_group"]).to_numpy(dtype=float)
    ranks = np.full(len(result), np.nan)
    for _, rows in result.groupby("period").indices.items():
        ranks[rows] = engine.rank_published(eligible[rows], decimals)
    return pd.Series(ranks, index=result.index).round().astype("Int64")
