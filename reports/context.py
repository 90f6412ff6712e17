"""The content of one town page, section by section, as plain values for the template."""

from __future__ import annotations

import bisect
import functools
from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely
from pandas.core.dtypes.cast import maybe_box_native  # what to_dict uses (pandas pinned)

from indicators import flags
from indicators.bands import band_category
from indicators.coworking_gap import gap_parameters
from indicators.publisher_notes import change_notes
from reports import charts
from reports.data import VALUE_FLAGS, ReportData, kreis_history
from reports.labels import (CARRIED_FORWARD_DE, CATALOGUE, DECIMALS, MOBILE_AREAS, MOBILE_TECHNOLOGIES, PILLARS,
                            attribution_label, boundary_date_de, data_date_line, date_de, dated_de, de_list, de_number,
                            display_name, flow_note, former_kreis_de, gap_shown, imputed_share_of_score, in_kreis,
                            is_missing, is_year_only, kreis_value_moved_phrase_de, moved_parts_sentence_de,
                            no_data_in_any_year_de, no_kreis,
                            not_scored_reasons, peer_dates_sentence_de, pillar_coverage, pillar_label, published_value,
                            rank_shown, release_text, safe_url, score_gap, separate_kreise_de, shown_number,
                            source_label, unit_label, vintage_label, years_de)
from reports.maps import TownGeometries, to_metric_crs, town_map
from sources.contracts import load_contracts, vintage_start
from sources.local_inputs import active_on
from sources.registry import label_vintage
from staging.boundaries import bare_name
from staging.coworking import placed_at_gemeinde, within_reach
from staging.crosswalk import PARTIAL_KINDS

CARRY_FORWARD_YEARS = {i.indicator_id: i.carry_forward_years for i in CATALOGUE.indicators.values()}
ZERO_DE = {i.indicator_id: i.zero_de for i in CATALOGUE.indicators.values() if i.zero_de}

TOP_FLOWS = 10
# A pillar counts as a strength (or a field for action) when the town is this many index points above
# (below) the mean of its structurally similar towns; smaller gaps are "im Rahmen".
SUMMARY_GAP = 5.0
WITHOUT_TOTAL = "ohne diese Säule gibt es keinen Gesamtwert"


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN/NaT/NA turned into None (templates test ``is none``).

    The same values as ``frame.to_dict("records")`` (Python scalars, Timestamps), built column by
    column: to_dict's per-cell iloc access was a quarter of a page's time on these small frames."""
    names = list(frame.columns)
    if not names:
        return [{} for _ in range(len(frame))]
    columns = []
    for _, series in frame.items():
        values = series.tolist()
        if series.dtype == object:  # numpy scalars inside object columns become Python ones, as in to_dict
            values = [maybe_box_native(v) for v in values]
        columns.append(values)
    return [{k: (None if v is pd.NaT or v is pd.NA or is_missing(v) else v) for k, v in zip(names, row)}
            for row in zip(*columns)]


def town_context(data: ReportData, geoms: TownGeometries, ags: str) -> dict:
    """Everything the town template shows for ``ags``.

    Built from plain row dicts (``ReportData.town_rows``, columns prepared once per run), not from
    per-town pandas frames: pandas' per-call overhead was most of a page's time."""
    town = town_row(data, ags)
    town["kreis_whole"] = whole_kreis(data, town["kreis_ags"])  # a kreisfreie Stadt: no "in der kreisfreien Stadt X"
    # the Kreis named as its sections name it (the BKG's 'Neustadt a.d. Waldnaab'): the header wrote the register's
    # 'Neustadt a.d.Waldnaab' above them on 80 pages of 8 Bavarian Kreise (page audit of 7 December 2026)
    town["kreis_name"] = data.kreis_names.get(town["kreis_ags"], town["kreis_name"])
    history = data.town_rows("index", ags)
    dates = DataDates(data.town_rows("input_dates", ags))
    headline = headline_row(history, data.latest_period)
    peers = peer_rows(data.town_rows("peers", ags))
    cells = kreis_names(data)
    for peer in peers:  # each peer's Kreis as the index page writes it (the BKG's name, a shared one told apart)
        peer["peer_kreis"] = cells.get(str(peer["peer_ags"])[:5], peer["peer_kreis"])
    indicators = data.town_rows("indicators", ags)
    excluded = excluded_pillars(indicators, headline["period"]) if headline else {}
    pillars = pillar_rows(headline, data, excluded, {r["pillar"] for r in indicators},
                          town_pillar_coverage(data, ags, headline))
    return {
        "town": town,
        "overview": overview(headline, history, dates, excluded),
        "summary": summary(pillars, peers, headline["period"] if headline else None),
        "history": history_section(history, dates, ags, data.town_rows("scored", ags),
                                   headline["period"] if headline else None, data.pillar_indicators,
                                   data.town_rows("unscored_values", ags)),
        "pillars": pillars,
        "drivers": drivers(data.town_rows("contributions", ags)),
        **indicator_sections(indicator_rows(indicators, data, town), headline, history),
        "peers": peers,
        "peer_dates_de": peer_dates_sentence_de(town["name"], peers),
        "map": map_section(data, geoms, ags, town["name"]),
        "commuting": _kreis_section(data, "commuting", ags, town["kreis_ags"], data.flows_by_kreis, commuting),
        "coworking": coworking(data, geoms, ags),
        "mobile": _kreis_section(data, "mobile", ags, town["kreis_ags"], data.mobile_by_kreis, mobile_kreis),
    }


def town_row(data: ReportData, ags: str) -> dict:
    """``data.towns.loc[ags].to_dict()`` (the same values and types; a KeyError for an unknown AGS) as a new
    dict, from rows made once per run: the pandas row lookup cost ~0.4 ms per page."""
    return dict(_memo(data, "town_rows", lambda: _row_dicts(data.towns))[ags])


def _row_dicts(frame: pd.DataFrame) -> dict:
    """{index label: row as ``frame.loc[label].to_dict()`` gives it}: each column's Python values
    (``Series.tolist``) with numpy scalars boxed as ``to_dict`` boxes a row of mixed types (NaN stays NaN)."""
    names = list(frame.columns)
    columns = [[maybe_box_native(v) for v in series.tolist()] for _, series in frame.items()]
    return {label: dict(zip(names, row)) for label, row in zip(frame.index, zip(*columns))}


def _kreis_section(data: ReportData, section: str, ags: str, kreis_ags: str, listed, build) -> dict:
    """A section of a publisher's Kreis figures (``listed``: its rows per Kreis), built once per run for each Kreis it
    shows (pages only read it): the town's Kreis of today, or the former Kreis the publisher lists (``shown_former``)."""
    former = shown_former(data, ags, kreis_ags, listed)
    shown = _memo(data, (section, kreis_ags, former), lambda: build(data, kreis_ags, former))
    moved = None if former else moved_parts_de(data, ags, kreis_ags, shown.get("reference_date"), section == "commuting")
    return {**shown, "moved_de": moved}  # per town, on a copy: the shared section itself is never changed


def moved_parts_de(data: ReportData, ags: str, kreis_ags: str, day, commuting: bool = False) -> str | None:
    """The sentences on the parts of the town that lay in another Kreis of today at the Stichtag ``day`` of its Kreis
    section (``kreis_moves``; ``kreis_ags``: the town's Kreis of today), one per Kreis and move they lay there until;
    None where there are none (``_moved_groups``). Kaltennordheim's page showed the Landkreis Schmalkalden-Meiningen's
    Pendlerströme of 30.06.2016, when 3,342 of its 5,748 inhabitants lived in the Wartburgkreis (read of 7 December
    2026)."""
    groups = _moved_groups(data, ags, day)
    if not groups:  # every page asks, twice: most towns have no such part
        return None
    here = _in_kreis_cell(data, kreis_ags, keyed=False)  # the page's own Kreis: its key is on the page
    sentences = [moved_parts_sentence_de([_part_cell(p) for p in parts], _in_kreis_cell(data, key.kreis_ags), here,
                                         _town_cell(data, ags), pd.Timestamp(day), parts[0], key.certain, commuting,
                                         whole=_whole(parts))
                 for key, parts in groups]
    return ". ".join(text[:1].upper() + text[1:] for text in sentences)  # 'Ein Teil von …'


def kreis_value_moved_de(data: ReportData, ags: str, day, when: str, until=None) -> str | None:
    """Which parts of the town a Kreis value on the territory of ``day`` leaves out because they lay in another Kreis
    then (``when``: how the phrase names that day, ``kreis_territory_of``), for the indicator table and the comparison;
    None where there are none. ``until``: the territory is that of a day between ``day`` and ``until`` (a publisher's
    status known within bounds): a part that may have moved between the two gets the uncertain form. Dingelstädt's and
    Südeichsfeld's every Kreis value was of a Kreis without part of the town (read of 7 December 2026)."""
    by_kreis: dict[tuple, list[dict]] = {}  # the phrase names no move's day: one per Kreis (and certainty)
    for key, parts in _moved_groups(data, ags, day, until):
        by_kreis.setdefault((key.kreis_ags, key.certain), []).extend(parts)
    return "; ".join(kreis_value_moved_phrase_de([_part_cell(p, people=False, accusative=True) for p in parts],
                                                 _in_kreis_cell(data, kreis), when, certain,
                                                 singular_part=len(parts) == 1 and _partial(parts[0]),
                                                 whole=_whole(parts))
                     for (kreis, certain), parts in by_kreis.items()) or None


