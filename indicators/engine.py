"""The one scoring engine: indicator values -> normalised scores -> pillar scores -> overall score -> rank.

Both the published index (:func:`indicators.index.readiness_index`) and the Monte Carlo of
:mod:`indicators.uncertainty` score through these functions. The published score is the draw
with the catalogue's choices (:func:`published_method`: catalogue weights, fixed goalposts,
carry-forward imputation, the catalogue's aggregation); a Monte Carlo draw is the same
computation with other choices. Keeping one engine means a change of method (a new
normalisation, a floor, the rule for required pillars) cannot reach the published index
without reaching its uncertainty bands, and vice versa.

Shapes: a *cube* holds raw or normalised values as (periods, towns, indicators); weights come
as (components, draws) so many weight sets are scored at once (towns x draws matrices), which is
what makes 1,000 draws over 3,000 towns affordable. The published index is the case draws = 1.
Plain numpy/pandas, no Dagster; every function is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue

GEOMETRIC_FLOOR = 0.01  # geometric means floor scores here, so one zero does not wipe out the rest
NORMALISATIONS = ("goalposts", "min-max", "rank-percentile", "percentile-goalposts", "z-score")
IMPUTATIONS = ("carry-forward", "nearest", "none")
# aggregation option -> (rule within pillars, rule across pillars)
AGGREGATION_LEVELS = {"arithmetic": ("arithmetic", "arithmetic"), "geometric": ("geometric", "geometric"),
                      "geometric-pillars": ("arithmetic", "geometric")}
# An optional pillar counts in a period's scores only where at least this share of the compared towns (the reference
# group) that have every required pillar have it too: scored for a few towns only, it ranked them on another pillar
# set than the rest (Mölln, the one town with its own coworking list, fell from rank 8 to 23 of 50 for delivering
# data; audit of 2026-12-03).
OPTIONAL_PILLAR_MIN_SHARE = 0.5
PERCENTILE_GOALPOSTS = (5.0, 95.0)  # percentile-goalposts and z-score: winsorise at these percentiles
Z_SCALE = (50.0, 10.0)  # z-score: mean and standard deviation after rescaling (positive, so geometric means work)


@dataclass(frozen=True)
class Method:
    """One way of building the index: weights (per indicator within its pillar, per pillar) and the
    three discrete choices. The published index is :func:`published_method`; each Monte Carlo draw is one."""

    indicator_weights: dict[str, float]  # indicator_id -> weight within its pillar
    pillar_weights: dict[str, float]     # pillar -> weight
    normalisation: str
    imputation: str
    aggregation: str


def index_indicators(catalogue: Catalogue) -> list[str]:
    """Indicators that enter the index (pillar declared under ``pillars``), in catalogue order."""
    return [i.indicator_id for i in catalogue.indicators.values() if i.pillar in catalogue.pillars]


def published_method(catalogue: Catalogue) -> Method:
    """The catalogue's choices: its raw weights, fixed goalposts, carry-forward, its aggregation rule.

    Weights stay as declared (not renormalised): every mean divides by the weights present, so the
    scale of a weight set does not matter, and the raw values keep the published arithmetic exact.
    """
    if catalogue.aggregation not in ("arithmetic", "geometric"):
        raise ValueError(f"catalogue aggregation {catalogue.aggregation!r} must be 'arithmetic' or 'geometric'")
    return Method({i: float(catalogue.indicators[i].weight) for i in index_indicators(catalogue)},
                  {p: float(spec["weight"]) for p, spec in catalogue.pillars.items()},
                  "goalposts", "carry-forward", catalogue.aggregation)


def index_rows(values: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """Which indicator_values rows the index may use: indicators of a declared pillar (no context)
    and no value with an ``excluded_reason`` (e.g. computed across a territorial change: it measures
    the merger, not the town). Decided on the typed columns, never on note text.

    One rule for the published index, the uncertainty analysis and the change contributions.
    """
    excluded = values["excluded_reason"].notna() if "excluded_reason" in values else False
    return values["indicator_id"].isin(index_indicators(catalogue)) & ~excluded


def goalpost_scale(values, low: float, high: float, direction: str = "positive"):
    """Min-max with fixed goalposts, clipped to 0..100; reversed (100 - x) for direction 'negative'."""
    scaled = np.clip((np.asarray(values, dtype=float) - low) / (high - low) * 100.0, 0.0, 100.0)
    return 100.0 - scaled if direction == "negative" else scaled


def _normalise_column(x: np.ndarray, method: str, low: float, high: float) -> np.ndarray:
    """Scale the present values of one indicator (0..100, positive direction) by ``method``.

    Data-driven methods refer to the values given: the reference group of one period."""
    if method == "goalposts":
        return goalpost_scale(x, low, high)
    if method == "min-max":
        lo, hi = x.min(), x.max()
        return np.full(x.shape, 50.0) if hi == lo else (x - lo) / (hi - lo) * 100.0
    if method in ("percentile-goalposts", "z-score"):
        # winsorise at the 5th/95th percentile (the JRC treats outliers before normalising);
        # the full range when the two coincide (more than 90 % equal values)
        lo, hi = np.percentile(x, PERCENTILE_GOALPOSTS)
        if hi == lo:
            lo, hi = x.min(), x.max()
        clipped = np.clip(x, lo, hi)
        if method == "percentile-goalposts":
            return np.full(x.shape, 50.0) if hi == lo else (clipped - lo) / (hi - lo) * 100.0
        sd = clipped.std()
        return np.full(x.shape, Z_SCALE[0]) if sd == 0 else Z_SCALE[0] + Z_SCALE[1] * (clipped - clipped.mean()) / sd
    if method == "rank-percentile":
        ranks = pd.Series(x).rank(method="average").to_numpy()
        return np.full(x.shape, 50.0) if len(x) == 1 else (ranks - 1.0) / (len(x) - 1.0) * 100.0
    raise ValueError(f"normalisation {method!r} must be one of {NORMALISATIONS}")


def normalise_matrix(values: np.ndarray, method: str, goalposts: Sequence[tuple[float, float]],
                     directions: Sequence[str]) -> np.ndarray:
    """Normalise a towns x indicators matrix (NaN = no value) column by column.

    ``goalposts`` uses the fixed [low, high] per indicator (:func:`goalpost_scale`); ``min-max``,
    ``percentile-goalposts``, ``z-score`` and ``rank-percentile`` refer to the non-missing values
    of each column (the reference group of one period). NaN stays NaN. Direction ``negative``
    mirrors the scale (``100 - x``; for z-scores ``2 * 50 - x``, i.e. the z-score of the negated value).
    """
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    for j, ((low, high), direction) in enumerate(zip(goalposts, directions)):
        present = ~np.isnan(values[:, j])
        if not present.any():
            continue
        scaled = _normalise_column(values[present, j], method, low, high)
        mirror = 2 * Z_SCALE[0] if method == "z-score" else 100.0
        out[present, j] = mirror - scaled if direction == "negative" else scaled
    return out


def weighted_mean(scores: np.ndarray, present: np.ndarray, weights: np.ndarray,
                  method: str = "arithmetic") -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean over components for many weight sets at once, renormalising the weights over
    the components present in each town.

    ``scores`` and ``present`` are (components, towns) or (components, towns, draws); ``weights`` is
    (components, draws). Returns (mean, total weight present), both (towns, draws); the mean is
    NaN where the total is 0. ``geometric`` is the weighted geometric mean of the scores floored
    at GEOMETRIC_FLOOR. Components are added one after the other in their given order.
    """
    if method not in ("arithmetic", "geometric"):
        raise ValueError(f"aggregation {method!r} must be 'arithmetic' or 'geometric'")
    weights = np.asarray(weights, dtype=float)
    shape = (scores.shape[1], weights.shape[1])
    num, den = np.zeros(shape), np.zeros(shape)
    for c in range(scores.shape[0]):
        s, p = scores[c], present[c]
        if s.ndim == 1:
            s, p = s[:, None], p[:, None]
        if method == "geometric":
            s = np.log(np.clip(np.where(p, s, 1.0), GEOMETRIC_FLOOR, None))
        # in place: the same sums in the same order, without two new (towns x draws) arrays per component
        num += np.where(p, s, 0.0) * weights[c]
        den += p * weights[c]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = num / den
    if method == "geometric":
        mean = np.exp(mean)
    return np.where(den > 0, mean, np.nan), den


