"""Destatis Gemeindeverzeichnis workbooks (``DDMMYYYY_Auszug_GV.xlsx``, ``AuszugGV4QAktuell_YYYY.xlsx``).

Two layouts exist: 1983-1990 (Land, RB, Kreis, Gemeinde; Verband in separate columns)
and 1994 on (Satzart, Textkennzeichen, ARS parts Land/RB/Kreis/VB/Gem). Columns are
found by their header labels, not by position, so both layouts share one reader, and a
renamed column fails with its name.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from sources import OBSERVATION_COLUMNS
from sources.contracts import clean_cell, parse_number
from sources.errors import SourceError, column_letter
from sources.frames import per_distinct
from sources.registry import Release, sources as source_specs
from sources.vintages import last_day

# Textkennzeichen of Gemeinde rows (Satzart 60), from the GV-ISys record description.
KIND_BY_TEXTKENNZEICHEN = {
    "60": "Markt",
    "61": "Kreisfreie Stadt",
    "62": "Stadtkreis",
    "63": "Stadt",
    "64": "Gemeinde",
    "65": "gemeindefreies Gebiet (bewohnt)",
    "66": "gemeindefreies Gebiet (unbewohnt)",
    "67": "Große Kreisstadt",
}
DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
# "Bevölkerung auf Grundlage des Zensus 20112)": the census the counts rest on (footnote digits may follow)
CENSUS = re.compile(r"Zensus\s*((?:19|20)\d{2})")


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Parse one Gemeindeverzeichnis workbook.

    Returns ``observations`` (population total/male/female and area per Gemeinde) and
    ``register`` (name, Kreis, Land, kind and Gemeindeverband of every Gemeinde).
    """
    workbook_file = release.file("workbook")
    name = workbook_file.relative_path
    try:
        workbook = CalamineWorkbook.from_path(str(workbook_file.path))
    except Exception as exc:  # calamine raises its own error types for non-workbooks
        raise SourceError(release.source_id, name, f"not a readable Excel workbook ({exc})") from exc
    rows = _data_sheet_rows(workbook, release.source_id, name)
    header = _locate_header(rows, release.source_id, name)
    table = _records(rows, header)
    gemeinden = table[table["satzart"] == "60"]
    if gemeinden.empty:
        raise SourceError(release.source_id, name, "no Gemeinde rows (Satzart 60) found")
    _check_census(header, release.source_id, name)
    _check_label_date(header, release.vintage, release.source_id, name)
    observations = _observations(gemeinden, header, release.source_id, name)
    register = _register(table, gemeinden, header)
    return {"observations": observations, "register": register}


def _data_sheet_rows(workbook: CalamineWorkbook, source_id: str, name: str) -> list[list]:
    """The sheet with the Gemeinde records: the first whose name mentions Gemeinde data."""
    for sheet_name in workbook.sheet_names:
        if sheet_name.startswith(("Gemeindedaten", "Onlineprodukt_Gemeinden")):
            try:
                return workbook.get_sheet_by_name(sheet_name).to_python()
            except Exception as exc:  # calamine's errors for a corrupt sheet (bad XML or deflate stream)
                raise SourceError(source_id, name, f"not a readable Excel workbook: sheet {sheet_name!r} ({exc})") from exc
    raise SourceError(source_id, name, f"no Gemeinde data sheet among {workbook.sheet_names}")


def _types(values: np.ndarray) -> np.ndarray:
    """The exact type of every cell (``type``, not ``isinstance``: bool is an int, numpy floats are floats)."""
    return np.fromiter(map(type, values), dtype=object, count=len(values))


def _cells(values) -> np.ndarray:
    """``clean_cell`` of every value, by type in bulk (one Python call per workbook column, not per cell)."""
    values = _object_array(values)
    types = _types(values)
    out = np.full(len(values), "", dtype=object)
    text = types == str
    out[text] = per_distinct(values[text], str.strip)  # codes repeat thousands of times: strip each once
    floats = types == float
    numbers = values[floats].astype(float)
    whole = np.isfinite(numbers) & (numbers == np.trunc(numbers))
    exact = whole & (np.abs(numbers) < 2**53)  # int64 holds these exactly; larger ones go through int()
    cleaned = values[floats].copy()
    cleaned[exact] = numbers[exact].astype(np.int64).astype(str).astype(object)
    cleaned[whole & ~exact] = [str(int(v)) for v in cleaned[whole & ~exact]]
    cleaned[~whole] = [str(v).strip() for v in cleaned[~whole]]
    out[floats] = cleaned
    other = ~(text | floats | (types == type(None)))
    out[other] = [clean_cell(v) for v in values[other]]  # ints, dates, ...: rare, the reference function
    return out


