"""Indicator values from tidy observations, in DuckDB SQL.

Input: a DuckDB connection holding the table ``observations`` (source_id, vintage,
ags, level, reference_date, measure, value, unit, note). Output: one row per
(ags, indicator_id, period) where period is the calendar year of the reference date.
Within a year the latest reference date wins, and for one reference date the latest
vintage (a publisher's later release of the same figure).
"""

from __future__ import annotations

import contextlib

import duckdb
import numpy as np
import pandas as pd

from indicators import flags
from indicators.catalogue import Catalogue, Indicator
from indicators.engine import index_indicators
from sources.frames import per_distinct, shared_strings
from sources.registry import GenerationBreak
from sources.vintages import release_order
from staging import crosswalk

# quality_note is English text rendered from the typed columns after it (indicators/flags.py)
VALUE_COLUMNS = ["ags", "indicator_id", "period", "value", "unit", "source_id", "vintage",
                 "reference_date", "imputed", "imputation", "quality_note", "territorial_change", "method_break",
                 "source_level", "excluded_reason", "base_period"]
NOT_COMPARABLE_SQL = ", ".join(f"'{code}'" for code in sorted(flags.NOT_COMPARABLE))

# Latest observation per (ags, year) of one measure from the indicator's sources, Gemeinden only.
# For one reference date the source listed first in the catalogue wins, then the latest vintage in time order
# ($vintages: release_positions, oldest first; as text '2025-Q2' would win over '2025-12-31').
# Suppressed figures (value NULL) are no observation.
YEARLY = """
    SELECT ags, year(reference_date) AS period, reference_date, value, vintage, source_id,
           territorial_change, coalesce(source_level, 'gemeinde') AS source_level
    FROM observations
    WHERE list_contains($sources, source_id) AND measure = $measure AND level = 'gemeinde' AND value IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ags, year(reference_date)
                               ORDER BY reference_date DESC, list_position($sources, source_id),
                                        list_position($vintages, vintage) DESC) = 1
"""


def compute_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator,
                      generations: dict[str, str] | None = None, cache: dict | None = None,
                      breaks: tuple[GenerationBreak, ...] = (), transfers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Observed values of one indicator for every Gemeinde and year with data.

    ``generations`` maps source id to the publisher's method generation (sources.yaml), ``breaks`` are the
    sources' measured breaks (``generation_breaks``; those of this indicator's sources and measure apply);
    a value whose generation differs from the town's previous value is flagged as a method break.
    The typed columns decide; ``quality_note`` is rendered from them (indicators/flags.py).
    ``cache`` (a dict kept by the caller for one run) shares intermediate tables between indicators.
    ``transfers``: the territorial changes that are not restated (``territory_transfers``); a value dated before one
    of its town's is typed ``earlier_territory`` (``earlier_territory``).
    """
    method = {"observed": _observed, "annualised_change": _annualised_change, "ratio": _ratio}[indicator.method]
    ensure_flag_columns(con)
    values = method(con, indicator, cache)
    values = shared_strings(values)
    values = values.assign(indicator_id=indicator.indicator_id, unit=indicator.unit, imputed=False, imputation=None)
    for column in ("territorial_change", "base_period"):
        if column not in values:
            values[column] = None
    # base years as Python ints (object), as concatenating with the other indicators' empty column made them:
    # every indicator's frame then has the same dtypes, and stack_frames joins them without pd.concat
    values["base_period"] = values["base_period"].astype(object)
    values["territorial_change"] = values["territorial_change"].astype(object).where(
        values["territorial_change"].notna(), None)
    values["excluded_reason"] = per_distinct(values["territorial_change"], excluded_reason)
    # a share of (an average over) the households, residents or employees of an area nobody lives in describes nobody
    if indicator.inhabitants is not None:
        _exclude(values, uninhabited(con, values, *indicator.inhabitants, cache), "no_inhabitants")
    # the publisher's own errors, kept as given and never scored; the first reason found stays
    # a value outside what the quantity can take (e.g. INKAR: 110 % of commuters)
    _exclude(values, indicator.impossible(values["value"]), "impossible_value")
    if indicator.at_most_sum_of:  # a total its own breakdown contradicts
        parts = _sum_of_parts(con, indicator, values)
        _exclude(values, indicator.exceeds(values["value"], parts), "inconsistent_value")
    if indicator.distance_share:  # a mean distance and a share within a radius that cannot both be true
        _exclude(values, _contradicted(con, indicator, values), "contradictory_values")
    if indicator.method == "observed":  # a year of a series that leaps away and back; a supply that vanishes
        _exclude(values, series_spikes(values, indicator.params["measure"]), "series_spike")
        _exclude(values, series_falls(values, indicator.params["measure"]), "implausible_fall")
    if transfers is not None and len(transfers):  # after every exclusion, which it leaves as it is
        values["territorial_change"] = earlier_territory(values, transfers)
    values["method_break"] = False
    values["quality_note"] = rendered_notes(values["territorial_change"], values["source_level"], values["base_period"],
                                            values["excluded_reason"])
    measure = indicator.params.get("measure")
    applying = tuple(b for b in breaks if b.source_id in indicator.sources and b.measure == measure)
    return flag_method_breaks(values[VALUE_COLUMNS], generations or {}, applying)


def earlier_territory(values: pd.DataFrame, transfers: pd.DataFrame) -> np.ndarray:
    """The values' territorial codes, with ``flags.EARLIER_TERRITORY``'s code where a Gemeinde value whose code places
    it on today's territory (a recode, a merger's restatement) describes its town before a later change of the town's
    territory that is not restated: a split or a partial transfer that is not minor (a side of ``transfers``, the
    receiving or the giving one) after the value's date (on or before the value's date lies the earlier of the two
    registers around the change). The restatement's caveat stays in the new code; the code is comparable and an
    exclusion keeps its reason, so every score is the same. An untyped value, a publisher's Gemeindeverband or Kreis
    value and one a publisher restated itself keep their codes: none claims today's territory.

    Why: Dingelstädt received 5,433 of its 12,339 inhabitants on 1 January 2023 and 2024 (parts of Dünwald, Anrode
    and Rodeberg). Its broadband share of mid-2021, restated over its 2019 merger, read "restated to the current
    territory" beside a Kreis value noted "without the parts ... that today belong to the Gemeinde"; Unstruttal's
    likewise (three audits of 7 December 2026)."""
    codes = values["territorial_change"].to_numpy(dtype=object).copy()
    later = transfers[transfers["_code"].isin(crosswalk.PARTIAL_KINDS)]  # minor ones leave the series comparable
    level = values["source_level"]
    candidates = np.flatnonzero((values["ags"].isin(later["ags"]) & values["territorial_change"].isin(
        list(flags.EARLIER_TERRITORY)) & (level.isna() | level.eq("gemeinde"))).to_numpy(dtype=bool))
    if not len(candidates):
        return codes
    rows = _transfer_rows(values, candidates, later[["ags", "_start"]])
    hit = np.unique(rows.loc[rows["_date"] <= rows["_start"], "_row"].to_numpy())
    codes[hit] = [flags.EARLIER_TERRITORY[code] for code in codes[hit]]
    return codes


def _exclude(values: pd.DataFrame, rows, reason: str) -> None:
    """Set ``excluded_reason`` to ``reason`` in place where ``rows`` (a boolean mask) is true and no reason is set."""
    rows = np.asarray(rows, dtype=bool) & values["excluded_reason"].isna().to_numpy()
    if rows.any():
        values.loc[rows, "excluded_reason"] = reason


# The register populations of the areas that had no inhabitants at some register (a few hundred Germany-wide): the
# sources' population on today's territory per date, the largest of a date's releases
EMPTY_AREA_POPULATIONS = """
    WITH population AS (
        SELECT ags, reference_date, value
        FROM observations
        WHERE list_contains($sources, source_id) AND measure = $measure AND level = 'gemeinde' AND value IS NOT NULL
    )
    SELECT ags, reference_date, max(value) AS population
    FROM population
    WHERE ags IN (SELECT ags FROM population WHERE value = 0)
    GROUP BY ags, reference_date
