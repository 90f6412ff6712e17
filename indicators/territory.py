"""Territorial crosswalk: put a town's population series on its current territorial status.

Gemeinden merge and are renumbered (Kreis reforms). A population change computed across
such a change measures the merger, not the town. The Gemeindeverzeichnis registers of
successive vintages hold enough to reconstruct most changes:

- **recode**: a key disappears and a new key with the same name and (within 1 %) the same
  area appears in the next vintage (most keys of the 2008 Saxon Kreis reform);
- **merger into a survivor**: keys disappear and a Gemeinde that exists in both vintages grows
  by their area (within 0.5 %, one to three predecessors from the same Kreis), e.g.
  Schmiedeberg (40.75 km²) into Dippoldiswalde (63.37 -> 103.99 km²) in 2014;
- **merger into a new key**: a new key's area is the sum of one to three vanished Gemeinden, one
  of which shares a name word with it (Dippoldiswalde + Malter -> 14628060 in 2008).

The first fitting set wins, not the best; mergers of more than three Gemeinden are not found.
docs/methodology.md (section 2.4) reports how often a location check disagrees.

A change that cannot be explained this way stays visible: its area differs, and the
indicator SQL flags it as a territorial change (left out of the index). Only complete
mergers are restated; a partial transfer of territory cannot be reconstructed from
register data and remains flagged.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

RECODE_TOLERANCE = 0.01
MERGER_TOLERANCE = 0.005  # real merger areas add up to within ~0.3 %; wider lets coincidences match
MAX_PREDECESSORS = 3
# designation words that say nothing about identity ("Stadt", "Markt", "Gemeinde", "Flecken")
NAME_NOISE = {"stadt", "markt", "gemeinde", "flecken", "hansestadt", "bad", "sankt", "der", "den", "die", "und",
              "bei", "vor", "ost", "west", "nord", "süd"}


def transitions(register: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Key changes between consecutive register vintages.

    ``register``: ags, name, vintage (one row per Gemeinde and vintage, vintages sortable);
    ``areas``: ags, vintage, area_km2. Returns from_vintage, to_vintage, from_ags, to_ags,
    kind ('recode' | 'merger'), evidence (text with the areas compared).
    """
    frame = register.merge(areas, on=["ags", "vintage"], how="left").drop_duplicates(["vintage", "ags"])
    frame["base_name"] = _base(frame["name"])
    vintages = sorted(frame["vintage"].unique())
    rows = []
    for before, after in zip(vintages, vintages[1:]):
        old = frame[frame["vintage"] == before].set_index("ags")
        new = frame[frame["vintage"] == after].set_index("ags")
        recodes = _recodes(old, new)
        area = old["area_km2"].to_dict()
        gone = set(old.index.difference(new.index)) - set(recodes)
        rows += [(before, after, a, b, "recode", f"same name, area {area[a]} -> {new.at[b, 'area_km2']}")
                 for a, b in recodes.items()]
        mergers = _mergers(old, new, gone, area)
        gone -= {a for a, _, _ in mergers}
        mergers += _new_keys(old, new, gone, recodes, area)
        rows += [(before, after, a, b, "merger", evidence) for a, b, evidence in mergers]
    return pd.DataFrame(rows, columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "evidence"])


def _recodes(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, str]:
    """Vanished key -> new key with the same base name and an area within RECODE_TOLERANCE (unique match)."""
    gone = old.loc[old.index.difference(new.index), ["base_name", "area_km2"]].reset_index()
    appeared = new.loc[new.index.difference(old.index), ["base_name", "area_km2"]].reset_index()
    pairs = gone.merge(appeared, on="base_name", suffixes=("_old", "_new"))
    pairs = pairs[(pairs["area_km2_new"] - pairs["area_km2_old"]).abs() <= RECODE_TOLERANCE * pairs["area_km2_old"]]
    unique = pairs.groupby("ags_old")["ags_new"].transform("size").eq(1) & \
        pairs.groupby("ags_new")["ags_old"].transform("size").eq(1)
    return dict(zip(pairs.loc[unique, "ags_old"], pairs.loc[unique, "ags_new"]))