def _zfilled(texts: np.ndarray, width: int, keep_empty: bool) -> np.ndarray:
    """``str.zfill(width)`` of every text (``keep_empty``: an empty text stays empty), once per distinct text
    (the Land, Kreis and Gemeinde codes of ~16,000 rows hold a few hundred texts)."""
    return per_distinct(texts, lambda text: text if keep_empty and text == "" else text.zfill(width))


def _object_array(values) -> np.ndarray:
    """A 1-D object array of the values as they are (no numpy conversion of Python scalars)."""
    array = np.empty(len(values), dtype=object)
    array[:] = list(values) if not isinstance(values, np.ndarray) else values
    return array


def _locate_header(rows: list[list], source_id: str, name: str) -> dict:
    """Find the two header rows and the column of every field by its label."""
    for i, row in enumerate(rows[:15]):
        if clean_cell(row[0]).replace("-", "").replace("\n", "").lower().startswith("satzart"):
            top, sub, dates = ([clean_cell(c) for c in r] for r in rows[i : i + 3])
            break
    else:
        raise SourceError(source_id, name, "header row starting with 'Satzart' not found in the first 15 rows")

    def column(labels: list[str], wanted: str, startswith: bool = False) -> int:
        for j, label in enumerate(labels):
            label = label.replace("\n", " ")
            if label == wanted or (startswith and label.startswith(wanted)):
                return j
        raise SourceError(source_id, name, f"column '{wanted}' not found in header {[l for l in labels if l]}")

    new_layout = any(label.startswith("Text-kenn") for label in top)
    fields = {
        "land": column(sub, "Land"),
        "rb": column(sub, "RB"),
        "kreis": column(sub, "Kreis"),
        "gem": column(sub, "Gem" if new_layout else "Gemeinde"),
        "name": column(top, "Gemeindename"),
        "area": column(top, "Fläche", startswith=True),
        "population": column(sub, "insgesamt"),
        "male": column(sub, "männlich"),
        "female": column(sub, "weiblich"),
    }
    if new_layout:
        fields["textkennzeichen"] = column(top, "Text-kenn", startswith=True)
        fields["vb"] = column(sub, "VB")
    else:
        fields["vb"] = column(sub, "Schlüssel")
        fields["stadtrechte"] = column(top, "Stadtrechte", startswith=True)
    # the centre's axes stand in the sub-header from 2013 on, one row lower (the date row) in 2009
    for labels in (sub, dates):
        if "Längengrad" in labels and "Breitengrad" in labels:
            fields["lon"], fields["lat"] = labels.index("Längengrad"), labels.index("Breitengrad")
            break
    # the date row under the header, else the column's own title ("Bevölkerung am 31.12.2023"), before the
    # sheet's title: a quarterly file's title date is the territorial status, not the population's Stichtag
    population_date = _first_date(dates[fields["population"]], _block_label(top, fields["population"]),
                                  dates[fields["area"]], clean_cell(rows[0][0]))
    if population_date is None:
        raise SourceError(source_id, name, "no reference date (dd.mm.yyyy) found above the population column")
    area_date = _first_date(dates[fields["area"]], _block_label(top, fields["area"])) or population_date
    territorial_date = _first_date(dates[fields["land"]]) or area_date
    census = _census_statement(top, dates, fields["population"], i)
    title_date = _first_date(*(clean_cell(row[0]) for row in rows[:i] if row))  # "… am 31.12.2024 (4. Quartal)"
    return {"first_data_row": i + 4, "fields": fields, "new_layout": new_layout, "census": census,
            "title_date": title_date,
            "population_date": population_date, "area_date": area_date, "territorial_date": territorial_date}


