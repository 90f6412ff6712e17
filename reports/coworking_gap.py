"""The report section "Coworking-Lücke": long-distance commuters, spaces within reach, main destinations,
the town's own survey results, and a map. Context for templates/coworking_gap.html.j2.

Reads the published warehouse (read-only connection). Wired in reports/build.py: ``Renderer.town`` sets
``context["cowork_gap"]`` from ``coworking_gap_context``, town.html.j2 includes coworking_gap.html.j2 (nav
link ``#coworking-luecke``); ``ranking_context`` feeds the Germany-wide ranking page coworking-luecke.html.
"""

from __future__ import annotations

from html import escape

import duckdb
import numpy as np
import pandas as pd
import shapely

from indicators import flags
from indicators.coworking_gap import COUNT_SOURCES, LONG_DISTANCE_SHARE, PARAMETERS, gap_parameters
from reports.downloads import Table
from reports.labels import (DECIMALS, credit_de, de_number, display_name, display_names, german_sort_key,
                            kreis_column, source_label, years_de)
from reports.maps import SIMPLIFY_M, TownGeometries, to_metres, to_metric_crs
from sources.local_inputs import active_on
from sources.registry import label_vintage
from staging.coworking import placed_at_gemeinde, within_reach

KIND_LABELS = {"permanent": "dauerhaft", "temporary": "temporär", "trial_day": "Probearbeitstag",
               "third_place": "Bibliothek/Dritter Ort"}


class GapTables:
    """The section's per-town rows (latest gap, main destinations, survey answers), read with one query
    each for all towns (``ags`` None) or for one town, and looked up per page.

    Why: three queries per page were a quarter of a page's time. Rows are fetched as Python values
    (NULL = None), which is what the section showed from the per-town frames."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ags: str | None = None):
        self.gaps = {row["ags"]: row for row in _dicts(con, LATEST_GAP, ags)}
        self.destinations: dict[str, list[dict]] = {}
        for row in _dicts(con, DESTINATIONS, ags):
            row["name"], row["successor_name"] = display_name(row["name"]), display_name(row["successor_name"])
            self.destinations.setdefault(row.pop("ags"), []).append(row)
        self.surveys: dict[str, list[dict]] = {}
        for row in _dicts(con, SURVEYS, ags):
            self.surveys.setdefault(row.pop("ags"), []).append(row)


# per town the row of the ranking page's period (coworking_gap_ranking's), else its newest before it, else its newest,
# under the current method (the rows of earlier methods stay in the table); with
# - the territorial level of the INKAR share it shows (a Verband member carries its Gemeindeverband's value, which the
#   page says, as the indicator table does): that of the row the gap read (indicators/coworking_gap.py: Gemeinde
#   level; of its year the latest date, then the latest release). Without the level, a town that is its own
#   Verband's key has a Verband row too, and which of the two came first decided the note: the pages drawn by one
#   process and by two differed for 16061045 (6 December 2026), and
# - the coworking batch behind its count of spaces within reach (its typed columns coworking_vintage and
#   coworking_reference_date, which indicators/coworking_gap.py chose): the section lists the spaces of that vintage
#   open on that date, so that the list is what the tile counts
GAP_ROW = """
    SELECT * FROM coworking_gap
    WHERE ($ags IS NULL OR ags = $ags) AND method_version = (SELECT method_version FROM current_method)
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY
        coalesce(period <= (SELECT max(period) FROM coworking_gap_ranking), TRUE) DESC, period DESC) = 1"""
LATEST_GAP = f"""
WITH gap AS ({GAP_ROW})
SELECT gap.*,
       (SELECT o.source_level FROM observations o
        WHERE o.ags = gap.ags AND o.source_id = 'inkar' AND o.measure = '{LONG_DISTANCE_SHARE}'
          AND o.level = 'gemeinde' AND year(o.reference_date) = gap.long_distance_share_year
        ORDER BY o.reference_date DESC, o.vintage DESC LIMIT 1) AS long_distance_share_level
