"""Each Gemeinde of today drawn in today's territory where the newest boundaries and the crosswalk allow it.

The newest BKG outlines on hand have a date (VG5000 of 01.01.2021 in the snapshot); Gemeinden merged or recoded since
are keys those outlines do not know. Where a Gemeinde of today is made of whole Gemeinden of the outlines' date (the
crosswalk's recodes and mergers, ``crosswalk.usable``), it is drawn as the union of their outlines, and they are no
longer drawn apart. Berga-Wünschendorf (2024, from Berga/Elster and Wünschendorf/Elster), Eisenach (a new key in
2021), Uder, Jahnatal and Langelsheim had no map at all, and their predecessors stood on the neighbours' maps as
Gemeinden that no longer exist (sweep of all 10,959 pages, 7 December 2026).

A step that moves only a part (a partial transfer, a split) cannot be drawn from whole outlines: the town keeps the
outline of its key, flagged ``territory_changed_since_geometry`` as before, and a town of today that has no outline
of its own and received such a part is not drawn. Plain pandas and shapely (``from_database`` reads the inputs
through a DuckDB connection), no Dagster: the coworking counts
(staging.geometries.current_outlines), the pages' maps and lists (reports/data.py) and the GeoPackage
(warehouse/exports.py) read the same rows.
"""

from __future__ import annotations

import pandas as pd
import shapely

from staging import crosswalk

# the crosswalk's steps the rule reads (rejected ones are left out by boundaries_of_today), in the working database and
# the published warehouse alike
STEPS_SQL = "SELECT from_date, to_date, from_ags, to_ags, kind, plausibility FROM territorial_changes"
# the Gemeinden of today in the working database, where the municipalities table does not exist yet: the newest
# register's (of two vintages of one territorial date, the later)
NEWEST_REGISTER = """SELECT DISTINCT ON (ags) ags, name FROM municipality_register
WHERE territorial_date = (SELECT max(territorial_date) FROM municipality_register) ORDER BY ags, vintage DESC"""

def bare_name(name) -> str:
    """A register name without its designation, as the BKG's outlines name a Gemeinde: 'Langelsheim, Stadt' ->
    'Langelsheim'."""
    return str(name).split(",")[0].strip()


# the steps that move part of a Gemeinde (crosswalk.PARTIAL_KINDS): no whole outline shows what went where (a town
# they touch after its outline's date is flagged territory_changed_since_geometry, as are mergers into it of
# Gemeinden without an outline)
PARTIAL_KINDS = crosswalk.PARTIAL_KINDS


def from_database(con, outlines_sql: str, today_sql: str, only_today: bool = False) -> pd.DataFrame:
    """``boundaries_of_today`` of the outlines ``outlines_sql`` reads, the crosswalk's steps and the Gemeinden of today
    ``today_sql`` reads (ags, name): the published warehouse's (warehouse.exports.latest_geometries) or the working
    database's (staging.geometries.current_outlines); ``only_today``: without the keys that are no Gemeinde of today."""
    today = con.execute(today_sql).df().set_index("ags")["name"]
    outlines = boundaries_of_today(con.execute(outlines_sql).df(), con.execute(STEPS_SQL).df(), today)
    return outlines[outlines["ags"].isin(today.index)].reset_index(drop=True) if only_today else outlines