def _mergers(old: pd.DataFrame, new: pd.DataFrame, gone: set, area: dict) -> list[tuple[str, str, str]]:
    """Predecessors whose area equals a surviving Gemeinde's gain (same Kreis, 1-3 of them)."""
    both = old.index.intersection(new.index)
    gain = (new.loc[both, "area_km2"] - old.loc[both, "area_km2"]).dropna()
    grown = gain[gain > MERGER_TOLERANCE * old.loc[gain.index, "area_km2"]]
    by_kreis = _by_kreis(gone, area)
    found = []
    for successor, area_gain in grown.sort_values(ascending=False).items():
        match = _subset_with_area(by_kreis.get(successor[:5], []), area, area_gain)
        if match:
            evidence = (f"area {old.at[successor, 'area_km2']} -> {new.at[successor, 'area_km2']} km², "
                        f"gain {area_gain:.2f} = predecessors {sum(area[a] for a in match):.2f}")
            found += [(a, successor, evidence) for a in match]
            for a in match:
                by_kreis[a[:5]].remove(a)
    return found


def _new_keys(old: pd.DataFrame, new: pd.DataFrame, gone: set, recodes: dict[str, str],
              area: dict) -> list[tuple[str, str, str]]:
    """New keys formed from 1-3 vanished Gemeinden (a merger during a Kreis reform renumbers too).

    Candidates come from the Kreise that feed the new key's Kreis (seen in the recodes).
    """
    appeared = new.index.difference(old.index).difference(list(recodes.values()))
    feeders: dict[str, set] = {}
    for a, b in recodes.items():
        feeders.setdefault(b[:5], set()).add(a[:5])
    by_kreis = _by_kreis(gone, area)
    found = []
    for successor in appeared:
        kreise = feeders.get(successor[:5], set()) | {successor[:5]}
        candidates = sorted(a for k in kreise for a in by_kreis.get(k, []))
        target = new.at[successor, "area_km2"]
        match = _named_subset(candidates, area, target, old["base_name"], new.at[successor, "base_name"])
        if match:
            evidence = (f"new key, area {target} km² = predecessors {sum(area[a] for a in match):.2f}, "
                        f"name shared with {', '.join(old.at[a, 'name'] for a in match)}")
            found += [(a, successor, evidence) for a in match]
            for a in match:
                by_kreis[a[:5]].remove(a)
    return found


def _named_subset(candidates: list[str], area: dict, target: float, old_names: pd.Series,
                  new_name: str) -> tuple[str, ...] | None:
    """Like _subset_with_area, but one predecessor must share a name part with the new Gemeinde.

    Areas alone pair wrong Gemeinden when many vanish at once (a Kreis reform); a new key nearly
    always carries the name of at least one predecessor (Aue + Bad Schlema -> Aue-Bad Schlema).
    Without such a name the change stays unexplained and is flagged, not guessed.
    """
    words = set(re.findall(r"[a-zäöüß]{3,}", new_name)) - NAME_NOISE
    named = [a for a in candidates if words & (set(re.findall(r"[a-zäöüß]{3,}", old_names[a])) - NAME_NOISE)]
    for anchor in named:
        rest = target - area[anchor]
        if abs(rest) <= MERGER_TOLERANCE * target:
            return (anchor,)
        others = [a for a in candidates if a != anchor]
        match = _subset_with_area(others, area, rest, max_size=MAX_PREDECESSORS - 1,
                                  tolerance=MERGER_TOLERANCE * target)
        if match:
            return (anchor, *match)
    return None


def _by_kreis(keys, area: dict) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key in sorted(keys):
        if pd.notna(area.get(key)):
            grouped.setdefault(key[:5], []).append(key)
    return grouped


def _subset_with_area(candidates: list[str], area: dict, target: float, max_size: int = MAX_PREDECESSORS,
                      tolerance: float | None = None) -> tuple[str, ...] | None:
    """The first 1-, 2- or 3-element set of candidates whose areas sum to ``target`` (within tolerance).

    Only candidates smaller than the target can be part of a sum; pairs and triples are
    searched with numpy outer sums (Kreis reforms leave hundreds of candidates).
    """
    if pd.isna(target) or target <= 0:
        return None
    tolerance = MERGER_TOLERANCE * target if tolerance is None else tolerance
    usable = [a for a in candidates if area[a] <= target + tolerance]
    sizes = np.array([area[a] for a in usable])
    hit = np.flatnonzero(np.abs(sizes - target) <= tolerance)
    if hit.size:
        return (usable[hit[0]],)
    if max_size < 2:
        return None
    pairs = np.triu(np.abs(sizes[:, None] + sizes[None, :] - target) <= tolerance, k=1)
    if pairs.any():
        i, j = np.argwhere(pairs)[0]
        return usable[i], usable[j]
    for i in range(len(usable) - 2 if max_size >= 3 else 0):
        rest = sizes[i + 1:]
        triples = np.triu(np.abs(sizes[i] + rest[:, None] + rest[None, :] - target) <= tolerance, k=1)
        if triples.any():
            j, k = np.argwhere(triples)[0]
            return usable[i], usable[i + 1 + j], usable[i + 1 + k]
    return None