def kreis_territory_of(data: ReportData, key: tuple, date, indicator_id: str) -> tuple[pd.Timestamp, str, object]:
    """The day whose territory the Kreis value of ``date`` (``key``: its (indicator, "kreis", ags) in ``references``)
    describes, how a phrase says it, and the last day that territory may be of where the day is known within bounds
    (else None): its own date ('am 30.06.2021', 'im Bezugsjahr 2018'), or for a publisher that restates every year on
    a territorial status of its own (sources.yaml contract ``territory_of_vintage``: INKAR) that status. INKAR's Kreis
    value of 2018 for the Landkreis Sonneberg counts Lichte and Piesau, which came on 01.01.2019 (second review of
    7 December 2026). The status is the release's ``publisher_territorial_status`` (staging.publisher_status: on or
    after ``status_after``, before ``status_before`` or else the release; 31.12.2019 for INKAR 12/2022): 'auf dem
    Gebietsstand vom 31.12.2019 (INKAR (BBSR) 12/2022)', or between two days (the uncertain form for a part that moved
    between them). With only the upper bound, the day before it: a part that moved earlier goes untold. Where the
    warehouse knows no status (no Gemeinde list of INKAR's, as in the offline snapshot), the release's first day, which
    lies after it: a move between the two goes untold."""
    dates, _ = data.references[key]
    source_id, vintage = data.reference_releases[key][bisect.bisect_left(dates, date)]
    if source_id in _territory_of_release():
        release = f"{source_label(source_id)} {vintage_label(vintage)}"
        after, before = data.publisher_status.get((source_id, vintage), (None, None))
        if after is None and before is None:
            return pd.Timestamp(vintage_start(vintage)), f"auf dem Gebietsstand von {release}", None
        end = before if before is not None else pd.Timestamp(vintage_start(vintage))  # the status lies before it
        last = end - pd.Timedelta(days=1)
        if after is None:  # only the upper bound: a part that moved before it may or may not be counted, untold
            return last, f"auf dem Gebietsstand von {release} (vor dem {end:%d.%m.%Y})", None
        if last <= after:  # known to the day
            return after, f"auf dem Gebietsstand vom {after:%d.%m.%Y} ({release})", None
        return after, (f"auf dem Gebietsstand von {release} (zwischen dem {after:%d.%m.%Y} und dem "
                       f"{last:%d.%m.%Y})"), last
    preposition = "im" if is_year_only(indicator_id, source_id) else "am"  # 'im Bezugsjahr 2018', 'am 30.06.2021'
    return pd.Timestamp(date), f"{preposition} {date_de(date, indicator_id, source_id)}", None


@functools.lru_cache(maxsize=1)
def _territory_of_release() -> frozenset[str]:
    """The sources whose every release restates its series on the territory of the release (sources.yaml)."""
    return frozenset(source for source, tables in load_contracts().items()
                     if any(table.territory_of_vintage for table in tables.values()))


class MoveKey(NamedTuple):
    """What the parts of a town that share a sentence have in common: the Kreis they lay in and their move."""
    kreis_ags: str
    moved_on: pd.Timestamp | None
    moved_on_basis: str | None
    last_listed: pd.Timestamp | None
    first_unlisted: pd.Timestamp | None
    certain: bool  # the day lies before the move, not between the two registers around it


def _moved_groups(data: ReportData, ags: str, day, until=None) -> list[tuple[MoveKey, list[dict]]]:
    """The town's parts (``kreis_moves`` rows) that lay in another Kreis of today at ``day``, grouped by that Kreis and
    their move, in the order the sentences name them. A part lay there from its first register there until its move:
    up to the last register listing it there for certain, and until the day the change list or the BKG gives
    (``moved_on``); without that day, a day between the two registers is uncertain. ``until``: the day is one between
    ``day`` and ``until``: a part that lay there at ``day`` is certain only if it still did at ``until`` (one that came
    there only after ``day``, a part's first register, is left out)."""
    if day is None or pd.isna(day):
        return []
    day = pd.Timestamp(day)
    groups: dict[tuple, list[dict]] = {}
    for part in _town_parts(data, ags):
        first, last, unlisted, moved_on = (None if is_missing(part[k]) else pd.Timestamp(part[k])
                                           for k in ("first_listed", "last_listed", "first_unlisted", "moved_on"))
        there = _lay_there(day, first, last, unlisted, moved_on)
        if there is None:
            continue  # before the registers place it there, or after it lies here
        certain = there and (until is None or _lay_there(pd.Timestamp(until), first, last, unlisted, moved_on) is True)
        # parts moved alike share a sentence; another day or Kreis gets its own (a review of 7 December 2026)
        key = MoveKey(part["kreis_ags"], moved_on, part.get("moved_on_basis"), last, unlisted, certain)
        groups.setdefault(key, []).append(part)
    return sorted(groups.items(), key=lambda item: (item[0].kreis_ags, item[0].last_listed))


def _town_parts(data: ReportData, ags: str) -> tuple | list[dict]:
    """The town's ``kreis_moves`` rows (most towns have none), grouped by town once per run."""
    return _memo(data, "kreis_moves", lambda: _by_town(data.kreis_moves)).get(ags, ())


def _lay_there(day: pd.Timestamp, first, last, unlisted, moved_on) -> bool | None:
    """Whether a part (its ``kreis_moves`` dates) lay in its other Kreis at ``day``: True for certain, False perhaps
    (between its two registers, the day of the move unknown), None not (before its first register there, on or after
    its move or its first register here)."""
    if (first is not None and day < first) or (unlisted is not None and day >= unlisted):
        return None
    if day <= last or (moved_on is not None and day < moved_on):
        return True
    return False if moved_on is None else None  # on or after the change list's or the BKG's day it lies here


def _town_cell(data: ReportData, ags: str) -> str:
    """'Kaltennordheim, Stadt (16066095)': the town with its key, apart from a part of the same name and older key."""
    name = data.name_of.get(ags)
    return f"{name} ({ags})" if name else ags


def _in_kreis_cell(data: ReportData, kreis_ags: str, keyed: bool = True) -> str:
    """'im Wartburgkreis (16063)': a Kreis after its preposition, as the pages name the town's own, with its key
    (``keyed``)."""
    phrase = in_kreis(kreis_name(data, kreis_ags), kreis_ags, data.kreis_designations.get(kreis_ags))
    return f"{phrase} ({kreis_ags})" if keyed else phrase


def _by_town(frame: pd.DataFrame) -> dict[str, list[dict]]:
    """The rows of a frame with an ``ags`` column as dicts per town."""
    result: dict[str, list[dict]] = {}
    for row in records(frame):
        result.setdefault(row["ags"], []).append(row)
    return result


def _part_cell(part: dict, people: bool = True, accusative: bool = False) -> str:
    """'Lichte (16073049; 1.568 Einwohner am 31.12.2013)': a part of a town by its name and key then, with its
    inhabitants in its last register there (``people``); 'ein Teil von Anrode (16064073; 1.699 Einwohner)' where a
    Gemeinde was split or gave part of its land, with the inhabitants the change list says moved ('einen Teil' after
    'ohne': ``accusative``)."""
    name = display_name(part["part_name"]) or part["part_ags"]
    partial = _partial(part)
    people_de = ("" if not people or is_missing(part.get("part_population")) else
                 f"; {de_number(part['part_population'], 0)} Einwohner"
                 + ("" if partial or is_missing(part.get("last_listed")) else f" am {date_de(part['last_listed'])}"))
    article = ("einen Teil von " if accusative else "ein Teil von ") if partial else ""
    return f"{article}{name} ({part['part_ags']}{people_de})"


def _partial(part: dict) -> bool:
    """The part is land of a Gemeinde that was split or gave part of its land, not a whole Gemeinde."""
    return part.get("kind") in PARTIAL_KINDS


def _whole(parts: list[dict]) -> bool:
    """The one part is the whole Gemeinde under its old key (a recode: Lahr, moved from Cochem-Zell in 2014)."""
    return len(parts) == 1 and parts[0].get("kind") == "recode"


def shown_former(data: ReportData, ags: str, kreis_ags: str, listed) -> str | None:
    """The former Kreis whose rows a Kreis section shows for the town (``listed``: the publisher's rows per Kreis, or
    the keys it gives values for): where the publisher lists not the town's Kreis of today but exactly one Kreis the
    town lay in before (``former_kreise``: the Mobilfunk-Monitoring of mid-2021 lists Osterode am Harz, 03156, for Bad
    Lauterberg im Harz, not the Landkreis Göttingen formed in 2016, whose pages said there were no values); or where
    the town lay in exactly one former Kreis and the publisher lists it apart, on the Stichtag of today's Kreis's rows
    (``own_part``). None otherwise."""
    if kreis_ags in listed:
        return own_part(data, ags, kreis_ags, listed) if isinstance(listed, dict) else None
    candidates = [k for k in kreis_history(data)["formers"].get(ags, ()) if k in listed]
    return candidates[0] if len(candidates) == 1 else None