def boundaries_of_today(latest: pd.DataFrame, steps: pd.DataFrame, today: pd.Series) -> pd.DataFrame:
    """Per key one outline: each Gemeinde of today (``today``: name by AGS) as the union of its own newest outline and
    those of the Gemeinden of the same release that went whole into it, and every other key as it was.

    ``latest``: ags, vintage, territorial_date, name, geometry_wkb (each key's newest outline); ``steps``: from_date,
    to_date, from_ags, to_ags, kind, plausibility (territorial_changes). Returns ``latest``'s columns (an assembled
    Gemeinde named as in its own outline, or without one by its name of today) with
    ``territory_changed_since_geometry``, ``assembled_from`` (the AGS of the outlines joined into it, its own among
    them where it has one, sorted; empty where it is drawn as its own outline alone), ``assembled_names`` (their
    names in the outlines) and ``now_in`` (for a key drawn that is no Gemeinde of today: the Gemeinden of today its
    land went to), sorted by AGS.
    """
    latest = latest.assign(territorial_date=pd.to_datetime(latest["territorial_date"]))
    steps = steps[~steps["plausibility"].isin(crosswalk.REJECTED)]
    steps = steps.assign(from_date=pd.to_datetime(steps["from_date"]), to_date=pd.to_datetime(steps["to_date"]))
    # only steps whose window ends after the oldest outline's date can have happened after an outline was drawn
    steps = steps[steps["to_date"] > latest["territorial_date"].min()] if len(latest) else steps
    rows = latest.set_index("ags", drop=False)
    drawn, dropped = [], set()
    for town, (parts, between) in _members(rows, steps, set(today.index)).items():
        joined = _join(rows, town, parts, between, steps, today)
        if joined is not None:
            drawn.append(joined)
            dropped |= set(parts) | {town}
        elif town in rows.index:  # a part's outline older than the town's own lies inside it: not drawn twice
            # (this assumes the newer release covers the part's area, as a whole VG release covers Germany)
            dropped |= {part for part in parts
                        if rows.at[part, "territorial_date"] < rows.at[town, "territorial_date"]}
    kept = latest[~latest["ags"].isin(dropped)].reset_index(drop=True)
    kept["assembled_from"] = kept["assembled_names"] = [()] * len(kept)
    kept["territory_changed_since_geometry"] = kept["ags"].isin(_changed_keys(kept, steps))
    kept["now_in"] = _now_in(kept, steps, set(today.index))
    frame = (pd.concat([kept, pd.DataFrame(drawn).assign(now_in=[()] * len(drawn))[kept.columns]], ignore_index=True)
             if drawn else kept)
    return frame.sort_values("ags", ignore_index=True)


def _now_in(kept: pd.DataFrame, steps: pd.DataFrame, today: set[str]) -> list[tuple[str, ...]]:
    """Per key still drawn that is no Gemeinde of today, the Gemeinden of today its steps after its outline's date
    lead to (Anrode, split in 2023: Dingelstädt, Mühlhausen/Thüringen and Unstruttal), a destination merged or
    recoded since followed to its key of today; sorted. Empty for a Gemeinde of today, and where a destination leads
    to no Gemeinde of today (a partial answer would name only some of them). The maps name them beside the outline."""
    successor = _successors(steps)
    out = _after(kept[~kept["ags"].isin(today)], steps, "from_ags")
    found: dict[str, set] = {}
    for ags, to_ags in zip(out["ags"], out["to_ags"]):
        key, _ = _follow(to_ags, successor, today)
        found.setdefault(ags, set()).add(key if key in today else None)
    return [() if ags in today or None in found.get(ags, {None}) else tuple(sorted(found[ags]))
            for ags in kept["ags"]]


def _members(rows: pd.DataFrame, steps: pd.DataFrame, today: set[str]) -> dict[str, tuple[list[str], set[str]]]:
    """Per Gemeinde of today the keys with an outline that are no Gemeinde of today and went whole into it (their
    recodes and mergers followed to a key of today), and the keys passed between (recoded, then merged: keys without
    an outline). A key also listed as splitting or giving away a part after its outline's date is nobody's whole part,
    nor is one with two successors."""
    whole = steps[crosswalk.usable(steps)]
    successor = _successors(steps)
    unclear = set(whole["from_ags"][whole["from_ags"].duplicated()]) | _parted_keys(rows, steps)
    members: dict[str, tuple[list[str], set[str]]] = {}
    for ags in rows.index:
        if ags in today or ags in unclear or ags not in successor:
            continue
        key, passed = _follow(successor[ags], successor, today, unclear)
        if key in today:
            parts, between = members.setdefault(key, ([], set()))
            parts.append(ags)
            between.update(passed)
    return {town: (sorted(parts), between) for town, (parts, between) in sorted(members.items())}


