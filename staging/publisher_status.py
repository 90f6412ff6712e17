"""A publisher's own territorial status (INKAR): when it lies, and population weights for its keys.

INKAR keys every value by its own status, between two registers, and names it nowhere in its files.
``status_dates`` brackets it from INKAR's own Gemeinde list, the register closest to it and the BKG's WSK: the
latest change the list already shows and the earliest it does not (31.12.2019 and 01.01.2020 for release 2022-12),
typed per release in ``publisher_territorial_status``; the town pages judge INKAR's Kreis values on that day.
The crosswalk (``staging/crosswalk.py``) weights each part of a merged Gemeinde with its population in the register
its key is read in; ``status_weights`` corrects the weight of a key whose territory in the later register already
holds another Gemeinde of that status.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sources.vintages import release_order
from staging.crosswalk import usable

log = logging.getLogger(__name__)

# how publisher_territorial_status found the register of a publisher's status (its column ``basis``)
STATUS_BASES = {
    "own_list": "the register whose Gemeinde keys differ least from the publisher's own Gemeinde list",
    "latest_register_before_release": "without the publisher's Gemeinde list (the offline snapshot cuts it): the "
                                      "latest register before the release",
}
STATUS_COLUMNS = ["register_vintage", "basis", "keys_only_publisher", "keys_only_register", "status_after",
                  "status_before"]


def status_dates(keys: set[str], registers: pd.DataFrame, closest: str, last_change: pd.DataFrame | None,
                 steps: pd.DataFrame) -> dict:
    """Where a publisher's territorial status lies, from its own Gemeinde keys (``keys``; empty: unknown) and the
    register vintage closest to them (``closest``, ``sources.inkar.closest_register``): a row of
    ``publisher_territorial_status`` without source and release (``STATUS_COLUMNS``).

    The changes that made ``closest`` out of the register before it (``steps``: territorial_changes, the usable ones
    into ``closest``; ``registers``: ags, vintage, territorial_date) are dated by the BKG's WSK of the Gemeinde they
    made (``last_change``: ags, last_change_date). A change whose old key the publisher still lists, or whose new key
    it does not list yet, came after its status (``status_before``: the earliest); one whose new key it lists and whose
    old keys it no longer does came on or before it (``status_after``: the latest before ``status_before``). A WSK is a
    Gemeinde's *last* change, so a bound from one is an estimate: one after ``closest``'s own date is left out of
    ``status_after``. Release 2022-12 against the registers of 2013 and 2021: on or after 31.12.2019, before
    01.01.2020 (Kirner Land), the status the BBSR documents. NULL where nothing tells."""
    row = {"register_vintage": closest, "basis": "own_list" if keys else "latest_register_before_release",
           "keys_only_publisher": None, "keys_only_register": None, "status_after": None, "status_before": None}
    if not keys:
        return row
    at_closest = registers[registers["vintage"] == closest]
    register = set(at_closest["ags"])
    row.update(keys_only_publisher=len(keys - register), keys_only_register=len(register - keys))
    if last_change is None or steps.empty:
        return row
    wsk = {a: pd.Timestamp(d).date() for a, d in zip(last_change["ags"], last_change["last_change_date"])
           if not pd.isna(d)}
    later, shown = _changes_around(keys, register, registers, closest, steps)
    dated = [wsk[g] for g in later if g in wsk]
    before = min(dated) if dated else None
    register_date = pd.Timestamp(at_closest["territorial_date"].max()).date()
    earlier = [wsk[g] for g in shown if g in wsk and wsk[g] <= register_date and (before is None or wsk[g] < before)]
    row.update(status_before=before, status_after=max(earlier) if earlier else None)
    log.info("publisher status: keys of register %s, %d listed only by the publisher, %d only by the register; "
             "on or after %s, before %s", closest, row["keys_only_publisher"], row["keys_only_register"],
             row["status_after"], before)
    return row


def _changes_around(keys: set[str], register: set[str], registers: pd.DataFrame, closest: str,
                    steps: pd.DataFrame) -> tuple[set, set]:
    """The Gemeinden of ``closest`` (its keys: ``register``) made by a change the publisher's ``keys`` do not show yet
    (an old key it still lists, or a new key it does not list and the register before did not have) and those made by
    one they show (its new key listed, none of its old keys)."""
    earlier = [v for v in registers["vintage"].unique() if release_order(v) < release_order(closest)]
    previous = set(registers.loc[registers["vintage"] == max(earlier, key=release_order), "ags"]) if earlier else set()
    into = steps[usable(steps).to_numpy(dtype=bool) & steps["to_vintage"].eq(closest).to_numpy(dtype=bool)
                 & steps["to_ags"].isin(register).to_numpy(dtype=bool)]
    into = into[into["from_ags"] != into["to_ags"]]
    old_listed = set(into.loc[into["from_ags"].isin(keys), "to_ags"])
    later = old_listed | {g for g in register - keys if g not in previous}
    shown = set(into.loc[into["to_ags"].isin(keys), "to_ags"]) - old_listed
    return later, shown


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