"""
# Per (ags, reference_date) of the values of such areas: the population at the register on or before the date and
# at the register on or after it
AROUND_THE_DATE = """
    SELECT k.ags, k.reference_date, before.population AS before, after.population AS after,
           datediff('day', before.reference_date, k.reference_date) AS days_after_before,
           datediff('day', k.reference_date, after.reference_date) AS days_before_after
    FROM value_dates k
    ASOF LEFT JOIN empty_area_populations before ON before.ags = k.ags AND before.reference_date <= k.reference_date
    ASOF LEFT JOIN empty_area_populations after ON after.ags = k.ags AND after.reference_date >= k.reference_date
"""


# How far from a value's date one register alone may say that its area had no inhabitants (where there is no
# register on the other side): the Breitbandatlas' years 2018-2021 from the register of 31.12.2021
ONE_REGISTER_DAYS = 5 * 366


def uninhabited(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, measure: str, sources: tuple[str, ...],
                cache: dict | None = None) -> np.ndarray:
    """True where a value's area had no inhabitants at its date: the population ``measure`` of ``sources`` (the
    register's, restated onto today's territory) is 0 at the latest register on or before the value's reference
    date and at the earliest on or after it (where one of the two does not exist, the other alone decides). An
    area without any register population is not called uninhabited (unknown is not 0), nor one whose only register
    lies more than ONE_REGISTER_DAYS from the value's date. ``cache`` (one run's)
    keeps the populations of the areas with a 0 for the indicators sharing them.

    Why: a share of households, residents or employees (or a distance weighted by residents) of an area without
    them describes nobody, nor does a yearly population change ending at 0 inhabitants (-100 %/year however many
    left: Nordseeinsel Memmert, 2 -> 0).
    The Breitbandatlas gives shares of households for 114 gemeindefreie Gebiete that the
    Gemeindeverzeichnis lists with 0 inhabitants (Sachsenwald 74.56 % with 100 Mbit/s at the end of 2019); they
    stood in readiness_index's digital pillar of 2018-2021 (digital pillar review, 5 December 2026). Both registers
    around the date must say 0: registers are years apart (2013 and 2021 around the broadband years), and most of
    these areas are first listed in 2021, which then decides alone for a value up to ONE_REGISTER_DAYS before.
    Why the bound: Gutsbezirk Münsingen, a training area first listed in 2013 with 0 inhabitants, has INKAR
    out-commuter shares of 1997-2004 from real counts (20 of 27); a register 9 years later says nothing of then."""
    cache = {} if cache is None else cache
    key = ("empty_area_populations", measure, tuple(sources))
    if key not in cache:
        cache[key] = con.execute(EMPTY_AREA_POPULATIONS, {"measure": measure, "sources": list(sources)}).df()
    populations = cache[key]
    mask = np.zeros(len(values), dtype=bool)
    candidates = np.flatnonzero(values["ags"].isin(set(populations["ags"])).to_numpy()) if len(populations) else []
    if not len(candidates):  # the usual town: never without inhabitants, nothing more to look up
        return mask
    ags, dates = values["ags"].iloc[candidates], pd.to_datetime(values["reference_date"].iloc[candidates])
    keys = pd.DataFrame({"ags": ags.to_numpy(), "reference_date": dates.dt.date.to_numpy()}).drop_duplicates()
    con.register("value_dates", keys)
    con.register("empty_area_populations", populations)
    try:
        found = con.execute(AROUND_THE_DATE).df()
    finally:
        con.unregister("value_dates")
        con.unregister("empty_area_populations")
    # both registers around the date say 0; where only one exists, it says 0 and lies within ONE_REGISTER_DAYS
    both = found["before"].eq(0) & found["after"].eq(0)
    only_before = found["after"].isna() & found["before"].eq(0) & (found["days_after_before"] <= ONE_REGISTER_DAYS)
    only_after = found["before"].isna() & found["after"].eq(0) & (found["days_before_after"] <= ONE_REGISTER_DAYS)
    empty = found[both | only_before | only_after]
    nobody = set(zip(empty["ags"], pd.to_datetime(empty["reference_date"])))
    mask[candidates] = [(a, d) in nobody for a, d in zip(ags, dates)]
    return mask


def series_spikes(values: pd.DataFrame, measure: str) -> np.ndarray:
    """True where a town's value differs from its values of the year before and the year after, both of the same
    source, in the same direction by more than the source's declared ``yoy_points`` for ``measure``.

    Why: a publisher's series can hold a year that leaps away and back, which the release check cannot see (it
    compares releases, and INKAR's years are one release). INKAR 2022-12 gives Brandenburg Ämter and towns an
    out-commuter share for 1999 far below the years beside it (Zehdenick 86.66, 22.82, 87.58 % in 1998-2000): no
    town's commuting does that (third data review, 5 December 2026; the counts: docs/methodology.md). The first and
    the last year of a series have no two neighbours and are not tested: the newest is compared with the release
    before it by the release check, which a source's first release does not have."""
    bound = _declared_bounds(values, measure, "yoy_points")
    if np.isnan(bound).all():
        return np.zeros(len(values), dtype=bool)
    town, source = pd.factorize(values["ags"])[0], pd.factorize(values["source_id"])[0]  # integers sort fast
    order = np.lexsort((values["period"].to_numpy(), town))
    ags, period, source = town[order], values["period"].to_numpy()[order], source[order]
    value = values["value"].to_numpy(dtype=float)[order]
    spike = np.zeros(len(values), dtype=bool)
    if len(values) >= 3:
        middle = slice(1, -1)
        series = ((ags[:-2] == ags[1:-1]) & (ags[2:] == ags[1:-1]) & (period[:-2] == period[1:-1] - 1)
                  & (period[2:] == period[1:-1] + 1) & (source[:-2] == source[1:-1]) & (source[2:] == source[1:-1]))
        up, down = value[middle] - value[:-2], value[middle] - value[2:]
        limit = bound[order][middle]
        leaps = series & (((up > limit) & (down > limit)) | ((up < -limit) & (down < -limit)))
        spike[order[middle][leaps]] = True
    return spike


