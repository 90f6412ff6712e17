"""Gigabit-Grundbuch fixed-network workbooks ``bba_MM_YYYY.xlsx`` (half-yearly from 06/2022).

One sheet per use case; ``Privathaushalte`` gives the % of private households reaching
>= N Mbit/s per technology. Free cells ("Datenstand 12.2025", "Angaben in %", "Zurück") sit
above a header row holding ``AGS``; technology block names sit in merged cells above the
bandwidth classes (the value is in the first cell only) and are forward-filled. The header
spellings are not confirmed by the publisher, so everything is found by label, not position.
Markers (*, -, .) become NaN with the reason in the note; empty cells (nothing published) give no row.

The helpers in the first half (workbook opening, publisher markers, region keys, dates,
``read_blocked_sheet``) are shared with ``sources.mobilfunk`` and ``sources.ba_commuting``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.registry import Release, ReleaseFile

# Publisher markers are missing values with a reason, never zeros.
MARKERS = {
    "*": "suppressed by publisher ('*': data protection)",
    "-": "no value reported by publisher ('-')",
    ".": "unknown or secret (publisher marker '.')",
}
MARKER_ALIASES = {"–": "-"}  # an en dash typed for the hyphen
THOUSANDS = re.compile(r"-?\d{1,3}(\.\d{3})+")  # 4.182 or 1.234.567: German thousands points in a count
GEOGRAPHY = frozenset({"AGS", "Name", "Verwaltungsebene", "Land", "Kreis", "Raumkategorie"})
MONTHS = {m: i for i, m in enumerate(["januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                      "september", "oktober", "november", "dezember"], 1)}
LEVELS = {2: "land", 3: "regierungsbezirk", 5: "kreis", 8: "gemeinde", 9: "gemeindeverband"}


def open_workbook(source_id: str, release_file: ReleaseFile) -> CalamineWorkbook:
    """Open xlsx/xlsb/xls; an HTML error or maintenance page saved under the name is named as such."""
    with release_file.path.open("rb") as handle:
        head = handle.read(48)
    if not head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # zip (xlsx, xlsb) or OLE (xls)
        raise SourceError(source_id, release_file.relative_path,
                          f"not an Excel workbook (starts with {head.decode('latin-1')[:40]!r}; "
                          "probably an HTML error or maintenance page saved under the workbook's name)")
    try:
        return CalamineWorkbook.from_path(str(release_file.path))
    except (CalamineError, ValueError) as exc:
        raise SourceError(source_id, release_file.relative_path, f"not an Excel workbook ({exc})") from exc


def sheet_rows(source_id: str, release_file: ReleaseFile, workbook: CalamineWorkbook, sheet: str) -> list[list]:
    if sheet not in workbook.sheet_names:
        raise SourceError(source_id, release_file.relative_path,
                          f"no sheet {sheet!r} (sheets: {', '.join(workbook.sheet_names)})")
    try:
        return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise SourceError(source_id, release_file.relative_path, f"sheet {sheet!r} cannot be read ({exc})") from exc


def text(cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return "" if cell is None else str(cell).strip()


def cell_value(cell, counts: bool = False) -> tuple[float, str] | None:
    """(value, note) of one cell: None when empty, NaN with a note for a marker; ValueError for other text.

    Strings may use comma decimals ("96,08 %"); with ``counts`` a dot groups thousands ("290.700").
    """
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return (float(cell), "") if not math.isnan(cell) else None
    value = text(cell).removesuffix("%").strip()
    if not value:
        return None
    if (symbol := _symbol(value)) is not None:
        return math.nan, MARKERS[symbol]
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    elif counts and THOUSANDS.fullmatch(value):
        value = value.replace(".", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise ValueError(value)
    return float(value), ""


def marker(cell) -> str | None:
    """The publisher marker of a cell (a key of ``MARKERS``), None for a number, text or an empty cell."""
    return _symbol(text(cell).removesuffix("%").strip()) if isinstance(cell, str) else None


def _symbol(value: str) -> str | None:
    """The key of ``MARKERS`` a cleaned cell text is (an alias counts), else None."""
    value = MARKER_ALIASES.get(value, value)
    return value if value in MARKERS else None


def region_key(cell, name: str = "") -> tuple[str, str] | None:
    """(ags, level) of a key cell; None for anything that is not a region key (footnotes, blanks).

    Numeric cells lose leading zeros, so 11/7/4/1 digits are padded to 12/8/5/2 (an ARS of Länder 01-09 stored as a
    number has 11: it was dropped as no key). A leading key followed by a name ("08111000 Stuttgart") is accepted;
    12-digit ARS become the 8-digit AGS.
    """
    key = text(cell)
    if key.upper() in {"DG", "DE", "D", "0", "00", "DEUTSCHLAND"} or (not key and name.lower() == "deutschland"):
        return "DG", "bund"
    match = re.fullmatch(r"(\d+)(?:\s+\D.*)?", key)
    if not match:
        return None
    key = match[1].zfill({11: 12, 7: 8, 4: 5, 1: 2}.get(len(match[1]), 0))
    if len(key) == 12:
        return key[:5] + key[9:], "gemeinde"
    return (key, LEVELS[len(key)]) if len(key) in LEVELS else None


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse_date(value) -> dt.date | None:
    """The first date in a title cell, by position: 30.06.2024, 2024-06-30, 30. Juni 2024; 12.2025 and Juni 2024
    mean the month end. "Stichtag 30. Juni 2024 (erstellt am 15.01.2025)" is 30 June 2024: trying the forms in a
    fixed order took the creation date. None when the first date is no valid date (31.02.2024)."""
    line = str(value).lower()
    found = [(m.start(), index, m) for index, pattern in enumerate(DATE_FORMS) if (m := pattern.search(line))]
    if not found:
        return None
    _, index, m = min(found, key=lambda f: (f[0], f[1]))  # at one position the fuller form (listed first) wins
    try:
        if index == 0:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if index == 1:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if index == 2:
            year, month = int(m[3]), MONTHS[m[2]]
            return dt.date(year, month, int(m[1])) if m[1] else month_end(year, month)
        return month_end(int(m[2]), int(m[1]))
    except ValueError:  # 31.02. or month 13: not a date
        return None


DATE_FORMS = [re.compile(r"(\d{4})-(\d{2})-(\d{2})"), re.compile(r"(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})"),
              re.compile(r"(?:(\d{1,2})\.\s*)?(" + "|".join(MONTHS) + r")\s+(\d{4})"),
              re.compile(r"\b(\d{1,2})[./](\d{4})\b")]


def date_from_vintage(source_id: str, vintage: str, month: int = 12) -> dt.date:
    """'2025-12' -> month end; '2021-1'/'2021-2' (halves) -> 30 June/31 Dec; '2024' -> end of ``month``."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})|-([12]))?", vintage)
    if not match:
        raise SourceError(source_id, f"vintage {vintage}", "no reference date in the file and the vintage is "
                                                          "not 'YYYY', 'YYYY-MM' or 'YYYY-1'/'YYYY-2'")
    year = int(match[1])
    return month_end(year, int(match[2]) if match[2] else 6 if match[3] == "1" else 12 if match[3] else month)