def _census_statement(top: list[str], dates: list[str], j: int, header_row: int) -> tuple[str, str, str] | None:
    """(census, header text, cell) where the population column's header names the census its counts rest on
    ("Bevölkerung auf Grundlage des Zensus 2011" in the 2024 file's title, "am 31.12.2013 (Jahr) auf Grundlage
    des Zensus 2011" in the 2013 file's date row); None where it names none (most files)."""
    block = _block_column(top, j)
    cells = [(dates[j], header_row + 2, j)] + ([(top[block], header_row, block)] if block is not None else [])
    for text, row, column in cells:
        match = CENSUS.search(text or "")
        if match:
            return f"Zensus {match.group(1)}", " ".join(text.split()), f"{column_letter(column)}{row + 1}"
    return None


# How far the header's territorial status may lie from the date the file's name gives: the 1998 file
# (31121998_Auszug_GV.xlsx) holds the register of 31.12.1997, the 1987 file that of 01.01.1988, the others
# that of their own date.
LABEL_LAG = pd.Timedelta(days=366)


def _check_label_date(header: dict, vintage: str, source_id: str, name: str) -> None:
    """Refuse a workbook whose header dates it far from the date its file name gives ('31122024_Auszug_GV.xlsx'
    holding the register of 31.12.2021): the release would be cited as of the name's date, and as the newer
    release it would supersede the true one (dates review, 4 December). A label without a date is not checked."""
    named = last_day(vintage)  # '2024-Q4' -> 31.12.2024, a revision's as its vintage's
    if named is None:
        return
    named = pd.Timestamp(named)
    # the sheet's title dates the file (a quarterly file whose date cells are empty falls back to its population's
    # Stichtag otherwise, up to 15 months before its quarter); the territorial status where the title has no date
    content = pd.Timestamp(header["title_date"] or header["territorial_date"])
    if abs(content - named) > LABEL_LAG:
        raise SourceError(source_id, name, f"the file's name dates it {named.date().isoformat()}, but its header dates "
                                           f"it {content.date().isoformat()}: a release under another release's name; "
                                           "name the file after its header's date")


def declared_census(source_id: str, year: int) -> str | None:
    """The census sources.yaml declares for counts of ``year`` (``census_rebasings``: the latest rebasing year at
    or before it); None before the first or for a source without rebasings."""
    spec = source_specs().get(source_id)
    rebasings = (spec.census_rebasings or {}) if spec else {}
    return next((rebasings[y] for y in sorted(rebasings, reverse=True) if y <= year), None)


def _check_census(header: dict, source_id: str, name: str) -> None:
    """Refuse a workbook whose population header names another census than sources.yaml declares for its year.

    Why: the town pages tell a reader that a population change contains a census correction from the declared
    rebasing years (indicators/publisher_notes.py census_note). A file whose counts rest on another census (Destatis
    re-basing the Gemeindeverzeichnis on the Zensus 2022) would make that note, and the comparison of counts
    across the rebasing, wrong without a signal; the maintainer declares the new basis instead."""
    if header["census"] is None or source_id not in source_specs():
        return
    stated, text, cell = header["census"]
    year = int(header["population_date"][:4])
    declared = declared_census(source_id, year)
    if stated != declared:
        raise SourceError(source_id, name, f"cell {cell} ({text!r}): the population of {year} rests on the {stated}, "
                                           f"but sources.yaml census_rebasings declares "
                                           f"{'the ' + declared if declared else 'no census'} for counts of {year}; "
                                           "declare the rebasing there (the first year of counts on that census), "
                                           "which the town pages name beside a population change across it")


def _block_column(top: list[str], j: int) -> int | None:
    """The column of the header title over column ``j``: its own, or that of the merged block starting to its left."""
    return next((k for k in range(j, -1, -1) if top[k]), None)


def _block_label(top: list[str], j: int) -> str:
    """The header title over column ``j``: its own, or the merged block's that starts to its left."""
    block = _block_column(top, j)
    return "" if block is None else top[block]


def _first_date(*texts: str) -> str | None:
    for text in texts:
        match = DATE.search(text or "")
        if match:
            day, month, year = match.groups()
            return f"{year}-{month}-{day}"
    return None