def own_part(data: ReportData, ags: str, kreis_ags: str, frames: dict) -> str | None:
    """The town's one former Kreis where the publisher lists it as a Kreis of its own on the Stichtag of today's
    Kreis's rows (``frames``: rows per Kreis), whose figures then leave it out: Eisenach (16056) beside the
    Wartburgkreis (16063) in 2016. Eisenach's page showed the Wartburgkreis without Eisenach as its Kreis, and
    Eisenach as the first destination of its out-commuters (CLI sweep of 7 December 2026)."""
    former, today = sole_former(data, ags), frames.get(kreis_ags)
    if former is None or today is None or today.empty:
        return None
    return former if listed_on(frames, former, today["reference_date"].max()) else None


def sole_former(data: ReportData, ags: str) -> str | None:
    """The town's former Kreis where it lay in exactly one (``former_kreise``), else None."""
    formers = kreis_history(data)["formers"].get(ags, ())
    return formers[0] if len(formers) == 1 else None


def whole_kreis(data: ReportData, kreis_ags: str, former: str | None = None) -> bool:
    """Whether the Kreis a section shows is one Gemeinde of today and nothing else: a kreisfreie Stadt or Stadtkreis
    (München, 09162), or a former Kreis whose whole territory one Gemeinde of today holds (Eisenach, 16056). Its
    figures are then the town's own: the pages said "Kreiswert, nicht der Wert von München" (107 pages, audit of 7
    December 2026)."""
    history = kreis_history(data)
    if former:
        return history["members"].get(former) == 1
    # 07000999 is alone under its Land's key, which is no Kreis
    return history["sizes"].get(kreis_ags) == 1 and not no_kreis(kreis_names(data).get(kreis_ags), kreis_ags)


def kreis_names(data: ReportData) -> dict:
    """Kreis AGS -> its name for a table cell (``ReportData.kreis_cells``), as a dict built once per run."""
    return _memo(data, "kreis_cells", lambda: dict(zip(data.kreis_cells.index, data.kreis_cells)))


def kreis_name(data: ReportData, kreis_ags: str) -> str | None:
    """A Kreis's name by the BKG, else the register's (a Kreis the boundaries no longer have: 'Osterode am Harz')."""
    return kreis_names(data).get(kreis_ags) or kreis_history(data)["names"].get(kreis_ags)


def kreis_cell(data: ReportData, kreis_ags: str) -> str:
    """A Kreis in a sentence or cell with its key: 'Eisenach (16056)', 'Osterode am Harz (03156)'; the key alone
    without a name."""
    name = kreis_name(data, kreis_ags)
    return f"{name} ({kreis_ags})" if name else kreis_ags


def listed_on(frames: dict, kreis_ags: str, day) -> bool:
    """Whether the publisher's rows of a Kreis (``frames``: rows per Kreis) are of the Stichtag ``day``."""
    frame = frames.get(kreis_ags)
    return frame is not None and len(frame) > 0 and pd.Timestamp(frame["reference_date"].max()) == pd.Timestamp(day)


def kreis_territory(data: ReportData, kreis_ags: str, former: str | None, day, frames: dict,
                    commuting: bool = False) -> str | None:
    """What a Kreis section's figures of ``day`` cover, where that is not today's Kreis: a former Kreis's figures
    (``former``), or today's Kreis without a part the publisher lists as a Kreis of its own on the same day
    (``frames``: the publisher's rows per Kreis); None where they describe today's Kreis as far as the register
    tells. That a part listed apart is left out of the Kreis's figures is read off the listing: the register's
    vintages do not date a Kreis's end to the day."""
    if day is None:
        return None
    if former:  # today's Kreis listed on the same day: the former is listed apart (``own_part``)
        return former_kreis_de(kreis_cell(data, former), kreis_ags, day, apart=listed_on(frames, kreis_ags, day))
    history = kreis_history(data)
    parts = sorted(k for k in history["absorbed"].get(kreis_ags, ()) if listed_on(frames, k, day))
    if not parts:
        return None
    whole = all(history["successors"].get(k) == {kreis_ags} for k in parts)  # a part split among several Kreise
    return separate_kreise_de([kreis_cell(data, k) for k in parts], kreis_ags, day, commuting, whole)


def today_kreise(data: ReportData, kreis_ags: str) -> list[str]:
    """For a destination that is a former Kreis, the Kreise of today its towns lie in ('Wartburgkreis' for
    Eisenach, 16056); empty for a Kreis of today."""
    return [kreis_names(data).get(k) or k for k in sorted(kreis_history(data)["successors"].get(kreis_ags, ()))]


def headline_row(history: list[dict], published_period: int | None) -> dict | None:
    """The row the page leads with: the period published as "the latest" (not provisional), scored or not (the
    page then says why not and names the last scored year), else the newest scored row, else the newest row
    (``history``: the town's index rows in period order).

    Why the published period even without a score: Böhlen, Rerik and Rötha (no demographic value for 2021) led
    with their 2018 score and a rank among the towns of 2018, while latest_ranking, the index page and the maps
    show them without a score in 2021; comparison pages put that 2018 score above their 2021 indicator values
    (two reviews of 5 December). Tangstedt, never scored, had led with 2023, a provisional period."""
    for rows in ([r for r in history if r["period"] == published_period],
                 [r for r in history if r["score"] is not None], history):
        if rows:
            return dict(rows[-1])
    return None


class DataDates:
    """'Breitband 06/2021, Pendler 2019, Bevölkerung 31.12.2023' per index period of one town, from its
    ``input_dates`` rows (pillar, reference date), each period's line computed once."""

    def __init__(self, rows: list[dict]):
        self.by_period: dict = {}
        for row in rows:
            self.by_period.setdefault(row["period"], []).append((row["pillar"], row["reference_date"]))
        self.lines: dict = {}

    def __call__(self, period) -> str:
        if period not in self.lines:
            pairs = [(p, None if d is None else pd.Timestamp(d)) for p, d in self.by_period.get(period, [])]
            self.lines[period] = data_date_line(pairs)
        return self.lines[period]


def data_dates(dates: "DataDates | list[dict]", period) -> str:
    """The data-date line of one index period of a town (``dates``: its input_dates rows or a DataDates)."""
    return (dates if isinstance(dates, DataDates) else DataDates(dates))(period)


def pillar_notes(omitted, uncompared) -> list[str]:
    """The notes on a score's pillars, rendered from the typed columns: each pillar not scored and why, each
    pillar scored but not compared (the page's headline, ``readiness profil``)."""
    return ([f"{pillar_label(p)} nicht bewertet: {reason}" for p, reason in not_scored_reasons(omitted).items()]
            + [f"{pillar_label(p)} {reason}" for p, reason in not_scored_reasons(None, uncompared).items()])


def excluded_pillars(rows: list[dict], period: int) -> dict[str, str]:
    """Pillar -> why its values of ``period`` are not scored ('nicht bewertet: eine Gebietsänderung fällt in den
    Zeitraum des Werts, …'), for each pillar all of whose values there are excluded: the town has data, the index
    cannot use them. ``rows``: the town's indicator rows (each with pillar, period and excluded_reason)."""
    reasons: dict[str, list] = {}
    for row in rows:
        if row["period"] == period and row["pillar"] in PILLARS:
            reasons.setdefault(row["pillar"], []).append(row["excluded_reason"])
    # the codes sorted: the rows come in the query's order, which varies between builds
    return {pillar: "; ".join(dict.fromkeys(flags.label(code, "de") for code in sorted(set(codes))))
            for pillar, codes in reasons.items() if all(code in flags.SCORE_EXCLUSIONS for code in codes)}


# Why an end of the rank band has a decimal, in the page's words (the town page and ``readiness profil``)
RANK_BAND_DECIMALS_DE = ("die Grenzen sind Perzentile über alle Durchläufe, zwischen zwei Rängen interpoliert, "
                         "daher mit Nachkommastelle")


def overview(latest: dict | None, history: list[dict], dates: DataDates,
             excluded: dict[str, str] | None = None) -> dict | None:
    """The headline row with its data dates, the last scored period when it has no score, and the
    newer provisional (mostly carried-forward) periods shown apart from it. ``excluded``: ``excluded_pillars``
    of the headline period; a missing pillar listed there has data the index does not score, not no data."""
    if latest is None:
        return None
    excluded = excluded or {}
    scored = [r for r in history if r["score"] is not None]
    last_scored = last_scored_before(history, latest["period"]) if latest["score"] is None else None
    missing_ids = flags.pillar_ids(latest["missing_pillars"])
    missing = [pillar_label(p) for p in missing_ids if p not in excluded]
    unscorable = [{"label": pillar_label(p), "reason": excluded[p]} for p in missing_ids if p in excluded]
    notes = pillar_notes(latest["omitted_pillars"], latest.get("uncompared_pillars"))
    newer = [dict(r) for r in scored if r["period"] > latest["period"]][-1:]
    provisional = None
    if newer:
        provisional = {**newer[0], "data_dates": data_dates(dates, newer[0]["period"])}
    # the rank band in words (indicators.bands), next to the numbers: what a planner can say
    band = band_category(latest.get("rank_p05"), latest.get("rank_p95"), latest.get("compared_towns"))
    return {**latest, "imputed_share": imputed_share_of_score(latest), "missing": missing, "unscorable": unscorable,
            "notes_de": notes, "last_scored": last_scored,
            "tied_towns": latest.get("tied_towns") or 0,  # reports/data.py TIED_TOWNS
            "data_dates": data_dates(dates, latest["period"]), "provisional_row": provisional,
            "band_de": band.de if band.code != "not_ranked" else None, "rank_outside_band": rank_outside_band(latest),
            "rank_band_decimals_de": RANK_BAND_DECIMALS_DE if rank_band_fractional(latest) else None}


