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
from indicators.index import index_rows, normalise

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
    geometric = catalogue.aggregation == "geometric"
    if catalogue.aggregation not in {"arithmetic", "geometric"}:
        raise ValueError(f"aggregation {catalogue.aggregation!r} must be 'arithmetic' or 'geometric'")
    pair_frame = score_pairs(index, pairs)
    if pair_frame.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)

    # Terms of the score of every scored (ags, period): score = Σ term (arithmetic) or exp(Σ term).
    scored = index.loc[index["score"].notna(), ["ags", "period", "score"]]
    used = usable_values(values, catalogue).merge(scored[["ags", "period"]], on=["ags", "period"])
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
    # Own effect: change of the indicator's level at its average effective weight (Bennet).
    rows["own"] = (mean_weight * (rows["level_to"] - rows["level_from"])).where(both)
    # Remainder of the row's term change is the composition effect (Δc · mean level, or the whole
    # term of an indicator present in one period only).
    rows["rest"] = rows["term_to"].fillna(0.0) - rows["term_from"].fillna(0.0) - rows["own"].fillna(0.0)

    rows["one_sided"] = rows["own"].isna()
    composition = rows.groupby(key).agg(rest=("rest", "sum"), changed=("one_sided", "any"))
    composition = composition[composition["changed"]].reset_index().merge(pair_frame, on=key)
    composition = composition.assign(indicator_id=COMPOSITION, pillar=None, own=composition["rest"])

    out = pd.concat([rows, composition], ignore_index=True)
    if geometric:
        # log points -> score points with the logarithmic mean of the two scores (exact).
        out["contribution"] = out["own"] * _log_mean(out["score_from"], out["score_to"])
    else:
        out["contribution"] = out["own"]
    out = out.rename(columns={"c_from": "weight_from", "c_to": "weight_to"})
    order = {indicator_id: n for n, indicator_id in enumerate(catalogue.indicators)}
    out["_order"] = out["indicator_id"].map(order).fillna(len(order))
    out = out.sort_values([*key, "_order"]).reset_index(drop=True)
    return out[OUTPUT_COLUMNS]


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