def _declared_bounds(values: pd.DataFrame, measure: str, bound: str) -> np.ndarray:
    """Per value the ``bound`` its source declares for ``measure`` (``sources.contracts.yoy_bound``), NaN where none."""
    from sources.contracts import yoy_bound  # here, not at import: it parses sources.yaml's contracts (~25 ms) in
    # every process that imports this module, the report page processes and the CLI too

    bounds = {source: yoy_bound(source, measure, bound) for source in values["source_id"].unique()}
    return values["source_id"].map(bounds).astype(float).to_numpy()


def series_falls(values: pd.DataFrame, measure: str) -> np.ndarray:
    """True for the values on both sides of an implausible fall: a value more than the source's ``yoy_drop_points``
    for ``measure`` above a later value of the same town and source, and that later value. Only values not already
    excluded take part (Ludwigsstadt's 94.75 % gigabit of end 2020, an ``inconsistent_value``, says nothing of its
    0.25 % of mid-2021).

    Why: a supply share does not vanish. The Breitbandatlas gives Wiesbaden 89 % of households with fibre at the end
    of 2018, 2019 and 2020 and 2.04 % in mid-2021, when cable rises from 0 to 64.7 %: a classification changed, and
    nothing says which values are wrong. The release check found the fall, and allowlist.yaml lets the release
    publish as the publisher gave it; the values stood in Wiesbaden's digital pillar without a word (data audit of
    7 December 2026). Both sides are kept as published and neither is scored, as ``contradictory_values``."""
    falls = np.zeros(len(values), dtype=bool)
    bound = _declared_bounds(values, measure, "yoy_drop_points")
    live = ~np.isnan(bound) & values["excluded_reason"].isna().to_numpy() & values["value"].notna().to_numpy()
    if live.sum() < 2:
        return falls
    rows = np.flatnonzero(live)
    sources, source_codes = pd.factorize(values["source_id"].to_numpy()[live])
    town = pd.factorize(values["ags"].to_numpy()[live])[0] * len(source_codes) + sources  # one code per town, source
    dates = pd.to_datetime(values["reference_date"]).to_numpy()[live]
    order = np.lexsort((dates, values["period"].to_numpy()[live], town))  # each series, oldest first
    series, value, limit = town[order], values["value"].to_numpy(dtype=float)[live][order], bound[live][order]
    # the highest value up to each one and the lowest from it on, within its series (cythonised group scans)
    highest = pd.Series(value).groupby(series).cummax().to_numpy()
    lowest = pd.Series(value[::-1]).groupby(series[::-1]).cummin().to_numpy()[::-1]
    same_before = np.r_[False, series[1:] == series[:-1]]  # the value before is of the same series
    same_after = np.r_[series[:-1] == series[1:], False]
    highest_before = np.where(same_before, np.r_[np.nan, highest[:-1]], np.nan)
    lowest_after = np.where(same_after, np.r_[lowest[1:], np.nan], np.nan)
    with np.errstate(invalid="ignore"):  # NaN where a value has nothing before or after it: no fall
        fell = (highest_before - value > limit) | (value - lowest_after > limit)
    falls[rows[order[fell]]] = True
    return falls


