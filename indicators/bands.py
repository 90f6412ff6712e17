"""A town's 5-95 % rank band in words a planner understands.

The Monte Carlo of indicators/uncertainty.py gives each ranked town a band ``rank_p05`` (better
end) to ``rank_p95`` (worse end) among ``compared_towns``: in 90 % of the defensible method
variants the town's rank lies inside it. :func:`band_category` turns that band into the
narrowest statement that holds for the whole band – "mit hoher Wahrscheinlichkeit unter den
besten 25 %", "im oberen Drittel", … – or "nicht sicher einzuordnen" when the band is too wide
for any of them. Pure Python, no pandas needed for one town; :func:`band_categories` does a frame.

Statements, from the narrowest region of the ranking to the widest (the first that contains the
whole band wins; ``n`` = compared towns, rank 1 = best):

A rank r of n occupies the share ((r - 1) / n, r / n] of the ranking; a band lies in a region
(a, b] when (rank_p05 - 1) / n >= a and rank_p95 / n <= b.

==================  ===============  ======================================
code                region (a, b]    German words
==================  ===============  ======================================
top_10              (0, 0.10]        unter den besten 10 %
bottom_10           (0.90, 1]        unter den letzten 10 %
top_25              (0, 0.25]        unter den besten 25 %
bottom_25           (0.75, 1]        unter den letzten 25 %
upper_third         (0, 1/3]         im oberen Drittel
middle_third        (1/3, 2/3]       im mittleren Drittel
lower_third         (2/3, 1]         im unteren Drittel
upper_half          (0, 1/2]         in der oberen Hälfte
lower_half          (1/2, 1]         in der unteren Hälfte
upper_two_thirds    (0, 2/3]         im oberen oder mittleren Drittel
lower_two_thirds    (1/3, 1]         im mittleren oder unteren Drittel
unclear             none of these    nicht sicher einzuordnen
==================  ===============  ======================================

Each definite statement is prefixed "mit hoher Wahrscheinlichkeit" ("very likely"): it holds for
the 5-95 % band, not for every conceivable method. A town without a band gets ``not_ranked``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Decimals of a rank percentile as pages and exports show it: the Monte Carlo interpolates between draws, so a band
# end is fractional (2.0499999999999545); shown with one decimal, none where that is whole ('1–2', '439,9–801,1').
RANK_DECIMALS = 1
# Every other decimal that pages, their downloads and the German CSV/.xlsx exports show or write: at most this many
# significant digits. A restated share stored as 14.639999999999999 was exported as "14,639999999999999" (review of
# 4 December); no figure the warehouse holds has more (coordinates have 8). Parquet keeps full precision.
SIGNIFICANT_DIGITS = 12

# code -> (German, English) without the "very likely" prefix; order = narrowest region first
STATEMENTS: dict[str, tuple[str, str]] = {
    "top_10": ("unter den besten 10 %", "among the best 10 %"),
    "bottom_10": ("unter den letzten 10 %", "among the last 10 %"),
    "top_25": ("unter den besten 25 %", "among the best 25 %"),
    "bottom_25": ("unter den letzten 25 %", "among the last 25 %"),
    "upper_third": ("im oberen Drittel", "in the upper third"),
    "middle_third": ("im mittleren Drittel", "in the middle third"),
    "lower_third": ("im unteren Drittel", "in the lower third"),
    "upper_half": ("in der oberen Hälfte", "in the upper half"),
    "lower_half": ("in der unteren Hälfte", "in the lower half"),
    "upper_two_thirds": ("im oberen oder mittleren Drittel", "in the upper or middle third"),
    "lower_two_thirds": ("im mittleren oder unteren Drittel", "in the middle or lower third"),
}
UNCLEAR = ("nicht sicher einzuordnen", "cannot be placed with confidence")
NOT_RANKED = ("kein Rang", "not ranked")
LIKELY = ("mit hoher Wahrscheinlichkeit", "very likely")
# code -> (best share, worst share) of the ranking the region covers, as fractions of n
REGIONS: dict[str, tuple[float, float]] = {
    "top_10": (0.0, 0.10), "bottom_10": (0.90, 1.0), "top_25": (0.0, 0.25), "bottom_25": (0.75, 1.0),
    "upper_third": (0.0, 1 / 3), "middle_third": (1 / 3, 2 / 3), "lower_third": (2 / 3, 1.0),
    "upper_half": (0.0, 0.5), "lower_half": (0.5, 1.0),
    "upper_two_thirds": (0.0, 2 / 3), "lower_two_thirds": (1 / 3, 1.0),
}
CODES = [*STATEMENTS, "unclear", "not_ranked"]


@dataclass(frozen=True)
class BandCategory:
    """What a rank band lets a planner say: a code and the sentence fragment in German and English."""

    code: str
    de: str
    en: str
    band_share: float  # (rank_p95 - rank_p05) / compared_towns; NaN when not ranked


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def band_category(rank_p05: float | None, rank_p95: float | None, compared_towns: float | None) -> BandCategory:
    """The narrowest statement about the ranking that holds for the whole 5-95 % band (table above).

    A band ``[rank_p05, rank_p95]`` lies in a region covering the shares ``(a, b]`` of the ranking
    when ``(rank_p05 - 1) / n >= a`` and ``rank_p95 / n <= b``. Missing inputs give ``not_ranked``; a band that is not
    ``1 <= rank_p05 <= rank_p95 <= compared_towns`` is an error (it cannot come from the Monte Carlo).
    """
    if _missing(rank_p05) or _missing(rank_p95) or _missing(compared_towns):
        return BandCategory("not_ranked", *NOT_RANKED, math.nan)
    low, high, n = float(rank_p05), float(rank_p95), float(compared_towns)
    if not (n >= 1 and 1 <= low <= high):
        raise ValueError(f"rank band {low}-{high} of {n} towns: need 1 <= rank_p05 <= rank_p95 and compared_towns >= 1")
    # A draw may rank a few more towns than the published configuration (e.g. nearest-period
    # imputation scores a town carry-forward cannot), so the band's worse end can pass the
    # published count: it then means "last", and is read as rank n.
    low, high = min(low, n), min(high, n)
    width = (high - low) / n
    for code, (start, stop) in REGIONS.items():
        # rank r occupies the share ((r - 1) / n, r / n]; the band must lie inside (start, stop]
        if (low - 1) / n >= start - 1e-12 and high / n <= stop + 1e-12:
            de, en = STATEMENTS[code]
            return BandCategory(code, f"{LIKELY[0]} {de}", f"{LIKELY[1]} {en}", width)
    return BandCategory("unclear", *UNCLEAR, width)


def band_categories(frame, p05: str = "rank_p05", p95: str = "rank_p95", n: str = "compared_towns"):
    """:func:`band_category` for every row of a DataFrame: columns band_code, band_de, band_en, band_share."""
    import pandas as pd

    rows = [band_category(*(None if pd.isna(v) else v for v in values))
            for values in zip(frame[p05], frame[p95], frame[n])]
    return pd.DataFrame({"band_code": [r.code for r in rows], "band_de": [r.de for r in rows],
                         "band_en": [r.en for r in rows], "band_share": [r.band_share for r in rows]},
                        index=frame.index)