def pillar_scores(normalised: np.ndarray, pillar_of: Sequence[str], pillars: Sequence[str],
                  indicator_weights: np.ndarray, method: str = "arithmetic") -> np.ndarray:
    """Pillar scores (pillars, towns, draws) from a towns x indicators matrix of normalised scores.

    ``pillar_of[j]`` names the pillar of column j; ``indicator_weights`` is (indicators, draws).
    A pillar with no present indicator (or only zero weights) is NaN.
    """
    present = ~np.isnan(normalised)
    out = np.full((len(pillars), normalised.shape[0], indicator_weights.shape[1]), np.nan)
    for k, pillar in enumerate(pillars):
        members = [j for j, p in enumerate(pillar_of) if p == pillar]
        if members:
            out[k], _ = weighted_mean(normalised[:, members].T, present[:, members].T,
                                      indicator_weights[members], method)
    return out


def counted_pillars(present: np.ndarray, required: Sequence[bool], compared: np.ndarray | None = None) -> np.ndarray:
    """Which pillars count in a period's scores (bool per pillar), from ``present`` (pillars, towns[, draws]).

    Every required pillar; an optional one (e.g. coworking, from OSM or a town's own list) where at least
    OPTIONAL_PILLAR_MIN_SHARE of the compared towns (``compared``: bool per town, the reference group; default
    all) with every required pillar have it, so that one period's ranking compares the same pillars for (nearly)
    every town. The Monte Carlo scores the reference group alone, the published index every town with data:
    both judge on the reference group, so the published score stays one of the draws."""
    required = np.asarray(required, dtype=bool)
    complete = present[required].all(axis=0) if required.any() else np.ones(present.shape[1:], bool)
    if compared is not None:
        complete = complete & np.asarray(compared, dtype=bool).reshape((-1,) + (1,) * (complete.ndim - 1))
    if not complete.any():  # no compared town has a score this period: no ranking for the pillar set to suit
        return np.ones(len(required), bool)
    shares = present[:, complete].mean(axis=1)
    return required | (shares >= OPTIONAL_PILLAR_MIN_SHARE)


