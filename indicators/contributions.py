"""Which indicators moved a town's score: an exact decomposition of score changes.

The overall score is a nested weighted mean (indicators -> pillars -> score) whose weights
are renormalised over the components present for that town and period
(``indicators.index.aggregate``). Multiplying the two levels out gives one *effective weight*
per indicator,

    c_i = W_p / Σ_{present pillars q} W_q  ×  w_i / Σ_{present indicators j of p} w_j

so that, for the arithmetic aggregation, ``score = Σ_i c_i s_i`` (s_i the normalised value,
Σ c_i = 1). Between two periods 0 and 1 the change splits exactly into

    Δscore = Σ_{i in both} c̄_i Δs_i                      (indicator rows)
           + Σ_{i in both} Δc_i s̄_i + Σ_{new} c¹ s¹ − Σ_{gone} c⁰ s⁰   ('composition' row)

with c̄, s̄ the means of the two periods (the Bennet split, symmetric in time, so a change
from 2018 to 2023 and back is the same with the sign flipped). An indicator present in both
periods is credited with the change of its own normalised value at its average weight. Everything
that comes from the *set* of present components changing (an indicator appearing or dropping out,
an optional pillar such as coworking being scored in one period only, and the resulting
renormalisation of all other weights) goes into one row with ``indicator_id = 'composition'``.
If the set is the same in both periods the weights are identical, Δc = 0, and no composition row
is written.

Geometric aggregation: ``ln score = Σ_i c_i ln max(s_i, 0.01)`` (the same floor as ``aggregate``),
so the same split is exact in logs. The log contributions are turned into score points with the
logarithmic mean L(S⁰, S¹) = (S¹ − S⁰) / (ln S¹ − ln S⁰) (LMDI): ``contribution = L × log
contribution``. Because Δscore = L × Δln score this is exact, not an approximation, and needs no
Shapley averaging.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.engine import GEOMETRIC_FLOOR  # the engine's floor: decomposes what the engine scored
from indicators.engine import index_indicators
from indicators.index import in_score, index_rows, normalise

COMPOSITION = "composition"
OUTPUT_COLUMNS = ["ags", "period_from", "period_to", "indicator_id", "pillar", "value_from", "value_to",
                  "normalised_from", "normalised_to", "contribution", "score_from", "score_to",
                  "weight_from", "weight_to"]
# The index is recomputed from the values to get the weights; a larger gap means the two inputs
# do not belong together (other catalogue, other run) and the decomposition would be wrong.
TOLERANCE = 1e-6


def current_version(index: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """The index rows of the catalogue's method version (readiness_index keeps older versions too)."""
    if "method_version" not in index:
        return index
    versions = set(index["method_version"].dropna())
    if catalogue.method_version in versions:
        return index[index["method_version"] == catalogue.method_version]
    if len(versions) > 1:
        raise ValueError(f"index holds method versions {sorted(versions)}, none is the catalogue's "
                         f"{catalogue.method_version}: filter it first")
    return index


