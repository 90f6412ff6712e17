"""Measures derived from a publisher's own counts, so that two publishers' series share one definition."""

from __future__ import annotations

import pandas as pd

from sources import OBSERVATION_COLUMNS

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