FROM gap"""

# The ten main destinations of the Pendleratlas year the town's gap row counted (GAP_ROW's long_distance_flows_year,
# the flows behind the tile: list and tile show one year; no list where the gap used none, as when it left them out
# because they describe the town before a change of its territory); of a town without a gap row, its latest year.
# Why: the list of the latest year was shown, without its year, beside a gap that left those flows out (review of
# 6 December 2026). Named where the register knows them: the flows keep the keys of their year. A destination key
# that ended after the flow's date (the first end of the key after that date, ASOF; the steps' register dates, since
# vintages such as '2024-Q4' are no dates) is gone since the flow: it is named by the Gemeinde of today it went to, following each key to its next end only (a key used
# again later is another Gemeinde), through mergers and recodes the plausibility checks accepted. A chain that
# ends in a split, a rejected step or a key gone today names no successor; either way the key's holder of today
# (if the key was given again) is not the destination, and the map draws no line to it.
DESTINATIONS = f"""
WITH RECURSIVE gap AS ({GAP_ROW}
), ends AS (  -- every step that ends a key (partial transfers do not)
    SELECT from_ags, to_ags, kind, plausibility, from_date, to_date FROM territorial_changes
    WHERE kind IN ('merger', 'recode', 'split')
), followed AS (  -- the steps followed, each with the date its target key ends next (NULL: not yet)
    SELECT s.from_ags, s.to_ags, s.kind, s.from_date, s.to_date,
           (SELECT min(e.from_date) FROM ends e WHERE e.from_ags = s.to_ags AND e.from_date >= s.to_date) AS target_ends
    FROM ends s
    WHERE s.kind IN ('merger', 'recode') AND coalesce(s.plausibility, '') NOT IN ('population_jump', 'too_far')
), chain(from_ags, start_date, ags, kind, target_ends, depth) AS (
    SELECT from_ags, to_date, to_ags, kind, target_ends, 1 FROM followed
    UNION ALL  -- the target's next end only
    SELECT c.from_ags, c.start_date, s.to_ags, CASE WHEN c.kind = 'recode' AND s.kind = 'recode' THEN 'recode'
           ELSE 'merger' END, s.target_ends, c.depth + 1
    FROM chain c JOIN followed s ON s.from_ags = c.ags AND s.from_date = c.target_ends
    WHERE c.depth < 10
), successors AS (  -- per end of a key: the chain's last key, if it is a Gemeinde of today
    SELECT c.from_ags, c.start_date, min(m.name) AS successor_name, min(c.kind) AS successor_kind
    FROM chain c JOIN municipalities m ON m.ags = c.ags WHERE c.target_ends IS NULL
    GROUP BY c.from_ags, c.start_date
), key_ends AS (SELECT DISTINCT from_ags, to_date AS end_date FROM ends)
SELECT f.ags, f.rank, f.partner_ags, CASE WHEN e.end_date IS NULL THEN coalesce(m.name, k.name) END AS name,
       s.successor_name, s.successor_kind, e.end_date IS NOT NULL AS gone_since_flow,
       f.commuters, f.distance_km, f.vintage, year(f.reference_date) AS flows_year
FROM commuter_flows_gemeinde f
LEFT JOIN gap g ON g.ags = f.ags
LEFT JOIN municipalities m ON m.ags = f.partner_ags
LEFT JOIN kreise k ON k.ags = substr(f.partner_ags, 1, 5) AND f.partner_ags LIKE '%000'
ASOF LEFT JOIN key_ends e ON e.from_ags = f.partner_ags AND e.end_date > f.reference_date
LEFT JOIN successors s ON s.from_ags = e.from_ags AND s.start_date = e.end_date
WHERE f.direction = 'out' AND ($ags IS NULL OR f.ags = $ags)
  AND (g.ags IS NULL OR year(f.reference_date) = g.long_distance_flows_year)
