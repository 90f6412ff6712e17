"""Destatis lists of territorial changes (``Gebietsaenderungen_YYYY.xlsx``, Gemeindeverzeichnis).

Sheet ``Gebietsaenderungen``: a title row ("Gebietsänderungen vom 01.01. - 31.12.2024"),
two header rows (giving Gemeinde: ARS, AGS, Name, Änderungsart, Fläche qm, Einwohner;
receiving Gemeinde: ARS, AGS, Name; Wirksamkeitsdatum juristisch, statistisch), then one
row per Regionaleinheit (Gemeinde or Gemeindeverband) and change, and footnotes.
Änderungsart: 1 Auflösung (the giving Gemeinde is dissolved into the receiving one),
2 Teilausgliederung (part of its territory moves), 3 Schlüsseländerung, 4 Namensänderung.
Columns are found by their header labels, so a changed layout fails with the file's name.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.contracts import clean_cell, parse_number
from sources.errors import SourceError
from sources.registry import Release

KINDS = {"1": "dissolution", "2": "partial_transfer", "3": "recode", "4": "rename"}
CHANGE_COLUMNS = ["change_id", "from_ags", "from_name", "to_ags", "to_name", "kind", "area_km2", "population",
                  "legal_date", "effective_date"]
UNITS = {"Gemeinde", "Gemeindeverband"}  # Regionaleinheit of a change row; the Verband rows are not read
PERIOD = re.compile(r"vom\s+(\d{1,2})\.(\d{1,2})\.(\d{4})?\s*-\s*(\d{1,2})\.(\d{1,2})\.(\d{4})")
DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# (group label in the upper header row, sub-header label, field); the group tells giving from receiving
FIELDS = [("Abgebende", "(AGS)", "from_ags"), ("Abgebende", "Name", "from_name"),
          ("Abgebende", "Änderungsart", "kind"), ("Abgebende", "Fläche qm", "area_km2"),
          ("Abgebende", "Einwohner", "population"), ("Aufnehmende", "(AGS)", "to_ags"),
          ("Aufnehmende", "Name", "to_name"), ("Wirksamkeitsdatum", "juristisch", "legal_date"),
          ("Wirksamkeitsdatum", "statistisch", "effective_date")]


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Parse one change list.

    Returns ``changes`` (one row per Gemeinde and change that moves territory or a key:
    from_ags, from_name, to_ags, to_name, kind 'dissolution' | 'partial_transfer' | 'recode',
    area_km2 and population moved, legal_date, effective_date = statistical effect) and
    ``coverage`` (file, period_start, period_end: the period the list is complete for).
    Name changes and the rows stating what a Gemeinde keeps (giving = receiving key) are
    left out; they change neither territory nor key.
    """
    workbook_file = release.file("workbook")
    name = workbook_file.relative_path
    rows = _sheet_rows(workbook_file.path, release.source_id, name)
    header_row, columns = _locate_header(rows, release.source_id, name)
    start, end = _period(rows[:header_row], release.source_id, name)
    changes = _changes(rows[header_row + 2:], columns, release.source_id, name)
    coverage = pd.DataFrame({"file": [name], "period_start": [start], "period_end": [end]})
    return {"changes": changes, "coverage": coverage}


def _sheet_rows(path, source_id: str, name: str) -> list[list]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for non-workbooks
        raise SourceError(source_id, name, f"not a readable Excel workbook ({exc})") from exc
    for sheet_name in workbook.sheet_names:
        if sheet_name.replace("ä", "ae").lower().startswith("gebietsaenderungen"):
            try:
                return workbook.get_sheet_by_name(sheet_name).to_python()
            except Exception as exc:  # calamine's errors for a corrupt sheet (bad XML or deflate stream)
                raise SourceError(source_id, name, f"not a readable Excel workbook: sheet {sheet_name!r} ({exc})") from exc
    raise SourceError(source_id, name, f"no sheet 'Gebietsaenderungen' among {workbook.sheet_names}")


def _label(value) -> str:
    """Header text without soft hyphens and line breaks ('Änderungs-art 1)' -> 'Änderungsart 1)')."""
    return re.sub(r"-\s*|\s+", lambda m: "" if m.group().startswith("-") else " ", clean_cell(value))


def _locate_header(rows: list[list], source_id: str, name: str) -> tuple[int, dict[str, int]]:
    """The upper header row (starting 'Kennziffer') and the column of every field."""
    for i, row in enumerate(rows[:20]):
        if clean_cell(row[0]) == "Kennziffer" and i + 1 < len(rows):
            break
    else:
        raise SourceError(source_id, name, "header row starting with 'Kennziffer' not found in the first 20 rows "
                                           "of sheet 'Gebietsaenderungen': layout not recognised")
    groups, current = [], ""
    for cell in rows[i]:  # a group label spans the columns up to the next label
        current = _label(cell) or current
        groups.append(current)
    sub = [_label(c) for c in rows[i + 1]]
    columns = {"change_id": 0, "unit": 1}
    for group, label, field in FIELDS:
        hits = [j for j, text in enumerate(sub) if label in text and j < len(groups) and groups[j].startswith(group)]
        if len(hits) != 1:
            raise SourceError(source_id, name, f"column '{label}' under '{group}' not found once in the header "
                                               f"(found {len(hits)}): layout not recognised")
        columns[field] = hits[0]
    if _label(rows[i][1]) != "Regionaleinheit":
        raise SourceError(source_id, name, "second column is not 'Regionaleinheit': layout not recognised")
    return i, columns