def last_scored_before(history: list[dict], period) -> dict | None:
    """The newest scored row of ``history`` (period order) before ``period``, which a headline without a score names
    (the page and ``readiness profil``); a newer score is the provisional one, shown apart."""
    earlier = [r for r in history if r["score"] is not None and r["period"] < period]
    return dict(earlier[-1]) if earlier else None


def rank_band_fractional(row: dict) -> bool:
    """Whether an end of the rank band is shown with a decimal ('103–420,1'): a percentile over the draws,
    interpolated between two ranks, which the page then says (read as a rank, '420,1' puzzled; second data review
    of 5 December)."""
    ends = [rank_shown(row.get(k)) for k in ("rank_p05", "rank_p95")]
    return any(end is not None and not float(end).is_integer() for end in ends)


def rank_outside_band(row: dict) -> bool:
    """True when the published rank lies outside the town's own 5-95 % rank band: the draws rank it elsewhere
    (Germany-wide mostly in 2018, by filling gaps from later years; ``rank < rank_p05 OR rank > rank_p95`` of
    readiness_index counts them), so the page and the Indexverlauf download must say that the rank shown
    depends strongly on the method's choices rather than leave the two numbers contradicting each other."""
    rank, low, high = row.get("rank"), row.get("rank_p05"), row.get("rank_p95")
    if any(v is None or is_missing(v) for v in (rank, low, high)):
        return False
    return bool(rank < low or rank > high)


def summary(pillars: list[dict], peers: list[dict], period: int | None = None) -> dict:
    """Plain-language strengths and fields for action: the mean gap per pillar to the similar towns
    (peer minus town; negative = the town is ahead), only from peer rows of the pillars' ``period``: a town
    whose latest score is of an earlier year than the peer comparison gets no summary (it would put one
    year's pillar beside another year's gaps)."""
    strengths, actions, location, compared = [], [], [], 0
    same_year = [peer for peer in peers if period is None or peer["period"] == period]
    for pillar in pillars:
        # the gaps as the peer table shows them (one decimal), so their mean is what a reader computes from it
        gaps = [shown_number(g["value"]) for peer in same_year for g in peer["gaps"]
                if g["pillar"] == pillar["pillar"] and g["value"] is not None]
        if pillar["value"] is None or not gaps:
            continue
        compared += 1
        mean_gap = shown_number(sum(gaps) / len(gaps))  # as the page shows it: 4.96 is "5,0", so it counts
        item = {"label": pillar["label"], "value": pillar["value"], "gap": abs(mean_gap), "peers": len(gaps)}
        if mean_gap <= -SUMMARY_GAP:
            strengths.append(item)
        elif mean_gap >= SUMMARY_GAP:
            # a pillar the town cannot act on (catalogue ``actionable: false``) is no field for action
            if _actionable(pillar["pillar"]):
                actions.append(item)
            else:
                location.append({**item, "why_de": CATALOGUE.pillars[pillar["pillar"]].get("location_de", "")})
    return {"strengths": sorted(strengths, key=lambda i: -i["gap"]),
            "actions": sorted(actions, key=lambda i: -i["gap"]), "location": sorted(location, key=lambda i: -i["gap"]),
            "threshold": SUMMARY_GAP,
            "has_peers": bool(peers), "compared": compared, "period": period,
            "peer_period": peers[0]["period"] if peers else None}


HISTORY_COLUMNS = ["period", "score", "score_p05", "score_p95", "rank", "rank_p05", "rank_p95",
                   "compared_towns", "imputed_share", "provisional"]


def scored_indicators(scored: list[dict], history: list[dict]) -> dict[int, frozenset]:
    """Per scored index period of a town the indicators its score rests on: the values the index can score
    (``scored``: reports/data.py SCORED_INDICATORS rows, period and sorted ids as text) without those of a pillar
    the row omits (``omitted_pillars``) or shows beside the score without counting it (``uncompared_pillars``, as
    the warehouse's view index_inputs; a read of the change of 6 December 2026 found them counted here)."""
    omitted = {r["period"]: set(flags.pillar_ids(r.get("omitted_pillars")))
               | set(flags.pillar_ids(r.get("uncompared_pillars"))) for r in history if r["score"] is not None}
    return {row["period"]: frozenset(i for i in row["indicators"].split(",")
                                     if i in CATALOGUE.indicators and CATALOGUE.indicators[i].pillar
                                     not in omitted[row["period"]])
            for row in scored if row["period"] in omitted and row["indicators"]}


def _short_label(indicator_id: str) -> str:
    """An indicator's label without a unit in brackets at its end ('Bevölkerungsentwicklung, ca. 5 Jahre')."""
    indicator = CATALOGUE.indicators[indicator_id]
    label, unit = indicator.label, f" ({unit_label(indicator.unit)})"
    return label[:-len(unit)] if label.endswith(unit) else label


def _labels_in(pillar: str, ids) -> list[str]:
    """The short labels of those of ``ids`` that belong to ``pillar``, in the catalogue's order."""
    return [_short_label(i.indicator_id) for i in CATALOGUE.in_pillar(pillar) if i.indicator_id in ids]


def composition_de(own: frozenset, reference: frozenset, year) -> str:
    """Which indicators a year's score has other than that of ``year`` (the page's headline), per pillar:
    'nicht vergleichbar mit 2021: Erreichbarkeit ohne Pkw-Fahrzeit zum nächsten IC/ICE-Bahnhof und Pkw-Fahrzeit
    zum nächsten Oberzentrum; Demografische Dynamik zusätzlich mit Bevölkerungsentwicklung, ca. 5 Jahre'; '' when
    the sets are the same."""
    parts = []
    for pillar in PILLARS:
        gone, extra = _labels_in(pillar, reference - own), _labels_in(pillar, own - reference)
        words = ([f"ohne {de_list(gone)}"] if gone else []) + ([f"zusätzlich mit {de_list(extra)}"] if extra else [])
        if words:
            parts.append(f"{pillar_label(pillar)} {', '.join(words)}")
    return f"nicht vergleichbar mit {year}: " + "; ".join(parts) if parts else ""


def history_section(history: list[dict], dates: DataDates, ags: str, scored: list[dict] | None = None,
                    headline_period=None, usual: dict | None = None, indicators: list[dict] | None = None) -> dict:
    """The history table and chart; provisional periods (mostly carried-forward data) are flagged in
    the columns passed to the chart (``provisional``, missing = False) and in the table.

    A scored year whose score rests on other indicators than that of ``headline_period`` (else the newest scored
    year) says which (``composition_de``; ``scored``: the town's SCORED_INDICATORS rows): 2018's accessibility has no
    car times, which start in 2020, and a fall from 2018 to 2021 was read as a decline (review of 5 December 2026).
    The chart does not join two years of different indicators. ``usual``: ``ReportData.pillar_indicators``, which
    tells a year without a score because no town has the pillar then; ``indicators``: the town's values of the
    missing pillars of its years without a score (reports/data.py UNSCORED_VALUES), which tell a year whose values the
    index cannot score (``missing_excluded``; ``unscored_years``)."""
    sets = scored_indicators(scored or [], history)
    not_comparable, reference = comparability(sets, history, headline_period)
    rows = []
    for source in history:
        row = {c: source[c] for c in HISTORY_COLUMNS}
        row["provisional"] = bool(row["provisional"]) if row["provisional"] is not None else False
        row["imputed_share"] = imputed_share_of_score(row)
        row["data_dates"] = dates(row["period"])
        row["outside_band"] = rank_outside_band(row)
        own = sets.get(row["period"])  # scored periods only (scored_indicators)
        row["basis"] = own  # the chart joins only years of the same indicators
        row["composition_de"] = not_comparable.get(row["period"], "")
        # why a year has no score: the required pillars without data (readiness_index.missing_pillars)
        missing = [] if row["score"] is not None else flags.pillar_ids(source.get("missing_pillars"))
        row["missing"] = [pillar_label(p) for p in missing]
        row["missing_everywhere"] = missing_everywhere(missing, row["period"], usual)
        row["missing_excluded"] = missing_excluded(missing, row["period"], indicators)
        rows.append(row)
    columns = {c: [r[c] for r in rows] for c in ("period", "score", "score_p05", "score_p95", "provisional", "basis")}
    has_scores = any(r["score"] is not None for r in rows)
    chart = charts.history_chart(columns, f"hist-{ags}") if has_scores else None
    return {"rows": rows, "chart": chart, "any_provisional": any(columns["provisional"]),
            "any_outside_band": any(r["outside_band"] for r in rows), "unscored": unscored_years(rows),
            "reference_period": reference, "not_comparable": [r for r in rows if r["composition_de"]],
            "not_comparable_de": not_comparable_de(reference, chart=True)}