QUALIFY f.vintage = max(f.vintage) OVER (PARTITION BY f.ags)
ORDER BY f.ags, f.rank"""

SURVEYS = """SELECT ags, question_code, question, multiple_choice, answer, share, respondents, fieldwork_from,
                    fieldwork_to, conducted_by, supplier, licence
             FROM local_survey_results WHERE $ags IS NULL OR ags = $ags ORDER BY ags, question_code, row"""


def _dicts(con, sql: str, ags: str | None, **parameters) -> list[dict]:
    cursor = con.execute(sql, {"ags": ags, **parameters})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def coworking_gap_context(con: duckdb.DuckDBPyConnection | None, geoms: TownGeometries, ags: str,
                          spaces: pd.DataFrame | None = None, tables: GapTables | None = None) -> dict:
    """Everything the section shows for one town; empty parts say why they are empty. ``spaces``
    (load_spaces(con)) and ``tables`` (GapTables(con)) are passed in when many pages are rendered:
    they are read once for all towns (``con`` is then not used and may be None)."""
    parameters = gap_parameters()  # per page: one read of the cached catalogue section
    reach_km, long_distance_km = parameters["reach_km"], parameters["long_distance_km"]
    tables = GapTables(con, ags) if tables is None else tables
    gap = _latest_gap(tables, ags)
    batch = ({"vintage": gap["coworking_vintage"], "reference_date": gap["coworking_reference_date"]}
             if gap and gap.get("coworking_vintage") else None)  # the batch behind the tile's count
    spaces = load_spaces(con) if spaces is None else spaces
    if gap is not None and batch is None:  # the tile counts no batch for its year: neither may the list (it listed
        spaces = _empty(spaces)            # a later batch's places under a tile "–" and "keine Daten"; review of
    else:                                  # 6 December 2026)
        spaces = _spaces_within_reach(spaces, geoms, ags, reach_km, batch)
    destinations = [{**row, "name": destination_name(row)} for row in tables.destinations.get(ags, [])]
    return {
        "gap": gap, "reach_km": reach_km, "long_distance_km": long_distance_km,
        "spaces": spaces.to_dict("records") if len(spaces) else [], "destinations": destinations,
        "surveys": _surveys(tables.surveys.get(ags, [])), "parameters": _parameter_rows(),
        "map": coworking_map(geoms, ags, spaces, destinations) if geoms.has(ags) else None,
    }


def destination_name(row: dict) -> str:
    """A destination's name; one merged or recoded since the flow year as 'AGS 01234567 (heute Teil von X)' or
    '(heute X)', any other as its key."""
    if row.get("name"):
        return row["name"]
    if row.get("successor_name"):
        today = "heute" if row.get("successor_kind") == "recode" else "heute Teil von"
        return f"AGS {row['partner_ags']} ({today} {row['successor_name']})"
    return f"AGS {row['partner_ags']}"


# the long-distance share with the decimals of its indicator (indicators.coworking_gap reads that indicator's
# parameters too) in the page's indicator table: the section showed 17,8 % below a table showing 17,75 (page audit of
# 7 December 2026)
SHARE_DECIMALS = DECIMALS["long_distance_commuter_share"]


def _latest_gap(tables: GapTables, ags: str) -> dict | None:
    row = tables.gaps.get(ags)
    if row is None:
        return None
    row = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
    level_de = _share_level_de(row)
    return {**row, "share_level_de": level_de, "basis_de": _basis_de(row, level_de), "figure_year": _figure_year(row),
            "count_label_de": count_label_de(row), "no_count_de": _no_count_de(row),
            "coworking_data_de": _coworking_data_de(row), "left_out_de": left_out_de(row),
            "no_coworking_de": no_coworking_de(row.get("period")), "share_decimals": SHARE_DECIMALS}


def left_out_de(row: dict) -> str | None:
    """Why figures of the town are missing although the publishers have them, from the typed ``territorial_change``
    (indicators/coworking_gap.py left them out): they describe the town before a change of its territory. None when
    none was left out. Dingelstädt's section showed INKAR's share of 2019 beside the split of 2023 (review of
    6 December 2026)."""
    code = row.get("territorial_change")
    if not code:
        return None
    return (f"Zahlen aus der Zeit vor einer Gebietsänderung, die bis Ende {row.get('period')} wirksam wurde, sind "
            f"nicht verwendet ({flags.label(code, 'de')}): sie beschreiben die Gemeinde in ihren früheren Grenzen, "
            "wie der Index solche Werte auslässt")


def _share_level_de(row: dict) -> str | None:
    """'Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)' when the INKAR share is a Verband's value
    passed to its member, in the words of the indicator table (indicators.flags), else None. The share line of a
    Verband member (Schönberg (Holstein): Amt Probstei's 12.5 %) did not say so while the table on the same page
    did."""
    level = row.get("long_distance_share_level")
    return flags.render_value_note(source_level=level, lang="de") if level and level != "gemeinde" else None


def _basis_de(row: dict, level_de: str | None = None) -> str | None:
    """German wording of which figure the long-distance count rests on, from the typed ``basis``
    (indicators/coworking_gap.py chose it: the larger of flows and estimate); ``level_de`` names a Verband's share."""
    km = de_number(gap_parameters()["long_distance_km"], 0)  # also INKAR's threshold (gap_parameters holds them equal)
    if _rests_on_flows(row):
        return (f"Pendleratlas-Ströme {row.get('long_distance_flows_year')} ab {km} km (nur die 10 wichtigsten Ziele: "
                "eine Untergrenze)")
    if row.get("basis") == "inkar_estimate":
        of = f"; Anteil: {level_de}" if level_de else ""
        return (f"INKAR-Anteil der Arbeitswege ab {km} km ({row.get('long_distance_share_year')}) "
                f"× Erwerbstätige am Wohnort{of}")
    return None


def _no_count_de(row: dict) -> str | None:
    """Why there is no long-distance count, from the typed columns (None where there is one). With employed
    residents but no INKAR share, flows without any destination of 50 km or more among the ten are no count (a
    lower bound of 0, indicators/coworking_gap.py); the page said the employed residents were missing."""
    if row.get("long_distance_out_commuters") is not None:
        return None
    km = de_number(gap_parameters()["long_distance_km"], 0)
    if row.get("employed_at_residence") is not None and row.get("long_distance_out_commuters_flows") == 0:
        return (f"Unter den 10 wichtigsten Zielen der Pendleratlas-Ströme {row.get('long_distance_flows_year')} ist "
                f"keines {km} km oder weiter entfernt; das ist nur eine Untergrenze, und ohne INKAR-Anteil lässt sich "
                "keine Anzahl schätzen")
    if row.get("employed_at_residence") is not None:
        return f"Ohne INKAR-Anteil der Arbeitswege ab {km} km und ohne Pendleratlas-Ströme lässt sich keine Anzahl schätzen"
    return "Ohne Zahl der Erwerbstätigen am Wohnort (Pendleratlas oder BA) lässt sich keine Anzahl schätzen"


def _rests_on_flows(row: dict) -> bool:
    """Whether the long-distance count is the flows' (the typed ``basis`` indicators/coworking_gap.py chose)."""
    return row.get("basis") == "pendleratlas_flows"


def count_label_de(row: dict) -> str:
    """The tile's label: 'Auspendler mit ≥ 50 km (Daten 2019, fortgeschrieben auf 2023)' with the count's data year,
    '(2023: keine Zahl)' without a count. Without a count the label gave the gap's period alone, '(2023)' above a
    dash on a page leading with 2021, read as a figure of 2023 (review of 6 December 2026)."""
    km, period, year = de_number(gap_parameters()["long_distance_km"], 0), row.get("period"), _figure_year(row)
    if year is None:
        return f"Auspendler mit ≥ {km} km ({period}: keine Zahl)"
    carried = f", fortgeschrieben auf {period}" if period is not None and year < period else ""
    return f"Auspendler mit ≥ {km} km (Daten {year}{carried})"


def _figure_year(row: dict) -> int | None:
    """The data year of the long-distance count (its flows' or its INKAR share's), shown beside it instead of the
    gap's period: a 2023 tile rested on INKAR 2019 and Pendleratlas 2022 without saying so. None without a count (a
    data year above a missing value read as if a 2019 figure existed)."""
    if row.get("long_distance_out_commuters") is None:
        return None
    year = row.get("long_distance_flows_year") if _rests_on_flows(row) else row.get("long_distance_share_year")
    return int(year) if year is not None else None


def _sources_de(sources: str | None) -> str | None:
    """'osm_coworking; local_inputs' -> the sources.yaml short names joined by 'und'."""
    return " und ".join(source_label(s) for s in sources.split("; ")) if isinstance(sources, str) else sources


def _coworking_data_de(row: dict) -> str | None:
    """Which coworking batch the figures come from, in German: 'OpenStreetMap, Stand 20.11.2023' (its typed
    ``coworking_source_id`` and ``coworking_reference_date``); None without coworking data."""
    source, day = row.get("coworking_source_id"), row.get("coworking_reference_date")
    if not source or day is None or pd.isna(day):
        return None
    return f"{source_label(source)}, Stand {pd.Timestamp(day):%d.%m.%Y}"


def no_coworking_de(period) -> str:
    """Why a gap row has no coworking figures, as a sentence: no batch of its year or before (the indicator's rule).
    It said "OpenStreetMap nicht geladen, keine eigene Liste" beside a town list of a later date (review of 6 December
    2026)."""
    return (f"Für diese Gemeinde liegen für {period} keine Coworking-Daten vor (keine OpenStreetMap-Abfrage und "
            "keine eigene Liste der Stadt aus diesem Jahr oder davor)")


def load_spaces(con) -> pd.DataFrame:
    """The coworking spaces of every vintage, ordered by vintage (every town's section takes the vintage its tile
    counts, ``_of_vintage``), with their coordinates in the indicator's METRIC_CRS (``x_m``, ``y_m``)."""
    spaces = con.execute("""SELECT osm_type, name, lat, lon, ags, local_kind, sources, locally_reported,
                                   located_at_gemeinde, supplier, licence, desks, opened, closed, listed_on, vintage
                            FROM coworking_spaces ORDER BY vintage, osm_type, osm_id""").df()
    x, y = to_metric_crs(spaces["lon"], spaces["lat"])
    return spaces.assign(x_m=x, y_m=y)


_EMPTY_SPACES: dict[tuple, pd.DataFrame] = {}  # read only by the callers


def _spaces_within_reach(spaces: pd.DataFrame, geoms: TownGeometries, ags: str, reach_km: float,
                         observation: dict | None = None) -> pd.DataFrame:
    """The spaces the tile 'Coworking-Orte bis 10 km' counts: those of the vintage of the coworking ``observation``
    behind it (else the latest) that are open on its date (``active_on``, the indicator's rule: a closed temporary
    space or a past trial day is not supply) and within reach of the town (``within_reach``, the indicator's rule on
    the unrounded distance in its CRS). The distance shown is rounded after that test: a space 10.03 km away was
    listed as '10,0 km' beside a tile that did not count it, and closed spaces stood in the list unmarked."""
    if spaces.empty or not geoms.has(ags):
        return _empty(spaces)
    vintage = observation["vintage"] if observation else spaces["vintage"].iloc[-1]
    day = observation["reference_date"] if observation else label_vintage(vintage)
    spaces = active_on(_of_vintage(spaces, vintage), day)
    area = geoms.metric_area(ags)
    spaces = spaces[within_reach(area, spaces["x_m"], spaces["y_m"], reach_km, placed_at_gemeinde(spaces),
                                 spaces["ags"] == ags)]
    metres = shapely.distance(area, shapely.points(spaces["x_m"].to_numpy(), spaces["y_m"].to_numpy()))
    spaces = spaces.assign(distance_km=np.round(metres / 1000, 1), metres=metres).sort_values(["metres", "name"])
    placed = placed_at_gemeinde(spaces)
    return spaces.drop(columns="metres").assign(
        kind_de=spaces["local_kind"].map(KIND_LABELS).fillna("Coworking-Space"),
        sources_de=spaces["sources"].map(_sources_de), location_de=placed.map({True: PLACED_DE, False: None}))


# How a space without coordinates is placed (sources.local_inputs.place_spaces: a point inside its Gemeinde, the
# polygon's representative point, not its centre)
PLACED_DE = "Lage unbekannt: an einem Punkt innerhalb der Gemeinde verortet"


def _empty(spaces: pd.DataFrame) -> pd.DataFrame:
    """The same empty frame for every page without spaces (building it cost ~2 ms)."""
    key = tuple(spaces.columns)
    if key not in _EMPTY_SPACES:
        _EMPTY_SPACES[key] = spaces.head(0).assign(distance_km=[], kind_de=[], sources_de=[], location_de=[])
    return _EMPTY_SPACES[key]


def _of_vintage(spaces: pd.DataFrame, vintage: str) -> pd.DataFrame:
    """The rows of one vintage of ``spaces`` (ordered by vintage, as load_spaces reads them): a slice found by
    binary search instead of a comparison of every row on every page."""
    vintages = spaces["vintage"].to_numpy()
    start, end = np.searchsorted(vintages, vintage, "left"), np.searchsorted(vintages, vintage, "right")
    return spaces.iloc[start:end]


def _surveys(rows: list[dict]) -> list[dict]:
    """Survey results per question (``rows``: the town's answers ordered by question and row), with who
    ran the survey and supplied the file."""
    by_code: dict[str, list[dict]] = {}
    for row in rows:
        by_code.setdefault(row["question_code"], []).append(row)
    questions = []
    for code, group in by_code.items():
        first = group[0]
        questions.append({"code": code, "question": first["question"], "respondents": int(first["respondents"]),
                          # the shares of a multiple-choice question add up to more than 100: the page says why
                          "multiple_choice": bool(first["multiple_choice"]),
                          "fieldwork": f"{first['fieldwork_from']:%d.%m.%Y}–{first['fieldwork_to']:%d.%m.%Y}",
                          "conducted_by": first["conducted_by"], "supplier": first["supplier"],
                          "licence": first["licence"],
                          "answers": [{"answer": r["answer"], "share": de_number(r["share"])} for r in group]})
    return questions


def _parameter_rows() -> list[dict]:
    """The estimate's parameters as the pages list them: German label, value and source, all from the catalogue
    (its ``coworking_gap`` section); a figure derived from the values (``{product}``) is computed, not written."""
    parameters = gap_parameters()
    product = de_number(parameters["remote_capable_share"] * parameters["remote_days_per_week"], 2)
    return [{"label": parameters[f"{key}_label_de"], "value": de_number(parameters[key], 2),
             "source": parameters[f"{key}_source_de"].replace("{product}", product)}
            for key in PARAMETERS[2:]]


RANKING_PAGE = "coworking-luecke.html"

# The planners' view (warehouse/views.sql) with the year behind the INKAR estimate, for the German wording of
# its typed ``basis``.
RANKING = """
SELECT r.gap_rank, r.name, r.kreis_name, r.land, r.ags, r.period, r.long_distance_out_commuters, r.basis,
       r.desk_demand, r.spaces_within_reach, r.nearest_space_km, r.coworking_source_id, r.coworking_reference_date,
       g.long_distance_share_year, g.long_distance_flows_year, m.kreis_ags
FROM coworking_gap_ranking r
JOIN coworking_gap g ON g.ags = r.ags AND g.period = r.period AND g.method_version = r.method_version
LEFT JOIN municipalities m ON m.ags = r.ags
ORDER BY r.gap_rank, r.name, r.ags"""


def ranking_context(con: duckdb.DuckDBPyConnection, town_pages: set[str], kreis_cells: pd.Series | None = None) -> dict:
    """The Germany-wide ranking page: small towns (reference group) by estimated desk demand of their
    long-distance out-commuters, with the coworking supply within reach where known. ``kreis_cells``: the Kreis name
    per Kreis AGS for a table cell (ReportData.kreis_cells: 'München (Landkreis)' where two Kreise share a name)."""
    frame = con.execute(RANKING).df()
    frame["name"] = display_names(frame["name"])  # as the town pages name them
    if len(frame):  # equal ranks in German name order ('Ö' after 'O', not after 'Z'), then by key
        frame = frame.assign(_name=frame["name"].map(german_sort_key)).sort_values(
            ["gap_rank", "_name", "ags"], kind="stable").drop(columns="_name").reset_index(drop=True)
    if kreis_cells is not None and len(frame):
        frame["kreis_name"] = kreis_column(frame["kreis_ags"], kreis_cells, frame["kreis_name"])  # as the index page
    shared = frame.groupby("gap_rank")["ags"].transform("size").tolist() if len(frame) else []
    rows = []
    for row, tied in zip(frame.to_dict("records"), shared):
        row = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.items()}
        row["tied_towns"] = int(tied)  # equal demand as stored (rounded to 0.1) shares a rank, said as on the index
        row["basis_short_de"] = _basis_short_de(row)
        row["coworking_data_de"] = _coworking_data_de(row) or f"keine Daten für {row['period']}"
        row["has_page"] = f"{row['ags']}.html" in town_pages
        rows.append(row)
    # German collation precomputed for the sort script, as on the index page
    for order, i in enumerate(sorted(range(len(rows)), key=lambda i: german_sort_key(rows[i]["name"]))):
        rows[i]["name_order"] = order
    parameters = gap_parameters()
    # the towns the ranking could hold: the header said "5 Kleinstädte" and not that 45 of 50 have no estimate
    group = con.execute("SELECT count(*) FILTER (in_reference_group) FROM municipalities").fetchone()[0]
    # an empty ranking has no year of its own (the view found no estimate in any year): the years the gap was computed
    # for, so "no town" is not read as "none this year" (review of 6 December 2026)
    computed = [] if rows else [p for (p,) in con.execute(
        "SELECT DISTINCT period FROM coworking_gap WHERE method_version = (SELECT method_version FROM current_method)"
    ).fetchall()]
    loaded = {s for (s,) in con.execute("SELECT DISTINCT source_id FROM source_releases").fetchall()}
    return {"rows": rows, "period": rows[0]["period"] if rows else None, "reach_km": parameters["reach_km"],
            "group_size": group, "computed_years": years_de(computed),
            **source_credits(loaded, parameters["coworking_sources"], estimated=bool(rows)),
            "long_distance_km": parameters["long_distance_km"], "parameters": _parameter_rows(),
            "with_supply_data": sum(r["spaces_within_reach"] is not None for r in rows)}