def _records(rows: list[list], header: dict) -> pd.DataFrame:
    """All data rows as text columns, one per located field, plus Satzart."""
    body = _grid(rows[header["first_data_row"] :])
    table = pd.DataFrame({"satzart": _cells(body[:, 0])})
    for field, j in header["fields"].items():
        table[field] = body[:, j] if j < body.shape[1] else None
    for field in ("land", "rb", "kreis", "gem", "vb", "name", "textkennzeichen", "stadtrechte"):
        if field in table:
            table[field] = _cells(table[field].to_numpy(dtype=object))
    # every cell is a str here (_cells): padded once per distinct code
    table["land"] = _zfilled(table["land"].to_numpy(dtype=object), 2, keep_empty=False)
    table["kreis"] = _zfilled(table["kreis"].to_numpy(dtype=object), 2, keep_empty=True)
    table["gem"] = _zfilled(table["gem"].to_numpy(dtype=object), 3, keep_empty=True)
    table["kreis_ags"] = table["land"] + table["rb"] + table["kreis"]
    table["ags"] = table["kreis_ags"] + table["gem"]
    return table


def _grid(rows: list[list]) -> np.ndarray:
    """Rows as a 2-D object array, short rows padded with None (cells beyond a row's end are empty)."""
    width = max((len(r) for r in rows), default=1)
    grid = np.full((len(rows), width), None, dtype=object)
    for i, row in enumerate(rows):
        grid[i, :len(row)] = row
    return grid


MIN_CENTRES = 100  # the 2009 register has 12,055; the snapshot's cut of it 249