def usable_values(values: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Indicator values the index uses, with their normalised score and pillar.

    Same rule as ``readiness_index``: only indicators of a declared pillar (no context), and no
    value whose quality note says 'territorial change' (it measures the merger, not the town).
    """
    indicators = {i.indicator_id: i for i in catalogue.indicators.values() if i.pillar in catalogue.pillars}
    used = values.loc[index_rows(values, catalogue), ["ags", "period", "indicator_id", "value"]].copy()
    # by position, not by label (.loc with ~100,000 labels per indicator was most of this function's time)
    raw, normalised = used["value"].to_numpy(dtype=float), np.full(len(used), np.nan)
    for indicator_id, positions in used.groupby("indicator_id").indices.items():
        spec = indicators[indicator_id]
        normalised[positions] = normalise(raw[positions], *spec.goalposts, spec.direction)
    used["normalised"] = normalised
    used["pillar"] = used["indicator_id"].map({k: i.pillar for k, i in indicators.items()})
    used["weight"] = used["indicator_id"].map({k: float(i.weight) for k, i in indicators.items()})
    return used


def effective_weights(used: pd.DataFrame, catalogue: Catalogue) -> pd.Series:
    """Weight of each indicator value in its town's overall score (sums to 1 per ags and period).

    Renormalises within the pillar over the indicators present, then over the pillars present,
    exactly as the two calls of ``aggregate`` in ``readiness_index`` do.
    """
    pillar_total = used.groupby(["ags", "period", "pillar"])["weight"].transform("sum")
    within = (used["weight"] / pillar_total).where(pillar_total > 0, 0.0)
    pillar_weight = used["pillar"].map({p: float(spec["weight"]) for p, spec in catalogue.pillars.items()})
    # A pillar counts once in the denominator, however many indicators it has: take it from the
    # first row of each (ags, period, pillar) and only if the pillar has a positive indicator weight.
    first_of_pillar = ~used.duplicated(["ags", "period", "pillar"]) & (pillar_total > 0)
    score_total = (pillar_weight.where(first_of_pillar, 0.0)).groupby([used["ags"], used["period"]]).transform("sum")
    return (within * pillar_weight / score_total).where(score_total > 0, 0.0)


def score_pairs(index: pd.DataFrame, pairs="consecutive") -> pd.DataFrame:
    """(ags, period_from, period_to, score_from, score_to) for the periods a town has a score in.

    ``pairs``: 'consecutive' (each scored period to the town's next scored period, so 2018 -> 2021
    when 2019 and 2020 have no score), 'first_latest' (first to latest scored period), 'both',
    or an explicit list of (period_from, period_to) tuples, used where the town has both scores.
    """
    scored = index.loc[index["score"].notna(), ["ags", "period", "score"]].sort_values(["ags", "period"])
    by_town = scored.groupby("ags")
    frames = []
    if isinstance(pairs, str):
        if pairs not in {"consecutive", "first_latest", "both"}:
            raise ValueError(f"pairs {pairs!r} must be 'consecutive', 'first_latest', 'both' or a list of tuples")
        if pairs in {"consecutive", "both"}:
            frames.append(pd.DataFrame({"ags": scored["ags"], "period_from": scored["period"],
                                        "period_to": by_town["period"].shift(-1)}))
        if pairs in {"first_latest", "both"}:
            ends = by_town["period"].agg(["min", "max"]).reset_index()
            frames.append(ends.rename(columns={"min": "period_from", "max": "period_to"}))
    else:
        wanted = pd.DataFrame(list(pairs), columns=["period_from", "period_to"])
        frames.append(scored[["ags"]].drop_duplicates().merge(wanted, how="cross"))
    out = pd.concat(frames, ignore_index=True).dropna()
    out = out[out["period_from"] != out["period_to"]].astype({"period_from": int, "period_to": int})
    out = out.drop_duplicates()
    score = scored.set_index(["ags", "period"])["score"]
    out["score_from"] = score.reindex(pd.MultiIndex.from_frame(out[["ags", "period_from"]])).to_numpy()
    out["score_to"] = score.reindex(pd.MultiIndex.from_frame(out[["ags", "period_to"]])).to_numpy()
    return out.dropna(subset=["score_from", "score_to"]).sort_values(["ags", "period_from", "period_to"])


def change_contributions(values: pd.DataFrame, index: pd.DataFrame, catalogue: Catalogue,
                         pairs="consecutive") -> pd.DataFrame:
    """Split each town's change of the overall score between two scored periods into indicator rows.

    ``values``: indicator_values rows (ags, indicator_id, period, value, quality_note);
    ``index``: readiness_index rows (ags, period, score, ...) computed from those values.
    ``pairs``: see ``score_pairs``.

    Returns one row per town, period pair and indicator present in either period, plus a
    'composition' row where the set of present indicators differs (see the module docstring),
    with the columns of ``OUTPUT_COLUMNS``. ``contribution`` is in score points and, per town and
    pair, sums to ``score_to - score_from``; an indicator present in only one of the two periods
    has ``contribution`` NaN, its effect is part of the composition row. ``weight_from`` and
    ``weight_to`` are the indicator's effective weights in the score (0..1).
    """
    index = current_version(index, catalogue)
    if catalogue.aggregation not in {"arithmetic", "geometric"}:
        raise ValueError(f"aggregation {catalogue.aggregation!r} must be 'arithmetic' or 'geometric'")
    pair_frame = score_pairs(index, pairs)
    if pair_frame.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    # the cube keeps what the decomposition needs; the frame of usable values is freed once it is built
    return decompose(_Cube(score_terms(values, index, catalogue), catalogue), pair_frame, catalogue)


def score_terms(values: pd.DataFrame, index: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """The usable values of every scored (ags, period) with their effective weight ``c``, ``level``
    (normalised value, or its log for geometric aggregation) and ``term`` = c × level, checked to
    rebuild the index score: score = Σ term (arithmetic) or exp(Σ term) (geometric)."""
    geometric = catalogue.aggregation == "geometric"
    scored = index.loc[index["score"].notna(), ["ags", "period", "score"]]
    used = usable_values(values, catalogue).merge(scored[["ags", "period"]], on=["ags", "period"])
    used = in_score(used, used["pillar"], index)
    used["c"] = effective_weights(used, catalogue)
    used["level"] = np.log(used["normalised"].clip(lower=GEOMETRIC_FLOOR)) if geometric else used["normalised"]
    used["term"] = used["c"] * used["level"]
    _check_against_index(used, scored, geometric)
    return used


class _Cube:
    """The measures of ``score_terms`` as dense (town, period, indicator) arrays, indicators in catalogue order.

    Why: joining every town's pair of periods to its values as frames (two merges of ~450,000 rows,
    an outer merge, a concatenation and a sort, each a whole-width copy) set the step's memory peak
    (the function's RSS rise ~330 MiB on the Germany files, 2026-12-02). A town x period x indicator cube
    of the ~12 index indicators is ~0.5 M cells per measure (4 MiB), and a side of the pairs is one gather.
    """

    MEASURES = ("value", "normalised", "c", "level", "term")

    def __init__(self, used: pd.DataFrame, catalogue: Catalogue):
        self.indicators = index_indicators(catalogue)
        self.pillars = [catalogue.indicators[i].pillar for i in self.indicators]
        self.towns = pd.Index(pd.unique(used["ags"]))
        self.periods = pd.Index(np.sort(used["period"].unique()))
        shape = (len(self.towns), len(self.periods), len(self.indicators))
        cell = np.ravel_multi_index((self.towns.get_indexer(used["ags"]), self.periods.get_indexer(used["period"]),
                                     pd.Index(self.indicators).get_indexer(used["indicator_id"])), shape)
        _refuse_duplicates(used, cell)
        self.present = np.zeros(shape, dtype=bool)
        self.present.flat[cell] = True
        self.arrays = {}
        for measure in self.MEASURES:
            array = np.full(shape, np.nan)
            array.flat[cell] = used[measure].to_numpy(dtype=float)
            self.arrays[measure] = array

    def locate(self, ags: pd.Series, periods: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(town, period) positions of the given rows, for ``present[...]`` and ``arrays[m][...]``."""
        town, period = self.towns.get_indexer(ags), self.periods.get_indexer(periods)
        if (town < 0).any() or (period < 0).any():  # score_terms' check makes this unreachable for a scored pair
            raise ValueError("a scored town and period without usable indicator values")
        return town, period


def _refuse_duplicates(used: pd.DataFrame, cell: np.ndarray) -> None:
    """Raise on two usable values for one (ags, period, indicator): the decomposition needs one each."""
    order = np.sort(cell)
    repeated = order[1:][order[1:] == order[:-1]]
    if len(repeated):
        row = used.iloc[int(np.flatnonzero(cell == repeated[0])[0])]
        raise ValueError(f"indicator values: {row['indicator_id']} of {row['ags']} in {row['period']} is given "
                         f"more than once; one value per town, indicator and period expected")


def decompose(cube: _Cube, pair_frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """The contribution rows of ``change_contributions`` from the cube of ``score_terms`` and the pairs of
    ``score_pairs``.

    Works on (pairs x indicators) matrices, so the rows come out in the published order (the pairs'
    order, which ``score_pairs`` sorts, then the catalogue's indicator order, the composition row
    last). Every float is computed by the same operations on the same operands as the frame version
    before it (tests/unit/indicators/test_contributions_reference.py keeps that version as the reference).
    """
    at_from = cube.locate(pair_frame["ags"], pair_frame["period_from"])
    at_to = cube.locate(pair_frame["ags"], pair_frame["period_to"])
    level_from, level_to = cube.arrays["level"][at_from], cube.arrays["level"][at_to]
    both = ~np.isnan(level_from) & ~np.isnan(level_to)
    mean_weight = (cube.arrays["c"][at_from] + cube.arrays["c"][at_to]) / 2
    # Own effect: change of the indicator's level at its average effective weight (Bennet).
    own = np.where(both, mean_weight * (level_to - level_from), np.nan)
    del level_from, level_to, both, mean_weight
    # Remainder of the row's term change is the composition effect (Δc · mean level, or the whole
    # term of an indicator present in one period only).
    rest = _zero_nan(cube.arrays["term"][at_to]) - _zero_nan(cube.arrays["term"][at_from]) - _zero_nan(own)
    listed = cube.present[at_from] | cube.present[at_to]  # a row per indicator present in either period
    changed = (listed & np.isnan(own)).any(axis=1)
    composition = _composition_sums(rest, listed, cube.indicators)
    del rest

    # one more column for the composition row, written where the set of indicators changed
    rows = np.column_stack([listed, changed])
    pair_of_row, column = np.divmod(np.flatnonzero(rows), rows.shape[1])

    def cells(matrix: np.ndarray, last: np.ndarray | float = np.nan) -> np.ndarray:
        return np.column_stack([matrix, np.broadcast_to(last, len(matrix))])[rows]

    score_from = pair_frame["score_from"].to_numpy(dtype=float)[pair_of_row]
    score_to = pair_frame["score_to"].to_numpy(dtype=float)[pair_of_row]
    contribution = cells(own, composition)
    if catalogue.aggregation == "geometric":
        # log points -> score points with the logarithmic mean of the two scores (exact).
        contribution = (pd.Series(contribution) * _log_mean(pd.Series(score_from), pd.Series(score_to))).to_numpy()
    columns = {
        "ags": pair_frame["ags"].to_numpy(dtype=object)[pair_of_row],
        "period_from": pair_frame["period_from"].to_numpy(dtype="int64")[pair_of_row],
        "period_to": pair_frame["period_to"].to_numpy(dtype="int64")[pair_of_row],
        "indicator_id": np.array([*cube.indicators, COMPOSITION], dtype=object)[column],
        "pillar": np.array([*cube.pillars, None], dtype=object)[column],
        "value_from": cells(cube.arrays["value"][at_from]), "value_to": cells(cube.arrays["value"][at_to]),
        "normalised_from": cells(cube.arrays["normalised"][at_from]),
        "normalised_to": cells(cube.arrays["normalised"][at_to]),
        "contribution": contribution, "score_from": score_from, "score_to": score_to,
        "weight_from": cells(cube.arrays["c"][at_from]), "weight_to": cells(cube.arrays["c"][at_to]),
    }
    # copy=False: each column stays its own block; the default copies all float columns into one
    # block (another ~40 MiB at the peak on the Germany files)
    return pd.DataFrame(columns, columns=OUTPUT_COLUMNS, copy=False)


def _zero_nan(matrix: np.ndarray) -> np.ndarray:
    """NaN -> 0.0 (what ``fillna(0.0)`` did)."""
    return np.where(np.isnan(matrix), 0.0, matrix)


def _composition_sums(rest: np.ndarray, listed: np.ndarray, indicators: list[str]) -> np.ndarray:
    """Per pair the sum of the listed rows' ``rest``, added in indicator-id order.

    pandas' grouped sum (compensated, so the order of the terms can change the last bit) over the rows in the
    order the frame version's outer merge left them: sorted by indicator id within each pair. Keeping
    both the summation routine and the order keeps the composition row bit for bit as before.
    """
    by_id = np.argsort(np.array(indicators, dtype=object), kind="stable")
    rest, listed = rest[:, by_id], listed[:, by_id]
    pair = np.broadcast_to(np.arange(len(rest))[:, None], rest.shape)[listed]
    sums = pd.Series(rest[listed]).groupby(pair).sum()
    return sums.reindex(range(len(rest)), fill_value=0.0).to_numpy()


def _log_mean(a: pd.Series, b: pd.Series) -> pd.Series:
    """Logarithmic mean (b − a) / (ln b − ln a); where a == b its limit, a itself."""
    a, b = a.astype(float), b.astype(float)
    log_gap = np.log(b) - np.log(a)
    return ((b - a) / log_gap).where(log_gap.abs() > 1e-12, (a + b) / 2)


def _check_against_index(used: pd.DataFrame, scored: pd.DataFrame, geometric: bool) -> None:
    """Raise if the score rebuilt from the values and weights differs from the index score."""
    rebuilt = used.groupby(["ags", "period"])["term"].sum()
    if geometric:
        rebuilt = np.exp(rebuilt)
    published = scored.set_index(["ags", "period"])["score"]
    gap = (rebuilt.reindex(published.index) - published).abs()
    bad = gap[~(gap <= TOLERANCE)]  # NaN (no usable value for a scored town) is bad too
    if not bad.empty:
        (ags, period), difference = bad.index[0], bad.iloc[0]
        raise ValueError(f"score of {ags} in {period} cannot be rebuilt from the indicator values "
                         f"(difference {difference}); were index and values computed with this catalogue?")