# How the ranking page credits each source a gap estimate can rest on (COUNT_SOURCES, then the catalogue's coworking
# sources): the towns' own lists carry their supplier and licence per file and per space (the town pages), so no
# single credit here; (credit, name where not loaded)
CREDIT_DE = {"inkar": ("{credit}", None), "pendleratlas": ("Pendleratlas: {credit}", None),
             "ba_commuting": ("Beschäftigte am Wohnort: {credit}", None),
             "osm_coworking": ("Coworking-Orte aus OpenStreetMap ({credit})", None),
             "local_inputs": ("Coworking-Orte aus den eigenen Listen der Städte", "eigene Listen der Städte")}


def source_credits(loaded: set[str], coworking_sources: list[str], estimated: bool = True) -> dict:
    """The ranking page's data credits, only of the sources this warehouse holds a release of (``loaded``), and the
    names of those it lacks: the page credited the Pendleratlas, OpenStreetMap and the towns' lists where none was
    loaded (review of 6 December 2026). ``coworking_sources``: the catalogue's (``gap_parameters``). A page without
    any estimate (``estimated`` False) shows no figure of any source and credits none: Germany-wide it credited the
    BA's employees at residence (loaded: its Kreis flows) beside "keine Zahl der Erwerbstätigen am Wohnort"
    (page audit of 7 December 2026)."""
    sources = (*COUNT_SOURCES, *coworking_sources)
    return {"credits": [CREDIT_DE[s][0].format(credit=credit_de(s)) for s in sources if s in loaded and estimated],
            "not_loaded": [CREDIT_DE[s][1] or source_label(s) for s in sources if s not in loaded]}