def stack_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` of frames with the same columns: the same frame, built column by
    column with one numpy concatenation each where every frame's column has the same numpy dtype.

    Why: pd.concat tests every cell of an object column that is all missing in one frame in Python (whether
    it is a valid NA of the result's dtype): the indicator frames' empty ``imputation``, ``base_period`` and
    ``territorial_change`` columns were ~2.3 M such cells, ~1 CPU s of the indicator step. With equal numpy
    dtypes that test cannot change the result's dtype, and an all-missing object part keeps its own
    missing objects (pandas writes None where the part starts with None: these parts are None throughout).
    Any other case (other columns, an extension dtype, dtypes that differ) is pd.concat itself.
    """
    if not frames:
        return pd.concat(frames, ignore_index=True)  # raises as pd.concat does
    columns = list(frames[0].columns)
    fast = all(list(f.columns) == columns for f in frames) and len(set(columns)) == len(columns) and all(
        len({f[c].dtype for f in frames}) == 1 and isinstance(frames[0][c].dtype, np.dtype) for c in columns)
    if not fast or not all(_missing_is_none(f) for f in frames):
        return pd.concat(frames, ignore_index=True)
    data = {c: np.concatenate([f[c].to_numpy() for f in frames]) for c in columns}
    return pd.DataFrame(data, columns=columns, copy=False)


def _missing_is_none(frame: pd.DataFrame) -> bool:
    """No object column of ``frame`` is all missing while holding something other than None (e.g. NaN):
    pd.concat would write such a part as None or NaN by its first cell, stack_frames keeps it as it is."""
    for column in frame.columns:
        values = frame[column].to_numpy()
        if values.dtype == object and len(values) and pd.isna(values).all() and \
                not np.equal(values, None).all():
            return False
    return True


def rendered_notes(codes: pd.Series, levels: pd.Series, bases: pd.Series, excluded: pd.Series | None = None
                   ) -> np.ndarray:
    """``flags.render_value_note(code, False, level, base, excluded_reason=reason)`` per row, rendered once per
    distinct combination (a few dozen among ~700,000 values: the per-row call was seconds of the indicator step)."""
    reasons = excluded.to_numpy() if excluded is not None else np.full(len(codes), None, dtype=object)
    keys = pd.DataFrame({"code": codes.to_numpy(), "level": levels.to_numpy(), "base": bases.to_numpy(),
                         "excluded": reasons})
    group = keys.groupby(["code", "level", "base", "excluded"], dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(group).drop_duplicates()  # index: a row of each combination, value: its number
    rendered = np.empty(len(first), dtype=object)
    for row, number in first.items():
        rendered[number] = flags.render_value_note(keys.at[row, "code"], False, keys.at[row, "level"],
                                                   keys.at[row, "base"], excluded_reason=keys.at[row, "excluded"])
    return rendered[group] if len(group) else np.array([], dtype=object)


def ensure_flag_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Add the crosswalk's typed columns (nullable) to an observations table written without them."""
    present = {row[0] for row in con.execute("DESCRIBE observations").fetchall()}
    for column in ("territorial_change", "published_ags", "source_level"):
        if column not in present:
            con.execute(f"ALTER TABLE observations ADD COLUMN {column} VARCHAR")


def excluded_reason(territorial_change) -> str | None:
    """Why the index must not use a value with this territorial change code (None: it may)."""
    if territorial_change == "implausible_step":
        return "implausible_step"
    return "territorial_change" if territorial_change in flags.NOT_COMPARABLE else None


def flag_method_breaks(values: pd.DataFrame, generations: dict[str, str],
                       breaks: tuple[GenerationBreak, ...] = ()) -> pd.DataFrame:
    """Set ``method_break`` and append 'method break: A -> B' to the note where a town's series changes generation
    (``row_generations``).

    Only the keys are put in (ags, period) order, not the frame: sorting all columns and sorting them back were
    two whole-frame copies per indicator (~0.8 CPU s of the indicator step). A town has one row per period.
    """
    ags = values["ags"].to_numpy(dtype=object)
    keys = pd.DataFrame({"ags": ags, "period": values["period"].to_numpy()})
    order = keys.sort_values(["ags", "period"]).index.to_numpy()  # positions in (ags, period) order
    generation = row_generations(values, generations, breaks)[order]
    town = ags[order]
    changed = np.zeros(len(order), dtype=bool)  # in (ags, period) order: a generation other than the town's previous
    changed[1:] = (town[1:] == town[:-1]) & (generation[1:] != generation[:-1])
    is_break = np.zeros(len(order), dtype=bool)
    is_break[order] = changed
    notes = values["quality_note"].to_numpy(dtype=object).copy()
    # rendered for the breaks only (a handful), not for every value
    for position, before, after in zip(order[changed], generation[np.flatnonzero(changed) - 1], generation[changed]):
        existing = notes[position] if isinstance(notes[position], str) else ""
        notes[position] = (existing + "; " if existing else "") + flags.render_method_break(str(before), str(after))
    return values.assign(quality_note=notes, method_break=is_break)


def row_generations(values: pd.DataFrame, generations: dict[str, str],
                    breaks: tuple[GenerationBreak, ...] = ()) -> np.ndarray:
    """Per value its publisher method generation: its source's (``generations``, else the source id), or a measured
    break's where the value is of the break's source and level, in one of its Länder, and dated from its start on.
    ``breaks`` must be those of the value's measure (compute_indicator picks them per indicator)."""
    source = values["source_id"]
    generation = source.map(generations).fillna(source).to_numpy(dtype=object, copy=True)
    for brk in breaks:
        candidates = np.flatnonzero((source.eq(brk.source_id) & values["source_level"].eq(brk.source_level))
                                    .to_numpy(dtype=bool))
        rows = values.iloc[candidates]
        after = (rows["ags"].str[:2].isin(brk.laender)
                 & (pd.to_datetime(rows["reference_date"]) >= pd.Timestamp(brk.start))).to_numpy()
        generation[candidates[after]] = brk.generation
    return generation


def release_positions(con: duckdb.DuckDBPyConnection, sources: list[str], cache: dict | None = None) -> list[str]:
    """The vintages of ``sources`` in the observations, oldest first in time order (``sources.vintages.release_order``),
    for YEARLY's ``$vintages``; kept in ``cache`` per set of sources (one scan for the indicators sharing them)."""
    cache = {} if cache is None else cache
    key = ("release_positions", tuple(sources))
    if key not in cache:
        found = con.execute("SELECT DISTINCT vintage FROM observations WHERE list_contains($sources, source_id)",
                            {"sources": sources}).fetchall()
        cache[key] = sorted((vintage for (vintage,) in found), key=release_order)
    return cache[key]


def _observed(con, indicator: Indicator, cache: dict | None = None) -> pd.DataFrame:
    sql = f"""SELECT ags, period, value, vintage, reference_date, source_id, territorial_change, source_level
              FROM ({YEARLY})"""
    return con.execute(sql, {"sources": indicator.sources, "measure": indicator.params["measure"],
                             "vintages": release_positions(con, indicator.sources, cache)}).df()


def _sum_of_parts(con, indicator: Indicator, values: pd.DataFrame) -> np.ndarray:
    """Per value, the sum of the ``at_most_sum_of`` measures of its source, release, Gemeinde and date; NaN (not
    checked) where the source declares no parts or the release lacks one of them or suppressed it (a total
    without its full breakdown cannot be contradicted by it)."""
    frames = [con.execute("""
        SELECT source_id, vintage, ags, reference_date, sum(value) AS parts
        FROM observations
        WHERE source_id = $source AND list_contains($parts, measure) AND level = 'gemeinde' AND value IS NOT NULL
        GROUP BY ALL
        HAVING count(DISTINCT measure) = len($parts)""", {"source": source, "parts": list(parts)}).df()
              for source, parts in indicator.at_most_sum_of]
    keys = ["source_id", "vintage", "ags", "reference_date"]
    return values[keys].merge(pd.concat(frames, ignore_index=True), on=keys, how="left")["parts"].to_numpy(dtype=float)


def _contradicted(con, indicator: Indicator, values: pd.DataFrame) -> np.ndarray:
    """Per value, whether the mean distance and the share within the radius (``distance_share``) of its source,
    release, Gemeinde and date contradict each other (``Indicator.contradicts``); False where either is missing."""
    distance, share, _, _ = indicator.distance_share
    pairs = con.execute("""
        SELECT source_id, vintage, ags, reference_date,
               any_value(value) FILTER (measure = $distance) AS distance,
               any_value(value) FILTER (measure = $share) AS share
        FROM observations
        WHERE list_contains($sources, source_id) AND measure IN ($distance, $share) AND level = 'gemeinde'
          AND value IS NOT NULL
        GROUP BY ALL""", {"sources": indicator.sources, "distance": distance, "share": share}).df()
    keys = ["source_id", "vintage", "ags", "reference_date"]
    pairs = values[keys].merge(pairs, on=keys, how="left")
    return indicator.contradicts(pairs["distance"], pairs["share"])


def _annualised_change(con, indicator: Indicator, cache: dict | None = None) -> pd.DataFrame:
    """Average yearly change in %, with its base year and a territorial change code: 'area_change' (area
    moved > 2 %), a change that makes the pair not comparable flagged by the crosswalk on an observation
    after the base year (partial transfer, split, rejected merger), else 'earlier_territory' where the later end
    has it (then both ends lie on that territory; a base year alone with it does not type the pair), else the
    restatement of either end."""
    sql = f"""
        WITH yearly AS ({YEARLY}),
        area AS ({AREA_SQL.replace('$area_table', f"({YEARLY.replace('$measure', '$area_measure')})")}),
        pairs AS (
            SELECT now.ags, now.period, now.reference_date, now.vintage, now.source_id, now.value AS now_value,
                   base.period AS base_period, base.value AS base_value, now.source_level,
                   -- the span in years by months, not calendar years: a quarterly file of 30.09.2024 against
                   -- 31.12.2013 is 10.75 years, not 11 (both on 31.12: whole years, as before)
                   datediff('month', base.reference_date, now.reference_date) / 12.0 AS span_years,
                   -- the restatement of either end (informative); flags that exclude are found below. An end on
                   -- an earlier territory (the crosswalk's code) types the change only at the later end: then both
                   -- ends are (the area test below found no change between them); a base year alone on one tells
                   -- nothing about the pair (a re-measurement between base and end)
                   coalesce(CASE WHEN now.territorial_change = '{crosswalk.EARLIER_TERRITORY_CODE}' THEN now.territorial_change END,
                            CASE WHEN base.territorial_change NOT IN ({NOT_COMPARABLE_SQL}, '{crosswalk.EARLIER_TERRITORY_CODE}')
                                 THEN base.territorial_change END,
                            CASE WHEN now.territorial_change NOT IN ({NOT_COMPARABLE_SQL}) THEN now.territorial_change END)
                       AS restated
            FROM yearly now JOIN yearly base
              ON base.ags = now.ags
             AND now.period - base.period BETWEEN $years - $tolerance AND $years + $tolerance
            QUALIFY row_number() OVER (PARTITION BY now.ags, now.period
                                       ORDER BY abs(now.period - base.period - $years), base.period DESC) = 1
        )
        SELECT p.ags, p.period, p.reference_date, p.vintage, p.source_id, p.base_period, p.source_level,
               round((power(p.now_value / p.base_value, 1.0 / p.span_years) - 1) * 100, 4) AS value,
               -- a change the crosswalk knows between base and end year names itself (a split: Dingelstädt and
               -- Unstruttal were "area changed without a known key change" though the change lists name their
               -- splits); else an inhabited area moved by > 2 %; both exclude the value
               coalesce((SELECT min(t.territorial_change) FROM yearly t
                         WHERE t.ags = p.ags AND t.period > p.base_period AND t.period <= p.period
                           AND t.territorial_change IN ({NOT_COMPARABLE_SQL})),
                        {_area_change_sql('a_now', 'a_base')},
                        p.restated) AS territorial_change
        FROM pairs p
        LEFT JOIN area a_now ON a_now.ags = p.ags AND a_now.period = p.period
        LEFT JOIN area a_base ON a_base.ags = p.ags AND a_base.period = p.base_period
        WHERE p.base_value > 0
    """
    cache = {} if cache is None else cache
    params = {"sources": indicator.sources, "measure": indicator.params["measure"],
              "years": indicator.params["years"], "tolerance": indicator.params["tolerance_years"],
              "area_measure": indicator.params.get("area_measure", "area_km2"),
              "vintages": release_positions(con, indicator.sources, cache)}
    with _offsets_registered(con, params["area_measure"], params["measure"], indicator.sources, cache):
        return con.execute(sql, params).df()


AREA_CHANGE = crosswalk.AREA_CHANGE  # an inhabited area that moved by more than 2 % is another territory

# The yearly areas of the table $area_table (YEARLY's columns) with the area without the land without inhabitants
# gained up to that register (crosswalk.uninhabited_gains; ``uninhabited_offsets`` registered)
AREA_SQL = """
    SELECT a.ags, a.period, a.value AS area, a.value - coalesce(o.gain, 0) AS inhabited_area
    FROM $area_table a LEFT JOIN uninhabited_offsets o ON o.ags = a.ags AND o.vintage = a.vintage
"""


def _area_change_sql(later: str, earlier: str) -> str:
    """SQL of the territorial test of two AREA_SQL rows: 'area_change' where the area moved by more than AREA_CHANGE
    both as it is and without the land without inhabitants (not comparable), 'uninhabited_gain' where only the area
    as it is did (land without inhabitants: comparable, flagged for the reader), else NULL. One rule for the
    population changes, the density and the crosswalk's typing of the observations (crosswalk.flag_earlier_territory).
    The area as it is must move too: the offsets alone pushed re-measurements past 2 % (09778202: 1.94 km² in 1983
    and today, 1.90 km² between, the 0.04 km² of 2009 counted as land without inhabitants gained; its densities of
    1983-1994 were 'area_change' on equal areas; review of 8 December 2026)."""
    return f"""coalesce(
        CASE WHEN abs({later}.inhabited_area / {earlier}.inhabited_area - 1) > {AREA_CHANGE}
              AND abs({later}.area / {earlier}.area - 1) > {AREA_CHANGE} THEN 'area_change' END,
        CASE WHEN abs({later}.area / {earlier}.area - 1) > {AREA_CHANGE} THEN 'uninhabited_gain' END)"""


@contextlib.contextmanager
def _offsets_registered(con, area_measure: str, population_measure: str, sources: list[str], cache: dict):
    """``uninhabited_offsets`` registered for AREA_SQL while the block runs; computed once per run for the
    indicators sharing the measures (the 5- and 10-year change and the density)."""
    key = ("uninhabited_offsets", area_measure, population_measure, tuple(sources))
    if key not in cache:
        cache[key] = uninhabited_offsets(con, area_measure, population_measure, sources)
    con.register("uninhabited_offsets", cache[key])
    try:
        yield
    finally:
        con.unregister("uninhabited_offsets")


def _unit_of(con, measure: str) -> str | None:
    """The unit of a measure's Gemeinde observations ('km2' for an area)."""
    found = con.execute("SELECT any_value(unit) FROM observations WHERE measure = $measure AND level = 'gemeinde'",
                        {"measure": measure}).fetchone()
    return found[0] if found else None


def uninhabited_offsets(con: duckdb.DuckDBPyConnection, area_measure: str, population_measure: str,
                        sources: list[str]) -> pd.DataFrame:
    """Per (ags, vintage): the land without inhabitants the Gemeinde gained up to that register (km²),
    ``crosswalk.uninhabited_offsets`` of the sources' areas and populations and the territorial changes.

    Subtracted from both areas before the 2 % test, so that a town that took over part of a
    gemeindefreies Gebiet keeps a comparable population change (the crosswalk types its
    observations by the same offsets, ``crosswalk.flag_earlier_territory``).
    """
    gv = con.execute("""
        SELECT ags, vintage, max(value) FILTER (WHERE measure = $area) AS area,
               max(value) FILTER (WHERE measure = $population) AS population
        FROM observations
        WHERE list_contains($sources, source_id) AND level = 'gemeinde' AND measure IN ($area, $population)
        GROUP BY ags, vintage""", {"area": area_measure, "population": population_measure,
                                   "sources": sources}).df()
    listed = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'territorial_changes'"
                         ).fetchone()[0]
    return crosswalk.uninhabited_offsets(gv, con.execute("SELECT * FROM territorial_changes").df() if listed else None)


def _ratio(con, indicator: Indicator, cache: dict | None = None) -> pd.DataFrame:
    """numerator / denominator of the same Gemeinde and year.

    Per area (a denominator in km²: the population density) the value is meant on the Gemeinde's current
    territory. Where its area that year differs from its latest one as a population change's two ends would
    (``_area_change_sql``, the same test), a merger the crosswalk did not explain lies in between and the value
    describes another territory: it gets 'area_change', as the population change across it does (Wittstock/Dosse
    2002: 124.0 inhabitants per km² on 96.94 km², 420.21 km² today; review of 5 December 2026)."""
    cache = {} if cache is None else cache
    params = {"sources": indicator.sources, "numerator": indicator.params["numerator"],
              "denominator": indicator.params["denominator"],
              "vintages": release_positions(con, indicator.sources, cache)}
    per_area = _unit_of(con, params["denominator"]) == "km2"
    code = "coalesce(n.territorial_change, d.territorial_change)"
    if per_area:  # a crosswalk code that excludes first, then the area test, then the restatement (as the changes)
        code = f"""coalesce(CASE WHEN n.territorial_change IN ({NOT_COMPARABLE_SQL}) THEN n.territorial_change END,
                            CASE WHEN d.territorial_change IN ({NOT_COMPARABLE_SQL}) THEN d.territorial_change END,
                            {_area_change_sql('a_now', 'a_then')}, {code})"""
    sql = f"""
        WITH n AS ({YEARLY.replace("$measure", "$numerator")}), d AS ({YEARLY.replace("$measure", "$denominator")})
        {AREA_CTES if per_area else ""}
        SELECT n.ags, n.period, n.reference_date, n.vintage, n.source_id, round(n.value / d.value, 4) AS value,
               {code} AS territorial_change, n.source_level
        FROM n JOIN d USING (ags, period)
        {AREA_JOINS if per_area else ""}
        WHERE d.value > 0
    """
    if not per_area:
        return con.execute(sql, params).df()
    with _offsets_registered(con, params["denominator"], params["numerator"], indicator.sources, cache):
        return con.execute(sql, params).df()


# _ratio's areas per area: the year's (a_then) and the latest (a_now) of the denominator rows d
AREA_CTES = f"""
    , area AS ({AREA_SQL.replace("$area_table", "d")})
    , latest AS (SELECT * FROM area QUALIFY row_number() OVER (PARTITION BY ags ORDER BY period DESC) = 1)
"""
AREA_JOINS = """
    LEFT JOIN area a_then ON a_then.ags = n.ags AND a_then.period = n.period
    LEFT JOIN latest a_now ON a_now.ags = n.ags
"""


def index_periods(observed: pd.DataFrame, catalogue: Catalogue) -> list[int]:
    """Years for which an index is computed: from the first year every pillar has data to the last year with data."""
    pillars = catalogue.required_pillars
    pillar_of = {i.indicator_id: i.pillar for i in catalogue.indicators.values()}
    first_years = observed.assign(pillar=observed["indicator_id"].map(pillar_of)).groupby("pillar")["period"].min()
    if observed.empty or not set(pillars) <= set(first_years.index):
        return []
    start, end = int(first_years[pillars].max()), int(observed["period"].max())
    return list(range(start, end + 1))


# The indicator values the index and its analyses may use (engine.index_rows, as SQL): indicators of a
# declared pillar without an excluded_reason, and only the columns they read. Insertion order is kept
# (filters only, no join), so every sum over these rows adds in the same order as over the whole table.
INDEX_VALUES_SQL = """
    SELECT ags, indicator_id, period, value, imputed, excluded_reason, reference_date FROM indicator_values
    WHERE list_contains($indicators, indicator_id) AND excluded_reason IS NULL
      AND ($periods IS NULL OR list_contains($periods, period))
"""


def index_values(con, catalogue, periods: list[int] | None = None, group_only: bool = False) -> pd.DataFrame:
    """indicator_values rows the index may use (of ``periods`` and of the reference group when given)."""
    values = con.execute(INDEX_VALUES_SQL, {"indicators": index_indicators(catalogue),
                                            "periods": [int(p) for p in periods] if periods is not None else None
                                            }).df()
    if not group_only:
        return values
    # filtered here, not in SQL: list_contains over ~3,000 towns per row was slow, and a join reorders rows
    group = con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"]
    return values[values["ags"].isin(set(group))].reset_index(drop=True)


def carry_forward(con: duckdb.DuckDBPyConnection, observed: pd.DataFrame, periods: list[int],
                  catalogue: Catalogue, transfers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fill index periods without a value from the latest earlier value within carry_forward_years.

    Filled rows are flagged ``imputed`` with ``imputation = 'carried forward from <year>'``. ``transfers``: the
    territorial changes that are not restated (``territory_transfers``); a value carried across one of its town's
    is typed with it and not scored (``across_transfers``). The observed rows, then the filled ones, as one frame
    (``carry_forward_parts`` gives the two without building it).
    """
    return stack_frames(list(carry_forward_parts(con, observed, periods, catalogue, transfers)))


def carry_forward_parts(con: duckdb.DuckDBPyConnection, observed: pd.DataFrame, periods: list[int],
                        catalogue: Catalogue, transfers: pd.DataFrame | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``carry_forward``'s rows as its two parts: the observed values (with every VALUE_COLUMNS column) and the
    filled ones. Why: the indicator step stores the parts one after the other (``warehouse.workdb.store`` takes a
    list); stacking the ~1.1 M rows first held both parts and their copy at once, the step's peak (+119 MiB of
    807 MiB on the Germany-wide files, 0.4 CPU s)."""
    max_age = {i.indicator_id: i.carry_forward_years for i in catalogue.indicators.values()}
    wanted = pd.DataFrame({"period": pd.Series(periods, dtype="int64")})
    observed = observed.reindex(columns=VALUE_COLUMNS)  # frames without the typed columns get them empty
    for column in ("quality_note", "territorial_change", "source_level", "excluded_reason"):
        observed[column] = observed[column].astype(object)
    # DuckDB finds which observed row fills which (town, indicator, period) on integer keys only (town and
    # indicator as codes, the row as its position); the filled rows are then taken from the frame. Scanning
    # the whole frame's text columns into DuckDB and back cost about a fifth of the indicator step.
    keys = pd.DataFrame({"a": pd.factorize(observed["ags"])[0], "i": pd.factorize(observed["indicator_id"])[0],
                         "period": observed["period"].astype("int64"), "row": np.arange(len(observed)),
                         "max_age": observed["indicator_id"].map(max_age).astype(float)})
    sql = """
        WITH targets AS (
            SELECT k.a, k.i, w.period
            FROM (SELECT DISTINCT a, i FROM keys) k CROSS JOIN wanted w
            ANTI JOIN keys o ON o.a = k.a AND o.i = k.i AND o.period = w.period
        )
        SELECT t.period, o.row, o.period AS from_period
        FROM targets t
        ASOF JOIN keys o ON o.a = t.a AND o.i = t.i AND o.period <= t.period
        WHERE t.period - o.period <= o.max_age
        ORDER BY o.row, t.period  -- the join's own output order changes from run to run (threads)
    """
    con.register("keys", keys)
    con.register("wanted", wanted)
    try:
        found = con.execute(sql).df()
    finally:
        for name in ("keys", "wanted"):
            con.unregister(name)
    filled = observed.iloc[found["row"].to_numpy()].reset_index(drop=True)
    filled["period"] = found["period"].to_numpy()
    filled["imputed"] = True
    # one string per source year, not per row (~380,000 equal strings were ~27 MiB)
    from_period = found["from_period"].astype("int64")
    filled["imputation"] = from_period.map({year: flags.label("carried_forward", "en").format(year)
                                            for year in from_period.unique()}
                                           ).to_numpy(dtype=object)
    # the break is between the value and the one before it, not the periods it fills: their note loses it too
    broke = filled["method_break"].eq(True).to_numpy()  # a frame without the column has NaN there: no break
    if broke.any():
        notes = filled["quality_note"].to_numpy(dtype=object).copy()
        notes[broke] = rendered_notes(filled["territorial_change"][broke], filled["source_level"][broke],
                                      filled["base_period"][broke], filled["excluded_reason"][broke])
        filled["quality_note"] = notes
    filled["method_break"] = False
    if transfers is not None and not filled.empty:
        filled = across_transfers(filled, transfers)
    return observed, filled[VALUE_COLUMNS]


def territory_transfers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The partial transfers and split dissolutions of the working database's crosswalk, one row per Gemeinde side
    (``crosswalk.transfer_sides``; the tables the territorial_crosswalk asset writes). A few thousand rows at most."""
    register = con.execute("SELECT DISTINCT vintage, territorial_date FROM municipality_register").df()
    steps = con.execute("SELECT * FROM territorial_changes").df()
    # the walk of the keys of changes only (transfer_sides looks up no other): 132,000 rows in a dict cost 0.1 s
    walk = con.execute("""SELECT vintage, ags, current_ags FROM territorial_keys
        WHERE ags IN (SELECT from_ags FROM territorial_changes UNION SELECT to_ags FROM territorial_changes)""").df()
    return crosswalk.transfer_sides(steps, register, walk, rejected=False)


def _transfer_rows(values: pd.DataFrame, candidates: np.ndarray, transfers: pd.DataFrame, **extra) -> pd.DataFrame:
    """One row per value at the positions ``candidates`` and side of ``transfers`` of its town: ags, ``_row`` (the
    value's position), ``_date`` (its reference date), ``extra`` (arrays aligned with ``candidates``) and the side's
    columns."""
    return pd.DataFrame({"ags": values["ags"].to_numpy()[candidates], "_row": candidates,
                         "_date": pd.to_datetime(values["reference_date"].iloc[candidates]).to_numpy(),
                         **extra}).merge(transfers, on="ags")


def across_transfers(filled: pd.DataFrame, transfers: pd.DataFrame) -> pd.DataFrame:
    """Carried values whose town gained or lost territory after the value's date, by a change the registers show by
    the end of the period it fills (a side of ``transfers`` whose later register is after the value's date and not
    after the period's end), describe the town before the change: typed with the change's code and, but for a minor
    transfer, not scored, as a value observed in the change's period is (crosswalk.flag_transfers). Values already
    excluded keep their reason.

    Why: splits and partial transfers are not restated. Dingelstädt received 5,433 of its 12,339 inhabitants
    from the Gemeinden dissolved on 1 January 2023 and 2024; its broadband shares of mid-2021, of its old area,
    were carried into 2023 untyped and unmarked (digital pillar review, 5 December 2026). The registers bound a
    change by their dates only (31.12.2021 and 31.12.2023 there): a period that ends before the later one is
    left as it is, since excluding every period the window touches took three correct 2022 scores (Dingelstädt,
    Unstruttal, Mühlhausen: the splits took effect on 1 January 2023)."""
    candidates = np.flatnonzero(filled["ags"].isin(transfers["ags"]).to_numpy())
    if not len(candidates):
        return filled
    rows = _transfer_rows(filled, candidates, transfers, _period_end=pd.to_datetime(
        filled["period"].iloc[candidates].astype(str) + "-12-31").to_numpy())
    rows = rows[(rows["_end"] > rows["_date"]) & (rows["_end"] <= rows["_period_end"])]
    rows = rows[pd.isna(filled["excluded_reason"].to_numpy()[rows["_row"].to_numpy()])]  # already excluded: kept
    if rows.empty:
        return filled
    # per value the latest change it is carried across, a change that is not minor before any minor one: a split
    # and a later minor transfer must not leave the value scored as minor (review of 5 December)
    rows = rows.assign(_minor=rows["_code"].eq("minor_transfer"))
    hits = rows.sort_values(["_row", "_minor", "_end"], ascending=[True, False, True]).groupby("_row").last()
    # a minor transfer types an untyped value only: a restatement's code (merger_weighted) says more about it
    hits = hits[~hits["_minor"] | pd.isna(filled["territorial_change"].to_numpy()[hits.index])]
    if hits.empty:
        return filled
    at = hits.index.to_numpy()
    codes = filled["territorial_change"].to_numpy(dtype=object).copy()
    reasons = filled["excluded_reason"].to_numpy(dtype=object).copy()
    codes[at] = hits["_code"].to_numpy(dtype=object)
    reasons[at] = [excluded_reason(code) for code in hits["_code"]]
    filled = filled.assign(territorial_change=codes, excluded_reason=reasons)
    notes = filled["quality_note"].to_numpy(dtype=object).copy()
    notes[at] = rendered_notes(filled["territorial_change"].iloc[at], filled["source_level"].iloc[at],
                               filled["base_period"].iloc[at], filled["excluded_reason"].iloc[at])
    return filled.assign(quality_note=notes)


def compute_observed(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, generations: dict[str, str] | None = None,
                     breaks: tuple[GenerationBreak, ...] = (), transfers: pd.DataFrame | None = None
                     ) -> tuple[pd.DataFrame, list[int]]:
    """The observed values of every indicator (context indicators marked excluded) and the index periods
    (``transfers``: as ``compute_indicator``'s).

    All indicator values are these plus :func:`carry_forward`'s for the index periods; carry_forward needs
    no table of ``con`` (only frames it registers), so a caller may close the working connection in between
    (the indicator_values asset does).
    """
    cache: dict = {}
    observed = stack_frames([compute_indicator(con, i, generations, cache, breaks, transfers)
                             for i in catalogue.indicators.values()])
    context = [i.indicator_id for i in catalogue.indicators.values() if i.pillar not in catalogue.pillars]
    observed.loc[observed["indicator_id"].isin(context) & observed["excluded_reason"].isna(),
                 "excluded_reason"] = "context_indicator"
    return observed, index_periods(observed, catalogue)