def comparability(sets: dict[int, frozenset], history: list[dict], headline_period) -> tuple[dict, object]:
    """({period: ``composition_de``} of each scored year resting on other indicators than the reference year, the
    reference year): the headline's where it is scored, else the newest scored one. ``sets``: ``scored_indicators``.
    The town page and ``readiness profil`` mark the same years with it."""
    scored_periods = [r["period"] for r in history if r["score"] is not None]
    reference = headline_period if headline_period in sets else (scored_periods[-1] if scored_periods else None)
    if reference not in sets:
        return {}, reference
    return ({period: composition_de(own, sets[reference], reference) for period, own in sets.items()
             if period != reference and own != sets[reference]}, reference)


def not_comparable_de(reference, chart: bool = False) -> str:
    """What the marker *nicht vergleichbar* means (the page with its chart, ``readiness profil`` without)."""
    line = "; die Diagramm-Linie verbindet solche Jahre nicht" if chart else ""
    return (f"Der Indexwert dieses Jahres beruht auf anderen Indikatoren als der von {reference}{line}. Ein Unterschied "
            "zwischen ihnen ist kein Zeitvergleich.")


def missing_everywhere(pillars: list[str], period, usual: dict | None) -> bool:
    """Whether no town has a scored value of any of ``pillars`` (ids) in ``period`` (``usual``:
    ``ReportData.pillar_indicators``, None when not known): the loaded releases do not cover the year, so a year
    without a score is no gap of the town's own."""
    return bool(pillars) and usual is not None and not any(p in usual.get(int(period), {}) for p in pillars)


def missing_excluded(pillars: list[str], period, indicators: list[dict] | None) -> tuple:
    """((German reason, pillar labels), ...) for the missing ``pillars`` (ids) whose values of ``period`` the town
    has but the index cannot score (``excluded_pillars``: Unstruttal's and Dingelstädt's 2023, split that year, read
    only "kein bewertbarer Wert für …" without the split; session of 7 December 2026); () when not known."""
    if not pillars or not indicators:
        return ()
    excluded = excluded_pillars(indicators, period)
    by_reason: dict[str, list[str]] = {}
    for pillar in pillars:
        if pillar in excluded:
            by_reason.setdefault(excluded[pillar], []).append(pillar_label(pillar))
    return tuple((reason, tuple(labels)) for reason, labels in by_reason.items())


def _excluded_de(excluded: tuple, missing: tuple) -> str:
    """' (ihre Werte sind nicht bewertet: …)' of ``missing_excluded`` where it is every ``missing`` pillar's reason,
    else ' (die Werte für A und B sind nicht bewertet: …; …)'; '' without any."""
    parts = [f"{'ihre Werte' if labels == missing else f'die Werte für {de_list(labels)}'} sind {reason}"
             for reason, labels in excluded]
    return f" ({'; '.join(parts)})" if parts else ""


def unscored_years(rows: list[dict]) -> list[dict]:
    """The years without a score and the pillars they miss, years missing the same pillars together, with the
    sentence the page and ``readiness profil`` say it in: [{"periods": [2019, 2020], "missing": ["Demografische
    Dynamik"], "sentence": "Kein Gesamtwert für 2019 und 2020: …"}] (in period order). Where no town has those
    pillars in those years (``missing_everywhere``: every town's 2019 and 2020 lack Demografische Dynamik, since the
    loaded Gemeindeverzeichnis releases give no population for them), the sentence says so: it read like the town's
    own gap (planner walkthrough of 7 December 2026)."""
    groups: dict[tuple, list] = {}
    for row in rows:
        if row["score"] is None and row["missing"]:
            key = (tuple(row["missing"]), bool(row.get("missing_everywhere")), row.get("missing_excluded") or ())
            groups.setdefault(key, []).append(row["period"])
    return [{"periods": periods, "missing": list(missing),
             "sentence": f"Kein Gesamtwert für {de_list(periods)}: kein bewertbarer Wert für {de_list(missing)}"
                         f"{_excluded_de(excluded, missing)}{_everywhere_de(len(periods)) if everywhere else ''}."}
            for (missing, everywhere, excluded), periods in groups.items()]


def _everywhere_de(years: int) -> str:
    """', in diesen Jahren für keine Gemeinde (…)' of ``years`` without a score that no town has
    (``missing_everywhere``)."""
    these = "diese Jahre" if years > 1 else "dieses Jahr"
    return (f", in {'diesen Jahren' if years > 1 else 'diesem Jahr'} für keine Gemeinde (die geladenen Ausgaben der "
            f"Quellen decken {these} nicht ab)")


def town_pillar_coverage(data: ReportData, ags: str, headline: dict | None) -> dict[str, str]:
    """``pillar_coverage`` of the town's headline period: the pillars resting on fewer indicators than that period's
    usual ones (the town's scored indicators: SCORED_INDICATORS, as the history's comparability reads them)."""
    if headline is None:
        return {}
    period = headline["period"]
    ids = next((row["indicators"] for row in data.town_rows("scored", ags) if row["period"] == period), None)
    return pillar_coverage((ids or "").split(","), data.pillar_indicators.get(int(period), {}))


def pillar_rows(latest: dict | None, data: ReportData | None = None,
                excluded: dict[str, str] | None = None, with_data: set[str] | None = None,
                coverage: dict[str, str] | None = None) -> list[dict]:
    """One row per pillar: value or the reason it is not scored, and the reference group's median.
    ``excluded``: pillars whose values of the period are all excluded, with why (``excluded_pillars``);
    ``with_data``: the pillars the town has a value of in any year (None: not known), the others said to have none;
    ``coverage``: a scored pillar resting on fewer indicators than the period's usual ones, with how many
    (``town_pillar_coverage``)."""
    if latest is None:
        return []
    reasons = not_scored_reasons(latest["omitted_pillars"])
    uncompared = not_scored_reasons(None, latest.get("uncompared_pillars"))
    missing = set(flags.pillar_ids(latest["missing_pillars"]))
    medians = data.pillar_medians(latest["period"]) if data is not None else {}
    excluded = excluded or {}
    rows = []
    for pillar in PILLARS:
        value = latest[pillar]
        never = with_data is not None and pillar not in with_data  # no value in any year, omitted or required
        lacking = excluded.get(pillar, no_data_in_any_year_de(pillar) if never else "keine Daten für diesen Zeitraum")
        if value is not None:
            reason = "; ".join(filter(None, [(coverage or {}).get(pillar), uncompared.get(pillar)])) or None
        elif pillar in missing:
            reason = reasons.get(pillar, f"{lacking}; {WITHOUT_TOTAL}")
        else:  # an optional pillar left out of the period's score (omitted_pillars), or one without a reason
            reason = lacking if never else reasons.get(pillar, lacking)
        rows.append({"pillar": pillar, "label": pillar_label(pillar), "value": value, "reason": reason,
                     "median": medians.get(pillar)})
    return rows


def pillar_chart(rows: list[dict], period: int | None) -> str:
    """The pillars' bars; their accessible name gives the year, as the section's heading does."""
    title = " ".join(filter(None, ["Säulen des Index", years_de([] if period is None else [period]), "(0–100)"]))
    return charts.bar_chart([(r["label"], r["value"]) for r in rows], title)


def drivers(rows: list[dict]) -> list[dict]:
    """Score points each indicator contributed to the changes ending in the latest published period (newest start
    first; within a change the largest contributions first). ``rows``: the town's contribution rows."""
    for row in rows:
        row["size"] = None if row["contribution"] is None else abs(row["contribution"])
        row["decimals"] = DECIMALS.get(row["indicator_id"], 2)
    # indicator_id breaks ties (many changes are 0.00): the query's row order varies between runs, and
    # the same data must give the same page, byte for byte; missing values last, as pandas sorts them
    rows = sorted(rows, key=lambda r: (r["period_from"] is None, -(r["period_from"] or 0), r["size"] is None,
                                       -(r["size"] or 0.0), r["indicator_id"] is None, r["indicator_id"] or ""))
    changes: dict = {}
    for row in rows:
        if row["period_from"] is not None:  # as groupby, which leaves out missing keys
            changes.setdefault((row["ags"], row["period_from"]), []).append(row)
    return [_change(pair, f"{ags}-{start}") for (ags, start), pair in changes.items()]