def _basis_short_de(row: dict) -> str | None:
    """Short German basis of the long-distance count for a table cell (from the typed ``basis``, as ``_basis_de``)."""
    if _rests_on_flows(row):  # with their year, as the town page: flows may be carried forward to the period
        return f"Pendleratlas-Ströme {row.get('long_distance_flows_year')} (Untergrenze)"
    if row.get("basis") == "inkar_estimate":
        return f"INKAR-Anteil {row.get('long_distance_share_year')}"
    return None


def ranking_table(context: dict):
    """The ranking as a download (German headers, unrounded numbers, AGS as text)."""
    return Table("rangliste", "Coworking-Lücke", [{
        "Rang": r["gap_rank"], "AGS": r["ags"], "Gemeinde": r["name"], "Kreis": r["kreis_name"], "Land": r["land"],
        "Jahr": r["period"],
        f"Auspendler ab {de_number(context['long_distance_km'], 0)} km": r["long_distance_out_commuters"],
        "Grundlage": r["basis_short_de"], "Geschätzter Bedarf (Arbeitsplätze je Tag)": r["desk_demand"],
        f"Coworking-Orte bis {context['reach_km']} km": r["spaces_within_reach"],
        "Nächster Coworking-Ort (km)": r["nearest_space_km"], "Coworking-Daten": r["coworking_data_de"],
        "Rang geteilt mit (weitere Gemeinden)": r["tied_towns"] - 1}
        for r in context["rows"]])