def overall_scores(pillar_matrix: np.ndarray, pillar_weights: np.ndarray, required: Sequence[bool],
                   method: str = "arithmetic", compared: np.ndarray | None = None) -> np.ndarray:
    """Overall score (towns, draws): weighted mean of the counted pillars present; NaN unless every required one is
    present. An optional pillar counts where it has a value, in a period where most towns have it
    (:func:`counted_pillars`); the pillar score itself stays for the town's page."""
    present = ~np.isnan(pillar_matrix)
    counted = present & counted_pillars(present, required, compared).reshape((-1,) + (1,) * (present.ndim - 1))
    score, _ = weighted_mean(pillar_matrix, counted, pillar_weights, method)
    required_idx = [k for k, r in enumerate(required) if r]
    complete = present[required_idx].all(axis=0) if required_idx else np.ones(score.shape, bool)
    return np.where(complete, score, np.nan)


def published_scores(scores, decimals: int) -> np.ndarray:
    """Scores at the precision they are published with (catalogue ``score_decimals``): what ranks compare and
    pages show. Why: ranked at full precision, two towns both shown with 70.2 got ranks 7 and 8.

    Halves round away from zero, as DuckDB's ``round(score, 1)`` (the planner guide's queries) and Excel round:
    scale by 10**decimals, round (C's ``round``), divide; numpy's ``round`` rounds halves to even (43.25 -> 43.2
    where SQL shows 43.3), which put two towns shown as 43.3 on different ranks."""
    scale = 10.0 ** decimals
    scaled = np.asarray(scores, dtype=float) * scale
    whole = np.trunc(scaled)
    fraction = scaled - whole  # exact for doubles
    whole += (fraction >= 0.5).astype(float) - (fraction <= -0.5).astype(float)
    return whole / scale


def published_score(value: float, decimals: int) -> float:
    """:func:`published_scores` of one number without numpy's per-call cost (~14 µs; pages round ~35 scores each):
    the same steps, so the same float."""
    scale = 10.0 ** decimals
    scaled = value * scale
    whole = float(int(scaled))
    fraction = scaled - whole
    return (whole + (fraction >= 0.5) - (fraction <= -0.5)) / scale


def rank_published(scores: np.ndarray, decimals: int) -> np.ndarray:
    """:func:`rank_matrix` of the scores at their published precision: towns shown with the same score share a rank."""
    return rank_matrix(published_scores(scores, decimals))