def _base(names: pd.Series) -> pd.Series:
    """Name without the designation suffix (', Stadt', ', M') for matching across vintages."""
    return names.astype(str).str.split(",").str[0].str.strip().str.lower()


def crosswalk(register: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """For every (vintage, ags) of the register: the key on the latest territorial status.

    Follows recodes and mergers through all later vintages. A Gemeinde that later
    disappears without an explained successor maps to itself (it has no current territory).
    """
    vintages = sorted(register["vintage"].unique())
    next_key = {(r.from_vintage, r.from_ags): r.to_ags for r in steps.itertuples()}
    rows = []
    for vintage in vintages:
        later = [v for v in vintages if v > vintage]
        for ags in register.loc[register["vintage"] == vintage, "ags"]:
            current, at = ags, vintage
            for step in later:
                current = next_key.get((at, current), current)
                at = step
            rows.append((vintage, ags, current))
    return pd.DataFrame(rows, columns=["vintage", "ags", "current_ags"])


def restate(observations: pd.DataFrame, walk: pd.DataFrame, measures: dict[str, str]) -> pd.DataFrame:
    """Observations of ``measures`` (old name -> restated name) summed onto the current territory.

    ``observations`` carry ``register_vintage``: the register in force at their reference
    date, whose keys they use. A restated value that includes predecessors notes them,
    e.g. 'restated to current territory: includes 14628350'.
    """
    picked = observations[observations["measure"].isin(measures) & (observations["level"] == "gemeinde")]
    mapped = picked.merge(walk.rename(columns={"vintage": "register_vintage"}), on=["register_vintage", "ags"],
                          how="left")
    mapped["current_ags"] = mapped["current_ags"].fillna(mapped["ags"])
    keys = ["current_ags", "reference_date", "measure", "vintage", "source_id"]
    mapped["missing"] = mapped["value"].isna()
    groups = mapped.groupby(keys, dropna=False, sort=False)
    grouped = groups.agg(value=("value", "sum"), missing=("missing", "any"), unit=("unit", "first"),
                         parts=("ags", "size")).reset_index()
    grouped.loc[grouped["missing"], "value"] = float("nan")  # a missing part makes the whole missing
    # notes only where the territory changed (few groups): list the parts
    changed = mapped[mapped["ags"] != mapped["current_ags"]][keys].drop_duplicates()
    parts = mapped.merge(changed, on=keys).groupby(keys, dropna=False)["ags"].agg(lambda a: sorted(a))
    grouped = grouped.merge(parts.rename("part_list").reset_index(), on=keys, how="left")
    grouped["note"] = [
        "" if not isinstance(part_list, list) else
        f"restated to current territory: includes {', '.join(p for p in part_list if p != current)}"
        if current in part_list else f"restated to current territory: formerly {part_list[0]}" if len(part_list) == 1
        else f"restated to current territory: sum of {' + '.join(part_list)}"
        for current, part_list in zip(grouped["current_ags"], grouped["part_list"])
    ]
    grouped = grouped.drop(columns=["missing", "parts", "part_list"])
    grouped["measure"] = grouped["measure"].map(measures)
    grouped = grouped.rename(columns={"current_ags": "ags"}).assign(level="gemeinde")
    return grouped


def register_vintage_at(observations: pd.DataFrame, register: pd.DataFrame) -> pd.Series:
    """For each observation, the latest register vintage whose territorial date is not after its reference date."""
    dates = (register.groupby("vintage")["territorial_date"].max().reset_index()
             .assign(territorial_date=lambda f: pd.to_datetime(f["territorial_date"])).sort_values("territorial_date"))
    keyed = observations[["reference_date"]].assign(reference_date=lambda f: pd.to_datetime(f["reference_date"]),
                                                    row=range(len(observations)))
    matched = pd.merge_asof(keyed.sort_values("reference_date"), dates, left_on="reference_date",
                            right_on="territorial_date", direction="backward")
    return matched.set_index("row")["vintage"].reindex(range(len(observations))).set_axis(observations.index)
