"""BNetzA Mobilfunk-Monitoring: share of an area type with mobile coverage, per technology.

Two kinds of file, told apart by suffix (the role is not needed):

* ``.csv``: long-format CSVs of the Breitbandatlas download (``landkreis_mobilfunk_stats_2021_1.csv``,
  ``deutschland_mobilfunk_stats_2021_1.csv``), header
  ``"AGS";"Technologie";"Flaechenart";"Flaechen Gruppe";"Flaechen Gruppe Name";"Verfügbarkeit"``.
  Measures ``area_<technology>_<area type>``, e.g. ``area_5g_residential``.
* ``.xlsx``: the Gemeinde workbook ``Auswertung_Mobilfunkmonitoring.xlsx`` (AGS header row, merged
  operator blocks as in the Gigabit-Grundbuch). Measures ``area_<technology>_total`` for all operators
  and ``area_<technology>_total_<operator>`` per operator.

Values are % of the area. Vintage "2021-1" is the first half (30 June), "2021-2" the second (31 Dec).
"""

from __future__ import annotations

import io

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.contracts import unique_headers
from sources.errors import SourceError
from sources.gigabit_grundbuch import (GEOGRAPHY, block_slug, cell_value, date_from_vintage, open_workbook,
                                       parse_date, read_blocked_sheet, region_key, text)
from sources.registry import Release, ReleaseFile

UNIT = "% of area"
CSV_COLUMNS = ["AGS", "Technologie", "Flaechenart", "Flaechen Gruppe", "Flaechen Gruppe Name", "Verfügbarkeit"]
TECHNOLOGY = {"5G2": "5g", "LTE2": "lte2", "LTE6": "lte6", "LTE10": "lte10", "Mobil Alle": "mobile_all"}
AREA = {
    "Wohnbaufläche": "residential", "Gewerbliche Nutzfläche": "commercial",
    "Landwirtschaftliche Flächen": "agricultural", "Wald-, Wiesenflächen": "forest_meadow", "Gewässer": "water",
    "Autobahn": "motorway", "Bundesstraßen": "federal_road", "Landstraßen": "state_road",
    "Landesstraßen": "state_road", "Kreisstraßen": "district_road", "Bahnstrecken": "railway",
    "Wasserstraßen": "waterway", "Gemeindefläche": "municipal_area", "Infrastruktur": "infrastructure",
}
OPERATOR = {"allemno": "", "alle": "", "allenetzbetreiber": "", "telekom": "_telekom", "vodafone": "_vodafone",
            "telefónica": "_telefonica", "telefonica": "_telefonica", "o2": "_telefonica", "1&1": "_1und1"}