def _change(rows: list[dict], key: str) -> dict:
    for row in rows:
        for end in ("value_from", "value_to"):  # as the downloads publish them, as ``indicator_rows``
            row[end] = published_value(row["indicator_id"], row.get(end))
        row["label"] = row["label"] or ("Zusammensetzung (Indikatoren neu/entfallen)" if row["indicator_id"] == "composition" else row["indicator_id"])
        row["pillar_label"] = pillar_label(row["pillar"])
        row["marks_from_de"] = _value_marks(row, "from")
        row["marks_to_de"] = _value_marks(row, "to")
    first = rows[0]
    # the set of indicators changed: the 'composition' row holds that effect (indicators/contributions.py); the
    # indicators with a value in one year only are the ones that entered or left
    composition = [r["contribution"] for r in rows
                   if r["indicator_id"] == "composition" and r["contribution"] is not None]

    def named(r):
        return _short_label(r["indicator_id"]) if r["indicator_id"] in CATALOGUE.indicators else r["label"]

    entered = [named(r) for r in rows if r["indicator_id"] != "composition" and r.get("value_from") is None
               and r.get("value_to") is not None]
    left = [named(r) for r in rows if r["indicator_id"] != "composition" and r.get("value_from") is not None
            and r.get("value_to") is None]
    chart = charts.diverging_chart([(r["label"], r["contribution"]) for r in rows],
                                   f"Beiträge zur Veränderung des Indexwerts von {first['period_from']} bis {first['period_to']}")
    return {"key": key, "rows": rows, "chart": chart, "period_from": first["period_from"],
            "period_to": first["period_to"], "score_from": first["score_from"], "score_to": first["score_to"],
            "change": score_gap(first["score_to"], first["score_from"]),  # as the two scores beside it show it
            "exact_change": first["score_to"] - first["score_from"],  # what the contributions add up to
            "composition": sum(composition) if composition else None, "entered": entered, "left": left,
            # what the table's rows add up to as shown: the sentences name the exact sums, and a reader adding the
            # rounded rows got 13,47 beside "ergeben zusammen … +13,44" (page audit of 7 December 2026)
            "shown_total": shown_sum(r["contribution"] for r in rows),
            "shown_indicators": shown_sum(r["contribution"] for r in rows if r["indicator_id"] != "composition")}


def shown_sum(values, digits: int = 2) -> float:
    """The sum of ``values`` as a table shows them, each rounded to ``digits`` places (``de_signed``: halves away
    from zero); missing values left out."""
    return round(sum(shown_number(v, digits) for v in values if not is_missing(v)), digits)


def _value_marks(row: dict, end: str) -> str:
    """The marks of one value of a change ('from' or 'to'), as the indicator table notes a value: carried forward,
    the note of its typed flags and the census a population change spans ('fortgeschrieben aus 2013; auf den heutigen
    Gebietsstand umgerechnet: …; enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011'). The drivers said
    nothing of a value restated onto today's territory or of a Gemeindeverband's (audit of 7 December 2026)."""
    value = {"source_id": row.get(f"source_{end}"), "base_period": row.get(f"base_{end}"),
             "reference_date": row.get(f"date_{end}"), **{c: row.get(f"{c}_{end}") for c in VALUE_FLAGS}}
    marks = (_carried_de(row.get(f"imputed_{end}"), row.get(f"date_{end}")), quality_de(value))
    return "; ".join(m for m in marks if m)


def _carried_de(imputed, reference_date) -> str:
    """'fortgeschrieben aus 2013' for a carried-forward value of a change (its own reference date), else ''."""
    if is_missing(imputed) or not imputed or is_missing(reference_date):  # no value in that period: not carried
        return ""
    return CARRIED_FORWARD_DE.format(pd.Timestamp(reference_date).year)


def imputation_de(row: dict) -> str:
    """'fortgeschrieben aus 2019' from the typed columns (a carried value keeps its own reference date)."""
    return _carried_de(row.get("imputed"), row.get("reference_date"))


def quality_de(row: dict) -> str:
    """The German note of an indicator value, rendered from its typed flags (indicators/flags.py), and the census
    a population change spans and the publisher's breaks in comparability (indicators/publisher_notes.py)."""
    notes = (flags.render_value_note(row.get("territorial_change"), row.get("method_break"), row.get("source_level"),
                                     row.get("base_period"), lang="de", excluded_reason=row.get("excluded_reason")),
             change_notes(row.get("source_id"), row.get("base_period"), row.get("reference_date")))
    return "; ".join(n for n in notes if n)


def indicator_rows(rows: list[dict], data: ReportData | None = None, town: dict | None = None) -> list[dict]:
    """The town's latest value of each indicator with provenance and reference values, in pillar order
    (``rows``: the town's indicator value rows as dicts, completed in place)."""
    order = {p: i for i, p in enumerate(PILLARS)}
    for row in rows:
        # the value as the downloads publish it (its unit's value_decimals), which the page then rounds as a reader
        # rounds it: Berga-Wünschendorf's 22.148 car minutes, restated, read 22,1 on the page beside 22,15 in the
        # download (audit of 7 December 2026)
        row["value"] = published_value(row["indicator_id"], row["value"])
        row.update(pillar_label=pillar_label(row["pillar"]),  # 'Kontext' for the context indicators (catalogue)
                   unit_de=unit_label(row["unit"]), decimals=DECIMALS.get(row["indicator_id"], 2),
                   # after a number in a sentence: a count's label 'Anzahl' is a column header ('zuletzt 6 Anzahl')
                   unit_after_de="" if row["unit"] == "count" else unit_label(row["unit"]),
                   zero_de=ZERO_DE.get(row["indicator_id"], "") if row.get("value") == 0 else "",
                   source_de=source_label(row["source_id"]),
                   vintage_de=vintage_label(row["vintage"]),
                   # 'Stichtag 30.06.2021', or 'Bezugsjahr 2018' where the publisher gives only the year
                   dated_de=dated_de(row.get("reference_date"), row["indicator_id"], row.get("source_id")),
                   year_only=is_year_only(row["indicator_id"], row.get("source_id")),
                   imputation_de=imputation_de(row), quality_de=quality_de(row),
                   attribution=attribution_label(row["source_id"], row["attribution"], row["vintage"]),
                   licence=release_text(row["source_id"], "licence", row.get("licence")),
                   publisher=release_text(row["source_id"], "publisher", row.get("publisher")))
        if data is not None and town is not None:
            row.update(reference_values(data, town, row))
            row["reference_dates_de"] = reference_dates_de(row)
    return sorted(rows, key=lambda r: (order.get(r["pillar"], len(order)), r["label"]))


def indicator_sections(rows: list[dict], headline: dict | None, history: list[dict] = ()) -> dict:
    """The indicator table's rows: the values of the headline period, the inputs of the score the page leads
    with; each indicator without a value in that period apart with its newest value ("indicators_elsewhere", an
    old one that no longer counts or a provisional year's), so neither stands beside the score as its input.
    ``history``: the town's index rows, whose typed ``period_provisional`` marks a provisional year
    (``provisional_year`` of each row apart; a later year was called provisional by comparing years)."""
    period = headline["period"] if headline else None
    provisional = {r["period"] for r in history
                   if r.get("period_provisional") is not None and bool(r["period_provisional"])}
    elsewhere = [r for r in rows if period is not None and r["period"] != period]
    for row in elsewhere:
        row["provisional_year"] = row["period"] in provisional
    return {"indicators_period": period,
            "indicators": [r for r in rows if period is None or r["period"] == period],
            "indicators_elsewhere": elsewhere}


def reference_values(data: ReportData, town: dict, row: dict) -> dict:
    """Kreis, Land and Bund values of the publisher (same measure, the latest release not newer than the
    town's value and at most the indicator's carry-forward years older, with its date) and the reference
    group's median of the same period. A Kreis figure of 2021 beside a town figure of 2025 compared two
    dates without saying so."""
    date = pd.Timestamp(row["reference_date"])
    oldest_year = None if date is pd.NaT else date.year - CARRY_FORWARD_YEARS.get(row["indicator_id"], 0)
    result = {}
    # the town's former Kreis where the publisher lists that instead of today's (the Breitbandatlas of mid-2021:
    # Osterode am Harz, 03156, not the Landkreis Göttingen), as the Mobilfunk section (``shown_former``)
    former = None if (row["indicator_id"], "kreis", town["kreis_ags"]) in data.references else shown_former(
        data, town["ags"], town["kreis_ags"], _kreis_referenced(data, row["indicator_id"]))
    for level, key in (("kreis", former or town["kreis_ags"]), ("land", str(town["ags"])[:2]), ("bund", "DG")):
        dates, values = data.references.get((row["indicator_id"], level, key), ((), ()))
        found = 0 if date is pd.NaT else bisect.bisect_right(dates, date)  # last release not newer than the value
        if found and dates[found - 1].year < oldest_year:  # too old to stand beside the town's value
            found = 0
        result[f"ref_{level}"] = float(values[found - 1]) if found else None
        result[f"ref_{level}_date"] = dates[found - 1] if found else None
    # a part of today's Kreis the publisher gives apart on the Kreis value's day (Eisenach, 16056, beside the
    # Wartburgkreis in INKAR and the Breitbandatlas): the value describes the Kreis without it, as the Kreis sections say
    day = result["ref_kreis_date"]
    apart = [] if former is not None or day is None else [
        k for k in sorted(kreis_history(data)["absorbed"].get(town["kreis_ags"], ()))
        if day in data.references.get((row["indicator_id"], "kreis", k), ((), ()))[0]]
    own = sole_former(data, town["ags"])
    result["ref_kreis_apart"] = own is not None and own in apart  # the part is the town's own former Kreis:
    if result["ref_kreis_apart"]:  # its value of that day (Eisenach's own, not the Wartburgkreis's without it)
        former, apart = own, []
        dates, values = data.references[(row["indicator_id"], "kreis", former)]
        result["ref_kreis"] = float(values[bisect.bisect_left(dates, day)])
    result["ref_kreis_former"] = kreis_cell(data, former) if former and result["ref_kreis"] is not None else None
    result["ref_kreis_without"] = de_list(kreis_cell(data, k) for k in apart) or None
    # parts of the town that lay in another Kreis of today on the day of the Kreis value's territory: it counts them
    # there, not here
    result["ref_kreis_moved"] = None
    if former is None and result["ref_kreis"] is not None and _town_parts(data, town["ags"]):  # most towns: none
        territory, when, until = kreis_territory_of(data, (row["indicator_id"], "kreis", town["kreis_ags"]), day,
                                                    row["indicator_id"])
        result["ref_kreis_moved"] = kreis_value_moved_de(data, town["ags"], territory, when, until)
    result["ref_group"] = data.group_median(row["indicator_id"], row["period"])
    return result


