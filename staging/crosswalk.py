"""Territorial crosswalk: put a town's population series on its current territorial status.

Gemeinden merge and are renumbered (Kreis reforms). A population change computed across
such a change measures the merger, not the town. Two kinds of evidence give the key steps
between successive Gemeindeverzeichnis register vintages:

**Official** (``official_steps``): the Destatis lists of territorial changes
(sources/destatis_changes.py, from 2023). A dissolution into one Gemeinde is a merger, a key
change a recode; each step names list, Kennziffer, Änderungsart and statistical effective date.
Where the lists reach a register transition, they replace the inferred steps of every Gemeinde
they name (``with_official``). A partial transfer of territory, or a dissolution split over
several Gemeinden, cannot be restated by keys: it is kept as a 'partial_transfer' | 'split'
row and flags the series of the Gemeinden involved for that period (``flag_transfers``).

**Inferred** (``transitions``, for the periods the lists do not reach), from the registers:

- **recode**: a key disappears and a new key with the same name and (within 1 %) the same
  area appears in the next vintage (most keys of the 2008 Saxon Kreis reform);
- **merger into a survivor**: keys disappear and a Gemeinde that exists in both vintages grows
  by their area (within 0.5 %: any number of the vanished members of its own Verband, tried for
  every town first, else one to three predecessors from the same Kreis, one of them of its Verband
  where vanished members of it are left), e.g.
  Schmiedeberg (40.75 km²) into Dippoldiswalde (63.37 -> 103.99 km²) in 2014;
- **merger into a new key**: a new key's area is the sum of vanished Gemeinden, one of which shares a
  name word with it (Dippoldiswalde + Malter -> 14628060 in 2008): members of that one's Verband, else
  one to three of the Kreis.

New keys are matched before survivors: their sets carry a name, a survivor's set need not. Among the
sets within tolerance the best-fitting one wins (smallest area residual at the registers' precision of
0.01 km², fewer predecessors on a tie); survivors are served largest gain first. Mergers of more than three
Gemeinden of several Verbände or across Kreis borders are not found by area; with the BKG VG geometries,
``polygon_mergers`` reads them off the boundaries (earlier centres inside a later polygon) and
replaces the area sets they contradict. docs/methodology.md (section 2.4) reports how
the inference compares with the official 2024 list (benchmarks/crosswalk_validation.py).

A change that cannot be explained either way stays visible: its area differs, so a restated population
or area dated before it is typed 'earlier_territory' (``flag_earlier_territory``), and the indicator SQL
flags a change or density across it as a territorial change (left out of the index).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from sources.frames import per_distinct, shared_where, with_columns
from sources.vintages import release_order, release_ranks

RECODE_TOLERANCE = 0.01
MERGER_TOLERANCE = 0.005  # real merger areas add up to within ~0.3 %; wider lets coincidences match
MAX_PREDECESSORS = 3
AREA_DECIMALS = 2  # the registers give areas in km² to two decimals: residuals are compared at that precision
STEP_COLUMNS = ["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "evidence", "basis"]
# how a step was found (territorial_changes.basis): the typed decision the code asks; ``evidence`` is its text
BASIS = {
    "change_list": "listed in the Destatis Gebietsänderungen (official)",
    "name_and_area": "inferred: a vanished key and a new one with the same name and area (a recode)",
    "area_sum": "inferred: the areas of 1-3 vanished Gemeinden of the Kreis (any number of one Verband) add up to "
                "a Gemeinde's gain or a new key's area",
    "nearest_centres": "inferred: the vanished Gemeinden whose register centres lie nearest add up to the area",
    "polygon": "inferred: the vanished Gemeinden whose centres lie inside the successor's BKG VG polygon add up to "
               "its area within 1 %",
    "polygon_remeasured": "inferred as polygon, within 2 %: the registers re-measured the land around",
}
GEOGRAPHIC_BASES = {"nearest_centres", "polygon", "polygon_remeasured"}  # tested apart from an area set
MINOR_TRANSFER = 50  # inhabitants: a partial transfer moving at most this many people (1 % of a town of 5,000) is noted, not excluded
MOVED_COLUMNS = ["moved_population", "moved_area_km2"]  # official partial transfers and split parts: what the list says moved
# what only an official step has: what moved (MOVED_COLUMNS) and the day the change took effect (territorial_changes)
LISTED_COLUMNS = [*MOVED_COLUMNS, "effective_date"]
MINOR_TRANSFER_SHARE = 1.0  # ... or at most this share (%) of the smaller Gemeinde's population: the same 1 % for larger towns
RESTATING_KINDS = {"recode", "merger"}  # the kinds the crosswalk follows; the others only flag
OFFICIAL = "Destatis Gebietsänderungen"  # evidence of official steps starts with this
# designation words that say nothing about identity ("Stadt", "Markt", "Gemeinde", "Flecken")
NAME_NOISE = {"stadt", "markt", "gemeinde", "flecken", "hansestadt", "bad", "sankt", "der", "den", "die", "und",
              "bei", "vor", "ost", "west", "nord", "süd"}


def register_dates(register: pd.DataFrame) -> pd.Series:
    """Per register vintage its territorial status (Gebietsstand) as a Timestamp: the date the steps compare, since
    vintages are release ids ('1998-12-31' has the status of 31.12.1997, '2024-Q4' that of 31.12.2024)."""
    return register.groupby("vintage")["territorial_date"].max().map(pd.Timestamp)


def transitions(register: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Key changes between consecutive register vintages.

    ``register``: ags, name, vintage (one row per Gemeinde and vintage; vintages in ``release_order``);
    ``areas``: ags, vintage, area_km2. Returns from_vintage, to_vintage, from_ags, to_ags,
    kind ('recode' | 'merger'), evidence (text with the areas compared), basis ('name_and_area' | 'area_sum').
    """
    frame = register.merge(areas, on=["ags", "vintage"], how="left").drop_duplicates(["vintage", "ags"])
    frame["base_name"] = _base(frame["name"])
    vintages = sorted(frame["vintage"].unique(), key=release_order)
    rows = []
    for before, after in zip(vintages, vintages[1:]):
        old = frame[frame["vintage"] == before].set_index("ags")
        new = frame[frame["vintage"] == after].set_index("ags")
        recodes = _recodes(old, new)
        area = old["area_km2"].to_dict()
        gone = set(old.index.difference(new.index)) - set(recodes)
        new_area = _column_dict(new, "area_km2")
        rows += [(before, after, a, b, "recode", f"same name, area {area[a]} -> {new_area[b]}", "name_and_area")
                 for a, b in recodes.items()]
        verband = _verbaende(old)
        # new keys first: their sets share a name with them, a growing Gemeinde's set need not (see _new_keys)
        mergers = _new_keys(old, new, gone, recodes, area, verband)
        gone -= {a for a, _, _ in mergers}
        mergers += _mergers(old, new, gone, area, verband)
        rows += [(before, after, a, b, "merger", evidence, "area_sum") for a, b, evidence in mergers]
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def official_steps(changes: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """Steps from the Destatis change lists, placed between the register vintages they fall between.

    ``changes``: rows of sources.destatis_changes (from_ags, to_ags, kind, area_km2, population,
    effective_date, change_id; ``vintage`` = the list's year if present). A change belongs to the
    register transition whose territorial dates enclose its statistical effective date
    (before < date <= after). Returns the columns of ``transitions()`` and ``LISTED_COLUMNS`` (``effective_date``:
    the step's own change row's date; of a chain, the first: when ``from_ags`` ceased): a dissolution into one
    Gemeinde is a 'merger', a key change a 'recode' (chains within a transition are followed to
    the key of the later register); a partial transfer, or a dissolution split over several
    Gemeinden, cannot be restated by keys and becomes a 'partial_transfer' | 'split' row that
    flags the Gemeinden involved. Keys absent from the register around the change are left out.
    """
    if changes.empty:
        return pd.DataFrame(columns=STEP_COLUMNS)
    dates = register_dates(register).sort_values()
    rows = changes.drop_duplicates(["from_ags", "to_ags", "kind", "effective_date"]).copy()
    rows["effective_date"] = pd.to_datetime(rows["effective_date"])
    frames = []
    for (before, start), (after, end) in zip(dates.items(), list(dates.items())[1:]):
        inside = rows[(rows["effective_date"] > start) & (rows["effective_date"] <= end)]
        if inside.empty:
            continue
        old_keys = set(register.loc[register["vintage"] == before, "ags"])
        new_keys = set(register.loc[register["vintage"] == after, "ags"])
        steps = _steps_of_transition(inside, new_keys)
        known = steps["to_ags"].isin(new_keys) | ~steps["kind"].isin(RESTATING_KINDS)
        keep = steps["from_ags"].isin(old_keys) & known
        frames.append(steps[keep].assign(from_vintage=before, to_vintage=after, basis="change_list"))
    columns = [*STEP_COLUMNS, *LISTED_COLUMNS]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _steps_of_transition(rows: pd.DataFrame, new_keys: set) -> pd.DataFrame:
    """Key steps (merger, recode) composed to the later register's keys, and flag rows."""
    rows = rows.sort_values("effective_date")
    rows["evidence"] = [_evidence(r) for r in rows.itertuples()]
    receivers = rows[rows["kind"] == "dissolution"].groupby("from_ags")["to_ags"].transform("nunique")
    rows.loc[receivers.index[receivers > 1], "kind"] = "split"
    rows["kind"] = rows["kind"].replace({"dissolution": "merger"})
    keyed = rows[rows["kind"].isin(RESTATING_KINDS)]
    successor = {r.from_ags: (r.to_ags, r.kind, r.evidence) for r in keyed.itertuples()}
    steps = []
    for row in keyed.itertuples():
        target, kinds, trail = row.to_ags, {row.kind}, [row.evidence]
        for _ in range(10):  # a key changed twice within one transition (merged, then renumbered)
            if target in new_keys or target not in successor:
                break
            target, kind, evidence = successor[target]
            kinds.add(kind)
            trail.append(evidence)
        steps.append((row.from_ags, target, "recode" if kinds == {"recode"} else "merger", "; then ".join(trail),
                      np.nan, np.nan, row.effective_date))
    flags = rows[~rows["kind"].isin(RESTATING_KINDS)]
    missing = [np.nan] * len(flags)
    moved = pd.to_numeric(flags["population"], errors="coerce") if "population" in flags else missing
    area = pd.to_numeric(flags["area_km2"], errors="coerce") if "area_km2" in flags else missing
    steps += list(zip(flags["from_ags"], flags["to_ags"], flags["kind"], flags["evidence"], moved, area,
                      flags["effective_date"]))
    return pd.DataFrame(steps, columns=["from_ags", "to_ags", "kind", "evidence", *LISTED_COLUMNS])


def _evidence(row) -> str:
    code = {"dissolution": 1, "partial_transfer": 2, "recode": 3}[row.kind]
    listed = f"{OFFICIAL} {getattr(row, 'vintage', '')}".strip()
    moved = "" if pd.isna(row.area_km2) else f", {row.area_km2:.2f} km², {row.population} inhabitants"
    return (f"{listed} ({row.change_id}), Änderungsart {code}, wirksam {row.effective_date.date().isoformat()}"
            f"{moved}")


def with_official(inferred: pd.DataFrame, official: pd.DataFrame) -> pd.DataFrame:
    """Inferred steps with the official ones in their place (official wins).

    For each register transition the lists reach, every inferred step that involves a
    Gemeinde named in an official row of that transition (as giving or receiving
    Gemeinde) is dropped, and the official rows are added. Inferred steps for other
    Gemeinden and for older transitions stay.
    """
    if official.empty:
        return inferred.reset_index(drop=True)
    concerned = pd.concat([official[["from_vintage", "from_ags"]].rename(columns={"from_ags": "ags"}),
                           official[["from_vintage", "to_ags"]].rename(columns={"to_ags": "ags"})])
    concerned = set(zip(concerned["from_vintage"], concerned["ags"]))
    involved = [(v, a) in concerned or (v, b) in concerned
                for v, a, b in zip(inferred["from_vintage"], inferred["from_ags"], inferred["to_ags"])]
    kept = inferred[~pd.Series(involved, index=inferred.index, dtype=bool)]
    # hand-built official rows may lack what moved or their day
    official = official.assign(**{c: pd.NaT if c == "effective_date" else np.nan
                                  for c in LISTED_COLUMNS if c not in official})
    return pd.concat([kept, official[[*STEP_COLUMNS, *LISTED_COLUMNS]]], ignore_index=True).sort_values(
        ["from_vintage", "from_ags", "to_ags"], ignore_index=True)


def is_official(steps: pd.DataFrame) -> pd.Series:
    """Which steps come from the Destatis change lists (the rest are inferred from the registers)."""
    if "basis" not in steps:  # a step that reads the crosswalk alone (a selected subset) after an upgrade
        raise ValueError("territorial_changes has no column basis: it was written by an earlier version; "
                         "materialise territorial_crosswalk again (a whole refresh does)")
    return steps["basis"] == "change_list"


def _recodes(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, str]:
    """Vanished key -> new key with the same base name and an area within RECODE_TOLERANCE (unique match)."""
    gone = old.loc[old.index.difference(new.index), ["base_name", "area_km2"]].reset_index()
    appeared = new.loc[new.index.difference(old.index), ["base_name", "area_km2"]].reset_index()
    pairs = gone.merge(appeared, on="base_name", suffixes=("_old", "_new"))
    pairs = pairs[(pairs["area_km2_new"] - pairs["area_km2_old"]).abs() <= RECODE_TOLERANCE * pairs["area_km2_old"]]
    unique = pairs.groupby("ags_old")["ags_new"].transform("size").eq(1) & \
        pairs.groupby("ags_new")["ags_old"].transform("size").eq(1)
    return dict(zip(pairs.loc[unique, "ags_old"], pairs.loc[unique, "ags_new"]))


def _mergers(old: pd.DataFrame, new: pd.DataFrame, gone: set, area: dict, verband: dict) -> list[tuple[str, str, str]]:
    """Predecessors whose area equals a surviving Gemeinde's gain: first any set of vanished members of its own
    Verband (``_verband_subset``), else 1-3 of its Kreis, one of them of its Verband where such members are left
    (``_passes_over_own_verband``)."""
    both = old.index.intersection(new.index)
    gain = (new.loc[both, "area_km2"] - old.loc[both, "area_km2"]).dropna()
    grown = gain[gain > MERGER_TOLERANCE * old.loc[gain.index, "area_km2"]]
    by_kreis = _by_kreis(gone, area)
    found, open_gains = [], []
    # two rounds: every town's own Verband first, so that a Kreis-wide coincidence found for one town cannot take
    # the Verband member another town needs (Premnitz's triple took Bredow, whom Brieselang had absorbed)
    for successor, area_gain in grown.sort_values(ascending=False).items():
        match = _verband_subset(by_kreis.get(successor[:5], []), verband, verband.get(successor), area, area_gain)
        if match:
            found += _claim(by_kreis, match, successor, _gain_evidence(old, new, successor, area_gain, match, area,
                                                                       " of its Verband"))
        else:
            open_gains.append((successor, area_gain))
    for successor, area_gain in open_gains:
        pool = by_kreis.get(successor[:5], [])
        match = _subset_with_area(pool, area, area_gain)
        if match and _passes_over_own_verband(match, pool, verband, verband.get(successor)):
            match = None
        if match:
            found += _claim(by_kreis, match, successor, _gain_evidence(old, new, successor, area_gain, match, area))
    return found


def _passes_over_own_verband(match: tuple[str, ...], pool: list[str], verband: dict, own: str | None) -> bool:
    """Whether a Kreis-wide set leaves out every vanished member of the growing Gemeinde's own Verband while some
    are still unclaimed. Such a set is not used: a town whose Amt partners vanished while it grew most likely took
    them, with Gemeinden the area search cannot see (another Kreis) or in a set that is not the Verband's only one.
    Bad Freienwalde (Oder) grew by 75.24 km² (2002 -> 2009): the five other members of Amt Bad Freienwalde-Insel
    (54.04 km²) and, most likely, Hohensaaten of Kreis Barnim; the search found Diedersdorf + Werbig + Wriezener
    Höhe of two other Ämter (74.96 km²; +1.40 % a year across the step, its 10-year population change of 2013
    +0.48 % a year instead of about -1.3 %). Unexplained, the town's change across 2003 is left out instead."""
    members = {a for a in pool if own is not None and verband.get(a) == own}
    return bool(members) and not members & set(match)


def _gain_evidence(old: pd.DataFrame, new: pd.DataFrame, successor: str, gain: float, match: tuple, area: dict,
                   where: str = "") -> str:
    return (f"area {old.at[successor, 'area_km2']} -> {new.at[successor, 'area_km2']} km², "
            f"gain {gain:.2f} = predecessors{where} {sum(area[a] for a in match):.2f}")


VERBAND_MAX_MEMBERS = 16  # vanished members of one Verband tried in every combination (2^16 sets)


def _verbaende(register: pd.DataFrame) -> dict:
    """ags -> Verband key (``vb_ars``) of a register vintage; none for a verbandsfreie Gemeinde (also under the
    Verband part '0000', which the registers of 1994-2002 give every verbandsfreie Gemeinde of a Kreis) or a
    register without the column."""
    if "vb_ars" not in register:
        return {}
    keys = register["vb_ars"]
    return keys[keys.notna() & ~keys.astype(str).str.endswith("0000")].to_dict()


def _verband_subset(pool: list[str], verband: dict, own: str | None, area: dict, target: float,
                    anchor: str | None = None) -> tuple[str, ...] | None:
    """The set, of any size, of the vanished members of the Verband ``own`` in ``pool`` whose areas
    add up to ``target`` within MERGER_TOLERANCE (with ``anchor`` among them where given), or None. Only the one
    set that fits counts: up to 2^16 sums of one Verband leave room for coincidences the search of at most three
    does not have, so where two sets fit, the Verband is no evidence and the Kreis-wide search decides.

    Why first: most mergers joined the members of one Amt or Verbandsgemeinde, often more than three at once. The
    Kreis-wide search stops at three and found a coincidental triple from three other Ämter instead: Ketzin's
    2003 gain of 62.06 km² (Etzin, Falkenrehde, Tremmen and Zachow, Amt Ketzin) was matched with Klein Behnitz,
    Warsow and Zollchow (62.06 km² too), and its 10-year population change came out +2.5 % a year instead of
    -0.2 % (review of 5 December). A Verband with more than VERBAND_MAX_MEMBERS vanished members is not tried."""
    if own is None:
        return None
    members = [a for a in pool if verband.get(a) == own]
    if anchor is not None:
        members = [anchor] + [a for a in members if a != anchor]
    if not members or len(members) > VERBAND_MAX_MEMBERS or pd.isna(target) or target <= 0:
        return None
    subsets = _all_subsets(len(members))
    if anchor is not None:
        subsets = subsets[subsets[:, 0]]
    residual = np.abs(subsets @ np.array([area[a] for a in members], dtype=float) - target)
    fits = np.flatnonzero(residual <= MERGER_TOLERANCE * target)
    if len(fits) != 1:  # none, or several sets of one Verband that fit: an ambiguous fit is no evidence
        return None
    return tuple(a for a, taken in zip(members, subsets[fits[0]]) if taken)


def _claim(by_kreis: dict[str, list], match: list[str], successor: str, evidence: str) -> list[tuple[str, str, str]]:
    """The steps of a found set; its members leave the pool, so no later successor claims them again."""
    for a in match:
        by_kreis[a[:5]].remove(a)
    return [(a, successor, evidence) for a in match]


def _new_keys(old: pd.DataFrame, new: pd.DataFrame, gone: set, recodes: dict[str, str],
              area: dict, verband: dict) -> list[tuple[str, str, str]]:
    """New keys formed from vanished Gemeinden (a merger during a Kreis reform renumbers too): the members of a
    named predecessor's Verband, else 1-3 of the Kreis, one sharing a name word with the new key.

    Candidates come from the Kreise that feed the new key's Kreis (seen in the recodes). Run before the growth
    search (``_mergers``), which has no name condition: run after it, it took a Gemeinde that continues under a new
    key of its own name for a coincidental Kreis-wide set (2002 -> 2009: Letschin into Bad Freienwalde with Dolgelin
    and Münchehofe, while Letschin and its Amt partners form the new key Letschin, 141.32 km²; Neulewin into Wriezen;
    review of 5 December 2026).
    """
    appeared = new.index.difference(old.index).difference(list(recodes.values()))
    feeders: dict[str, set] = {}
    for a, b in recodes.items():
        feeders.setdefault(b[:5], set()).add(a[:5])
    by_kreis = _by_kreis(gone, area)
    # plain dicts, not .at per successor and candidate (18,000 lookups on the full data, ~0.5 s)
    new_area, new_base = _column_dict(new, "area_km2"), _column_dict(new, "base_name")
    old_base, old_name = _column_dict(old, "base_name"), _column_dict(old, "name")
    found = []
    for successor in appeared:
        kreise = feeders.get(successor[:5], set()) | {successor[:5]}
        candidates = sorted(a for k in kreise for a in by_kreis.get(k, []))
        target = new_area[successor]
        match = _named_verband_subset(candidates, verband, area, target, old_base, new_base[successor])
        where = " of one Verband" if match else ""
        match = match or _named_subset(candidates, area, target, old_base, new_base[successor])
        if match:
            evidence = (f"new key, area {target} km² = predecessors{where} {sum(area[a] for a in match):.2f}, "
                        f"name shared with {', '.join(old_name[a] for a in match)}")
            found += _claim(by_kreis, match, successor, evidence)
    return found


def _named_verband_subset(candidates: list[str], verband: dict, area: dict, target: float,
                          old_names: pd.Series | dict, new_name: str) -> tuple[str, ...] | None:
    """``_verband_subset`` for a new key: the members of a named predecessor's Verband, that predecessor among
    them, or None; None too where two named predecessors give two different sets (no evidence either way)."""
    words = _name_words(new_name)
    fits = {frozenset(match) for anchor in candidates if words & _name_words(old_names[anchor])
            if (match := _verband_subset(candidates, verband, verband.get(anchor), area, target, anchor))}
    return tuple(sorted(next(iter(fits)))) if len(fits) == 1 else None


def _named_subset(candidates: list[str], area: dict, target: float, old_names: pd.Series | dict,
                  new_name: str) -> tuple[str, ...] | None:
    """Like _subset_with_area, but one predecessor must share a name part with the new Gemeinde.

    Areas alone pair wrong Gemeinden when many vanish at once (a Kreis reform); a new key nearly
    always carries the name of at least one predecessor (Aue + Bad Schlema -> Aue-Bad Schlema).
    Without such a name the change stays unexplained and is flagged, not guessed. The best fit over all anchors
    and completions counts even where another named set fits nearly as well: the growth search's uniqueness
    (``_unambiguous``) applied here too removed 1 more wrong and 5 right of the 747 reference rows (2009 and later)
    and 575 more rows, mostly of the older transitions, and a namesake so left unclaimed can go to a growing
    neighbour's set (Neulewin into Bad Freienwalde with Bralitz and Wriezener Höhe; measured 5 December 2026)."""
    words = _name_words(new_name)
    named = [a for a in candidates if words & _name_words(old_names[a])]
    tolerance = MERGER_TOLERANCE * target
    fits = []
    for anchor in named:  # every anchor's near-best sets, not the first anchor that fits
        rest = target - area[anchor]
        if abs(rest) <= tolerance:
            fits.append(((anchor,), round(abs(rest), AREA_DECIMALS)))
        others = [a for a in candidates if a != anchor]
        fits += [((anchor, *match), residual) for match, residual
                 in _near_best(others, area, rest, max_size=MAX_PREDECESSORS - 1, tolerance=tolerance)]
    fits = _best_first(fits)
    return fits[0][0] if fits else None


@functools.lru_cache(maxsize=65536)
def _name_words(name: str) -> frozenset:
    """The identifying words of a base name (3+ letters, NAME_NOISE left out); cached: the same vanished
    Gemeinde is a candidate of many new keys (9,000 calls of _named_subset on the full data)."""
    return frozenset(set(re.findall(r"[a-zäöüß]{3,}", name)) - NAME_NOISE)


def _column_dict(frame: pd.DataFrame, column: str) -> dict:
    """index -> value of one column, the values as ``.at`` gives them (numpy scalars): a dict lookup per key
    instead of ``.at``, which costs ~25 µs a call in loops over thousands of Gemeinden."""
    return dict(zip(frame.index, frame[column].to_numpy()))


def _by_kreis(keys, area: dict) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key in sorted(keys):
        if pd.notna(area.get(key)):
            grouped.setdefault(key[:5], []).append(key)
    return grouped


def _subset_with_area(candidates: list[str], area: dict, target: float, max_size: int = MAX_PREDECESSORS,
                      tolerance: float | None = None) -> tuple[str, ...] | None:
    """The best-fitting 1-, 2- or 3-element set of candidates whose areas sum to ``target``, if it is unambiguous.

    Best = smallest area residual |sum - target| among the sets within tolerance, compared at the
    registers' precision (AREA_DECIMALS; fewer predecessors win a tie). Taking the first fitting set paired wrong
    Gemeinden when a coincidental pair fell within tolerance before the true one; taking the best one where another
    fits nearly as well still does (``_unambiguous``). Only candidates smaller than the target can be part of a
    sum; pairs and triples are searched with numpy outer sums (Kreis reforms leave hundreds of candidates).
    """
    return _unambiguous(_near_best(candidates, area, target, max_size, tolerance))


AMBIGUITY_MARGIN = 0.03  # km²: 95 % of unchanged Gemeinden keep their register area within this between registers


def _unambiguous(fits: list[tuple[tuple[str, ...], float]]) -> tuple[str, ...] | None:
    """The best of ``fits`` (best first, all within AMBIGUITY_MARGIN of it), or None where another set of no more
    members is among them. The registers move an unchanged Gemeinde's area by up to 0.03 km² (95 %), so residuals
    that close cannot tell the true set from a coincidence; a wrong set publishes a wrong restated figure as a
    correct merger, an unexplained one is flagged and excluded. A larger rival does not count: among n candidates
    there are about n³/6 triples against n single Gemeinden, so a coincidental fit is far likelier for the larger
    set (Bestensee's 2002 -> 2009 gain of 17.98 km² keeps Pätz, 17.97 km², against Diepensee + Kablow + Kolberg,
    17.99 km²). Wriezen's gain of 39.35 km² fits Hohenwutzen + Worin of two other Ämter (0.01 km² off) and Wriezener
    Höhe of its neighbour Amt (0.04 km² off): it stays unexplained (review of 5 December 2026)."""
    if not fits:
        return None
    best = fits[0][0]
    rivals = [match for match, _ in fits[1:] if len(match) <= len(best) and set(match) != set(best)]
    return None if rivals else best


def _best_first(fits: list[tuple[tuple[str, ...], float]]) -> list[tuple[tuple[str, ...], float]]:
    """``fits`` by residual, then fewer members (stable: the one found first wins a tie), each set once, cut at
    the best residual + AMBIGUITY_MARGIN."""
    ordered, seen = [], set()
    for match, residual in sorted(fits, key=lambda fit: (fit[1], len(fit[0]))):
        if ordered and residual > ordered[0][1] + AMBIGUITY_MARGIN + 1e-9:
            break
        if frozenset(match) not in seen:
            seen.add(frozenset(match))
            ordered.append((match, residual))
    return ordered


def _near_best(candidates: list[str], area: dict, target: float, max_size: int = MAX_PREDECESSORS,
               tolerance: float | None = None) -> list[tuple[tuple[str, ...], float]]:
    """(set, residual) of the sets of 1 to ``max_size`` candidates within tolerance of ``target`` whose residual,
    rounded to the registers' precision (two residuals that differ only by float noise are a tie), is at most the
    best one's + AMBIGUITY_MARGIN; best first (``_best_first``)."""
    if pd.isna(target) or target <= 0:
        return []
    tolerance = MERGER_TOLERANCE * target if tolerance is None else tolerance
    usable = [a for a in candidates if area[a] <= target + tolerance]
    sizes = np.array([area[a] for a in usable], dtype=float)
    blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (candidate indices per set, rounded residuals), search order

    def consider(sums: np.ndarray, lead: tuple = (), offset: int = 0) -> None:
        residuals = np.abs(sums - target)
        at = np.argwhere(residuals <= tolerance)
        if len(at):
            rows = np.hstack([np.tile(np.array(lead, dtype=int), (len(at), 1)), at + offset])
            blocks.append((rows, np.round(residuals[tuple(at.T)], AREA_DECIMALS)))

    consider(sizes)
    if max_size >= 2:
        consider(np.where(np.triu(np.ones((len(sizes),) * 2, dtype=bool), k=1),
                          sizes[:, None] + sizes[None, :], np.inf))
    for i in range(len(usable) - 2 if max_size >= 3 else 0):
        rest = sizes[i + 1:]
        consider(np.where(np.triu(np.ones((len(rest),) * 2, dtype=bool), k=1),
                          sizes[i] + rest[:, None] + rest[None, :], np.inf), (i,), i + 1)
    if not blocks:
        return []
    limit = min(residuals.min() for _, residuals in blocks) + AMBIGUITY_MARGIN + 1e-9
    return _best_first([(tuple(usable[j] for j in row), float(r)) for rows, residuals in blocks
                        for row, r in zip(rows[residuals <= limit], residuals[residuals <= limit])])


def _base(names: pd.Series) -> pd.Series:
    """Name without the designation suffix (', Stadt', ', M') for matching across vintages."""
    # per distinct name, spread back by code: the register repeats each name in every vintage (~330,000 rows)
    text = names.astype(str)
    codes, uniques = pd.factorize(text)
    base = pd.Series(uniques, dtype=object).str.split(",").str[0].str.strip().str.lower().to_numpy(dtype=object)
    return pd.Series(base[codes], index=names.index, dtype=object)


def crosswalk(register: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """For every (vintage, ags) of the register: the key on the latest territorial status.

    Follows recodes and mergers through all later vintages. A Gemeinde that later
    disappears without an explained successor maps to itself (it has no current territory).
    """
    vintages = sorted(register["vintage"].unique(), key=release_order)
    restating = steps[usable(steps)]  # partial transfers, splits and implausible steps only flag
    next_key = {(r.from_vintage, r.from_ags): r.to_ags for r in restating.itertuples()}
    rows = []
    for position, vintage in enumerate(vintages):
        later = vintages[position + 1:]
        for ags in register.loc[register["vintage"] == vintage, "ags"]:
            current, at = ags, vintage
            for step in later:
                current = next_key.get((at, current), current)
                at = step
            rows.append((vintage, ags, current))
    return pd.DataFrame(rows, columns=["vintage", "ags", "current_ags"])


def former_kreise(register: pd.DataFrame, walk: pd.DataFrame) -> pd.DataFrame:
    """Per Gemeinde of the newest register every Kreis it lay in that the newest register no longer has, named as
    the last register listing it names it: ags, kreis_ags, kreis_name. ``register``: ags, vintage, territorial_date,
    kreis_ags, kreis_name; ``walk``: the crosswalk's keys (``crosswalk``: an old key's first five digits are the
    Kreis it lay in then).

    Why: a publisher may list a Kreis after it ended (the Mobilfunk-Monitoring of mid-2021 lists Göttingen and
    Osterode am Harz, merged into the Landkreis Göttingen in 2016), and Kreis figures of a date when a part of
    today's Kreis was a Kreis of its own (Eisenach, in the Wartburgkreis since 2021) describe a smaller territory:
    the town pages say so (reports.context ``kreis_territory``; audit of 7 December 2026)."""
    newest = register[register["territorial_date"] == register["territorial_date"].max()]
    keys = walk[walk["current_ags"].isin(newest["ags"])]
    former = pd.DataFrame({"ags": keys["current_ags"], "kreis_ags": keys["ags"].str[:5]}).drop_duplicates()
    former = former[~former["kreis_ags"].isin(newest["kreis_ags"])]
    names = (register.sort_values("territorial_date", kind="stable").drop_duplicates("kreis_ags", keep="last")
             .set_index("kreis_ags")["kreis_name"])
    return (former.assign(kreis_name=former["kreis_ags"].map(names))
            .sort_values(["ags", "kreis_ags"]).reset_index(drop=True))


PARTIAL_KINDS = ("split", "partial_transfer")  # the steps that move part of a Gemeinde, not all of it
KREIS_MOVE_COLUMNS = ["ags", "part_ags", "part_name", "kind", "kreis_ags", "kreis_name", "first_listed", "last_listed",
                      "first_unlisted", "moved_on", "moved_on_basis", "part_population"]
# where ``moved_on`` comes from: the Destatis change list's effective date of an official step, else the BKG's WSK
MOVED_ON_BASES = {"change_list": "the effective date in the Destatis Gebietsänderungen (official)",
                  "bkg_wsk": "the BKG's WSK: the day of the Gemeinde's last territorial change"}
KREIS_MOVE_TYPES = {"part_population": "float64"}  # the dates are datetime.date objects, the rest text


def kreis_moves(register: pd.DataFrame, walk: pd.DataFrame, steps: pd.DataFrame,
                last_change: pd.DataFrame | None = None, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per Gemeinde of the newest register each part of its territory that came into its Kreis of today from another
    Kreis which the newest register still has: a step of the crosswalk (``steps``, dated: ``with_dates``) from a key
    of that Kreis (``part_ags``, its name then) to a key of today's Kreis, both keys on the Gemeinde's territory by the
    crosswalk (``walk``; a split's or partial transfer's part, not a minor one, belongs to the receiving key's town),
    and the step's ``kind`` (recode: the whole Gemeinde moved; split, partial_transfer: a part of it). With the dates
    that bound where the part lay: the first register listing a key of the Gemeinde's territory in that Kreis
    (``first_listed``; none for a part of another Gemeinde), the step's two registers (``last_listed``: still there; ``first_unlisted``: here) and ``moved_on`` with its
    ``moved_on_basis``: for an official step the change list's effective date (the step's ``effective_date``),
    else the BKG's WSK of the Gemeinde (``last_change``: ags, last_change_date) where it falls between the two: the day
    of its last change, which is the move unless the Gemeinde changed again before the next register. (A chain of
    official changes within one transition is dated by its first, when the part's key ceased: where a later link of
    it crossed the Kreis boundary, the move came later than ``moved_on`` says; none is in the data.)
    ``part_population``: the part's inhabitants in its last register there (``population``: ags, vintage,
    population), for a part of a Gemeinde the change list's ``moved_population``. ``register``: ags, name, vintage,
    territorial_date, kreis_ags, kreis_name.

    Why: Kreis figures of a date before the move count the part in the other Kreis. Kaltennordheim (16066095) holds
    since 01.01.2019 the Wartburgkreis's town of that name, 3,342 of its 5,748 inhabitants, and its page showed the
    Pendlerströme of the Landkreis Schmalkalden-Meiningen of 30.06.2016 without a word (``former_kreise`` lists only
    Kreise that are gone)."""
    newest = register[register["territorial_date"] == register["territorial_date"].max()]
    today_kreis = dict(zip(newest["ags"], newest["kreis_ags"]))
    current = dict(zip(zip(walk["vintage"], walk["ags"]), walk["current_ags"]))
    into = pd.Series([current.get((v, a)) for v, a in zip(steps["to_vintage"], steps["to_ags"])], index=steps.index)
    # a part of a Gemeinde (a split's or a partial transfer's, not a minor one) belongs to the receiving key's town:
    # the walk follows whole keys only (Dingelstädt got 2,182 inhabitants of Anrode from the Unstrut-Hainich-Kreis)
    partial = steps["kind"].isin(PARTIAL_KINDS) & ~minor_transfers(steps)
    town = [i if part else current.get((v, a))
            for i, part, v, a in zip(into, partial, steps["from_vintage"], steps["from_ags"])]
    moved = steps.assign(ags=town, kreis_ags=steps["from_ags"].str[:5])
    # into the town's Kreis of today, both keys on its territory, from another Kreis that still exists
    keep = ((moved["ags"].map(today_kreis) == moved["to_ags"].str[:5]) & (moved["ags"] == into)
            & (moved["kreis_ags"] != moved["to_ags"].str[:5]) & moved["kreis_ags"].isin(set(today_kreis.values())))
    moved = moved[keep.fillna(False).astype(bool)].drop_duplicates(["ags", "from_ags"])
    if moved.empty:
        return pd.DataFrame({c: pd.Series(dtype=KREIS_MOVE_TYPES.get(c, object)) for c in KREIS_MOVE_COLUMNS})
    dates = register.drop_duplicates("vintage").set_index("vintage")["territorial_date"]
    walked = walk[walk["current_ags"].isin(set(moved["ags"]))]  # the few towns with such a part, not every key
    there = walked.assign(kreis_ags=walked["ags"].str[:5], day=walked["vintage"].map(dates))
    since = there.groupby(["current_ags", "kreis_ags"])["day"].min()
    names = register.drop_duplicates(["ags", "vintage"]).set_index(["ags", "vintage"])
    key = list(zip(moved["from_ags"], moved["from_vintage"]))
    people = ({} if population is None else
              {(a, v): p for a, v, p in zip(population["ags"], population["vintage"], population["population"])})
    moved_people = moved["moved_population"] if "moved_population" in moved else pd.Series(np.nan, index=moved.index)
    wsk = ({} if last_change is None else
           {a: d for a, d in zip(last_change["ags"], last_change["last_change_date"]) if not pd.isna(d)})
    changed = [wsk.get(a) for a in moved["ags"]]
    # an official step's own day (official_steps placed it between its two registers)
    listed = moved["effective_date"] if "effective_date" in moved else pd.Series(None, index=moved.index)
    official = [_date(d) if b == "change_list" else None for d, b in zip(listed, moved["basis"])]
    bkg = [_date(d) if d is not None and _date(low) < _date(d) <= _date(high) else None
           for d, low, high in zip(changed, moved["from_date"], moved["to_date"])]
    result = pd.DataFrame({
        "ags": moved["ags"].to_numpy(), "part_ags": moved["from_ags"].to_numpy(),
        "part_name": [names["name"].get(k) for k in key], "kind": moved["kind"].to_numpy(),
        "kreis_ags": moved["kreis_ags"].to_numpy(),
        "kreis_name": [names["kreis_name"].get(k) for k in key],
        "first_listed": [None if kind in PARTIAL_KINDS else _date(since.get((a, k)))
                         for a, k, kind in zip(moved["ags"], moved["kreis_ags"], moved["kind"])],
        "last_listed": [_date(d) for d in moved["from_date"]], "first_unlisted": [_date(d) for d in moved["to_date"]],
        "moved_on": [listed_day or day for listed_day, day in zip(official, bkg)],
        "moved_on_basis": ["change_list" if listed_day else "bkg_wsk" if day else None
                           for listed_day, day in zip(official, bkg)],
        # a part of a Gemeinde: the inhabitants the change list says moved; a whole one: its register's
        "part_population": pd.Series([m if kind in PARTIAL_KINDS else people.get(k)
                                      for k, kind, m in zip(key, moved["kind"], moved_people)], dtype="float64").to_numpy()})
    return result.sort_values(["ags", "part_ags"]).reset_index(drop=True)


def _date(value):
    """A date of a frame (datetime.date, Timestamp, numpy datetime64) as a datetime.date; None for a missing one."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


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
    parts = _sorted_parts(mapped.merge(changed, on=keys), keys)
    grouped = grouped.merge(parts.rename("part_list").reset_index(), on=keys, how="left")
    grouped["note"] = [
        "" if not isinstance(part_list, list) else
        f"restated to current territory: includes {', '.join(p for p in part_list if p != current)}"
        if current in part_list else f"restated to current territory: formerly {part_list[0]}" if len(part_list) == 1
        else f"restated to current territory: sum of {' + '.join(part_list)}"
        for current, part_list in zip(grouped["current_ags"], grouped["part_list"])
    ]
    grouped["territorial_change"] = [
        None if not isinstance(part_list, list) else "recode" if len(part_list) == 1 and current not in part_list
        else "merger" for current, part_list in zip(grouped["current_ags"], grouped["part_list"])]
    grouped = grouped.drop(columns=["missing", "parts", "part_list"])
    grouped["measure"] = grouped["measure"].map(measures)
    grouped = grouped.rename(columns={"current_ags": "ags"}).assign(level="gemeinde")
    return grouped


def _sorted_parts(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of ``keys`` (the groupby's index, missing keys included) the sorted list of its rows' ``ags``,
    as ``groupby(keys, dropna=False)["ags"].agg(sorted)`` gives it, but sorted once for all groups and cut at
    the group borders (a Python call per group cost ~0.4 s on the full registers)."""
    groups = rows.groupby(keys, dropna=False)
    index = groups.size().index  # numbered as ngroup numbers them: in the groupby's sorted order
    ordered = pd.DataFrame({"g": groups.ngroup().to_numpy(), "k": rows["ags"].to_numpy(dtype=object)}).sort_values(
        ["g", "k"], kind="stable")
    codes, values = ordered["g"].to_numpy(), ordered["k"].to_numpy(dtype=object)
    borders = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    lists = [list(part) for part in np.split(values, borders)] if len(values) else []
    return pd.Series(lists, index=index, dtype=object, name="ags")


def flag_transfers(restated: pd.DataFrame, steps: pd.DataFrame, register: pd.DataFrame,
                   walk: pd.DataFrame, rejected: bool = True) -> pd.DataFrame:
    """Flag a partial transfer, a split dissolution or a rejected (implausible) step on the series it affects.

    Such a change moves territory without being restated. The Gemeinden on both sides (today's
    keys; for a rejected step the successor only) get the typed code ``territorial_change``
    ('partial_transfer' | 'split' | 'implausible_step') and a note on their observations dated in
    the period of the change (after the earlier register's territorial date, up to the later
    one's). Returns ``restated`` with ``territorial_change`` and ``note`` set there.

    ``rejected=False`` leaves rejected steps out: a level observed at one date (a broadband share)
    is not produced by a step, only a restated series is.
    """
    if "territorial_change" not in restated:  # no copy otherwise: the result is built with assign below
        restated = restated.assign(territorial_change=None)
    hits = _transfer_hits(restated, steps, register, walk, rejected)
    if hits is None:
        return restated
    notes, codes = _flagged(restated["note"], restated["territorial_change"], hits)
    return restated.assign(note=notes, territorial_change=codes)


SIDE_COLUMNS = ["ags", "_start", "_end", "_code", "_note"]


def transfer_sides(steps: pd.DataFrame, register: pd.DataFrame, walk: pd.DataFrame,
                   rejected: bool = True) -> pd.DataFrame:
    """One row per Gemeinde side of a change that moves territory without being restated (SIDE_COLUMNS): today's
    key (``ags``), the period of the change (``_start``, ``_end``: the two registers' territorial dates), its code
    ('partial_transfer' | 'split' | 'minor_transfer' | with ``rejected``, 'implausible_step') and a note."""
    flags = steps[~usable(steps)]
    # a rejected set whose successor got a usable one instead (found by geography) flags nothing
    replaced = set(zip(steps.loc[usable(steps), "to_vintage"], steps.loc[usable(steps), "to_ags"]))
    flags = flags[pd.Series([k in ("partial_transfer", "split") or (v, a) not in replaced
                             for k, v, a in zip(flags["kind"], flags["to_vintage"], flags["to_ags"])],
                            index=flags.index, dtype=bool)]  # a Series: an empty list would select columns
    if not rejected:
        flags = flags[flags["kind"].isin(["partial_transfer", "split"])]
    if flags.empty:
        return pd.DataFrame(columns=SIDE_COLUMNS)
    dates = register_dates(register)
    current = dict(zip(zip(walk["vintage"], walk["ags"]), walk["current_ags"]))
    sides = []
    minor = minor_transfers(flags)
    for row, is_minor in zip(flags.itertuples(), minor):  # one row per Gemeinde side of a change: few thousand
        code = row.kind if row.kind in ("partial_transfer", "split") else "implausible_step"
        if is_minor:
            code = "minor_transfer"  # a few inhabitants moved: the series stays comparable
        pairs = [(row.to_ags, f"receives territory from {row.from_ags}")]
        if code != "implausible_step":  # a rejected predecessor keeps its own key: its series just ends
            pairs.append((row.from_ags, f"gives territory to {row.to_ags}"))
        sides += [(current.get((row.to_vintage, key), key), dates[row.from_vintage], dates[row.to_vintage], code,
                   f"{code}: {what} ({row.evidence})") for key, what in pairs]
    return pd.DataFrame(sides, columns=SIDE_COLUMNS)


def _transfer_hits(restated: pd.DataFrame, steps: pd.DataFrame, register: pd.DataFrame, walk: pd.DataFrame,
                   rejected: bool) -> pd.DataFrame | None:
    """``flag_transfers``' findings: per flagged row position (index) its ``_code`` and ``_note``; None
    where nothing is flagged (then the rows stay exactly as they are, notes included)."""
    if restated.empty:
        return None
    sides = transfer_sides(steps, register, walk, rejected)
    if sides.empty:
        return None
    # only rows of a Gemeinde on a side can be flagged: dates and the join for those rows alone (2 M rows
    # of the Breitbandatlas, a few thousand candidates); the same rows in the same order as for all rows
    candidates = np.flatnonzero(restated["ags"].isin(sides["ags"]).to_numpy())
    reference = pd.to_datetime(restated["reference_date"].iloc[candidates]).astype("datetime64[ns]")
    rows = pd.DataFrame({"ags": restated["ags"].to_numpy()[candidates], "_date": reference.to_numpy(),
                         "_row": candidates}).merge(sides, on="ags")
    rows = rows[(rows["_date"] > rows["_start"]) & (rows["_date"] <= rows["_end"])]
    if rows.empty:
        return None
    return rows.groupby("_row").agg(_code=("_code", "last"), _note=("_note", "; ".join))


def minor_transfers(steps: pd.DataFrame) -> pd.Series:
    """Per step: a partial transfer or split part moving a few inhabitants (at most MINOR_TRANSFER or
    MINOR_TRANSFER_SHARE; 0: an uninhabited area divided up). An unknown figure is not minor."""
    unknown = pd.Series(np.nan, index=steps.index)
    few = (steps.get("moved_population", unknown).le(MINOR_TRANSFER)
           | steps.get("moved_share", unknown).le(MINOR_TRANSFER_SHARE))
    return steps["kind"].isin({"partial_transfer", "split"}) & few


def _flagged(note: pd.Series, change: pd.Series, hits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """New note and territorial_change arrays with ``hits`` (positions in these columns) applied; every
    other missing note becomes '' (as flag_transfers always did once anything is flagged)."""
    positions = hits.index.to_numpy()
    notes = note.fillna("").astype(object).to_numpy().copy()
    codes = change.astype(object).to_numpy().copy()
    notes[positions] = [f"{n}; {extra}" if n else extra for n, extra in zip(notes[positions], hits["_note"])]
    codes[positions] = hits["_code"].to_numpy()
    return notes, codes


def register_vintage_at(observations: pd.DataFrame, register: pd.DataFrame) -> pd.Series:
    """For each observation, the latest register vintage whose territorial date is not after its reference date."""
    # one resolution on both sides: DuckDB gives microseconds, pandas dates nanoseconds
    dates = (register.groupby("vintage")["territorial_date"].max().reset_index()
             .assign(territorial_date=lambda f: pd.to_datetime(f["territorial_date"]).astype("datetime64[ns]"))
             .sort_values("territorial_date"))
    keyed = observations[["reference_date"]].assign(
        reference_date=lambda f: pd.to_datetime(f["reference_date"]).astype("datetime64[ns]"),
        row=range(len(observations)))
    matched = pd.merge_asof(keyed.sort_values("reference_date"), dates, left_on="reference_date",
                            right_on="territorial_date", direction="backward")
    return matched.set_index("row")["vintage"].reindex(range(len(observations))).set_axis(observations.index)


# --- plausibility of inferred steps ------------------------------------------------------------

POPULATION_TOLERANCE = 0.05  # |average yearly change| allowed across a step: 99 % of unchanged Gemeinden stay within 5.8 %
DISTANCE_FACTOR = 2.0        # a predecessor's centre lies within 2 equal-area radii of the successor's ...
DISTANCE_SLACK_KM = 3.0      # ... plus 3 km (Gemeinden are not circles)
PLAUSIBILITY_COLUMNS = ["plausibility", "population_before", "population_after", "yearly_change",
                        "max_distance_km"]
REJECTED = {"population_jump", "too_far"}


def usable(steps: pd.DataFrame) -> pd.Series:
    """Steps the crosswalk follows: recodes and mergers that are official or passed the plausibility checks."""
    plausible = ~steps["plausibility"].isin(REJECTED) if "plausibility" in steps else True
    return steps["kind"].isin(RESTATING_KINDS) & plausible


def check_plausibility(steps: pd.DataFrame, register: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Test every inferred recode and merger before it is used; official steps are marked 'official'.

    ``register``: ags, vintage, territorial_date and (where the register has them, from 2009) lon, lat;
    ``population``: ags, vintage, population, area_km2 (Gemeindeverzeichnis). Per successor and
    register transition:

    - population continuity: the predecessors' population (plus the successor's own, if it existed
      before) must grow or shrink into the successor's by at most POPULATION_TOLERANCE a year;
    - geography (where both registers give centres): every predecessor's centre lies within
      DISTANCE_FACTOR equal-area radii of the successor plus DISTANCE_SLACK_KM of its centre (not for
      a set read off the boundaries: its centres lie inside the successor's polygon).

    Returns ``steps`` with the typed columns PLAUSIBILITY_COLUMNS: plausibility ('official' | 'ok' |
    'unchecked' | 'population_jump' | 'too_far'), the population sums compared, the yearly change and
    the largest distance. A rejected step is not followed (``usable``) and flags the successor.
    """
    steps = steps.reset_index(drop=True).copy()
    for column in PLAUSIBILITY_COLUMNS:
        steps[column] = None if column == "plausibility" else np.nan
    if steps.empty:
        return steps
    official = is_official(steps)
    steps.loc[official, "plausibility"] = "official"
    steps.loc[~official & ~steps["kind"].isin(RESTATING_KINDS), "plausibility"] = "unchecked"
    tested = steps[~official & steps["kind"].isin(RESTATING_KINDS)]
    if tested.empty:
        return steps
    # a set found by geography is tested apart from a set the area inference gave the same successor
    tested = tested.assign(_set=tested["basis"].isin(GEOGRAPHIC_BASES).map({True: "geo", False: "area"}),
                           _polygon=tested["basis"].isin({"polygon", "polygon_remeasured"}))
    group = ["from_vintage", "to_vintage", "to_ags", "_set"]
    pop = population[["ags", "vintage", "population", "area_km2"]].drop_duplicates(["ags", "vintage"])
    rows = tested.reset_index().merge(pop.rename(columns={"ags": "from_ags", "vintage": "from_vintage",
                                                          "population": "_pred"})[["from_ags", "from_vintage", "_pred"]],
                                      on=["from_ags", "from_vintage"], how="left")
    # built-in aggregations, not a Python lambda per group (28,000 groups on the full data): a sum that
    # is missing when any part is (as sum(min_count=len)); populations are whole numbers, so exact in any order
    # _self_listed: is the successor one of its own predecessors (was a list per group, a Python call each)
    rows = rows.assign(_pred_missing=rows["_pred"].isna(), _is_recode=rows["kind"] == "recode",
                       _self=(rows["from_ags"] == rows["to_ags"]).to_numpy())
    sums = rows.groupby(group).agg(_pred=("_pred", "sum"), _pred_missing=("_pred_missing", "any"),
                                   _self_listed=("_self", "any"),
                                   _recode=("_is_recode", "all"),
                                   _polygon=("_polygon", "all")).reset_index()
    sums["_pred"] = sums["_pred"].mask(sums.pop("_pred_missing"))
    own = pop.rename(columns={"ags": "to_ags", "vintage": "from_vintage", "population": "_own"})
    sums = sums.merge(own[["to_ags", "from_vintage", "_own"]], on=["to_ags", "from_vintage"], how="left")
    sums["_own"] = sums["_own"].where(~sums["_self_listed"].astype(bool), 0.0).fillna(0.0)
    after = pop.rename(columns={"ags": "to_ags", "vintage": "to_vintage", "population": "_after",
                                "area_km2": "_area"})
    sums = sums.merge(after[["to_ags", "to_vintage", "_after", "_area"]], on=["to_ags", "to_vintage"], how="left")
    dates = register_dates(register)
    years = ((sums["to_vintage"].map(dates) - sums["from_vintage"].map(dates)).dt.days / 365.25).clip(lower=0.5)
    before = sums["_pred"] + sums["_own"]
    usable_pop = before.gt(0) & sums["_after"].gt(0)
    sums["_change"] = ((sums["_after"] / before) ** (1 / years) - 1).where(usable_pop)
    sums["_before"] = before
    sums = sums.merge(_distances(tested, register, group), on=group, how="left")
    allowed = DISTANCE_FACTOR * np.sqrt(sums["_area"] / np.pi) + DISTANCE_SLACK_KM
    # a recode (same name, same area) whose centre stays put is the same Gemeinde under a new key: a
    # population jump is then the town's own (Friedland's transit camp), not a sign of a wrong match
    same_place = sums["_recode"] & (sums["_distance"] <= DISTANCE_SLACK_KM)
    # a centre inside the successor's boundary (polygon_mergers) is what the distance test approximates
    sums["plausibility"] = np.select(
        [(sums["_change"].abs() > POPULATION_TOLERANCE) & ~same_place, (sums["_distance"] > allowed) & ~sums["_polygon"],
         sums["_change"].isna() & sums["_distance"].isna()],
        ["population_jump", "too_far", "unchecked"], "ok")
    sums["yearly_change"] = (sums["_change"] * 100).round(2)
    result = rows[["index", *group]].merge(sums, on=group, how="left").set_index("index")
    steps.loc[result.index, "plausibility"] = result["plausibility"]
    steps.loc[result.index, "population_before"] = result["_before"]
    steps.loc[result.index, "population_after"] = result["_after"]
    steps.loc[result.index, "yearly_change"] = result["yearly_change"]
    steps.loc[result.index, "max_distance_km"] = result["_distance"]
    return steps


def _distances(tested: pd.DataFrame, register: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    """Largest predecessor-to-successor centre distance (km) per successor and transition; NaN without centres."""
    if not {"lon", "lat"} <= set(register.columns):
        return tested[group].drop_duplicates().assign(_distance=np.nan)
    coords = register.dropna(subset=["lon", "lat"])[["ags", "vintage", "lon", "lat"]].drop_duplicates(["ags", "vintage"])
    rows = tested[[*group, "from_ags"]].merge(
        coords.rename(columns={"ags": "from_ags", "vintage": "from_vintage", "lon": "_plon", "lat": "_plat"}),
        on=["from_ags", "from_vintage"], how="left").merge(
        coords.rename(columns={"ags": "to_ags", "vintage": "to_vintage", "lon": "_slon", "lat": "_slat"}),
        on=["to_ags", "to_vintage"], how="left")
    # equirectangular approximation: good to well under 1 % over a few dozen km
    dx = np.radians(rows["_plon"] - rows["_slon"]) * np.cos(np.radians((rows["_plat"] + rows["_slat"]) / 2)) * 6371.0
    dy = np.radians(rows["_plat"] - rows["_slat"]) * 6371.0
    rows["_distance"] = np.hypot(dx, dy).round(2)
    return rows.groupby(group)["_distance"].max().reset_index()


# --- every source onto the current territory ----------------------------------------------------

# Units of extensive quantities: a merged territory's figure is the sum of its parts'. Every other unit is
# combined as a population-weighted mean: shares and rates ('%', 'per ...') and averages such as INKAR's car
# minutes to the next IC/ICE station or metres to the next stop, which summed made a merger of eleven
# Gemeinden eleven times as far from the station (Uder, 354.5 instead of ~32 minutes). A unit not listed here
# is weighted, never summed: a sum of averages is a wrong number, a weighted mean at worst an approximation
# (and flagged 'merger_weighted').
SUMMED_UNITS = frozenset({"persons", "employed persons", "km2", "count"})


def weighted_unit(units: pd.Series) -> np.ndarray:
    """True where a unit is combined over merged parts as a population-weighted mean, False where summed."""
    return ~units.isin(SUMMED_UNITS).to_numpy()


def key_vintage(held: dict, ags, vintage):
    """The register vintage whose key ``ags`` names, for a row whose reference date falls in ``vintage``
    (``key_vintages``' rule): that register if it holds the key, else the latest earlier one holding it,
    else the earliest; NaN for a key no register knows. ``held``: ``held_vintages(register)``."""
    vintages = held.get(ags)
    if not vintages:
        return np.nan
    if pd.notna(vintage) and vintage in vintages:
        return vintage
    earlier = [v for v in vintages if pd.notna(vintage) and release_order(v) <= release_order(vintage)]
    return earlier[-1] if earlier else vintages[0]


def key_vintages(observations: pd.DataFrame, register: pd.DataFrame, held: dict | None = None) -> pd.Series:
    """The register vintage whose keys an observation uses.

    The register in force at its reference date if the key exists there; otherwise the latest
    earlier register holding the key (a publisher keying by an older status, e.g. Breitbandatlas
    2021 with Landkreis Göttingen's pre-2016 keys); otherwise the earliest later one. NaN for
    keys no register knows. ``held`` (``held_vintages(register)``) may be passed when called per chunk.
    """
    # a source has few reference dates: find each one's register once, not per row
    dates = pd.DataFrame({"reference_date": observations["reference_date"].drop_duplicates()})
    date_vintage = dict(zip(dates["reference_date"], register_vintage_at(dates, register)))
    at_date = observations["reference_date"].map(date_vintage)
    held = held_vintages(register) if held is None else held

    # few distinct (key, register) pairs among many measures: each pair picked once, in order of first
    # appearance, and spread back by its code (a merge of 2 M rows on two text columns cost ~0.4 s)
    pair_codes, first = _pairs(observations["ags"], at_date)
    ags, at = observations["ags"].to_numpy(dtype=object), at_date.to_numpy(dtype=object)
    picked = np.array([key_vintage(held, ags[i], at[i]) for i in first] + [None], dtype=object)[:-1]
    return pd.Series(picked[pair_codes], index=observations.index, dtype=object)


def _pairs(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row the code of its distinct (left, right) pair (numbered in order of first appearance, missing
    values a value of their own), and per pair the position of its first row."""
    left_codes, _ = pd.factorize(left, use_na_sentinel=False)
    right_codes, right_values = pd.factorize(right, use_na_sentinel=False)
    pair_codes, _ = pd.factorize(left_codes.astype(np.int64) * max(len(right_values), 1) + right_codes)
    first = np.full(pair_codes.max() + 1 if len(pair_codes) else 0, len(pair_codes), dtype=np.int64)
    np.minimum.at(first, pair_codes, np.arange(len(pair_codes)))
    return pair_codes, first


def held_vintages(register: pd.DataFrame) -> dict[str, list]:
    """ags -> the register vintages that hold it, in time order (what ``key_vintages`` picks from)."""
    # sorted pairs split where the key changes: a Python function per key (20,000 keys) cost ~0.3 s
    pairs = register[["ags", "vintage"]].drop_duplicates()
    pairs = pairs.assign(_order=pairs["vintage"].map(release_ranks(pairs["vintage"].unique())))
    pairs = pairs.sort_values(["ags", "_order"])
    keys, vintages = pairs["ags"].to_numpy(), pairs["vintage"].to_numpy()
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], dtype=int)
    return {keys[s]: list(v) for s, v in zip(starts, np.split(vintages, starts[1:]))}


PART_KEYS = ["_current", "reference_date", "measure", "vintage", "source_id"]  # one group: one current value


def _parts(frame: pd.DataFrame, walk: pd.DataFrame,
           lookup: pd.MultiIndex | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """``frame`` with ``_current`` (the row's own key where the walk has none) and, per row, how many parts
    its group (PART_KEYS) has: one part is moved or kept, several are combined. ``lookup``: see ``_with_current``."""
    mapped = _with_current(frame, walk, lookup)
    mapped["_current"] = mapped["_current"].fillna(mapped["ags"])
    return mapped, mapped.groupby(PART_KEYS, sort=False)["ags"].transform("size")


def bring_forward(observations: pd.DataFrame, walk: pd.DataFrame, weights: pd.DataFrame,
                  boundary_flows=None) -> pd.DataFrame:
    """Gemeinde observations of any source moved onto the current territory through the crosswalk.

    ``observations`` carry ``key_vintage`` (``key_vintages``) and optionally ``source_level``;
    ``walk`` is ``crosswalk()``; ``weights``: ags, vintage, population (Gemeindeverzeichnis) to
    combine shares. Per current Gemeinde, reference date, measure, vintage and source:

    - one part with the same key: unchanged (``territorial_change`` NULL);
    - one part under a former key: moved ('recode'), ``published_ags`` keeps the publisher's key;
    - several parts: counts and areas summed ('merger', ``SUMMED_UNITS``); shares, rates and averages
      (every other unit) weighted by the parts' population in their register ('merger_weighted': the
      right denominator, households, employees or area, is not at hand for every part, so the weight is
      approximate). A part without value or weight makes the whole missing;
    - of those, commuting figures ('merger_internal_commuting', ``internal_commuting``): where
      ``boundary_flows(source_id, measure)`` says the measure counts commuting across or within the boundary.

    Rows whose key no register knows are kept as they are.
    """
    # no defensive copy of millions of rows: the input is only read (assign copies when it adds the column)
    frame = observations if "source_level" in observations else observations.assign(source_level="gemeinde")
    mapped, parts = _parts(frame, walk)
    simple = mapped[parts == 1].copy(deep=False)  # already a new frame; whole columns are replaced below
    moved = (simple["ags"] != simple["_current"]).to_numpy()
    simple["published_ags"] = shared_where(moved, simple["ags"].to_numpy(dtype=object), np.nan)
    simple["territorial_change"] = shared_where(moved, "recode", None)
    simple["ags"] = simple["_current"]
    merged = _combine(mapped[parts > 1], weights, PART_KEYS, boundary_flows)
    columns = [c for c in frame.columns if c not in ("key_vintage",)] + ["territorial_change", "published_ags"]
    columns = list(dict.fromkeys(columns))
    if merged.empty:  # concatenating all-empty columns is slow on millions of rows: skip it
        return simple.reindex(columns=columns).reset_index(drop=True)
    return pd.concat([simple.reindex(columns=columns), merged.reindex(columns=columns)], ignore_index=True)


def _with_current(frame: pd.DataFrame, walk: pd.DataFrame, lookup: pd.MultiIndex | None = None) -> pd.DataFrame:
    """``frame`` with ``_current``: the walk's current key of each row's (key_vintage, ags), as the left
    merge gives it. Why: merging 2 M rows on two text columns took seconds; looking the pairs up in the
    walk's index gives the same rows when the walk holds each (vintage, ags) once, without missing keys
    (else the merge itself, which would also repeat rows). ``lookup``: that index (``_walk_lookup``) of a walk
    known to be indexable, built once by a caller that looks up several frames."""
    if lookup is None:
        if not _walk_indexable(walk):
            return frame.merge(walk.rename(columns={"vintage": "key_vintage", "current_ags": "_current"}),
                               on=["key_vintage", "ags"], how="left")
        lookup = _walk_lookup(walk)
    at = lookup.get_indexer(pd.MultiIndex.from_arrays([frame["key_vintage"], frame["ags"]]))
    current = walk["current_ags"].to_numpy(dtype=object)[at]
    current[at < 0] = np.nan  # no walk row: as the merge leaves it (filled with the key itself below)
    # as reset_index().assign(), sharing frame's columns: the callers replace columns whole, never write into them
    return with_columns(frame, index=pd.RangeIndex(len(frame)), _current=current)


def _combine(parts: pd.DataFrame, weights: pd.DataFrame, keys: list[str], boundary_flows=None) -> pd.DataFrame:
    """Merged territories: counts and areas summed, shares, rates and averages weighted by population (see
    ``bring_forward``); commuting figures typed by ``internal_commuting``."""
    if parts.empty:
        return parts.assign(territorial_change=None, published_ags=None)
    parts = parts.merge(weights.rename(columns={"vintage": "key_vintage", "population": "_weight"}),
                        on=["key_vintage", "ags"], how="left")
    parts["_w"] = np.where(weighted_unit(parts["unit"]), parts["_weight"], 1.0)
    parts["_wv"] = parts["value"] * parts["_w"]
    parts["_missing"] = parts["_wv"].isna()
    parts["_verband"] = parts["source_level"] == "gemeindeverband"
    parts["_inhabited"] = parts["_weight"] > 0
    groups = parts.groupby(keys, sort=False)
    grouped = groups.agg(
        _wv=("_wv", "sum"), _w=("_w", "sum"), _missing=("_missing", "any"), _share=("unit", "first"),
        unit=("unit", "first"), level=("level", "first"), _verband=("_verband", "any"),
        _inhabited=("_inhabited", "sum")).reset_index()
    commuting = internal_commuting(grouped, boundary_flows)  # before _verband is popped
    # per-group Python lambdas cost ~15 s on the Breitbandatlas (60,000 merged groups): the same values
    # from vectorised steps. source_level: 'gemeindeverband' if any part has it, else the first part's
    # (missing included, as s.iloc[0] gave); note: the parts' keys sorted, joined by ' + '.
    first_level = groups["source_level"].nth(0).to_numpy()
    grouped["source_level"] = np.where(grouped.pop("_verband").to_numpy(), "gemeindeverband", first_level)
    grouped["note"] = "parts: " + _joined_sorted(groups.ngroup(), parts["ags"], len(grouped))
    is_share = weighted_unit(grouped["unit"])
    grouped["value"] = np.where(is_share, grouped["_wv"] / grouped["_w"], grouped["_wv"])
    grouped.loc[grouped["_missing"], "value"] = np.nan
    grouped["territorial_change"] = np.where(commuting, INTERNAL_COMMUTING,
                                             np.where(is_share, "merger_weighted", "merger"))
    return grouped.rename(columns={"_current": "ags"}).assign(published_ags=None)


INTERNAL_COMMUTING = "merger_internal_commuting"


def internal_commuting(grouped: pd.DataFrame, boundary_flows) -> np.ndarray:
    """Per merged group (``_combine``'s, with ``_verband`` and ``_inhabited``, the number of parts with
    inhabitants): whether it is a commuting figure that counts the commuting between its parts as crossing the
    boundary, code ``merger_internal_commuting``.

    The parts' in- and out-commuters count the commuting between them, which inside the merged town no longer
    crosses the boundary: restated in- and out-commuters and their shares are too high, internal commuters too
    low (the summed balance, in minus out, holds; sources.yaml declares the measures, ``boundary_flows``).
    Nothing at hand removes it (INKAR and the BA publish no flows between Gemeinden; the Pendleratlas only each
    one's ten main partners, from 2021), so the value stays and its code says it. Not for a group with one
    inhabited part (a gemeindefreies Gebiet added: no commuting between them) nor for a value combined from
    Gemeindeverband values (a Verband counts commuting across its own boundary, so against the Gemeinde the bias
    has no one direction). ``boundary_flows`` None: no group."""
    if boundary_flows is None or grouped.empty:
        return np.zeros(len(grouped), dtype=bool)
    return (_own_commuting(grouped["source_id"], grouped["measure"], grouped["_verband"], boundary_flows)
            & (grouped["_inhabited"].to_numpy() >= 2))


def _own_commuting(source_ids: pd.Series, measures: pd.Series, from_verband: pd.Series, boundary_flows) -> np.ndarray:
    """Per row: a Gemeinde's own figure of a measure that counts commuting across or within the boundary
    (``boundary_flows(source_id, measure)``, sources.yaml; asked once per distinct pair), the rule both merger
    codes share (``internal_commuting``, ``with_publisher_restatements``). Not a Gemeindeverband's value passed
    on (``from_verband``): a Verband counts commuting across its own boundary, so against the Gemeinde the bias
    has no one direction."""
    pairs = pd.Series(list(zip(source_ids, measures)), dtype=object)
    declared = per_distinct(pairs, lambda pair: bool(boundary_flows(*pair))).astype(bool)
    return declared & ~from_verband.fillna(False).to_numpy(dtype=bool)


def _joined_sorted(group: pd.Series, keys: pd.Series, groups: int) -> np.ndarray:
    """For group numbers 0..groups-1 (``group`` per row, NaN/-1: no group): its rows' keys sorted and joined
    by ' + ', as ``" + ".join(sorted(keys))`` per group but in a few vectorised passes (groups hold 2-5 keys)."""
    frame = pd.DataFrame({"g": group.to_numpy(), "k": keys.to_numpy()})
    frame = frame[frame["g"].notna() & (frame["g"] >= 0)].sort_values(["g", "k"], kind="stable")
    position = frame.groupby("g").cumcount().to_numpy()
    ids = frame["g"].to_numpy().astype(np.int64)
    keys_sorted = frame["k"].to_numpy()
    out = np.full(groups, "", dtype=object)
    for n in range(int(position.max()) + 1 if len(position) else 0):
        at = position == n
        prefix = "" if n == 0 else " + "
        out[ids[at]] = out[ids[at]] + prefix + keys_sorted[at].astype(object)
    return out


def onto_current(observations: pd.DataFrame, register: pd.DataFrame, walk: pd.DataFrame, steps: pd.DataFrame,
                 weights: pd.DataFrame, key_vintage: str | None = None, boundary_flows=None) -> pd.DataFrame:
    """One source's observations with its Gemeinde rows on the current territory (others unchanged).

    ``key_vintage`` names the register whose keys the source uses when known (or a ``key_vintage``
    column per row, INKAR: the register its Verband was matched in); otherwise ``key_vintages``
    finds it per key. Partial transfers, splits and
    rejected steps flag the rows in their period (``flag_transfers``). Adds the typed columns
    ``territorial_change``, ``published_ags`` and ``source_level``. ``boundary_flows(source_id, measure)``:
    which measures count commuting across a boundary (``internal_commuting``; sources.contracts.boundary_flows).
    """
    # one comparison of the level column for the whole call (~0.07 CPU s per pass over 2.1 M Breitbandatlas
    # rows): it gives source_level, the kept rows and each vintage's Gemeinde rows
    is_gemeinde = (observations["level"] == "gemeinde").to_numpy()
    frame = observations if "source_level" in observations else observations.assign(
        source_level=shared_where(is_gemeinde, "gemeinde", None))
    others = frame[~is_gemeinde].assign(territorial_change=None, published_ags=None)
    if not is_gemeinde.any():
        return others
    # decided on all Gemeinde rows at once, as for the whole frame: is the key's register given per row?
    given = "key_vintage" in frame and frame.loc[is_gemeinde, "key_vintage"].notna().any()
    if not _walk_indexable(walk):  # a walk with a repeated key repeats rows: the whole frame, as before
        return _onto_current_whole(frame, others, is_gemeinde, given, register, walk, steps, weights, key_vintage,
                                   boundary_flows)
    held, lookup = held_vintages(register), _walk_lookup(walk)
    columns = list(dict.fromkeys([c for c in frame.columns if c != "key_vintage"]
                                 + ["territorial_change", "published_ags"]))
    singles, merged = [], []
    for offset, chunk in _vintage_chunks(frame):
        mask = is_gemeinde[offset:offset + len(chunk)]
        if not mask.any():
            continue
        one, current, combined = _one_part_rows(_keyed(chunk[mask], register, key_vintage, given, held), walk,
                                                weights, boundary_flows, lookup)
        # kept as positions and keys (16 bytes a row), not as a frame: the result is assembled once below
        singles.append((offset + np.flatnonzero(mask)[one], current))
        merged += [] if combined.empty else [combined.reindex(columns=columns)]
    result = _assembled(frame, np.flatnonzero(~is_gemeinde), singles, merged, columns)
    return _with_transfer_flags(result, len(others), steps, register, walk)


def publisher_restated(observations: pd.DataFrame, last_change: pd.DataFrame, steps: pd.DataFrame,
                       publisher_keys: set[str] | None = None) -> np.ndarray:
    """Per row: a Gemeinde value the publisher restated onto the Gemeinde's later territory (code
    ``publisher_restated``). INKAR gives every year on the territory of its release (Werra-Suhl-Tal, formed
    on 01.01.2019, has values from 1997), so the crosswalk finds the key current and moves nothing; across a
    merger such a value is the publisher's approximation for a territory that did not exist yet.

    A row qualifies when it is a Gemeinde row the crosswalk left as given (a row it already typed, e.g.
    ``minor_transfer`` or ``merger_weighted``, keeps its code), dated before the Gemeinde's last territorial
    change (``last_change``: ags, last_change_date; the BKG's WSK), and that change gave the Gemeinde its
    territory: a usable merger into it, or a partial transfer or split that is not minor (``minor_transfers``,
    as ``flag_transfers`` decides), falls between the two registers around that date (``steps`` with from_date,
    to_date). ``publisher_keys``: the Gemeinde keys of the publisher's own territorial status (INKAR's list);
    a step whose predecessor the publisher still lists came after that status, so the publisher restated
    nothing across it (None or empty: not known, every such step counts). WSK gives only the last change: a
    town with a boundary correction after its merger counts as restated until then."""
    flagged = np.zeros(len(observations), dtype=bool)
    if observations.empty or last_change.empty or steps.empty:
        return flagged
    material = (usable(steps) & (steps["kind"] == "merger")) | (steps["kind"].isin({"partial_transfer", "split"})
                                                              & ~minor_transfers(steps))
    if publisher_keys:
        material &= ~steps["from_ags"].isin(publisher_keys)
    forming = steps.loc[material & (steps["from_ags"] != steps["to_ags"]), ["to_ags", "from_date", "to_date"]]
    dated = forming.merge(last_change[["ags", "last_change_date"]].dropna(), left_on="to_ags", right_on="ags")
    changed = pd.to_datetime(dated["last_change_date"])
    within = (pd.to_datetime(dated["from_date"]) < changed) & (changed <= pd.to_datetime(dated["to_date"]))
    formed_on = changed[within].groupby(dated.loc[within, "ags"]).max()
    if formed_on.empty:
        return flagged
    candidates = observations["ags"].isin(formed_on.index) & (observations["level"] == "gemeinde")
    if "territorial_change" in observations:
        candidates &= observations["territorial_change"].isna()
    rows = np.flatnonzero(candidates.to_numpy(dtype=bool))  # the few rows of such Gemeinden, not all of them
    picked = observations.iloc[rows]
    flagged[rows] = (pd.to_datetime(picked["reference_date"]).to_numpy()
                     < picked["ags"].map(formed_on).to_numpy(dtype="datetime64[ns]"))
    return flagged


def verband_reorganised(registers: pd.DataFrame, last_change: pd.DataFrame, steps: pd.DataFrame | None = None,
                        publisher_keys: set[str] | None = None) -> pd.DataFrame:
    """Per register vintage, the Gemeindeverbände with several members whose territory did not exist at some
    earlier register: columns vintage, vb_ars, restated_before (a Timestamp: the values dated before it are on a
    territory the Verband did not have yet).

    A publisher that gives a Verband's series on the Verband's territory of its release (INKAR) restates the years
    before the Verband's last reorganisation (Rheinland-Pfalz's Verband reform of 2014-2020, the Ämter of
    Schleswig-Holstein of 2007-2012). A Verband of register ``r`` was reorganised since the register before it
    when its members came from more than one Verband there (a verbandsfreie Gemeinde counts as its own; a
    Gemeinde merged or recoded into a member, by a usable ``steps`` row between the two registers, counts with its
    earlier Verband), or when its single earlier Verband had members that are now elsewhere; a member's own key
    change is not a Verband change. A Verband unchanged since the register before keeps that Verband's date
    (a reform in an earlier period still restates the years before it). ``restated_before``: the WSK
    (``last_change``: ags, last_change_date) that most of the Gemeinden that changed share between the two
    registers' dates (members that came from another Verband, successors of a step, members that left; on a tie
    the earlier date); without one, the day after the earlier register's date (a value dated up to then is
    certainly before the reform). ``publisher_keys``: the Gemeinde keys of the publisher's own territorial status
    (INKAR's list; None or empty: not known): a step whose predecessor it still lists, and a date on or after the
    first such step's (its successor's WSK), came after that status, so the publisher restated nothing across
    them; in the register period around the status an undated reorganisation cannot be placed and is not counted.
    Registers that give most Gemeinden no Verband key (1990: the East German Gemeinden) are left out."""
    columns = ["vintage", "vb_ars", "restated_before"]
    if registers.empty or "vb_ars" not in registers:
        return pd.DataFrame(columns=columns)
    keyed = registers.drop_duplicates(["vintage", "ags"])
    keyed = keyed[keyed["vb_ars"].notna().groupby(keyed["vintage"]).transform("mean") >= 0.5]
    all_dates = register_dates(registers)
    dates = all_dates[all_dates.index.isin(keyed["vintage"].unique())].sort_values()
    latest = last_change.drop_duplicates("ags")
    changed = pd.Series(pd.to_datetime(latest["last_change_date"]).to_numpy(), index=latest["ags"])
    # each register's rows split off once, not found by comparing the vintage column twice per register
    by_vintage = {vintage: rows for vintage, rows in keyed[["ags", "vb_ars"]].groupby(keyed["vintage"], sort=False)}
    current = set(by_vintage[dates.index[-1]]["ags"]) if len(dates) else set()
    moves, status_limit = _moves_before_status(steps, changed, publisher_keys, current, all_dates)
    carried, found = pd.Series(dtype="datetime64[ns]"), []
    for (earlier, earlier_date), (vintage, date) in zip(dates.items(), list(dates.items())[1:]):
        now = by_vintage[vintage]
        pairs = _verband_pairs(now, by_vintage[earlier],
                               moves[(moves["from_vintage"] == earlier) & (moves["to_vintage"] == vintage)])
        counts = _verband_keys(now).value_counts()
        several = set(counts.index[counts > 1])
        predecessor = pairs.drop_duplicates("now").set_index("now")["before"]
        gone_apart = predecessor.map(pairs.groupby("before")["now"].nunique() > 1).fillna(False).astype(bool)
        merged = pairs.groupby("now")["before"].nunique() > 1
        reorganised = (merged | gone_apart).reindex(sorted(several), fill_value=False)
        keys = list(reorganised.index[reorganised.to_numpy(dtype=bool)])
        on = _reform_dates(_changers(pairs, keys), changed, earlier_date, date, status_limit).reindex(keys)
        if pd.notna(status_limit) and earlier_date < status_limit <= date:
            on = on.dropna()  # around the publisher's status an undated change may come after it: not counted
        here = on.fillna(earlier_date + pd.Timedelta(days=1))
        inherited = predecessor.reindex(sorted(several - set(here.index))).map(carried).dropna()
        carried = pd.concat([part for part in (here, inherited) if len(part)] or [carried.iloc[:0]])
        carried = carried.astype("datetime64[ns]")
        found.append(pd.DataFrame({"vintage": vintage, "vb_ars": carried.index,
                                   "restated_before": carried.to_numpy()}))
    found = [part for part in found if len(part)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=columns)


def _moves_before_status(steps: pd.DataFrame | None, changed: pd.Series, publisher_keys: set[str] | None,
                         current: set[str], dates: pd.Series) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The usable recodes and mergers between two keys that the publisher's status already holds, and the first
    date after that status: the earliest WSK, within its step's two registers (``dates``: per register vintage),
    of a successor whose predecessor the publisher still lists although it is gone from the latest register
    (``current``); NaT when none is known. A predecessor's key that is current again (reused decades later) says
    nothing about the status, nor does a WSK outside its step (a change after the geometry release)."""
    columns = ["from_vintage", "to_vintage", "from_ags", "to_ags"]
    if steps is None or steps.empty:
        return pd.DataFrame(columns=columns), pd.NaT
    moves = steps.loc[usable(steps) & (steps["from_ags"] != steps["to_ags"]), columns]
    if not publisher_keys:
        return moves, pd.NaT
    later = moves["from_ags"].isin(publisher_keys) & ~moves["from_ags"].isin(current)
    wsk = moves.loc[later, "to_ags"].map(changed)
    within = (wsk > moves.loc[later, "from_vintage"].map(dates)) & (wsk <= moves.loc[later, "to_vintage"].map(dates))
    return moves[~later], wsk[within].min()


def _verband_pairs(now: pd.DataFrame, before: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """(ags, now, before, moved): per Gemeinde of ``now`` found in ``before``, its Verband in each register (a
    verbandsfreie Gemeinde stands for itself, as does one under the Verband part '0000' the registers of 1994-2002
    give all verbandsfreie Gemeinden of a Kreis), plus per recode or merger (``moves``) between the two registers
    the successor with its Verband now and the predecessor's before (``moved``)."""
    def verband(register: pd.DataFrame) -> pd.Series:
        return _verband_keys(register).fillna("free " + register["ags"]).set_axis(register["ags"])

    now_verband, before_verband = verband(now), verband(before)
    both = now_verband.index.intersection(before_verband.index)
    moves = moves[moves["to_ags"].isin(now_verband.index) & moves["from_ags"].isin(before_verband.index)]
    return pd.concat([pd.DataFrame({"ags": both, "now": now_verband[both].to_numpy(),
                                    "before": before_verband[both].to_numpy(), "moved": False}),
                      pd.DataFrame({"ags": moves["to_ags"].to_numpy(), "now": now_verband[moves["to_ags"]].to_numpy(),
                                    "before": before_verband[moves["from_ags"]].to_numpy(), "moved": True})],
                     ignore_index=True)


def _verband_keys(register: pd.DataFrame) -> pd.Series:
    """Each Gemeinde's Verband key (``vb_ars``); missing for a verbandsfreie Gemeinde, also under the Verband part
    '0000' the registers of 1994-2002 give all verbandsfreie Gemeinden of a Kreis."""
    return register["vb_ars"].where(~register["vb_ars"].str.endswith("0000", na=True))


def _changers(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """(vb_ars, ags): per reorganised Verband the Gemeinden whose change it was: members that came from another
    Verband (the Verband's key differs from their earlier one), successors of a move into a member, and Gemeinden
    that left one of its earlier Verbände for elsewhere. Their WSK is the reform's day; the others' is their own."""
    into = pairs[pairs["now"].isin(keys)]
    came = into.loc[(into["before"] != into["now"]) | into["moved"], ["now", "ags"]]
    earlier = into[["now", "before"]].drop_duplicates()
    left = pairs.merge(earlier, on="before", suffixes=("", "_verband"))
    left = left.loc[left["now"] != left["now_verband"], ["now_verband", "ags"]]
    return pd.concat([came.set_axis(["vb_ars", "ags"], axis=1), left.set_axis(["vb_ars", "ags"], axis=1)],
                     ignore_index=True)


def _reform_dates(changers: pd.DataFrame, changed: pd.Series, earlier_date, date,
                  status_limit=pd.NaT) -> pd.Series:
    """Per Verband (``changers``: vb_ars, ags) the WSK most of its changers share within (earlier_date, date] and
    before ``status_limit`` (NaT: no limit); on a tie the earlier date. A Verband without such a WSK is absent."""
    wsk = changers["ags"].map(changed)
    inside = (wsk > earlier_date) & (wsk <= date)
    if pd.notna(status_limit):
        inside &= wsk < status_limit
    dated = pd.DataFrame({"vb_ars": changers["vb_ars"], "ags": changers["ags"], "on": wsk}).loc[inside]
    dated = dated.drop_duplicates(["vb_ars", "ags"])[["vb_ars", "on"]]
    counted = dated.value_counts().reset_index().sort_values(["vb_ars", "count", "on"], ascending=[True, True, False])
    return counted.drop_duplicates("vb_ars", keep="last").set_index("vb_ars")["on"]


def verband_restated_before(mapped: pd.DataFrame, registers: pd.DataFrame, reorganised: pd.DataFrame) -> pd.Series:
    """Per Gemeinde key of a publisher's status whose rows in ``mapped`` carry the value of a reorganised Verband
    (``source_level`` 'gemeindeverband'; ``key_vintage``: the register the Verband was matched in, sources/inkar.py
    ``map_through_registers``): the date ('YYYY-MM-DD') before which that value is the publisher's restatement
    (``verband_reorganised``). A key matched in two registers with two dates keeps the newer register's date. A small lookup (a few thousand keys), not a column: a column rode through the crosswalk's copies of the
    ~1 M rows (``benchmarks/staging_steps.py``: +35 MiB at the commuting step's peak)."""
    if mapped.empty or reorganised.empty or not {"key_vintage", "source_level"} <= set(mapped.columns):
        return pd.Series(dtype=object)
    keys = mapped.loc[mapped["source_level"].eq("gemeindeverband").to_numpy(dtype=bool), ["key_vintage", "ags"]]
    keys = keys.drop_duplicates().rename(columns={"key_vintage": "vintage"})
    verband = keys.merge(registers[["vintage", "ags", "vb_ars"]].drop_duplicates(["vintage", "ags"]),
                         on=["vintage", "ags"]).merge(reorganised, on=["vintage", "vb_ars"])
    ranks = verband["vintage"].map(release_ranks(verband["vintage"].unique())).to_numpy()
    verband = verband.iloc[np.argsort(ranks, kind="stable")].drop_duplicates("ags", keep="last")
    days = pd.to_datetime(verband["restated_before"]).dt.strftime("%Y-%m-%d")
    return pd.Series(days.to_numpy(dtype=object), index=verband["ags"].to_numpy(dtype=object))


def with_publisher_restatements(observations: pd.DataFrame, last_change: pd.DataFrame, steps: pd.DataFrame,
                                publisher_keys: set[str] | None = None,
                                verband_dates: pd.Series | None = None, boundary_flows=None) -> pd.DataFrame:
    """``observations`` (on the current territory) with the publisher's restatements typed and noted:
    ``publisher_restated`` for a Gemeinde value dated before the merger that gave the Gemeinde its territory
    (decided by ``publisher_restated``; ``publisher_restated_commuting`` where ``boundary_flows(source_id,
    measure)`` says it counts commuting across the boundary: INKAR counted the commuting between the merged
    Gemeinden as crossing it, see ``PUBLISHER_COMMUTING``), ``verband_restated`` for a Verband value passed to a
    member dated before the Verband's reorganisation (``verband_dates``, from ``verband_restated_before``, by the
    member's key; a row the crosswalk typed keeps its code, so only rows it left on their published key are looked
    up). The note names the date.
    Typed in place and returned: a copy of INKAR's ~1 M rows per release cost ~1 CPU s and ~40 MiB at the
    commuting step's peak (``benchmarks/staging_steps.py``)."""
    gemeinde = publisher_restated(observations, last_change, steps, publisher_keys)
    codes = observations["territorial_change"].astype(object).to_numpy().copy() if "territorial_change" in \
        observations else np.full(len(observations), None, dtype=object)
    verband = np.zeros(len(observations), dtype=bool)
    before = np.full(len(observations), None, dtype=object)
    if verband_dates is not None and len(verband_dates) and "source_level" in observations:
        rows = np.flatnonzero(observations["source_level"].eq("gemeindeverband").to_numpy(dtype=bool)
                              & pd.isna(codes) & ~gemeinde)
        # the crosswalk left these rows' keys as published (a moved row is typed, recode or merger, and kept so)
        before[rows] = observations["ags"].iloc[rows].map(verband_dates).to_numpy(dtype=object)
        dated = rows[pd.notna(before[rows])]  # the few rows of reorganised Verbände
        verband[dated] = (pd.to_datetime(observations["reference_date"].iloc[dated]).to_numpy()
                          < pd.to_datetime(before[dated]).to_numpy(dtype="datetime64[ns]"))
    if not (gemeinde.any() or verband.any()):
        return observations
    changed = pd.to_datetime(last_change["last_change_date"]).dt.strftime("%Y-%m-%d")
    dates = dict(zip(last_change["ags"], changed))
    notes = observations["note"].astype(object).to_numpy().copy() if "note" in observations \
        else np.full(len(observations), None, dtype=object)
    ags = observations["ags"].to_numpy(dtype=object)
    notes[gemeinde] = _noted(notes[gemeinde], [dates[a] for a in ags[gemeinde]],
                             "restated by the publisher: the Gemeinde took its current territory on {}")
    # true for a WSK-dated reform and for the fallback (the day after the earlier register) alike
    notes[verband] = _noted(notes[verband], before[verband],
                            "restated by the publisher: before {} the Gemeindeverband did not yet have its current "
                            "territory")
    codes[gemeinde] = "publisher_restated"
    if boundary_flows is not None and gemeinde.any():
        rows = np.flatnonzero(gemeinde)
        picked = observations.iloc[rows]
        from_verband = picked["source_level"].eq("gemeindeverband") if "source_level" in picked \
            else pd.Series(False, index=picked.index)
        codes[rows[_own_commuting(picked["source_id"], picked["measure"], from_verband, boundary_flows)]] = \
            PUBLISHER_COMMUTING
    codes[verband] = "verband_restated"
    observations["territorial_change"], observations["note"] = codes, notes
    return observations


# A publisher's restatement of a commuting figure across a merger: INKAR's own Gemeinde out-commuter share falls at
# the first value on the merged Gemeinde's own territory in 191 of 226 such Gemeinden (median -2.61 points; other
# Gemeinde series of 2007-2019 fall in 39 % of the years, median +0.14), the bias of counting the commuting between
# the merged Gemeinden as crossing the boundary (INTERNAL_COMMUTING; docs/methodology.md). A Verband's value passed
# to a merged member keeps `publisher_restated` (the Verband's own boundary decides what it counts), as do Verband
# restatements (`verband_restated`, no such jump).
PUBLISHER_COMMUTING = "publisher_restated_commuting"


def _noted(notes, days, template: str) -> list:
    """Each note with ``template`` (its date filled in) appended after '; ', one object per distinct note and
    date: the members of a Verband share them (a new string per row held ~30 MiB at the commuting step's peak)."""
    made: dict = {}
    for key in zip(notes, days):
        if key not in made:
            note, day = key
            made[key] = (f"{note}; " if isinstance(note, str) and note else "") + template.format(day)
    return [made[key] for key in zip(notes, days)]


def _with_transfer_flags(result: pd.DataFrame, start: int, steps: pd.DataFrame, register: pd.DataFrame,
                         walk: pd.DataFrame) -> pd.DataFrame:
    """``flag_transfers`` (without rejected steps) on the Gemeinde rows from ``start`` on; the kept levels
    before them stay as they are (flag_transfers only ever saw the Gemeinde rows).
    Levels observed at a date: partial transfers and splits flag them, rejected steps produce none of them."""
    hits = _transfer_hits(result.iloc[start:], steps, register, walk, rejected=False)
    if hits is None:
        return result
    notes, codes = _flagged(result["note"].iloc[start:], result["territorial_change"].iloc[start:], hits)
    return result.assign(note=np.concatenate([result["note"].iloc[:start].to_numpy(dtype=object), notes]),
                         territorial_change=np.concatenate(
                             [result["territorial_change"].iloc[:start].to_numpy(dtype=object), codes]))


def _onto_current_whole(frame: pd.DataFrame, others: pd.DataFrame, is_gemeinde: np.ndarray, given: bool,
                        register: pd.DataFrame, walk: pd.DataFrame, steps: pd.DataFrame, weights: pd.DataFrame,
                        key_vintage: str | None, boundary_flows=None) -> pd.DataFrame:
    """``onto_current`` on all Gemeinde rows at once (the computation before it worked per vintage; used when
    the walk cannot be looked up by index, and by the tests as the reference)."""
    gemeinden = _keyed(frame[is_gemeinde], register, key_vintage, given, held_vintages(register))
    current = bring_forward(gemeinden, walk, weights, boundary_flows).drop(columns=["key_vintage"], errors="ignore")
    if others.empty:
        return _with_transfer_flags(current, 0, steps, register, walk)
    result = pd.concat([others.drop(columns=["key_vintage"], errors="ignore"), current], ignore_index=True)
    return _with_transfer_flags(result, len(others), steps, register, walk)


def _one_part_rows(gemeinden: pd.DataFrame, walk: pd.DataFrame, weights: pd.DataFrame, boundary_flows=None,
                   lookup: pd.MultiIndex | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``bring_forward`` of one vintage's Gemeinde rows, by position: which rows are their current Gemeinde's
    only part (boolean mask), those rows' current keys, and the merged groups (``_combine``). ``lookup``: the
    walk's ``_walk_lookup``, built once for all vintages."""
    mapped, parts = _parts(gemeinden, walk, lookup)  # an indexable walk: row i is gemeinden's row i
    one = (parts == 1).to_numpy()
    return one, mapped["_current"].to_numpy(dtype=object)[one], _combine(mapped[parts > 1], weights, PART_KEYS,
                                                                           boundary_flows)


def _assembled(frame: pd.DataFrame, kept: np.ndarray, singles: list[tuple[np.ndarray, np.ndarray]],
               merged: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The result in the whole-frame order: the kept levels (rows ``kept``), the one-part rows (positions and
    current keys per vintage) as ``bring_forward`` gives them, then the merged groups; built column by column.

    Why: concatenating per-vintage frames held every part and the result at once (the step's peak). Each
    column is concatenated as one-column frames, so its dtype follows the same rules as the frames' concat.
    """
    rows = np.concatenate([positions for positions, _ in singles])
    current = np.concatenate([keys for _, keys in singles])
    published = frame["ags"].to_numpy(dtype=object)[rows]
    moved = published != current
    data = {}
    for column in columns:
        pieces = []
        if len(kept):  # the kept levels: territorial_change and published_ags are None there
            pieces.append(_none(len(kept)) if column in ("territorial_change", "published_ags")
                          else frame[column].iloc[kept].reset_index(drop=True))
        if column == "ags":
            pieces.append(pd.Series(current, dtype=object))
        elif column == "published_ags":
            pieces.append(pd.Series(shared_where(moved, published, np.nan), dtype=object))
        elif column == "territorial_change":
            pieces.append(pd.Series(shared_where(moved, "recode", None), dtype=object))
        else:
            pieces.append(frame[column].iloc[rows].reset_index(drop=True))
        pieces += [part[column] for part in merged]
        data[column] = _concat_column(pieces, column) if len(pieces) > 1 else pieces[0].reset_index(drop=True)
    return pd.DataFrame(data, copy=False)  # no consolidation: that would copy every column once more


def _concat_column(pieces: list[pd.Series], column: str) -> pd.Series:
    """The pieces of one column concatenated as ``pd.concat`` of one-column frames gives them.

    Text columns (every piece object dtype) are joined with numpy: pandas' concat tests every value of
    an all-missing piece on its way (~0.35 s of the Breitbandatlas crosswalk) and then fills that piece
    as ``_na_filled`` does; other dtypes go through ``pd.concat`` and its casting rules."""
    if all(piece.dtype == object for piece in pieces):
        return pd.Series(np.concatenate([_na_filled(piece.to_numpy()) for piece in pieces]), dtype=object, copy=False)
    return pd.concat([piece.to_frame(column) for piece in pieces], ignore_index=True)[column]


def _na_filled(values: np.ndarray) -> np.ndarray:
    """An object piece as pandas' concat passes it on: unchanged, or when every value is missing (and the
    piece not empty) all None if its first value is None, else all NaN."""
    if not len(values) or not (pd.api.types.is_scalar(values[0]) and pd.isna(values[0])) or not pd.isna(values).all():
        return values
    return np.full(len(values), None if values[0] is None else np.nan, dtype=object)


def _none(length: int) -> pd.Series:
    """A column of None, as ``assign(column=None)`` gives it."""
    return pd.Series(np.full(length, None, dtype=object))


def _walk_lookup(walk: pd.DataFrame) -> pd.MultiIndex:
    """The walk's (vintage, ags) as an index to look rows up in (``_with_current``; its hash table is built on
    the first lookup and kept with it: per vintage of the Breitbandatlas, index and test cost ~0.2 CPU s)."""
    return pd.MultiIndex.from_frame(walk[["vintage", "ags"]])


def _walk_indexable(walk: pd.DataFrame) -> bool:
    """Whether ``_with_current`` can look the walk up by index (each (vintage, ags) once, no missing key)."""
    keys = walk[["vintage", "ags"]]
    return list(walk.columns) == ["vintage", "ags", "current_ags"] and not keys.isna().any().any() \
        and not keys.duplicated().any()


def _vintage_chunks(frame: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """``frame`` cut into its vintages (row slices, no copies, with their first row's position) when each
    vintage is one run of rows, else whole.

    Why: ``onto_current`` on all 2.18 M Breitbandatlas rows at once copied the frame several times and set
    the step's peak memory. A merged group never spans two vintages (the vintage is part of its key), and
    with each vintage in one run, the parts in run order are the whole frame's parts in its order (rows
    with one part in input order, merged groups in order of first appearance): the same rows, the same
    order, the same sums. A vintage in two runs (BA counts, then the shares derived from them) is left whole.
    """
    vintages = frame["vintage"].to_numpy()
    if len(vintages) == 0:
        return [(0, frame)]
    starts = np.flatnonzero(np.concatenate([[True], vintages[1:] != vintages[:-1]]))
    if len(set(vintages[starts].tolist())) != len(starts):
        return [(0, frame)]
    bounds = [*starts.tolist(), len(vintages)]
    return [(a, frame.iloc[a:b]) for a, b in zip(bounds, bounds[1:])]


def _keyed(gemeinden: pd.DataFrame, register: pd.DataFrame, key_vintage: str | None, given: bool,
           held: dict) -> pd.DataFrame:
    """Gemeinde rows with ``key_vintage``: the one given, the rows' own, or found by ``key_vintages``."""
    if not given:
        return gemeinden.assign(key_vintage=key_vintage if key_vintage else key_vintages(gemeinden, register, held))
    # a key the given register does not hold (INKAR's Oberweser, gone from the 2021 register) is
    # taken from the registers that hold it, as for a source without a known status
    # tested once per distinct (key, register) pair and spread back (1.4 M INKAR rows, ~25,000 pairs)
    pair_codes, first = _pairs(gemeinden["ags"], gemeinden["key_vintage"])
    ags, given_vintage = gemeinden["ags"].to_numpy(dtype=object), gemeinden["key_vintage"].to_numpy(dtype=object)
    pair_missing = np.array([given_vintage[i] not in held.get(ags[i], ()) for i in first], dtype=bool)
    missing = pair_missing[pair_codes]
    if not missing.any():
        return gemeinden
    found = given_vintage.copy()
    found[missing] = key_vintages(gemeinden[missing], register, held).to_numpy()
    return with_columns(gemeinden, key_vintage=found)  # not copy() and .loc: that copied every column


# --- mergers found by geography (registers with centres) ------------------------------------------

GEO_AREA_TOLERANCE = 0.01  # the nearest vanished Gemeinden must add up to the successor's area (or gain) within 1 %


def geographic_mergers(register: pd.DataFrame, areas: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Mergers the area inference cannot find (more than three predecessors, no shared name, a
    rejected set), from the centres the registers give from 2009 on (``trusted_centres``).

    For each transition whose registers both have centres: every vanished key that no usable step
    explains goes to the nearest *target* (a new key no usable step explains, or a Gemeinde whose
    area grew by more than 0.5 % without a usable step into it) if its centre lies within
    DISTANCE_FACTOR equal-area radii + DISTANCE_SLACK_KM of the target's. A target whose assigned
    Gemeinden add up to its area (new key) or its gain (grown Gemeinde) within GEO_AREA_TOLERANCE
    becomes a merger; the evidence says so. These steps are then tested like every inferred one.
    """
    if not {"lon", "lat"} <= set(register.columns):
        return pd.DataFrame(columns=STEP_COLUMNS)
    frame = register.merge(areas, on=["ags", "vintage"], how="left").drop_duplicates(["vintage", "ags"])
    used = steps[usable(steps)] if not steps.empty else steps
    vintages = sorted(frame["vintage"].unique(), key=release_order)
    rows = []
    for before, after in zip(vintages, vintages[1:]):
        old = frame[frame["vintage"] == before].set_index("ags")
        new = frame[frame["vintage"] == after].set_index("ags")
        if old["lon"].isna().all() or new["lon"].isna().all():
            continue
        done = used[(used["from_vintage"] == before)]
        free = old.loc[old.index.difference(new.index).difference(done["from_ags"])].dropna(subset=["lon", "area_km2"])
        targets = _targets(old, new, set(done["to_ags"]))
        if free.empty or targets.empty:
            continue
        found = _assign_nearest(free, targets, before, after)
        taken = {row[2] for row in found}
        rows += found + _unique_subsets(free.drop(list(taken)), targets.drop(list({row[3] for row in found})),
                                        before, after)
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


GEO_MAX_CANDIDATES = 12  # nearest free Gemeinden per target tried in every combination (2^12 sets)


def _unique_subsets(free: pd.DataFrame, targets: pd.DataFrame, before, after) -> list[tuple]:
    """Targets the nearest-assignment left open: the one set of free Gemeinden within reach whose areas
    add up to the target's area (new key) or gain (grown Gemeinde) within MERGER_TOLERANCE.

    Four Gemeinden joining a town (Langelsheim + Lutter am Barenberge + Hahausen + Wallmoden in
    2021) are beyond the area inference (at most three, often a coincidental triple wins) and the
    nearest-assignment (a predecessor nearer to another target). A target is only matched when
    exactly one set fits and none of its Gemeinden fits another target too: an ambiguous fit is no
    evidence. The steps are then tested like every inferred one (population, distance).
    """
    if free.empty or targets.empty:
        return []
    fits = []
    # numpy arrays, not pandas selections per target (thousands of targets on the full data); the same
    # arithmetic in the same order, and the same sort (quicksort) of the same distances
    lon, lat, area = (free[c].to_numpy(dtype=float) for c in ("lon", "lat", "area_km2"))
    for target, t_lon, t_lat, t_area, needed, kind in zip(
            targets.index, targets["lon"], targets["lat"], targets["area_km2"], targets["needed"], targets["kind"]):
        dx = np.radians(lon - t_lon) * np.cos(np.radians(t_lat)) * 6371.0
        dy = np.radians(lat - t_lat) * 6371.0
        distance = np.hypot(dx, dy)
        reach = DISTANCE_FACTOR * np.sqrt(t_area / np.pi) + DISTANCE_SLACK_KM
        near = np.flatnonzero((distance <= reach) & (area <= needed * 1.005))
        near = near[distance[near].argsort(kind="quicksort")[:GEO_MAX_CANDIDATES]]
        if not len(near):
            continue
        members = _all_subsets(len(near))
        sums = members @ area[near]
        fitting = np.abs(sums - needed) <= MERGER_TOLERANCE * needed
        if fitting.sum() == 1:
            picked = near[members[fitting][0]]
            fits.append((target, kind, needed, free.iloc[picked].assign(_km=distance[picked])))
    claims = pd.Series([a for *_, chosen in fits for a in chosen.index]).value_counts()
    rows = []
    for target, kind, needed, chosen in fits:
        if (claims[chosen.index] > 1).any():
            continue  # a Gemeinde that fits two targets belongs to neither with certainty
        evidence = (f"geography: {kind}, the only set of nearby vanished Gemeinden that fits: "
                    f"{chosen['area_km2'].sum():.2f} km² for {needed:.2f} km², centres within {chosen['_km'].max():.1f} km")
        rows += [(before, after, a, target, "merger", evidence, "nearest_centres") for a in chosen.index]
    return rows


@functools.lru_cache(maxsize=None)
def _all_subsets(n: int) -> np.ndarray:
    """Boolean matrix of every non-empty subset of n items (2^n - 1 rows); cached, never modified."""
    masks = np.arange(1, 2 ** n)
    return ((masks[:, None] >> np.arange(n)) & 1).astype(bool)


def _targets(old: pd.DataFrame, new: pd.DataFrame, explained: set) -> pd.DataFrame:
    """New keys and grown Gemeinden without a usable step into them, with the area they must receive."""
    appeared = new.loc[new.index.difference(old.index).difference(list(explained))]
    both = new.index.intersection(old.index).difference(list(explained))
    gain = new.loc[both, "area_km2"] - old.loc[both, "area_km2"]
    grown = new.loc[gain[gain > MERGER_TOLERANCE * old.loc[gain.index, "area_km2"]].index]
    targets = pd.concat([appeared.assign(needed=appeared["area_km2"], kind="new key"),
                         grown.assign(needed=gain[grown.index], kind="growth")])
    return targets.dropna(subset=["lon", "lat", "needed"])


def _km(dlon, dlat, lat0):
    """Distance in km of degree offsets ``dlon``, ``dlat`` at latitude ``lat0`` (equirectangular: good to well
    under 1 % over a few dozen km)."""
    return np.hypot(np.radians(dlon) * np.cos(np.radians(lat0)), np.radians(dlat)) * 6371.0


def _assign_nearest(free: pd.DataFrame, targets: pd.DataFrame, before, after) -> list[tuple]:
    """Each free Gemeinde to its nearest target within reach; targets whose parts add up become mergers."""
    distance = _km(free["lon"].to_numpy()[:, None] - targets["lon"].to_numpy()[None, :],
                   free["lat"].to_numpy()[:, None] - targets["lat"].to_numpy()[None, :],
                   targets["lat"].to_numpy()[None, :])
    reach = DISTANCE_FACTOR * np.sqrt(targets["area_km2"].to_numpy() / np.pi) + DISTANCE_SLACK_KM
    nearest = distance.argmin(axis=1)
    within = distance[np.arange(len(free)), nearest] <= reach[nearest]
    assigned = pd.DataFrame({"from_ags": free.index, "target": targets.index[nearest], "area": free["area_km2"],
                             "km": distance[np.arange(len(free)), nearest]})[within]
    rows = []
    for target, parts in assigned.groupby("target"):
        needed, kind = targets.at[target, "needed"], targets.at[target, "kind"]
        if abs(parts["area"].sum() - needed) <= GEO_AREA_TOLERANCE * needed:
            evidence = (f"geography: {kind}, nearest vanished Gemeinden {parts['area'].sum():.2f} km² for "
                        f"{needed:.2f} km², centres within {parts['km'].max():.1f} km")
            rows += [(before, after, a, target, "merger", evidence, "nearest_centres") for a in parts["from_ags"]]
    return rows


def build_steps(register: pd.DataFrame, areas: pd.DataFrame, changes: pd.DataFrame,
                population: pd.DataFrame, geometries: pd.DataFrame | None = None) -> pd.DataFrame:
    """The crosswalk's steps as the pipeline uses them: inferred by area, official where the lists
    reach, tested (``check_plausibility``), then mergers by boundary polygon (``polygon_mergers``,
    when ``geometries`` are given) and by centre distance for what is still unexplained, tested as
    well. ``areas``: ags, vintage, area_km2; ``population``: ags, vintage, population, area_km2;
    ``geometries``: ags, vintage, geometry_wkb (EPSG:4326) of the BKG VG releases."""
    register = trusted_centres(register, areas[["ags", "vintage", "area_km2"]])
    steps = with_official(transitions(register, areas[["ags", "vintage", "area_km2"]]),
                          official_steps(changes, register))
    steps = moved_share(check_plausibility(steps, register, population), population)
    if geometries is not None and not geometries.empty:
        polygons = polygon_mergers(register, areas[["ags", "vintage", "area_km2"]], steps, geometries)
        if not polygons.empty:
            steps = check_plausibility(_superseded_by(steps, polygons), register, population)
    geographic = geographic_mergers(register, areas[["ags", "vintage", "area_km2"]], steps)
    if not geographic.empty:
        columns = [c for c in steps.columns if c not in PLAUSIBILITY_COLUMNS]
        steps = check_plausibility(pd.concat([steps[columns], geographic], ignore_index=True), register, population)
    return with_dates(steps, register)


NAMESAKE_REACH = 1.5  # Kreis equal-area radii: how far from its Kreis's median centre a Gemeinde's own centre may lie


def trusted_centres(register: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """``register`` with the centres blanked that belong to a namesake elsewhere.

    The 2009 register gives about 480 Gemeinden the centre of another Gemeinde of the same name: Salem
    (Herzogtum Lauenburg) sits on Salem in Baden-Württemberg, 660 km away. Such a centre is shared by
    two or more Gemeinden of one register. Of those, only the Gemeinde whose Kreis the centre lies in
    keeps it: the nearest to its Kreis's median centre relative to the Kreis's size, and within
    NAMESAKE_REACH equal-area radii of it. Checked against the 2013 centres of the Gemeinden in both
    registers: 479 of 482 centres more than 5 km off are blanked, 6 of 9,808 right ones (benchmarks/
    crosswalk_validation.py). A blanked centre is unknown: no distance test, no geographic merger.
    """
    if not {"lon", "lat"} <= set(register.columns) or register["lon"].isna().all():
        return register
    frame = register.merge(areas.drop_duplicates(["ags", "vintage"]), on=["ags", "vintage"], how="left")
    frame["_kreis"] = frame["ags"].str[:5]
    by_kreis = frame.groupby(["vintage", "_kreis"])
    lon0, lat0 = by_kreis["lon"].transform("median"), by_kreis["lat"].transform("median")
    radius = np.sqrt(by_kreis["area_km2"].transform("sum") / np.pi)
    relative = _km(frame["lon"] - lon0, frame["lat"] - lat0, lat0) / radius
    place = [frame["vintage"], frame["lon"], frame["lat"]]
    shared = frame.groupby(place, dropna=True)["ags"].transform("size").gt(1)
    owner = relative.eq(relative.groupby(place).transform("min")) & relative.le(NAMESAKE_REACH)
    blank = (shared & ~owner).to_numpy()
    return register.assign(lon=register["lon"].mask(blank), lat=register["lat"].mask(blank))


def with_dates(steps: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """``steps`` with ``from_date`` and ``to_date``: the territorial status (Gebietsstand) of the two registers.

    Why: vintages are release ids ('2023-12-31', '2024-Q4'), not dates; whoever asks whether a step came before
    or after a date (a Pendleratlas flow's destination, reports/coworking_gap.py) compares these."""
    dates = register_dates(register)
    steps = steps.assign(from_date=pd.to_datetime(steps["from_vintage"].map(dates)).dt.date,
                         to_date=pd.to_datetime(steps["to_vintage"].map(dates)).dt.date)
    if "effective_date" in steps and steps["effective_date"].notna().any():  # dates as the two above (DATE)
        steps["effective_date"] = pd.to_datetime(steps["effective_date"]).dt.date
    return steps


def moved_share(steps: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """``steps`` with ``moved_share``: an official partial transfer's or split part's inhabitants as %
    of the smaller of the two Gemeinden's population in the register before the change.

    86 inhabitants moving from Oberkrämer (about 11,900) to Velten (about 12,400) change either
    series by 0.7 %, under 0.1 % a year over the ten-year change; the absolute MINOR_TRANSFER alone
    (1 % of a town of 5,000) would exclude both towns. NaN where the list gives no number or a
    population is missing."""
    steps = steps.copy()
    moved = pd.to_numeric(steps["moved_population"], errors="coerce") if "moved_population" in steps \
        else pd.Series(np.nan, index=steps.index)
    # a dict of the first row per (ags, vintage), not MultiIndex.get per step (~28,000 steps: ~0.4 s)
    first = population.drop_duplicates(["ags", "vintage"])
    pop = dict(zip(zip(first["ags"], first["vintage"]), first["population"].to_numpy()))
    giving = pd.Series([pop.get((a, v), np.nan) for a, v in zip(steps["from_ags"], steps["from_vintage"])],
                       index=steps.index, dtype=float)
    receiving = pd.Series([pop.get((a, v), np.nan) for a, v in zip(steps["to_ags"], steps["from_vintage"])],
                          index=steps.index, dtype=float)
    smaller = np.fmin(giving, receiving).where(giving.notna() & receiving.notna())
    flagged = ~steps["kind"].isin(RESTATING_KINDS)
    steps["moved_share"] = (100 * moved / smaller).where(flagged & smaller.gt(0)).round(3)
    return steps


# --- mergers found by boundary polygons (BKG VG geometries) ----------------------------------------

POLYGON_AREA_TOLERANCE = 0.01  # the Gemeinden whose centres lie inside add up to the polygon Gemeinde's register area within 1 %
REMEASURED_TOLERANCE = 0.02  # ... or within 2 % where the registers re-measured the land around (``_remeasured``):
# 98 % of Mecklenburg-Vorpommern's Gemeinden without a step kept their area within 2 % from 2013 to 2021
POLYGON_EVIDENCE = "geography: polygon"  # the evidence text's start (basis 'polygon' or 'polygon_remeasured')


def polygon_mergers(register: pd.DataFrame, areas: pd.DataFrame, steps: pd.DataFrame,
                    geometries: pd.DataFrame) -> pd.DataFrame:
    """Mergers read off the boundaries: the earlier register's Gemeinden whose centres lie inside a
    later Gemeinde's polygon (BKG VG, Stand 01.01. of its vintage year).

    Used for the register transition whose dates enclose the geometry's date (VG5000 2021 lies
    between the registers of 31.12.2013 and 31.12.2021: the Thuringian and Mecklenburg reforms of
    2014-2019 that neither a change list nor the area inference explains), and for each earlier
    transition with the polygons of the Gemeinden whose territory has not changed since (same key and
    area in every register up to the enclosing one, ``_unchanged``): Sachsen-Anhalt's 2010
    Einheitsgemeinden, placed with the 2009 centres (Zerbst/Anhalt from 22 Gemeinden). A later Gemeinde X
    without an official step into it (a new key, or one that grew by more than MERGER_TOLERANCE) is
    a merger of the Gemeinden S whose centres lie inside its polygon when every member of S vanished
    (or is X itself), none is named by an official step, and S's areas add up to X's register area
    within POLYGON_AREA_TOLERANCE. A partial transfer or a mis-placed centre fails the area sum and
    stays unexplained. In the transition the geometry lies in (all polygons known), a sum that misses by
    more, up to REMEASURED_TOLERANCE, still counts where the registers re-measured the land around
    (``_remeasured``: Südmüritz, 2019 from Ludorf and Vipperow). Such a set replaces the inferred steps it
    contradicts (``_superseded_by``); the steps are then tested like every inferred one.
    """
    import geopandas as gpd  # only here: the rest of the crosswalk needs no spatial library
    import shapely

    frame = register.merge(areas, on=["ags", "vintage"], how="left").drop_duplicates(["vintage", "ags"])
    dates = register_dates(register).sort_values()
    used = steps[usable(steps)] if not steps.empty else steps
    rows = []
    for geo_vintage, polygons in geometries.groupby("vintage"):
        stand = _geometry_date(geo_vintage)
        enclosing = [(b, a) for (b, start), (a, end) in zip(dates.items(), list(dates.items())[1:])
                     if start < stand <= end]
        if not enclosing:
            continue
        before, after = enclosing[0]
        shapes = gpd.GeoDataFrame(polygons[["ags"]].reset_index(drop=True), crs="EPSG:4326",
                                  geometry=shapely.from_wkb([bytes(b) for b in polygons["geometry_wkb"]]))
        # the transition the geometry lies in, then each earlier one (2009 -> 2013 for VG5000 2021) with the
        # polygons of the Gemeinden whose territory has not changed since (same key and area up to `after`)
        transitions = [(b, a) for b, a in zip(dates.index, dates.index[1:]) if dates[a] <= dates[before]]
        for early_before, early_after in [(before, after), *reversed(transitions)]:
            old = frame[frame["vintage"] == early_before].set_index("ags")
            new = frame[frame["vintage"] == early_after].set_index("ags")
            if old["lon"].isna().all():
                continue
            usable_shapes = shapes if early_after == after else shapes[shapes["ags"].isin(
                _unchanged(frame, dates, early_after, after, used))]
            rows += _polygon_transition(usable_shapes, old, new, used, early_before, early_after, geo_vintage,
                                        complete=early_after == after)
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def _polygon_transition(shapes, old: pd.DataFrame, new: pd.DataFrame, used: pd.DataFrame, before, after,
                        geo_vintage, complete: bool = False) -> list[tuple]:
    """``polygon_mergers`` for one register transition: the earlier register's centres placed in ``shapes``.
    ``complete``: ``shapes`` hold every Gemeinde's polygon, so a polygon's bordering Gemeinden are known
    (``_remeasured``); not so for an earlier transition, which has the unchanged Gemeinden's polygons only."""
    import geopandas as gpd

    done = used[used["from_vintage"] == before]
    # official steps stand; an inferred set the polygon contradicts gives way (area sums alone can
    # pair coincidental Gemeinden, a centre inside the boundary cannot)
    # (a recode, same name and area, is kept too)
    firm = is_official(done) | (done["kind"] == "recode")
    explained, taken = set(done.loc[firm, "to_ags"]), set(done.loc[firm, "from_ags"])
    inferred = done[~firm].groupby("to_ags")["from_ags"].apply(set).to_dict()
    centres = old.dropna(subset=["lon", "lat", "area_km2"])
    points = gpd.GeoDataFrame({"member": centres.index}, crs="EPSG:4326",
                              geometry=gpd.points_from_xy(centres["lon"], centres["lat"]))
    inside = _members_by_polygon(gpd.sjoin(points, shapes, predicate="within"))
    stepped = set(done["from_ags"]) | set(done["to_ags"])
    return _polygon_sets(inside, old, new, explained, taken, inferred, before, after, geo_vintage,
                         bordering=_bordering(shapes) if complete else None, stepped=stepped)


BORDER_SLACK_DEG = 1e-4  # about 10 m: polygons of one VG release share their boundaries, a hair closes rounding gaps


def _bordering(shapes):
    """``key -> the keys of the polygons that touch its polygon`` (None for a key without one), computed on demand:
    only the few polygons whose sum misses by more than POLYGON_AREA_TOLERANCE ask (``_remeasured``)."""
    geometry = dict(zip(shapes["ags"], shapes.geometry))
    index, keys = shapes.sindex, shapes["ags"].to_numpy(dtype=object)

    @functools.lru_cache(maxsize=None)
    def bordering(target: str) -> tuple | None:
        if target not in geometry:
            return None
        hits = index.query(geometry[target].buffer(BORDER_SLACK_DEG), predicate="intersects")
        return tuple(sorted(k for k in keys[hits] if k != target))
    return bordering


def _remeasured(target: str, total: float, area_after: float, old_area: dict, new_area: dict, bordering,
                stepped: set) -> str | None:
    """Why a polygon set whose areas miss the successor's register area by more than POLYGON_AREA_TOLERANCE, but
    at most REMEASURED_TOLERANCE, is still the successor's territory (a phrase for the evidence), or None.

    The tolerance guards against land that moved with the merger but is not in the set: a piece of a surviving
    neighbour (a partial transfer), or of a vanished Gemeinde whose centre lies elsewhere (a split), or land the
    merger gave away. Such land leaves a trace in the registers: the neighbour that gave it shrinks, the one that
    took it grows. Re-measurement leaves another trace: the land around moves the same way. The registers of 2013
    and 2021 measure Mecklenburg-Vorpommern anew: of its 690 Gemeinden in both that took part in no step, 30 %
    changed their area by more than 0.5 % (28 % grew), 9 % by more than 1 %, 2 % by more than 2 % (Germany: 6.5,
    1.9 and 0.6 % of 10,618); Kreis Mecklenburgische Seenplatte's total grew by 0.47 %. So the set
    counts where every Gemeinde bordering the successor's polygon kept its key, took part in no step of the
    transition and moved against the miss by at most MERGER_TOLERANCE of its area (none gave or took the land),
    and at least one of them moved with the miss by as much, relatively, and by at most REMEASURED_TOLERANCE
    (the registers re-measured the land around by that much). Südmüritz (2019, Ludorf + Vipperow: 68.61 km²
    for 69.52, 1.31 %): its eight bordering Gemeinden grew by 0.07 % to 1.69 % (Röbel/Müritz), none shrank; Mirow
    (Roggentin, 2014: 156.41 km² for 158.28, 1.18 %) alike, its nine neighbours -0.02 % to +1.68 %.
    Rötha (Espenhain: 46.04 km² for 45.41) stays unexplained: its neighbour Böhlen grew by 3.02 %."""
    miss = (area_after - total) / area_after
    if bordering is None or not POLYGON_AREA_TOLERANCE < abs(miss) <= REMEASURED_TOLERANCE:
        return None
    neighbours = bordering(target)
    if not neighbours:
        return None
    changes = []
    for key in neighbours:
        before, after = old_area.get(key), new_area.get(key)
        if key in stepped or before is None or after is None or pd.isna(before) or pd.isna(after) or before <= 0:
            return None  # a neighbour that appeared, vanished or changed by a step: the registers cannot tell
        changes.append(after / before - 1)
    changes = np.array(changes)
    moves = np.sign(miss) * changes  # > 0: moved the way the miss goes
    if (moves < -MERGER_TOLERANCE).any() or not ((moves >= abs(miss)) & (moves <= REMEASURED_TOLERANCE)).any():
        return None
    return (f"{area_after - total:+.2f} km² ({100 * miss:+.2f} %) re-measured: the {len(changes)} bordering Gemeinden "
            f"changed by {100 * changes.min():+.2f} % to {100 * changes.max():+.2f} %")


def _members_by_polygon(joined: pd.DataFrame) -> dict[str, list]:
    """Polygon key (``ags``) -> the keys of the centres inside it (``member``), sorted; polygons in key order.

    What ``joined.groupby("ags")["member"].apply(sorted)`` gave, from one sort of the pairs: a pandas group per
    polygon (~10,000 a transition) cost ~0.1 CPU s a transition. Both columns are register and geometry keys,
    never missing."""
    inside: dict[str, list] = {}
    for polygon, member in sorted(zip(joined["ags"], joined["member"])):
        inside.setdefault(polygon, []).append(member)
    return inside


def _unchanged(frame: pd.DataFrame, dates: pd.Series, first, last, used: pd.DataFrame) -> set:
    """Keys whose territory is the same in every register from ``first`` to ``last``: present in each with an
    area within MERGER_TOLERANCE of the first's, and no usable step into them in between. Their polygon of
    ``last``'s time is their territory at ``first`` as well."""
    vintages = [v for v in dates.index if dates[first] <= dates[v] <= dates[last]]
    areas = frame[frame["vintage"].isin(vintages)].pivot_table(index="ags", columns="vintage", values="area_km2",
                                                                aggfunc="first").reindex(columns=vintages)
    base = areas[first]
    same = areas.notna().all(axis=1) & areas.sub(base, axis=0).abs().le(MERGER_TOLERANCE * base, axis=0).all(axis=1)
    later = set(used.loc[used["from_vintage"].isin(vintages[:-1]), "to_ags"]) if len(used) else set()
    return set(areas.index[same]) - later


def _geometry_date(vintage) -> pd.Timestamp:
    """The territorial date of a VG release from its vintage ('vg5000-2021-01-01', '2025'): Stand 01.01."""
    found = re.search(r"(\d{4})-(\d{2})-(\d{2})", str(vintage))
    if found:
        return pd.Timestamp(*map(int, found.groups()))
    years = re.findall(r"\d{4}", str(vintage))  # the product's scale ('vg5000') comes first
    if not years:
        raise ValueError(f"bkg_vg vintage {vintage!r} names no year")
    return pd.Timestamp(int(years[-1]), 1, 1)


def _polygon_sets(inside: dict[str, list], old: pd.DataFrame, new: pd.DataFrame, explained: set, taken: set,
                  inferred: dict, before, after, geo_vintage, bordering=None,
                  stepped: set = frozenset()) -> list[tuple]:
    """Merger rows for the polygons whose inside Gemeinden pass the conditions of ``polygon_mergers``
    (none where a usable inferred step already gives the same set). ``bordering``: key -> the keys of the
    polygons touching its polygon, where all polygons are known (else None: no allowance for re-measurement);
    ``stepped``: the keys of a usable step of this transition (``_remeasured``)."""
    # dicts and sets, not .at/.loc per polygon (43,000 lookups on the full data, ~1 s); the same values
    old_area, new_area = _column_dict(old, "area_km2"), _column_dict(new, "area_km2")
    # a polygon holding a vanished Gemeinde's centre may have changed by a merger itself: no witness of re-measurement
    stepped = set(stepped) | {t for t, members in inside.items() if any(m not in new_area for m in members)}
    rows = []
    for target, members in inside.items():
        if target not in new_area or target in explained or pd.isna(new_area[target]):
            continue
        area_after = new_area[target]
        if target in old_area and not area_after - old_area[target] > MERGER_TOLERANCE * old_area[target]:
            continue  # not grown: nothing to explain
        parts = [m for m in members if m != target]
        # a member still in the later register was not merged (its centre lies inside a neighbour's polygon)
        if not parts or any(m in new_area or m in taken for m in parts):
            continue
        if (target in old_area) != (target in members):
            continue  # a surviving Gemeinde whose own centre lies elsewhere: the polygon is not its territory
        total = _nansum([old_area[m] for m in members])
        if inferred.get(target) == set(parts):
            continue
        remeasured = None
        if abs(total - area_after) > POLYGON_AREA_TOLERANCE * area_after:
            remeasured = _remeasured(target, total, area_after, old_area, new_area, bordering, stepped)
            if remeasured is None:
                continue
        evidence = (f"{POLYGON_EVIDENCE}: centres of {len(members)} Gemeinden of {before} inside the VG {geo_vintage} "
                    f"polygon, {total:.2f} km² for {area_after:.2f} km²"
                    + (f"; {remeasured}" if remeasured else ""))
        basis = "polygon_remeasured" if remeasured else "polygon"
        rows += [(before, after, m, target, "merger", evidence, basis) for m in parts]
    return rows


def _nansum(values: list) -> float:
    """``Series.sum()`` of these floats: missing ones as 0, then numpy's sum (pandas' nansum, same bits)."""
    array = np.asarray(values, dtype=float)
    return np.where(np.isnan(array), 0.0, array).sum()


def _superseded_by(steps: pd.DataFrame, polygons: pd.DataFrame) -> pd.DataFrame:
    """Steps with the polygon mergers added and the inferred sets they replace dropped: every
    inferred set into a polygon's successor or holding one of its predecessors (in that
    transition). A set tested together with the polygon's would mix two explanations, and a set
    re-tested without a member could pass by coincidence; its successor is then unexplained unless
    its own polygon explains it."""
    columns = [c for c in steps.columns if c not in PLAUSIBILITY_COLUMNS]
    out_of = set(zip(polygons["from_vintage"], polygons["from_ags"]))
    inferred = ~is_official(steps) & (steps["kind"] == "merger")
    losing = [(v, b) for v, a, b, i in zip(steps["from_vintage"], steps["from_ags"], steps["to_ags"], inferred)
              if i and (v, a) in out_of]
    into = set(zip(polygons["from_vintage"], polygons["to_ags"])) | set(losing)
    replaced = [(v, b) in into and i for v, b, i in zip(steps["from_vintage"], steps["to_ags"], inferred)]
    kept = steps.loc[~pd.Series(replaced, index=steps.index, dtype=bool), columns]
    return pd.concat([kept, polygons], ignore_index=True)


# --- area gained from uninhabited land (gemeindefreie Gebiete) -------------------------------------

NOISE_SHARE = 0.01  # an area change within 1 % of a Gemeinde's area is re-measurement, not a transfer
AREA_CHANGE = 0.02  # an (inhabited) area that moved by more than 2 % is another territory (not a re-measurement)
EARLIER_TERRITORY_CODE = "earlier_territory"  # a value on its town's territory before a change not restated


def uninhabited_offsets(gv: pd.DataFrame, steps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (ags, vintage): the land without inhabitants the Gemeinde gained up to that register (km²).

    ``gv``: ags, vintage, area, population (as ``uninhabited_gains``); ``steps``: the territorial changes with
    their listed columns, whose official transfers of land without inhabitants count too where the Kreis
    balance did not already count them (``official_uninhabited_gains``). Subtracted from both areas before a
    2 % test (AREA_CHANGE), so that a town that took over part of a gemeindefreies Gebiet keeps a comparable
    population. Register vintages are compared in time order (``release_order``: '2025-Q2' before '2025-12-31').
    """
    gains = uninhabited_gains(gv)
    if steps is not None and len(steps):
        listed = official_uninhabited_gains(steps)
        known = set(zip(gains["ags"], gains["to_vintage"]))
        listed = listed[[(a, v) not in known for a, v in zip(listed["ags"], listed["to_vintage"])]]
        gains = pd.concat([gains, listed], ignore_index=True) if len(listed) else gains
    if gains.empty:
        return pd.DataFrame({"ags": pd.Series(dtype=str), "vintage": pd.Series(dtype=str),
                             "gain": pd.Series(dtype=float)})
    keys = gv[["ags", "vintage"]].drop_duplicates().merge(gains[["ags", "to_vintage", "gain"]], on="ags")
    keys = keys[[release_order(gained) <= release_order(vintage)
                 for gained, vintage in zip(keys["to_vintage"], keys["vintage"])]]
    return keys.groupby(["ags", "vintage"], as_index=False)["gain"].sum()


def restated_offsets(restated: pd.DataFrame, steps: pd.DataFrame, population: str, area: str) -> pd.DataFrame:
    """``uninhabited_offsets`` of the restated ``population`` and ``area`` (the indicators' own offsets come from the
    same values in the working database, ``indicators.compute.uninhabited_offsets``)."""
    wide = restated[restated["measure"].isin([population, area])].pivot_table(
        index=["ags", "vintage"], columns="measure", values="value", aggfunc="max")
    # both columns, also where a measure is missing (pivot_table leaves out a column without values)
    wide = wide.reindex(columns=[area, population]).reset_index()
    return uninhabited_offsets(wide.rename(columns={area: "area", population: "population"}), steps)


def flag_earlier_territory(restated: pd.DataFrame, offsets: pd.DataFrame, population: str, area: str) -> pd.DataFrame:
    """Type a restated population or area that is still not on its Gemeinde's latest territory 'earlier_territory'.

    ``restated`` holds the measures ``population`` and ``area`` of ``restate`` (after ``flag_transfers``);
    ``offsets`` are ``uninhabited_offsets``. An area that differs from the Gemeinde's latest register's (for a
    Gemeinde that no longer exists: its last register's) by more than AREA_CHANGE lies before a change the crosswalk
    does not restate: a split or partial transfer not yet listed, or a merger it could not find. A population is
    typed where its area differs so both as it is and without the land without inhabitants gained over time (the
    indicators' test, ``_area_change_sql``, likewise): land without inhabitants alone leaves the population on
    today's territory, and the offsets alone can move a re-measured area past 2 % (09778202: 1.94 km² in 1994 and
    today, 1.90 between; 0.04 km² "gained" in 2009). A population that is 0 in every register (a gemeindefreies
    Gebiet) is 0 on any territory. The measure still says "current territory", so the code says which territory it is; a code naming a known
    change (partial_transfer, split, implausible_step, minor_transfer) stays. Only the code and the note change.

    A value is compared by the area of its own release and date. A population of another source is typed only where
    the registers before and after its date both show another territory: between them the change's date is unknown.

    Why: Rötha's population of 2013, 3,704 on 17.88 km², stood untyped beside 45.41 km² today (part of Espenhain
    went to Rötha, part to Böhlen, between the 2013 and 2021 registers); 2,515 area values of 719 Gemeinden
    differed so without a code (audit of 7 December 2026).
    """
    areas = _area_tests(restated.loc[(restated["measure"] == area) & restated["value"].notna(),
                                     ["ags", "vintage", "reference_date", "value"]], offsets)
    code = restated["territorial_change"]
    people = restated.loc[restated["measure"] == population, ["ags", "value"]]
    uninhabited = people.groupby("ags")["value"].max().eq(0)  # 0 in every register (missing ones aside)
    candidates = np.flatnonzero((restated["measure"].isin([population, area]) & restated["value"].notna()
                                 & restated["ags"].isin(areas.loc[areas["_moved"], "ags"])
                                 & (code.isna() | code.isin(RESTATING_KINDS))  # restate's codes
                                 & ~((restated["measure"] == population)
                                     & restated["ags"].isin(uninhabited[uninhabited].index))).to_numpy(dtype=bool))
    if not len(candidates):
        return restated
    rows = pd.DataFrame({"ags": restated["ags"].to_numpy(dtype=object)[candidates],
                         "vintage": restated["vintage"].to_numpy(dtype=object)[candidates],
                         "_date": pd.to_datetime(restated["reference_date"].iloc[candidates]).astype(
                             "datetime64[ns]").to_numpy(),
                         "_area_row": restated["measure"].to_numpy(dtype=object)[candidates] == area,
                         "_row": candidates})
    rows = _matched_areas(rows, areas)
    moved = np.where(rows["_area_row"], rows["_moved"].eq(True),
                     rows["_moved"].eq(True) & rows["_moved_inhabited"].eq(True))
    hit = rows[moved]
    if hit.empty:
        return restated
    codes = code.to_numpy(dtype=object).copy()
    notes = restated["note"].to_numpy(dtype=object).copy()  # the other rows' notes as they are (NULL stays NULL)
    positions = hit["_row"].to_numpy()
    codes[positions] = EARLIER_TERRITORY_CODE
    notes[positions] = [f"{n}; {extra}" if isinstance(n, str) and n else extra
                        for n, extra in zip(notes[positions], _earlier_notes(hit))]
    return restated.assign(territorial_change=codes, note=notes)


def _matched_areas(rows: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (ags, vintage, _date, ...) with the tested columns of ``_area_tests`` of their own release and date;
    a row without one (a population of another source) with those of the latest release on or before its date, moved
    only where the next register's area (on or after its date) moved as well (``_own``: matched by its release)."""
    tested = ["value", "_inhabited", "_latest", "_latest_inhabited", "_moved", "_moved_inhabited"]
    keys = ["ags", "vintage", "_date"]
    own = rows.merge(areas[[*keys, *tested]].drop_duplicates(keys, keep="last"), on=keys, how="inner").assign(
        _own=True)  # one area per release and date (only the register gives areas)
    others = rows[~rows["_row"].isin(own["_row"])].sort_values("_date")
    if others.empty:
        return own
    dated = areas.sort_values(["_date", "_rank"], kind="stable").drop_duplicates(["ags", "_date"], keep="last")
    before = pd.merge_asof(others, dated[["ags", "_date", *tested]], on="_date", by="ags", direction="backward")
    after = pd.merge_asof(others, dated[["ags", "_date", "_moved", "_moved_inhabited"]], on="_date", by="ags",
                          direction="forward")
    for column in ("_moved", "_moved_inhabited"):
        before[column] = before[column].eq(True).to_numpy() & after[column].eq(True).to_numpy()
    return pd.concat([own, before.assign(_own=False)], ignore_index=True)


def _earlier_notes(hit: pd.DataFrame) -> list[str]:
    """The note of each typed value: both areas (of the register before the date for a population of another
    source), and for a population whose test left out land without inhabitants both areas without it."""
    notes = []
    for is_area, own, then, now, then_inhabited, now_inhabited in zip(
            hit["_area_row"], hit["_own"], hit["value"], hit["_latest"], hit["_inhabited"], hit["_latest_inhabited"]):
        which = "on this date" if own else "of the register before this date"
        note = (f"{EARLIER_TERRITORY_CODE}: not the latest territory: the area {which} ({then:g} km²) differs from "
                f"the latest register's ({now:g} km²) by a change the crosswalk does not restate")
        if not is_area and (then_inhabited != then or now_inhabited != now):
            note += (f" (without the land without inhabitants gained over time: {round(then_inhabited, 2):g} against "
                     f"{round(now_inhabited, 2):g} km²)")
        notes.append(note)
    return notes


def _area_tests(areas: pd.DataFrame, offsets: pd.DataFrame) -> pd.DataFrame:
    """``areas`` (ags, vintage, reference_date, value) with ``_date``, ``_rank`` (the release's order), ``_inhabited``
    (less the land without inhabitants gained up to the release, ``offsets``), the Gemeinde's latest area
    (``_latest``, ``_latest_inhabited``: of its latest date, the latest release) and the AREA_CHANGE tests against it
    (``_moved``, ``_moved_inhabited``). The latest over the earlier, as the indicators' test divides (7.46 against
    7.61 km² is 1.97 % less, not 2.01 % more)."""
    areas = areas.merge(offsets, on=["ags", "vintage"], how="left")
    areas = areas.assign(_date=pd.to_datetime(areas["reference_date"]).astype("datetime64[ns]"),
                         _inhabited=areas["value"] - areas["gain"].astype(float).fillna(0.0),
                         _rank=areas["vintage"].map(release_ranks(areas["vintage"])).astype(float))
    latest = areas.sort_values(["_date", "_rank"], kind="stable").drop_duplicates("ags", keep="last").set_index("ags")
    areas = areas.assign(_latest=areas["ags"].map(latest["value"]),
                         _latest_inhabited=areas["ags"].map(latest["_inhabited"]))
    return areas.assign(_moved=(areas["_latest"] / areas["value"] - 1).abs() > AREA_CHANGE,
                        _moved_inhabited=(areas["_latest_inhabited"] / areas["_inhabited"] - 1).abs() > AREA_CHANGE)


def uninhabited_gains(gv: pd.DataFrame) -> pd.DataFrame:
    """Area a Gemeinde gained from land without inhabitants, per register transition.

    ``gv``: ags (current-territory key), vintage, area, population (the restated
    Gemeindeverzeichnis measures of every register vintage, uninhabited units included).
    Bavaria's gemeindefreie Gebiete (forests, lakes; population 0) are handed to neighbouring
    Gemeinden, often split and renumbered at once (09272444 of 2013 became eleven keys by 2021
    while Spiegelau grew by 6.60 km²). Such a gain moves no inhabitant, so a population change
    across it still measures the town. It is only accepted when the Kreis balances: per Kreis and
    transition, the land of units with population 0 shrinks by what the inhabited Gemeinden gain
    (within 5 % of the gain plus the re-measurement noise), and no inhabited Gemeinde of the Kreis
    loses more than NOISE_SHARE of its area, vanishes or appears. Otherwise the gain could be
    inhabited land and stays an unexplained area change.

    Returns ags, from_vintage, to_vintage, gain (km²) for every inhabited Gemeinde that grew so.
    """
    frame = gv.dropna(subset=["area"]).drop_duplicates(["vintage", "ags"])
    by_vintage = dict(tuple(frame.groupby("vintage", sort=True)))  # rows in their order, split once
    vintages = sorted(by_vintage, key=release_order)
    frames = [_kreis_balance(by_vintage[before], by_vintage[after], before, after)
              for before, after in zip(vintages, vintages[1:])]
    columns = ["ags", "from_vintage", "to_vintage", "gain"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def official_uninhabited_gains(steps: pd.DataFrame) -> pd.DataFrame:
    """Land without inhabitants a Gemeinde received by an official partial transfer or split part
    (the change list gives 0 inhabitants and the area), per register transition.

    The Kreis balance of ``uninhabited_gains`` cannot see a gemeindefreies Gebiet divided across a
    Kreis border: the 2023 list gives Kirchenthumbach 3.97 km² of 09374451 (Kreis Neustadt a.d.
    Waldnaab) with 0 inhabitants, the other 1.91 km² went to two Gemeinden of Kreis Bayreuth. The
    list itself says no one moved. Returns ags, from_vintage, to_vintage, gain like
    ``uninhabited_gains``."""
    columns = ["ags", "from_vintage", "to_vintage", "gain"]
    if steps.empty or not set(MOVED_COLUMNS) <= set(steps.columns):
        return pd.DataFrame(columns=columns)
    moved = pd.to_numeric(steps["moved_population"], errors="coerce")
    area = pd.to_numeric(steps["moved_area_km2"], errors="coerce")
    rows = steps[is_official(steps) & steps["kind"].isin(["partial_transfer", "split"]) & moved.eq(0) & area.gt(0)]
    gains = rows.assign(ags=rows["to_ags"], gain=area[rows.index])
    return gains.groupby(["ags", "from_vintage", "to_vintage"], as_index=False)["gain"].sum()[columns]


def _kreis_balance(old: pd.DataFrame, new: pd.DataFrame, before, after) -> pd.DataFrame:
    """Gains of inhabited Gemeinden in the Kreise whose gains all come from uninhabited land (see above)."""
    both = old[["ags", "area", "population"]].merge(new[["ags", "area", "population"]], on="ags", how="outer",
                                                    suffixes=("_old", "_new"))
    both["kreis"] = both["ags"].str[:5]
    empty_old, empty_new = both["population_old"].eq(0), both["population_new"].eq(0)
    inhabited_old = both["area_old"].notna() & ~empty_old
    inhabited_new = both["area_new"].notna() & ~empty_new
    delta = both["area_new"] - both["area_old"]
    stable = inhabited_old & inhabited_new
    noise = stable & (delta.abs() <= NOISE_SHARE * both["area_old"])
    gain = stable & ~noise & (delta > 0)
    parts = pd.DataFrame({
        "kreis": both["kreis"],
        "released": both["area_old"].where(empty_old, 0.0) - both["area_new"].where(empty_new, 0.0).fillna(0.0),
        # an inhabited Gemeinde vanished, appeared or gave land away: the gains may hold inhabitants
        "broken": (inhabited_old != inhabited_new) | (stable & ~noise & (delta < 0)),
        "gained": delta.where(gain, 0.0), "noise": delta.abs().where(noise, 0.0)})
    kreise = parts.groupby("kreis").agg(released=("released", "sum"), broken=("broken", "any"),
                                        gained=("gained", "sum"), noise=("noise", "sum"))
    balanced = kreise[~kreise["broken"] & (kreise["gained"] > 0) & (kreise["released"] > 0)
                      & _balances(kreise)].index
    balanced = balanced.union(_balanced_pairs(kreise.drop(balanced)))
    rows = both[gain & both["kreis"].isin(balanced)]
    return pd.DataFrame({"ags": rows["ags"], "from_vintage": before, "to_vintage": after,
                         "gain": delta[rows.index].round(4)})


def _balances(kreise: pd.DataFrame) -> pd.Series:
    """Released uninhabited land equals the inhabited Gemeinden's gains (5 % of the gains plus noise)."""
    return (kreise["released"] - kreise["gained"]).abs() <= 0.05 * kreise["gained"] + kreise["noise"]


def _balanced_pairs(kreise: pd.DataFrame) -> pd.Index:
    """Kreise that balance only together with one neighbour of the same Land: a gemeindefreies Gebiet
    divided across a Kreis border (09376444 of Kreis Schwandorf, 22.32 km² in 2013, went to Bruck
    i.d.OPf. and a neighbour in its own Kreis and to Roding and a neighbour in Kreis Cham, 15.78 km²
    gained for 15.71 km² released). Both Kreise must be unbroken and unbalanced alone, the land
    released must equal the gains within 5 % (without the re-measurement allowance of one Kreis),
    and the pair must be the only balancing pair for either Kreis (a coincidence between two
    unrelated Kreise is no evidence)."""
    open_ = kreise[~kreise["broken"] & ((kreise["gained"] > 0) | (kreise["released"] > 0))]
    names = open_.index.to_numpy(dtype=object)
    gained, released = open_["gained"].to_numpy(dtype=float), open_["released"].to_numpy(dtype=float)
    # every pair (a, b) of open Kreise in index order, a before b, as arrays: one vectorised test instead of
    # a pandas sum per pair (2-42 open Kreise per register transition of the full data: 0.69 -> 0.38 CPU s
    # for uninhabited_gains of all transitions, 2026-12-02)
    first, second = np.triu_indices(len(names), k=1)
    lands = np.array([name[:2] for name in names], dtype=object)
    same_land = lands[first] == lands[second]  # gemeindefreie Gebiete do not cross a Land border
    first, second = first[same_land], second[same_land]
    both_gained, both_released = gained[first] + gained[second], released[first] + released[second]
    # no noise allowance here: two Kreise's re-measurements would let small gains pair by chance
    pairing = (both_gained > 0) & (np.abs(both_released - both_gained) <= 0.05 * both_gained)
    first, second = first[pairing], second[pairing]
    counts = np.bincount(np.concatenate([first, second]), minlength=len(names))
    unique = (counts[first] == 1) & (counts[second] == 1)
    return pd.Index([name for pair in zip(names[first[unique]], names[second[unique]]) for name in pair],
                    dtype=object)