@dataclass
class BlockedSheet:
    """A sheet whose header row holds ``AGS`` and whose value columns sit under merged block labels."""

    name: str
    above: list[list]  # rows above the header: Datenstand, titles
    geography: dict[str, int]  # geography header -> column
    columns: dict[int, tuple[list[str], str]]  # value column -> (block labels, nearest row first; header)
    rows: list[list]  # rows below the header
    first_row: int  # Excel row number of rows[0], for messages


def read_blocked_sheet(source_id: str, release_file: ReleaseFile, workbook: CalamineWorkbook, sheet: str,
                       geography=GEOGRAPHY, max_rows: int = 12) -> BlockedSheet:
    rows = sheet_rows(source_id, release_file, workbook, sheet)
    header_at = next((i for i, row in enumerate(rows[:max_rows]) if any(text(c) == "AGS" for c in row)), None)
    if header_at is None:
        raise SourceError(source_id, release_file.relative_path,
                          f"no header row with a cell 'AGS' in the first {max_rows} rows of sheet {sheet!r}")
    header = [text(c) for c in rows[header_at]]
    value_columns = [j for j, h in enumerate(header) if h and h not in geography]
    labels: dict[int, list[str]] = {j: [] for j in value_columns}
    first = min(value_columns, default=len(header))
    for row in reversed(rows[max(0, header_at - 3):header_at]):  # block rows directly above the header
        if not any(text(c) for c in row[first:]):
            break
        current = ""
        for j in range(first, len(header)):
            current = text(row[j]) or current  # merged cell: label in its first cell only
            if j in labels and current:
                labels[j].append(current)
    return BlockedSheet(sheet, rows[:header_at], {h: j for j, h in enumerate(header) if h in geography},
                        {j: (labels[j], header[j]) for j in value_columns}, rows[header_at + 1:], header_at + 2)


def block_slug(labels: list[str], known: dict[str, str]) -> str | None:
    """First block label (nearest the header first) that ``known`` maps; compared without case and spaces."""
    return next((known[k] for k in (re.sub(r"[\s*¹²³]", "", label.lower()) for label in labels) if k in known), None)