def _kreis_referenced(data: ReportData, indicator_id: str) -> set:
    """The Kreise the publisher gives a Kreis value of the indicator for (``ReportData.references``), once per run."""
    def build() -> dict:
        referenced: dict = {}
        for indicator, level, key in data.references:
            if level == "kreis":
                referenced.setdefault(indicator, set()).add(key)
        return referenced
    return _memo(data, "kreis_referenced", build).get(indicator_id, set())


def reference_dates_de(row: dict) -> str:
    """The dates of the Kreis, Land and Bund figures shown, where one differs from the town value's date
    ('Kreis, Land 30.06.2021'); empty when all are of the town value's date."""
    town = pd.Timestamp(row["reference_date"])
    by_date: dict = {}
    for level, label in (("kreis", "Kreis"), ("land", "Land"), ("bund", "Bund")):
        date = row.get(f"ref_{level}_date")
        if date is not None and pd.Timestamp(date) != town:
            by_date.setdefault(pd.Timestamp(date), []).append(label)
    return "; ".join(f"{', '.join(labels)} {date_de(date, row.get('indicator_id'), row.get('source_id'))}"
                     for date, labels in sorted(by_date.items()))


def peer_rows(rows: list[dict]) -> list[dict]:
    """Similar towns with their score and the gap per pillar (peer minus town: positive = learn from them);
    ``rows``: the town's peer rows as dicts, completed in place. ``ahead_in`` ("Von ihr lernen bei") names the
    pillars in which the peer is ahead by the summary's margin (SUMMARY_GAP) and which the town can act on, by
    the same rule as ``summary``'s fields for action: a peer 0.4 points ahead, or ahead in where people work
    (catalogue ``actionable: false``), is nothing to learn from."""
    for row in rows:
        gaps = [(p, gap_shown(row[f"gap_{p}"])) for p in PILLARS]  # as the downloads and peer_comparison show them
        row["gaps"] = [{"pillar": p, "label": pillar_label(p), "value": v} for p, v in gaps]
        # the largest gap as shown first; equal ones in the pillars' order
        ahead = sorted([(-v, PILLARS.index(p), p) for p, v in gaps if v is not None and v >= SUMMARY_GAP
                        and _actionable(p)])
        row["ahead_in"] = [pillar_label(p) for _, _, p in ahead]
    return rows


def _actionable(pillar: str) -> bool:
    """Whether the town can act on ``pillar`` (catalogue ``actionable``, default yes)."""
    return CATALOGUE.pillars[pillar].get("actionable", True)


def map_section(data: ReportData, geoms: TownGeometries, ags: str, name: str) -> dict:
    if not geoms.has(ags):
        return {"svg": None, "neighbours": []}
    neighbours = geoms.neighbours(ags)
    svg = town_map(geoms, ags, name, data.latest_score_of, data.latest_period)
    names = data.name_of
    day, changed = geoms.boundary(ags)
    # a neighbour drawn in the boundaries' territory under a key that is no Gemeinde of today (merged since:
    # Bromskirchen into Allendorf (Eder) in 2023; or given a new key: Eisenach) by its name in the boundaries, not
    # as a bare AGS (planner's review of 6 December 2026), with the Gemeinden of today its land went to where the
    # crosswalk says (_gone_de), else "seither geändert", which holds for either
    listed = [names[n] if n in names else f"{geoms.names[geoms.position[n]]} ({_gone_de(names, geoms.now_in.get(n))})"
              for n in neighbours]
    # a joined Gemeinde named like one of today (Hartmannsdorf, in Bad Köstritz since 2024, beside the Hartmannsdorf
    # of its neighbours' list) is told apart by its AGS
    today = _memo(data, "gemeinde_names", lambda: {bare_name(n) for n in names.values()})
    parts = [(key, f"{part} ({key})" if key != ags and part in today else part)
             for key, part in geoms.assembled.get(ags, [])]
    return {"svg": svg, "neighbours": listed, "boundary_de": boundary_de(name, day, changed, parts)}


def _gone_de(names: dict, now_in: list[str] | None) -> str:
    """What became of a neighbour of the boundaries that is no Gemeinde of today: the Gemeinden of today its land went
    to, where the crosswalk says (Anrode, split in 2023: 'heute Teil von Dingelstädt, Mühlhausen/Thüringen und
    Unstruttal')."""
    # without the designation: 'Kirchenthumbach, M' would split the list, which itself stands in a list of names
    known = [bare_name(names[key]) for key in now_in or [] if key in names]
    return f"Stand der Grenzen; heute Teil von {de_list(known)}" if known else "Stand der Grenzen, seither geändert"


def boundary_de(name: str, day, changed: bool, assembled: list[tuple[str, str]] = ()) -> str | None:
    """The map's boundary date; the outlines the town is drawn from where they are not its own alone (``assembled``:
    AGS and name; Gemeinden merged since, or the town under an earlier key: staging.boundaries); and where the town's
    territory changed after it otherwise (a split part or a partial transfer), that the map shows the former
    territory. Dingelstädt, twice its area since 2023, was drawn in its 2021 bounds without a word (audit of 6 December
    2026)."""
    if day is None or pd.isna(day):
        return None
    text = boundary_date_de(day)
    drawn = bool(assembled)  # never the town's own outline alone (staging.boundaries: a part joins it, or a key)
    if len(assembled) > 1:  # a merger into a new key, or an absorption into the town: its parts now belong to it
        # without the designation: 'Langelsheim, Stadt ist …' read as one phrase
        text += (f"; {bare_name(name)} ist aus den Umrissen der damaligen Gemeinden {de_list([n for _, n in assembled])} "
                 "gezeichnet, die seither zu dieser Gemeinde gehören")
    elif drawn:  # the town under its former key (Eisenach)
        text += f"; gezeichnet ist der Umriss von {assembled[0][1]} unter dem damaligen AGS {assembled[0][0]}"
    if changed:  # a change the outlines, joined or not, do not show
        lead = f"außerdem hat sich das Gebiet von {name}" if drawn else f"das Gebiet von {name} hat sich"
        text += (f"; {lead} danach geändert (Fusion, Aufteilung einer Nachbargemeinde oder abgegebene bzw. übernommene "
                 f"Gebietsteile), die Karte zeigt es vor {'dieser' if drawn else 'der'} Änderung")
    return text


