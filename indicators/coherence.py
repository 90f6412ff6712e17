"""Statistical coherence of the index: do indicators, pillars and the score move together?

A composite index is coherent when each indicator is positively associated with its pillar and
with the overall score (JRC/OECD audit practice). An indicator whose rank correlation with its own
pillar is zero or negative "works against its pillar": raising it lifts the pillar for some towns
while the towns that rank high on the pillar rank low on it, a sign that it measures something else.

Correlations are Spearman (rank) correlations, because the normalised values are clipped at the
goalposts and skewed, and because only the ordering matters for a ranking. They are computed
*pairwise complete*: for each pair of items over the reference-group towns that have both values
in the period, so one missing indicator does not remove a town from every other pair.

Indicators enter as their normalised (direction-adjusted, clipped) values, i.e. what the pillar
actually averages; the same exclusion as the index applies (no context indicators, no values
flagged 'territorial change'). Pillars and the score are taken from the index.

Read the indicator-pillar correlation as a part-whole correlation: the indicator is part of the
pillar, so it is inflated, and exactly 1 where the pillar has only one indicator with data (e.g.
the demographic pillar when only the 10-year change exists).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.contributions import current_version, usable_values

COLUMNS = ["period", "item_a", "item_b", "kind", "spearman", "n"]
MIN_PAIRS = 3  # below three towns a rank correlation is ±1 or undefined, never informative


def spearman(a: pd.Series, b: pd.Series, min_n: int = MIN_PAIRS) -> tuple[float, int]:
    """Spearman correlation over the rows where both are present, and that number of rows.

    Average ranks for ties, then the Pearson correlation of the ranks (the standard definition;
    pandas' own spearman needs scipy, which the project does not depend on). NaN when fewer than
    ``min_n`` pairs or when one side is constant.
    """
    both = a.notna() & b.notna()
    n = int(both.sum())
    if n < min_n:
        return float("nan"), n
    ra, rb = a[both].rank().to_numpy(float), b[both].rank().to_numpy(float)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    if denominator == 0:
        return float("nan"), n
    return float(np.clip((ra * rb).sum() / denominator, -1.0, 1.0)), n


def coherence(values: pd.DataFrame, index: pd.DataFrame, catalogue: Catalogue,
              reference_group: set[str], period: int) -> pd.DataFrame:
    """Spearman correlations among indicators, pillars and the score for one period (long format).

    Over the towns of ``reference_group`` with a row in ``index`` for ``period``. Kinds:
    ``indicator_pillar`` (indicator, its own pillar), ``indicator_score`` (indicator, 'score'),
    ``pillar_score`` (pillar, 'score') and ``indicator_indicator`` (two indicators of the same
    pillar, each unordered pair once, in catalogue order). Items without any value in the period
    (e.g. the optional coworking pillar offline) are left out rather than listed as NaN.
    Columns: period, item_a, item_b, kind, spearman, n (pairs used).
    """
    index = current_version(index, catalogue)
    towns = index[(index["period"] == period) & index["ags"].isin(reference_group)].set_index("ags")
    used = usable_values(values[values["period"] == period], catalogue)
    used = used[used["ags"].isin(towns.index)]
    wide = used.pivot_table(index="ags", columns="indicator_id", values="normalised").reindex(towns.index)

    def has_data(column: pd.Series) -> bool:
        return bool(column.notna().any())

    score = towns["score"]
    rows = []
    for pillar in catalogue.pillars:
        if pillar not in towns or not has_data(towns[pillar]):
            continue
        members = [i.indicator_id for i in catalogue.in_pillar(pillar)
                   if i.indicator_id in wide and has_data(wide[i.indicator_id])]
        for indicator_id in members:
            rows.append((indicator_id, pillar, "indicator_pillar", *spearman(wide[indicator_id], towns[pillar])))
        for first, second in combinations(members, 2):
            rows.append((first, second, "indicator_indicator", *spearman(wide[first], wide[second])))
        for indicator_id in members:
            rows.append((indicator_id, "score", "indicator_score", *spearman(wide[indicator_id], score)))
        rows.append((pillar, "score", "pillar_score", *spearman(towns[pillar], score)))
    frame = pd.DataFrame(rows, columns=["item_a", "item_b", "kind", "spearman", "n"])
    frame.insert(0, "period", period)
    return frame[COLUMNS].astype({"n": int})


def counteracting(coherence_frame: pd.DataFrame, threshold: float = 0.0) -> pd.DataFrame:
    """Indicators that work against their own pillar: Spearman with the pillar <= ``threshold``.

    Returns period, indicator_id, pillar, spearman, n; rows with an undefined correlation (too few
    towns, constant values) are not flagged, since nothing can be said about them.
    """
    own = coherence_frame[(coherence_frame["kind"] == "indicator_pillar")
                          & (coherence_frame["spearman"] <= threshold)]
    return (own.rename(columns={"item_a": "indicator_id", "item_b": "pillar"})
            [["period", "indicator_id", "pillar", "spearman", "n"]].reset_index(drop=True))


def coherence_markdown(frame: pd.DataFrame, threshold: float = 0.0) -> str:
    """Markdown for Dagster metadata: counteracting indicators first, then the full table."""
    flagged = counteracting(frame, threshold)
    if flagged.empty:
        head = f"No indicator works against its pillar (all Spearman > {threshold:g})."
    else:
        names = ", ".join(f"`{r.indicator_id}` vs `{r.pillar}` ({r.spearman:.2f}, n={r.n}, {r.period})"
                          for r in flagged.itertuples())
        head = f"**Works against its pillar** (Spearman <= {threshold:g}): {names}"
    table = frame.assign(spearman=frame["spearman"].round(2)).to_markdown(index=False)
    return f"{head}\n\n{table}"