WORKBOOK_COLUMNS = {"2g": "2g", "4g": "4g", "5g": "5g", "5gsa": "5g_sa", "gf": "grey_spot", "wf": "white_spot"}


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Coverage observations from every file of one vintage; CSV or workbook is told by the file suffix."""
    frames = []
    for release_file in release.files:
        suffix = release_file.path.suffix.lower()
        if suffix not in (".csv", ".xlsx", ".xlsb", ".xls"):
            raise SourceError(release.source_id, release_file.relative_path,
                              f"unexpected file type {suffix!r} (expected the area CSV or the xlsx workbook)")
        frames.append((_parse_csv if suffix == ".csv" else _parse_workbook)(release, release_file))
    return {"observations": pd.concat(frames, ignore_index=True)}


def _parse_csv(release: Release, release_file: ReleaseFile) -> pd.DataFrame:
    source_id, name = release.source_id, release_file.relative_path
    try:
        content = release_file.path.read_bytes().decode("utf-8-sig")
        unique_headers(source_id, name, content.split("\n", 1)[0], ";")  # a second column would be read as "X.1"
        table = pd.read_csv(io.StringIO(content), sep=";", dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise SourceError(source_id, name, f"cannot be read as UTF-8 CSV separated by ';' ({exc})") from exc
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in CSV_COLUMNS if c not in table.columns]
    if missing:  # read by name: reordered or added columns are fine, a missing or renamed one is not
        raise SourceError(source_id, name, f"missing the columns {missing}; expected {CSV_COLUMNS}, "
                                           f"found {list(table.columns)[:8]}")
    table = table[CSV_COLUMNS]
    for column, known in (("Technologie", TECHNOLOGY), ("Flaechenart", AREA)):
        unknown = sorted(set(table[column].str.strip()) - set(known))
        if unknown:
            raise SourceError(source_id, name, f"unknown {column} {unknown} (known: {sorted(known)})")
    records = []
    for number, row in enumerate(table.itertuples(index=False), start=2):
        region = region_key(row[0])
        if region is None:
            raise SourceError(source_id, name, f"line {number}: AGS {row[0]!r} is not a region key")
        try:
            parsed = cell_value(row[5])
        except ValueError:
            raise SourceError(source_id, name, f"line {number}: Verfügbarkeit {row[5]!r} is neither a number "
                                               "nor a marker (*, -, .)")
        if parsed is not None:
            measure = f"area_{TECHNOLOGY[row[1].strip()]}_{AREA[row[2].strip()]}"
            records.append((*region, measure, *parsed))
    observations = pd.DataFrame(records, columns=["ags", "level", "measure", "value", "note"])
    reference_date = date_from_vintage(source_id, release.vintage)
    return observations.assign(reference_date=reference_date, unit=UNIT)[OBSERVATION_COLUMNS]


def _parse_workbook(release: Release, release_file: ReleaseFile) -> pd.DataFrame:
    """Sheet ``Fläche`` if present, else the first sheet with an AGS header row."""
    source_id, name = release.source_id, release_file.relative_path
    workbook = open_workbook(source_id, release_file)
    names = sorted(workbook.sheet_names, key=lambda s: s != "Fläche")
    sheet = None
    for sheet_name in names:
        try:
            sheet = read_blocked_sheet(source_id, release_file, workbook, sheet_name, GEOGRAPHY | {"Gitterzellen"})
            break
        except SourceError:
            continue
    if sheet is None:
        raise SourceError(source_id, name, f"no sheet with a header row holding 'AGS' (sheets: {', '.join(names)})")
    measures, unknown = {}, []
    for j, (labels, header) in sheet.columns.items():
        operator = block_slug(labels, OPERATOR)
        technology = WORKBOOK_COLUMNS.get(header.lower().replace(" ", "").replace("-", ""))
        if operator is None or technology is None:
            unknown.append(f"{labels[0] if labels else '(no block)'} / {header}")
        measures[j] = f"area_{technology}_total{operator}"
    if unknown:
        raise SourceError(source_id, name, f"unknown operator block or technology column(s) {unknown} in sheet "
                                           f"{sheet.name!r} (known blocks: Alle MNO, Telekom, Vodafone, Telefónica, "
                                           "1&1; columns: 2G, 4G, 5G, 5G SA, gF, wF)")
    records = []
    for number, row in enumerate(sheet.rows, start=sheet.first_row):
        region = region_key(row[sheet.geography["AGS"]])
        if region is None or region[1] == "regierungsbezirk":
            continue  # blank, footnote or aggregate row
        for j, measure in measures.items():
            try:
                parsed = cell_value(row[j])
            except ValueError:
                raise SourceError(source_id, name, f"sheet {sheet.name!r} row {number}: {text(row[j])!r} is "
                                                   "neither a number nor a marker (*, -, .)")
            if parsed is not None:
                records.append((*region, measure, *parsed, text(row[j]).endswith("%")))
    observations = pd.DataFrame(records, columns=["ags", "level", "measure", "value", "note", "written_percent"])
    # The monitoring workbooks publish shares 0-1 as numbers, not %. A cell written as text with "%" ("85,0 %") is
    # percent already: deciding on all cells at once, one such cell kept every share in the sheet at 0-1 scale.
    numbers = ~observations["written_percent"]
    if observations.loc[numbers, "value"].max() <= 1:
        observations.loc[numbers, "value"] *= 100
    dates = [parse_date(" ".join(text(c) for c in row)) for row in sheet.above]
    reference_date = next((d for d in dates if d), None) or date_from_vintage(source_id, release.vintage)
    return observations.assign(reference_date=reference_date, unit=UNIT)[OBSERVATION_COLUMNS]
