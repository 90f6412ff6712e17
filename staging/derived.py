"""Measures derived from a publisher's own counts, so that two publishers' series share one definition."""

from __future__ import annotations

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.contracts import apply_allowlist

# share measure -> (numerator, denominator, unit); INKAR x351/x352 use the same definitions.
SHARES = {
    "out_commuter_share": ("out_commuters", "employees_residence", "% of employees at residence"),
    "in_commuter_share": ("in_commuters", "employees_workplace", "% of employees at workplace"),
}


def commuter_shares(observations: pd.DataFrame) -> pd.DataFrame:
    """Out- and in-commuter shares (%) per region and date from BA counts.

    A share is missing (NaN, with the reason) when either count is suppressed; it is never
    computed from a zero that stands for a publisher marker.
    """
    frames = []
    for measure, (numerator, denominator, unit) in SHARES.items():
        parts = observations[observations["measure"].isin([numerator, denominator])]
        if parts.empty:
            continue
        keys = ["ags", "level", "reference_date", "source_id", "vintage"]
        # unstack (not pivot_table) keeps suppressed counts as NaN without crossing unrelated keys
        wide = parts.drop_duplicates([*keys, "measure"]).set_index([*keys, "measure"])["value"].unstack("measure")
        notes = parts.assign(note=parts["note"].fillna("")).groupby(keys)["note"].agg(
            lambda n: "; ".join(sorted({x for x in n if x})))
        if numerator not in wide or denominator not in wide:
            continue
        share = (wide[numerator] / wide[denominator].where(wide[denominator] > 0) * 100).round(2)
        frame = share.rename("value").reset_index().assign(measure=measure, unit=unit)
        frame["note"] = notes.reindex(share.index).fillna("").values
        frame.loc[frame["value"].isna() & (frame["note"] == ""), "note"] = "not computable: a count is missing"
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*OBSERVATION_COLUMNS, "source_id", "vintage"])
    return pd.concat(frames, ignore_index=True)[[*OBSERVATION_COLUMNS, "source_id", "vintage"]]


# INKAR's Kreis out-commuter shares are the BA's counts of 30 June: for the same Kreis and date the two agree to the
# rounding (397 of 401 Kreise on 30.06.2016, the Germany-wide files; the 4 others were reformed between the two
# territories). With INKAR's years shifted by one against its figures 16 agree (one year later) or 43 (one earlier).
# A date where fewer than AGREE_SHARE of at least AGREE_LEAST Kreise agree within AGREE_POINTS is refused
# (``disagreeing_dates``).
AGREE_POINTS, AGREE_SHARE, AGREE_LEAST = 0.05, 0.5, 3
AGREEMENT_MEASURE = "out_commuter_share"  # the measure both publishers give per Kreis and 30 June


def disagreeing_dates(inkar: pd.DataFrame, ba: pd.DataFrame) -> list[tuple[object, int, int]]:
    """(date, Kreise agreeing, Kreise compared) per date on which INKAR's and the BA's Kreis out-commuter shares
    mostly disagree (both on their publishers' territories); empty when they agree or share no Kreis and date.
    Why: INKAR's year labels shifted by one (each year's figures under the next year) passed every check of a
    first build, with no release before to compare with (bad-input review V14)."""
    def shares(frame: pd.DataFrame) -> pd.DataFrame:
        # the publisher's own rows first (staging stacks them before the restated ones; with several releases the
        # first), dates as one type on both sides (dates and timestamps would never match: a silent pass)
        rows = frame[(frame["level"] == "kreis") & (frame["measure"] == AGREEMENT_MEASURE)].dropna(subset=["value"])
        rows = rows.assign(reference_date=pd.to_datetime(rows["reference_date"]).dt.normalize())
        return rows.drop_duplicates(["ags", "reference_date"])[["ags", "reference_date", "value"]]
    both = shares(inkar).merge(shares(ba), on=["ags", "reference_date"], suffixes=("_inkar", "_ba"))
    if both.empty:
        return []
    both["agree"] = (both["value_inkar"] - both["value_ba"]).abs() <= AGREE_POINTS
    per_date = both.groupby("reference_date")["agree"].agg(["sum", "size"])
    off = per_date[(per_date["size"] >= AGREE_LEAST) & (per_date["sum"] < AGREE_SHARE * per_date["size"])]
    return [(date.date(), int(row["sum"]), int(row["size"])) for date, row in off.iterrows()]


def agreement_allowed(allowances, inkar_labels) -> str | None:
    """The reason of the first allow-list entry that lets INKAR's releases ``inkar_labels`` (as stored: a revision
    is '2022-12-rev2', as the year-on-year findings name it) disagree with the BA, else None: the allow-list's own
    matching (``sources.contracts.apply_allowlist``) of a finding of ``AGREEMENT_MEASURE`` over all Kreise (no key),
    among the entries that name a measure (not the default 'every measure')."""
    findings = pd.DataFrame({"source_id": "inkar", "vintage": list(inkar_labels), "measure": AGREEMENT_MEASURE,
                             "ags": ""})
    _, allowed = apply_allowlist(findings, [a for a in allowances if a.names_measure])
    return None if allowed.empty else allowed["reason"].iloc[0]