def coworking_map(geoms: TownGeometries, ags: str, spaces: pd.DataFrame, destinations: list[dict]) -> str:
    """Inline SVG (written directly, no plotting library): the town outlined, spaces within reach (filled:
    exact place; hollow: placed at the Gemeinde), lines to the main destinations whose Gemeinde geometry
    is loaded, labelled with the distance in km. Only numbers from the data reach the SVG."""
    town = shapely.simplify(geoms.geoms[geoms.position[ags]], SIMPLIFY_M)
    centre = shapely.centroid(town)
    # a destination gone since the flow has no geometry of its own; the key's geometry of today would be
    # another Gemeinde where the key was given again
    targets = [(shapely.centroid(geoms.geoms[geoms.position[f["partner_ags"]]]), f["distance_km"])
               for f in destinations if geoms.has(f["partner_ags"]) and not f.get("gone_since_flow")]
    points = []
    if not len(spaces) and not targets:
        return None  # the outline alone, under a legend of things not drawn (offline: no OSM, no Pendleratlas)
    if len(spaces):
        xs, ys = to_metres(spaces["lon"].to_numpy(dtype=float), spaces["lat"].to_numpy(dtype=float))
        placed = spaces["located_at_gemeinde"].fillna(False).astype(bool).to_numpy()
        points = list(zip(np.asarray(xs), np.asarray(ys), placed))
    x0, y0, x1, y1 = shapely.bounds(town)
    for x, y in [(t.x, t.y) for t, _ in targets] + [(x, y) for x, y, _ in points]:
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
    pad = 0.08 * max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    scale = min(640 / (x1 - x0), 480 / (y1 - y0))  # fit into 640 x 480 px, keeping the aspect ratio
    width, height = int((x1 - x0) * scale), int((y1 - y0) * scale) + 20  # + a line for the legend

    def xy(x, y):
        return (x - x0) * scale, (y1 - y) * scale

    width = max(width, 560)  # room for the legend line

    parts = [f'<path d="{_ring_path(town, xy)}" fill="#e8eef7" stroke="#000000" stroke-width="2" fill-rule="evenodd"/>']
    cx, cy = xy(centre.x, centre.y)
    for target, km in targets:
        tx, ty = xy(target.x, target.y)
        parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{tx:.1f}" y2="{ty:.1f}" stroke="#c05621" stroke-width="1.5"/>')
        parts.append(f'<text x="{tx + 4:.1f}" y="{ty - 4:.1f}" font-size="11">{escape(de_number(km, 0))} km</text>')
    for x, y, placed in points:
        px, py = xy(x, y)
        fill = "none" if placed else "#2b6cb0"
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{fill}" stroke="#2b6cb0" stroke-width="2"/>')
    legend = [*(["● Coworking (Lage bekannt)"] if any(not placed for *_, placed in points) else []),
              *(["○ Coworking ohne genaue Lage (Punkt innerhalb der Gemeinde)"] if any(placed for *_, placed in points)
                else []),
              *(["Linie: Hauptziel der Auspendler (km)"] if targets else [])]  # only what the map draws
    parts.append(f'<text x="8" y="{height - 8}" font-size="11">{escape(" — ".join(legend))}</text>')
    # the flows' year, as the destinations' heading gives it (one year per list: reports.coworking_gap GAP_ROW)
    years = sorted({f["flows_year"] for f in destinations if f.get("flows_year") is not None}) if targets else []
    title = "Karte: Gemeinde, Coworking-Orte und Hauptziele der Auspendler" + (
        f" (Pendleratlas {', '.join(map(str, years))})" if years else "")
    return (f'<svg role="img" aria-label="{escape(title)}" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}"><title>{escape(title)}</title>{"".join(parts)}</svg>')


def _ring_path(geom, xy) -> str:
    """SVG path data of a (multi)polygon's rings (holes included, even-odd fill)."""
    commands = []
    for polygon in getattr(geom, "geoms", [geom]):
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = [xy(x, y) for x, y in ring.coords]
            commands.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + " Z")
    return " ".join(commands)
