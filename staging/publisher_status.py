"""Population weights for a publisher's own territorial status (INKAR), read in registers of other dates.

The crosswalk (``staging/crosswalk.py``) weights each part of a merged Gemeinde with its population in the register
its key is read in. INKAR keys every value by its own status, between two registers; ``status_weights`` corrects
the weight of a key whose territory in the later register already holds another Gemeinde of that status.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from staging.crosswalk import usable

log = logging.getLogger(__name__)


def status_weights(weights: pd.DataFrame, steps: pd.DataFrame, status_keys: set[str]) -> pd.DataFrame:
    """The crosswalk's population weights (ags, vintage, population) for keys of a publisher's own territorial
    status, read in a register after that status.

    INKAR's keys are those of its status (31.12.2019 in release 2022-12), but a key that is also in the closest
    register (31.12.2021) is weighted with its population there. A Gemeinde that took in another Gemeinde INKAR
    still lists apart (merged after INKAR's status: Moorgrund 16063094 into Bad Salzungen 16063003 on 1 December
    2020, Schöneberg 12073505 into Schwedt/Oder 12073532 on 1 January 2021) has, in that register, the other
    one's inhabitants too, and when the crosswalk combines the two parts it counted them twice (review of
    5 December). Such a key's weight in the register after the merger is its population there less the absorbed
    Gemeinden's in the register before (different dates, approximate as every weight); a missing population
    leaves it missing (so is the combined value), a remainder of 0 or less too (the registers disagree).

    ``steps``: the crosswalk's territorial_changes (used: the usable mergers between two keys of
    ``status_keys``); ``status_keys``: the Gemeinde keys of the publisher's status (INKAR's list)."""
    if weights.empty or steps.empty or not status_keys:
        return weights
    absorbed = steps[(usable(steps) & steps["kind"].eq("merger") & steps["from_ags"].ne(steps["to_ags"])
                      & steps["from_ags"].isin(status_keys) & steps["to_ags"].isin(status_keys)).to_numpy(dtype=bool)]
    if absorbed.empty:
        return weights
    absorbed = absorbed[["from_vintage", "to_vintage", "from_ags", "to_ags"]].drop_duplicates().merge(
        weights.rename(columns={"ags": "from_ags", "vintage": "from_vintage", "population": "_absorbed"}),
        on=["from_vintage", "from_ags"], how="left")
    less = absorbed.groupby(["to_vintage", "to_ags"])["_absorbed"].agg(lambda p: p.sum(skipna=False))
    less.index = less.index.set_names(["vintage", "ags"])
    at = pd.MultiIndex.from_frame(weights[["vintage", "ags"]]).get_indexer(less.index)
    if (at < 0).all():
        return weights
    population = weights["population"].to_numpy(dtype=float, copy=True)
    found = at >= 0
    remainder = population[at[found]] - less.to_numpy(dtype=float)[found]
    population[at[found]] = np.where(remainder > 0, remainder, np.nan)
    log.info("INKAR weights: %d Gemeinden of INKAR's status weighted without the Gemeinden INKAR lists apart that "
             "merged into them after its status (e.g. %s)", int(found.sum()),
             ", ".join(f"{a} {v}" for v, a in less.index[found][:3]))
    return weights.assign(population=population)