RANK_BLOCK_COLUMNS = 128  # columns ranked at a time: the sort's seven temporaries stay ~3 MiB each


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Rank towns (axis 0) in every column: 1 = highest score, ties share the lowest rank ('min'), NaN stays NaN.

    Columns are independent, so wide matrices (towns x 1,000 draws) are ranked in blocks of columns: the
    sort's temporaries of all columns at once were seven more matrices of the full size."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        return rank_matrix(scores[:, None])[:, 0]
    if scores.shape[1] <= RANK_BLOCK_COLUMNS:
        return _rank_columns(scores)
    ranks = np.empty(scores.shape)
    for start in range(0, scores.shape[1], RANK_BLOCK_COLUMNS):
        ranks[:, start:start + RANK_BLOCK_COLUMNS] = _rank_columns(scores[:, start:start + RANK_BLOCK_COLUMNS])
    return ranks


def _rank_columns(scores: np.ndarray) -> np.ndarray:
    """:func:`rank_matrix` of a 2-D block of columns (a new C-ordered array).

    Each column is sorted as a contiguous row of the transposed block, with numpy's default (unstable, SIMD)
    sort. Why: a stable sort along axis 0 was about half the Monte Carlo's ranking time (a 3,263 x 1,000
    block: 0.41 against 0.21 CPU s). Tied scores share the lowest position of their run whatever order the
    sort leaves them in, so the ranks are the same numbers."""
    missing = np.isnan(scores)
    key = np.ascontiguousarray(np.where(missing, np.inf, -scores).T)  # one row per column of ``scores``
    order = np.argsort(key, axis=1)
    ordered = np.take_along_axis(key, order, axis=1)
    new_run = np.ones(key.shape, dtype=bool)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(key.shape[1])[None, :], 0), axis=1)
    ranks = np.empty(key.shape)
    np.put_along_axis(ranks, order, run_start + 1.0, axis=1)
    ranks[missing.T] = np.nan
    return np.ascontiguousarray(ranks.T)  # C order, as callers' row sums expect


@dataclass
class Inputs:
    """Normalised values ready to score: (periods, towns, indicators) per (normalisation, imputation)."""

    towns: np.ndarray                 # ags, sorted
    periods: list[int]
    indicators: list[str]
    matrices: dict[tuple[str, str], np.ndarray]


def period_inputs(inputs: Inputs, p: int) -> Inputs:
    """The inputs of the ``p``-th period alone (views, no copy). Periods are normalised and scored
    independently, so scoring this gives exactly the ``p``-th period of scoring all of them; the Monte
    Carlo scores one period at a time to hold towns x draws, not periods x towns x draws, at once."""
    return Inputs(inputs.towns, [inputs.periods[p]], inputs.indicators,
                  {key: matrix[p:p + 1] for key, matrix in inputs.matrices.items()})


def nearest_values(observed: pd.DataFrame, periods: list[int], catalogue: Catalogue) -> pd.DataFrame:
    """For every (town, indicator, period): the observed value of the nearest period within the
    indicator's carry_forward_years, earlier or later (ties: earlier). Columns ags, indicator_id, period, value."""
    max_age = {i.indicator_id: i.carry_forward_years for i in catalogue.indicators.values()}
    frames = []
    for period in periods:
        near = observed.assign(gap=(observed["period"] - period).abs(), later=observed["period"] > period,
                               target=period)
        near = near[near["gap"] <= near["indicator_id"].map(max_age)]
        frames.append(near.sort_values(["gap", "later"]).drop_duplicates(["ags", "indicator_id"]))
    if not frames:
        return pd.DataFrame(columns=["ags", "indicator_id", "period", "value"])
    found = pd.concat(frames, ignore_index=True)
    return found.drop(columns="period").rename(columns={"target": "period"})[["ags", "indicator_id", "period", "value"]]