# --- bba_MM_YYYY.xlsx -----------------------------------------------------------------------

SHEET = "Privathaushalte"
TECHNOLOGY = {  # block label, lower case without spaces -> measure part (names as in sources.breitbandatlas)
    "alletechnologien": "all", "fttb/h": "ftthb", "ftth/b": "ftthb", "ftth/fttb": "ftthb", "fttb/ftth": "ftthb",
    "ftth": "ftth", "fttb": "fttb", "hfc": "catv", "catv": "catv", "dsl": "dsl", "vdsl": "dsl", "fttc": "fttc",
    "sonstige": "other", "sonstigetechnologien": "other", "leitungsgebundenetechnologien": "wired",
    "mobiletechnologien": "mobile",
}
BANDWIDTH = re.compile(r"(?:≥|>=|>|ab)?\s*(\d+(?:[.,]\d+)?)\s*([MG])bit/s", re.IGNORECASE)


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """% of private households per technology and bandwidth class, every region level of the workbook."""
    frames = [_parse_workbook(release, f) for f in release.files]
    return {"observations": pd.concat(frames, ignore_index=True)}


def _parse_workbook(release: Release, release_file: ReleaseFile) -> pd.DataFrame:
    source_id, name = release.source_id, release_file.relative_path
    sheet = read_blocked_sheet(source_id, release_file, open_workbook(source_id, release_file), SHEET)
    measures = {}
    for j, (labels, header) in sheet.columns.items():
        speed = BANDWIDTH.fullmatch(" ".join(re.sub(r"[¹²³*]", "", header).split()))  # footnote signs
        if not speed:
            raise SourceError(source_id, name, f"unknown column {header!r} in sheet {SHEET!r} (expected geography "
                                               f"columns {sorted(GEOGRAPHY)} or classes like '≥ 16 Mbit/s')")
        mbit = float(speed[1].replace(",", ".")) * (1000 if speed[2].upper() == "G" else 1)
        measures[j] = (block_slug(labels, TECHNOLOGY), f"{mbit:g}", labels[0] if labels else "(no block label)")
    unknown = sorted({label for slug, _, label in measures.values() if slug is None})
    if unknown:
        found = sorted({label for _, _, label in measures.values()})
        raise SourceError(source_id, name, f"unknown technology block(s) {unknown} in sheet {SHEET!r} "
                                           f"(blocks found: {found}; known: Alle Technologien, FTTB/H, FTTH, FTTB, "
                                           "HFC/CATV, DSL/VDSL, FTTC, Sonstige)")
    ags_column, name_column = sheet.geography["AGS"], sheet.geography.get("Name")
    records = []
    for number, row in enumerate(sheet.rows, start=sheet.first_row):
        region = region_key(row[ags_column], text(row[name_column]) if name_column is not None else "")
        if region is None or region[1] == "regierungsbezirk":
            if region is None and any(text(row[j]) for j in measures):
                raise SourceError(source_id, name, f"sheet {SHEET!r} row {number}: {text(row[ags_column])!r} in "
                                                   "column AGS is not a region key but the row has values")
            continue  # blank row, footnote or an aggregate without an AGS level
        for j, (slug, speed, _) in measures.items():
            try:
                parsed = cell_value(row[j])
            except ValueError:
                raise SourceError(source_id, name, f"sheet {SHEET!r} row {number}, column {sheet.columns[j][1]!r}: "
                                                   f"{text(row[j])!r} is neither a number nor a marker (*, -, .)")
            if parsed is not None:  # empty cell: nothing published, no row
                records.append((*region, f"households_{slug}_{speed}", *parsed))
    observations = pd.DataFrame(records, columns=["ags", "level", "measure", "value", "note"])
    named = date_from_vintage(source_id, release.vintage)
    stated = _datenstand(sheet.above)
    if stated is not None and (stated.year, stated.month) != (named.year, named.month):
        # a workbook re-uploaded under the next release's name passed as that release, its figures six months old
        raise SourceError(source_id, release_file.relative_path,
                          f"Datenstand {stated:%m.%Y} above the header, but the file name says {named:%m/%Y}: "
                          "another release under this name?")
    return observations.assign(reference_date=stated or named, unit="% of households")[OBSERVATION_COLUMNS]


def _datenstand(above: list[list]) -> dt.date | None:
    """'Datenstand 12.2025' (or a date in the cell after it) above the header."""
    for row in above:
        line = " ".join(text(c) for c in row if text(c))
        if "datenstand" in line.lower():
            return parse_date(line[line.lower().index("datenstand") + len("datenstand"):])
    return None