def top_with_ties(flows: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` largest flows (``flows`` by commuters, largest first, missing last) and any with as many commuters as
    the ``n``-th: the BA lists those too. Four Kreise's 10th and 11th destinations have the same count on the
    Germany-wide data (Märkischer Kreis, 05962: 553 to Münster and to Siegen-Wittgenstein), and the table showed the
    one with the lower key."""
    if len(flows) <= n or pd.isna(flows["commuters"].iloc[n - 1]):
        return flows.head(n)
    return flows.head(n + int((flows["commuters"].iloc[n:] == flows["commuters"].iloc[n - 1]).sum()))


def commuting(data: ReportData, kreis_ags: str, former: str | None = None) -> dict:
    """Where employees living in the town's Kreis work (Kreis-level flows, the latest reference date): of the former
    Kreis ``former`` where the publisher lists that instead (``shown_former``)."""
    shown = former or kreis_ags
    flows = data.flows_by_kreis.get(shown, pd.DataFrame())
    rows = records(top_with_ties(flows, TOP_FLOWS))
    peak = max([r["commuters"] or 0 for r in rows] + [1])
    for row in rows:
        row["work_name"] = kreis_name(data, row["work_kreis"])
        row["work_today"] = de_list(today_kreise(data, row["work_kreis"])) or None  # a destination gone since
        row["bar"] = round(100 * (row["commuters"] or 0) / peak, 1)
        row["note_de"] = flow_note(row["listing"], row["marker"])
    day = rows[0]["reference_date"] if rows else None
    # the totals of the flows' Stichtag: the page says "X von Y ... (Stichtag of the flows)" above them (the newest
    # totals of the Kreis, of whatever date, stood there)
    totals = _memo(data, "kreis_totals", lambda: _kreis_totals(data.kreis_commuting))
    measures = totals.get((shown, pd.Timestamp(day)), {}) if day is not None else {}
    return {"kreis_ags": kreis_ags, "kreis_name": data.kreis_names.get(kreis_ags), "rows": rows,  # for in_kreis
            "shown_kreis": shown, "shown_cell": kreis_cell(data, former) if former else None, "reference_date": day,
            "territory_de": kreis_territory(data, kreis_ags, former, day, data.flows_by_kreis, commuting=True),
            "no_kreis": no_kreis(data.kreis_names.get(kreis_ags), kreis_ags),  # Kreis figures do not exist
            "whole": whole_kreis(data, kreis_ags, former),  # the Kreis is the town: no "nicht nur in ..."
            "out_commuters": measures.get("out_commuters"), "employees": measures.get("employees_residence"),
            "notes": sorted({r["note_de"] for r in rows if r["note_de"]})}


def _memo(data: ReportData, key: str, build):
    """A lookup built once per run from the loaded frames."""
    if key not in data.memo:
        data.memo[key] = build()
    return data.memo[key]


def _kreis_totals(frame: pd.DataFrame) -> dict[tuple, dict]:
    """{(Kreis AGS, reference date): {measure: value}} of the BA commuting totals (KREIS_COMMUTING: one release per
    Kreis and date; a later row of a measure wins, as before)."""
    totals: dict[tuple, dict] = {}
    for kreis, day, measure, value in zip(frame["kreis_ags"], frame["reference_date"], frame["measure"],
                                          frame["value"]):
        totals.setdefault((kreis, pd.Timestamp(day)), {})[measure] = value
    return totals


def coworking(data: ReportData, geoms: TownGeometries, ags: str) -> dict:
    """The places of the latest coworking batch in the town or within the catalogue's reach of it, by the coworking
    indicator's rule (``within_reach`` in its CRS, on the unrounded distance). A place not open on the batch's date
    (a closed temporary space, a past or coming trial day) is listed with its dates and marked as not counted: the
    section listed them as current and measured 10 km in the maps' projection, beside a count that left them out."""
    spaces = data.coworking
    if spaces.empty:
        return {"loaded": False, "rows": []}
    reach_km = gap_parameters()["reach_km"]
    in_town = (spaces["ags"] == ags).to_numpy()
    metres = np.zeros(len(spaces))
    if geoms.has(ags):
        x, y = _memo(data, "coworking_xy", lambda: to_metric_crs(spaces["lon"], spaces["lat"]))
        area = geoms.metric_area(ags)
        placed = _memo(data, "coworking_placed", lambda: placed_at_gemeinde(spaces).to_numpy())
        near = in_town | within_reach(area, x, y, reach_km, placed, in_town)
        # distances of the listed places only: every place of the country measured on every page was the cost
        metres[near] = shapely.distance(area, shapely.points(x[near], y[near]))
    else:  # without a geometry only the spaces assigned to the town can be listed
        near = in_town
    day = label_vintage(spaces["vintage"].iloc[0])
    listed = spaces.assign(distance_km=metres / 1000)[near]
    counted = set(active_on(listed, day).index)
    rows = records(listed.assign(counted=listed.index.isin(counted)).sort_values(["distance_km", "name"], kind="stable"))
    for row in rows:
        row["in_town"] = row["ags"] == ags
        row["distance_de"] = "in der Gemeinde" if row["in_town"] else f"{de_number(row['distance_km'])} km"
        row["website_url"] = safe_url(row["website"])  # only http(s) becomes a link
        row["source_de"] = coworking_source(row["osm_type"] != "local", bool(row["locally_reported"]),
                                            row["supplier"], row.get("listed_on"))
        row["open_de"] = None if row["counted"] else open_dates_de(row["opened"], row["closed"])
    # what the note cites: OpenStreetMap only where it was queried (its data's date), the towns' lists by supplier
    # and licence (every row was cited as OpenStreetMap, also a town's own list: review of 4 December)
    queried = spaces["osm_base_timestamp"].dropna()
    local = [r for r in rows if r["locally_reported"]]
    return {"loaded": True, "rows": rows, "day": day, "osm": not queried.empty,
            "osm_date": str(queried.max())[:10] if not queried.empty else None,
            "counted": sum(r["counted"] for r in rows),
            "local_suppliers": sorted({f"{r['supplier']} ({r['licence']})" for r in local if r["supplier"]}),
            "radius_km": reach_km}


def open_dates_de(opened, closed) -> str:
    """When a town's place not open on the batch's date is open: 'geöffnet 01.08.2022–31.10.2022', 'nur am
    15.03.2023' (a trial day), 'geöffnet ab 01.06.2024'."""
    def day(value) -> str | None:
        return None if is_missing(value) else f"{pd.Timestamp(value):%d.%m.%Y}"
    start, end = day(opened), day(closed)
    if start and end:
        return f"geöffnet {start}–{end}" if start != end else f"nur am {start}"
    return f"geöffnet ab {start}" if start else f"geöffnet bis {end}" if end else "nicht geöffnet"


def coworking_source(in_osm: bool, local: bool, supplier: str | None, listed_on=None) -> str:
    """Where a coworking place comes from, in the page's words, with the day the town delivered its list (a list
    counts until the town delivers a new one: a list of 2023 stood under an OSM picture of 2026 without its date)."""
    details = [supplier] if supplier else []
    details += [f"Stand {pd.Timestamp(listed_on):%d.%m.%Y}"] if not is_missing(listed_on) else []
    own = f"Liste der Stadt ({', '.join(details)})" if details else "Liste der Stadt"
    return "OpenStreetMap und " + own if in_osm and local else "OpenStreetMap" if in_osm else own


def _mobile_release(releases: pd.DataFrame, vintage) -> dict:
    """The source_releases record of one Mobilfunk-Monitoring vintage ({} when it is not there)."""
    release = releases[(releases["source_id"] == "mobilfunk_monitoring") & (releases["vintage"] == vintage)]
    return records(release.tail(1))[0] if not release.empty else {}


def mobile_kreis(data: ReportData, kreis_ags: str, former: str | None = None) -> dict:
    """Mobilfunk-Monitoring of the town's Kreis: % of each area type covered, per technology class; of the former
    Kreis ``former`` where the publisher lists that instead (``shown_former``).

    Context only (not in the index): the publisher gives Kreis values, which say little about one
    Gemeinde; the page labels them as the Kreis value with date, source and licence of the release."""
    frame = data.mobile_by_kreis.get(former or kreis_ags)
    if frame is None:  # the heading names the Kreis also when the publisher has no rows for it (a gemeindefreies
        # Gebiet of a Land, 07000999, has no Kreis at all); every key the template and the download read
        return {"rows": [], "kreis_ags": kreis_ags, "kreis_name": data.kreis_names.get(kreis_ags),
                "shown_kreis": kreis_ags, "shown_cell": None, "territory_de": None,
                "no_kreis": no_kreis(data.kreis_names.get(kreis_ags), kreis_ags)}
    values = {}
    for measure, value in zip(frame["measure"], frame["value"]):
        for tech in MOBILE_TECHNOLOGIES:  # measure area_<technology>_<area>; "mobile_all" has an underscore
            if measure.startswith(f"area_{tech}_") and measure[len(f"area_{tech}_"):] in MOBILE_AREAS:
                values[(tech, measure[len(f"area_{tech}_"):])] = None if is_missing(value) else float(value)
    techs = [t for t in MOBILE_TECHNOLOGIES if any(k[0] == t for k in values)]
    rows = [{"area": label, "values": [values.get((t, area)) for t in techs]}
            for area, label in MOBILE_AREAS.items() if any((t, area) in values for t in techs)]
    vintage = frame["vintage"].max()
    release = _memo(data, ("mobile_release", vintage), lambda: _mobile_release(data.releases, vintage))
    day = pd.Timestamp(frame["reference_date"].max())
    return {"rows": rows, "kreis_ags": kreis_ags, "kreis_name": data.kreis_names.get(kreis_ags), "no_kreis": False,
            "whole": whole_kreis(data, kreis_ags, former),  # the Kreis is the town: its values are the town's
            "shown_kreis": former or kreis_ags, "shown_cell": kreis_cell(data, former) if former else None,
            "territory_de": kreis_territory(data, kreis_ags, former, day, data.mobile_by_kreis),
            "technologies": [MOBILE_TECHNOLOGIES[t] for t in techs],
            "reference_date": day, "vintage_de": vintage_label(vintage),
            "source_de": source_label("mobilfunk_monitoring"), "publisher": release.get("publisher"),
            "attribution": attribution_label("mobilfunk_monitoring", release.get("attribution"), vintage),
            "licence": release.get("licence"), "licence_url": release.get("licence_url")}