def prepare(values: pd.DataFrame, catalogue: Catalogue, towns: Iterable[str], periods: Sequence[int],
            normalisations: Iterable[str] = ("goalposts",),
            imputations: Iterable[str] = ("carry-forward",)) -> Inputs:
    """Normalised towns x indicators cubes for every (normalisation, imputation) variant.

    ``towns`` are the rows (every one gets a row, with NaN where it has no value); data-driven
    normalisations refer to these towns' values of each period, so the Monte Carlo passes the
    reference group. Only index indicators (:func:`index_rows`) and the given periods enter.
    ``carry-forward`` uses the rows as published (imputed ones included), ``none`` drops imputed
    rows, ``nearest`` rebuilds each value from the nearest observed period.
    """
    towns = np.array(sorted(set(towns)), dtype=object)
    indicators = index_indicators(catalogue)
    imputed = (values["imputed"].fillna(False).astype(bool) if "imputed" in values
               else pd.Series(False, index=values.index))
    keep_all = index_rows(values, catalogue) & values["ags"].isin(set(towns))
    keep = keep_all & values["period"].isin(list(periods))
    used = values.loc[keep, ["ags", "indicator_id", "period", "value"]].assign(imputed=imputed[keep].to_numpy())
    used["value"] = used["value"].astype(float)
    goalposts = [catalogue.indicators[i].goalposts for i in indicators]
    directions = [catalogue.indicators[i].direction for i in indicators]
    matrices = {}
    for imputation in imputations:
        rows = {"carry-forward": used, "none": used[~used["imputed"]]}.get(imputation)
        if rows is None:  # nearest: from every observed period, not only the index periods
            observed = values.loc[keep_all & ~imputed, ["ags", "indicator_id", "period", "value"]]
            rows = nearest_values(observed.astype({"value": float}), list(periods), catalogue)
        cube = _cube(rows, towns, list(periods), indicators)
        for normalisation in normalisations:
            matrices[(normalisation, imputation)] = np.stack(
                [normalise_matrix(cube[p], normalisation, goalposts, directions) for p in range(len(periods))]
            ) if len(periods) else cube.copy()
    return Inputs(towns, list(periods), indicators, matrices)


def _cube(rows: pd.DataFrame, towns: np.ndarray, periods: list[int], indicators: list[str]) -> np.ndarray:
    """Raw values as (periods, towns, indicators), NaN where a town has none; one value per cell required."""
    duplicated = rows.duplicated(["ags", "indicator_id", "period"])
    if duplicated.any():
        # two values for one cell would be averaged silently; indicator_values must hold one per period
        first = rows[duplicated].iloc[0]
        raise ValueError(f"indicator_values: {int(duplicated.sum())} duplicate (ags, indicator_id, period) rows, "
                         f"e.g. {first['ags']} {first['indicator_id']} {first['period']}")
    wide = rows.pivot(index=["period", "ags"], columns="indicator_id", values="value") if len(rows) else \
        pd.DataFrame(columns=indicators, index=pd.MultiIndex.from_arrays([[], []], names=["period", "ags"]))
    full = pd.MultiIndex.from_product([periods, towns], names=["period", "ags"])
    wide = wide.reindex(index=full, columns=indicators)
    return wide.to_numpy(dtype=float).reshape(len(periods), len(towns), len(indicators))


def score(inputs: Inputs, catalogue: Catalogue, normalisation: str, imputation: str, aggregation: str,
          indicator_weights: np.ndarray, pillar_weights: np.ndarray,
          with_pillars: bool = False, compared: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
    """Overall scores (periods, towns, draws) for one method combination and a batch of weight sets,
    and with ``with_pillars`` the pillar scores (periods, pillars, towns, draws), else None (the
    Monte Carlo needs only the overall score, and pillars x draws would cost memory).

    ``indicator_weights`` is (indicators, draws) in the order of ``inputs.indicators``,
    ``pillar_weights`` (pillars, draws) in catalogue order."""
    pillars = list(catalogue.pillars)
    pillar_of = [catalogue.indicators[i].pillar for i in inputs.indicators]
    required = [p in catalogue.required_pillars for p in pillars]
    cube = inputs.matrices[(normalisation, imputation)]
    within, across = AGGREGATION_LEVELS[aggregation]
    draws = indicator_weights.shape[1]
    pillar_out = np.empty((len(inputs.periods), len(pillars), len(inputs.towns), draws)) if with_pillars else None
    overall = np.empty((len(inputs.periods), len(inputs.towns), draws))
    for p in range(len(inputs.periods)):
        pillar_matrix = pillar_scores(cube[p], pillar_of, pillars, indicator_weights, within)
        overall[p] = overall_scores(pillar_matrix, pillar_weights, required, across, compared)
        if with_pillars:
            pillar_out[p] = pillar_matrix
    return pillar_out, overall


def score_method(inputs: Inputs, catalogue: Catalogue, method: Method,
                 compared: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`score` for one method (one draw): pillars (periods, pillars, towns), overall (periods, towns)."""
    iw = np.array([[method.indicator_weights[i]] for i in inputs.indicators]).reshape(len(inputs.indicators), 1)
    pw = np.array([[method.pillar_weights[p]] for p in catalogue.pillars]).reshape(len(catalogue.pillars), 1)
    pillars, overall = score(inputs, catalogue, method.normalisation, method.imputation, method.aggregation, iw, pw,
                             with_pillars=True, compared=compared)
    return pillars[..., 0], overall[..., 0]