def _packed_sexagesimal(*axes: pd.Series) -> bool:
    """True when the centres are degrees, minutes and seconds packed as D.MMSS, not decimal degrees.

    The 2009 register writes Mölln's centre as 10.4128 / 53.3746 (10° 41' 28", 53° 37' 46"); from 2013
    on it is 10.691022 / 53.629521. The header says "Längengrad" in both, so the values decide: every
    centre has at most four decimals and minutes below 60 (seconds may read 60, a rounding of the
    publisher's). Decimal degrees with six decimals break that rule in about 40 % of rows. Fewer than
    MIN_CENTRES centres are too few to tell (10.5 / 53.25 fits both) and are kept as given.
    """
    values = pd.concat(axes).dropna().to_numpy(dtype=float)
    if len(values) < 2 * MIN_CENTRES:  # a few centres cannot tell the formats apart (10.5 is either): as given
        return False
    packed = np.round(values * 1e4)
    return bool(np.all(np.abs(packed / 1e4 - values) < 1e-9) and np.all((packed // 100) % 100 < 60)
                and np.all(packed % 100 <= 60))


def _decimal_degrees(packed: pd.Series) -> pd.Series:
    """D.MMSS (see ``_packed_sexagesimal``) as decimal degrees, rounded to six decimals as the later registers."""
    whole = np.round(packed * 1e4)
    return (whole // 10000 + (whole // 100) % 100 / 60 + whole % 100 / 3600).round(6)


def _numeric(series: pd.Series, source_id: str = "", name: str = "", first_row: int = 0) -> pd.Series:
    """Numbers of a column; text cells read in German notation ("19.566" = 19566, "1.234,5" = 1234.5).

    Native numbers pass as they are (vectorised: most cells); only text cells go through
    ``parse_number``. An empty cell or a marker ("-", ".") is missing; any other text fails with its
    sheet row, never silently: "19.566" was once read as 19.566 people.
    """
    values = _object_array(series.to_numpy(dtype=object))
    types = _types(values)
    kinds = {t: issubclass(t, (int, float)) and not issubclass(t, bool) for t in set(types)}
    numeric = pd.Series(types, dtype=object).map(kinds).to_numpy(dtype=bool)
    result = np.full(len(values), np.nan)
    result[numeric] = values[numeric].astype(float)
    failures: dict[int, ValueError] = {}  # position (index in the body below the header, see _records) -> error
    # text cells once per distinct text: thousands of empty-text cells per column, coordinates repeat
    text = np.flatnonzero(types == str)
    codes, distinct = pd.factorize(values[text])
    numbers = np.full(len(distinct), np.nan)
    for code, cell in enumerate(distinct):
        try:
            number = parse_number(cell)
        except ValueError as exc:
            failures[int(text[np.argmax(codes == code)])] = exc  # the first row holding this text
            continue
        numbers[code] = np.nan if number is None else number
    result[text] = numbers[codes]
    for position in np.flatnonzero(~numeric & (types != str)):  # None, bools, dates: rare, cell by cell
        if values[position] is None:  # an empty cell is missing
            continue
        try:
            number = parse_number(values[position])
        except ValueError as exc:
            failures[int(position)] = exc
            break  # positions ascend: a later failure cannot come first
        result[position] = np.nan if number is None else number
    if failures:  # the first failing row, as when every cell was parsed in row order
        position = min(failures)
        raise SourceError(source_id, name, f"row {first_row + position + 1}/column {series.name}: "
                                           f"{failures[position]}") from None
    return pd.Series(result, index=series.index, dtype=float)


def _observations(gemeinden: pd.DataFrame, header: dict, source_id: str, name: str) -> pd.DataFrame:
    measures = {
        "population_total": ("population", "persons", header["population_date"]),
        "population_male": ("male", "persons", header["population_date"]),
        "population_female": ("female", "persons", header["population_date"]),
        "area_km2": ("area", "km2", header["area_date"]),
    }
    bad_ags = gemeinden.loc[~gemeinden["ags"].str.fullmatch(r"\d{8}"), "ags"]
    if not bad_ags.empty:
        raise SourceError(source_id, name, f"Gemeinde keys are not 8 digits, e.g. {bad_ags.iloc[0]!r}")
    frames = []
    for measure, (field, unit, reference_date) in measures.items():
        values = _numeric(gemeinden[field], source_id, name, header["first_data_row"])
        frame = pd.DataFrame({"ags": gemeinden["ags"], "value": values}).dropna(subset=["value"])
        frame = frame.assign(level="gemeinde", reference_date=pd.Timestamp(reference_date).date(),
                             measure=measure, unit=unit, note="")
        frames.append(frame)
    observations = pd.concat(frames, ignore_index=True)[OBSERVATION_COLUMNS]
    if observations.empty:
        raise SourceError(source_id, name, "no numeric population or area values in the Gemeinde rows")
    return observations


def _register(table: pd.DataFrame, gemeinden: pd.DataFrame, header: dict) -> pd.DataFrame:
    """Names, Kreis, Land, kind and Gemeindeverband of every Gemeinde in this workbook."""
    kreise = table[table["satzart"] == "40"].drop_duplicates("kreis_ags").set_index("kreis_ags")["name"]
    laender = table[table["satzart"] == "10"].drop_duplicates("land").set_index("land")["name"]
    verbaende = table[table["satzart"] == "50"].assign(vb_ars=lambda t: t["kreis_ags"] + t["vb"])
    verbaende = verbaende.drop_duplicates("vb_ars").set_index("vb_ars")["name"]
    register = pd.DataFrame({
        "ags": gemeinden["ags"],
        "name": gemeinden["name"],
        "kreis_ags": gemeinden["kreis_ags"],
        "kreis_name": gemeinden["kreis_ags"].map(kreise),
        "land_ags": gemeinden["land"],
        "land_name": gemeinden["land"].map(laender),
        "vb_ars": (gemeinden["kreis_ags"] + gemeinden["vb"]).where(gemeinden["vb"] != "", None),
    })
    register["vb_name"] = register["vb_ars"].map(verbaende)
    if header["new_layout"]:
        register["kind"] = gemeinden["textkennzeichen"].map(KIND_BY_TEXTKENNZEICHEN)
    else:  # old layout: only the town-rights flag
        register["kind"] = gemeinden["stadtrechte"].map(lambda x: "Stadt" if x == "x" else "Gemeinde")
    for axis in ("lon", "lat"):
        register[axis] = _numeric(gemeinden[axis]) if axis in gemeinden else float("nan")
    # 0/0 is the register's "no centre" (77 gemeindefreie Gebiete and others in 2009), not a place in the Atlantic
    nowhere = register["lon"].eq(0) & register["lat"].eq(0)
    register.loc[nowhere, ["lon", "lat"]] = float("nan")
    if _packed_sexagesimal(register["lon"], register["lat"]):
        register["lon"], register["lat"] = _decimal_degrees(register["lon"]), _decimal_degrees(register["lat"])
    register["territorial_date"] = pd.Timestamp(header["territorial_date"]).date()
    return register.reset_index(drop=True)