def _successors(steps: pd.DataFrame) -> dict[str, str]:
    """Each key's successor by the crosswalk's recodes and mergers (``crosswalk.usable``: the steps it follows)."""
    whole = steps[crosswalk.usable(steps)]
    return dict(zip(whole["from_ags"], whole["to_ags"]))


def _follow(key: str, successor: dict[str, str], today: set[str], unclear: set[str] = frozenset()) -> tuple[str, list]:
    """``key`` followed through its successors until a Gemeinde of today, a key without one, an ``unclear`` key or a
    cycle: the key reached and the keys passed on the way."""
    passed = []
    while key not in today and key in successor and key not in unclear and key not in passed:
        passed.append(key)
        key = successor[key]
    return key, passed


def _join(rows: pd.DataFrame, town: str, parts: list[str], between: set[str], steps: pd.DataFrame,
          today: pd.Series) -> dict | None:
    """The town's row drawn as the union of its own outline (if any) and its parts', or None where that would not be
    today's territory: outlines of different releases, or a step into a key without an outline (the town's, or one
    passed between) from elsewhere than its parts (a part of a neighbour, or a Gemeinde without an outline)."""
    own = rows.loc[town] if town in rows.index else None
    if len({rows.at[key, "vintage"] for key in [*parts, *([town] if own is not None else [])]}) != 1:
        return None
    new = between | ({town} if own is None else set())
    into = steps[steps["to_ags"].isin(new)]
    if not set(into["from_ags"]) <= set(parts) | between or into["kind"].isin(PARTIAL_KINDS).any():
        return None
    keys = sorted(([town] if own is not None else []) + parts)
    union = shapely.union_all(shapely.from_wkb([bytes(rows.at[key, "geometry_wkb"]) for key in keys]))
    first = rows.loc[keys[0]]
    drawn = {town, *parts, *between}
    # the outlines' name (the maps' labels: BKG's GEN, 'Langelsheim'), for a new key the register's without its
    # designation ('Langelsheim, Stadt')
    name = own["name"] if own is not None else bare_name(today[town])
    return {**first.to_dict(), "ags": town, "name": name,
            "geometry_wkb": shapely.to_wkb(union), "assembled_from": tuple(keys),
            "assembled_names": tuple(rows.at[key, "name"] for key in keys),
            "territory_changed_since_geometry": bool(_changed_keys(
                pd.DataFrame({"ags": sorted(drawn), "territorial_date": first["territorial_date"]}),
                steps[~(steps["from_ags"].isin(drawn) & steps["to_ags"].isin(drawn))]))}


def _after(keys: pd.DataFrame, steps: pd.DataFrame, side: str) -> pd.DataFrame:
    """The steps whose ``side`` (from_ags or to_ags) is one of ``keys``' AGS, from a register of the key's outline's
    date or later (a step from an earlier register may predate the outline, so it is not counted, nor is one later in
    the outline's own year, whose window spans it)."""
    pairs = keys[["ags", "territorial_date"]].merge(steps, left_on="ags", right_on=side)
    return pairs[pairs["from_date"] >= pairs["territorial_date"]]


def _parted_keys(rows: pd.DataFrame, steps: pd.DataFrame) -> set[str]:
    """Keys that split or gave away a part after their outline's date."""
    out = _after(rows.reset_index(drop=True), steps, "from_ags")
    return set(out.loc[out["kind"].isin(PARTIAL_KINDS), "ags"])


def _changed_keys(keys: pd.DataFrame, steps: pd.DataFrame) -> set[str]:
    """Keys whose territory changed after their outline's date: a merger, a split or a partial transfer into it, or a
    partial transfer out of it (the map shows the territory before; a town's own parts' steps are left out by the
    caller)."""
    into = _after(keys, steps, "to_ags")
    out = _after(keys, steps, "from_ags")
    return (set(into.loc[into["kind"].isin(("merger", *PARTIAL_KINDS)), "ags"])
            | set(out.loc[out["kind"] == "partial_transfer", "ags"]))