def _period(title_rows: list[list], source_id: str, name: str) -> tuple[dt.date, dt.date]:
    """The period from the title 'Gebietsänderungen vom 01.01. - 31.12.2024' (start year = end year if left out)."""
    for row in title_rows:
        match = PERIOD.search(" ".join(clean_cell(c) for c in row))
        if match:
            d1, m1, y1, d2, m2, y2 = match.groups()
            return dt.date(int(y1 or y2), int(m1), int(d1)), dt.date(int(y2), int(m2), int(d2))
    raise SourceError(source_id, name, "no title 'Gebietsänderungen vom dd.mm. - dd.mm.yyyy' above the header")


def _changes(body: list[list], columns: dict[str, int], source_id: str, name: str) -> pd.DataFrame:
    records = [[r[columns[f]] if columns[f] < len(r) else None for f in ["unit", *CHANGE_COLUMNS]]
               for r in body if len(r) >= 2]
    table = pd.DataFrame(records, columns=["unit", *CHANGE_COLUMNS])
    units = table["unit"].map(clean_cell)
    keyed = (table["from_ags"].map(clean_cell).str.fullmatch(r"\d{8}")
             | table["to_ags"].map(clean_cell).str.fullmatch(r"\d{8}"))
    # a label other than these (or none on a row with keys) is a layout this parser does not know: skipping its
    # rows dropped real dissolutions and transfers without a word (the crosswalk then inferred them, or not)
    unknown = table[~units.isin(UNITS) & ((units != "") | keyed)]
    if len(unknown):
        row = unknown.iloc[0]
        raise SourceError(source_id, name, f"Regionaleinheit {clean_cell(row['unit'])!r} (Kennziffer "
                                           f"{clean_cell(row['change_id'])!r}, AGS {clean_cell(row['from_ags'])!r}) "
                                           f"is none of {sorted(UNITS)}: {len(unknown)} such rows")
    table["change_id"] = _change_ids(table, units, source_id, name)
    table = table[units == "Gemeinde"].drop(columns="unit")
    if table.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    for column in ("change_id", "from_ags", "from_name", "to_ags", "to_name", "kind"):
        table[column] = table[column].map(clean_cell)
    unknown = sorted(set(table["kind"]) - set(KINDS))
    if unknown:
        raise SourceError(source_id, name, f"unknown Änderungsart {unknown} (expected 1-4)")
    bad_keys = table.loc[~table["from_ags"].str.fullmatch(r"\d{8}") | ~table["to_ags"].str.fullmatch(r"\d{8}"),
                         "change_id"]
    if len(bad_keys):
        raise SourceError(source_id, name, f"Gemeinde rows without 8-digit AGS (Kennziffer {bad_keys.iloc[0]})")
    table["kind"] = table["kind"].map(KINDS)
    # German notation read explicitly ("62.432.560" m² is not 62.4): parse_number refuses what it cannot read
    table["area_km2"] = _numbers(table, "area_km2", source_id, name) / 1e6  # published in m²
    table["population"] = _numbers(table, "population", source_id, name).astype("Int64")
    for column in ("legal_date", "effective_date"):
        table[column] = table[column].map(lambda v: _date(v, source_id, name))
    moves = (table["kind"] != "rename") & (table["from_ags"] != table["to_ags"])
    return table[moves].reset_index(drop=True)[CHANGE_COLUMNS]


def _change_ids(table: pd.DataFrame, units: pd.Series, source_id: str, name: str) -> pd.Series:
    """Each change row's Kennziffer; a blank one continues the Kennziffer of the row above.

    A change spans several rows (the Verband, each Gemeinde, what a Gemeinde keeps). Written with
    merged cells, the Kennziffer stands only on its first row and calamine reads the others blank:
    those rows lost their change_id, and the crosswalk's evidence then cited no Kennziffer.
    """
    ids = table["change_id"].map(clean_cell)
    change_rows = units.isin(UNITS)
    blank = change_rows & (ids == "")
    if not blank.any():
        return ids
    filled = ids.where(change_rows & (ids != "")).ffill()
    orphan = blank & filled.isna()
    if orphan.any():
        first = table.loc[orphan.idxmax()]
        raise SourceError(source_id, name, f"the first change row (AGS {clean_cell(first['from_ags'])!r}) has no "
                                           "Kennziffer, and no row above it has one to continue")
    return filled.where(change_rows, ids)


def _date(value, source_id: str, name: str) -> dt.date:
    """A Wirksamkeitsdatum: a real date cell or text 'dd.mm.yyyy' (some lists write 'd.m.yyyy')."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = DATE.fullmatch(clean_cell(value))
    if not match:
        raise SourceError(source_id, name, f"Wirksamkeitsdatum {value!r} is not a date (dd.mm.yyyy)")
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:  # 31.02.2024: say which file and value, not just "day is out of range"
        raise SourceError(source_id, name, f"Wirksamkeitsdatum {value!r} is not a valid date ({exc})") from None


def _numbers(table: pd.DataFrame, column: str, source_id: str, name: str) -> pd.Series:
    """A numeric column in German notation; a value that is no number fails with its change id."""
    def number(change_id, value):
        try:
            return parse_number(clean_cell(value) if not isinstance(value, (int, float)) else value)
        except ValueError as exc:
            raise SourceError(source_id, name, f"Kennziffer {change_id} column {column}: {exc}") from None

    return pd.Series([number(c, v) for c, v in zip(table["change_id"], table[column])], index=table.index,
                     dtype=float)
