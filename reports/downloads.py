"""'Tabelle herunterladen': every table of a report page as German CSV and as a sheet of the page's .xlsx.

German CSV is what Excel in a German locale opens correctly by double-click: ``;`` as separator,
decimal comma, UTF-8 with BOM (without the BOM Excel reads UTF-8 as Windows-1252: "MÃ¶lln").
AGS and other keys stay text in both formats (a leading zero is never lost).

The files are written beside the page: ``<stem>-<table>.csv`` per table and one ``<stem>.xlsx`` with
one sheet per table (one workbook per page keeps the cost per page at one save).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter

SHEET_NAME_MAX = 31  # Excel's limit


@dataclass
class Table:
    """One downloadable table: file key (``indikatoren``), sheet title and the frame with German headers."""

    key: str
    title: str
    frame: pd.DataFrame


def german_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as German CSV (``;``, decimal comma, UTF-8 with BOM)."""
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig", date_format="%d.%m.%Y")
    return path


# strings stay strings: a text beginning with "=" or "http" is no formula and no link, "01053090" no number
XLSX_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "remove_timezone": True}


def write_workbook(tables: list[Table], path: Path) -> Path:
    """One sheet per table; text stays text (AGS), numbers stay numbers, missing values are empty cells.

    Written with XlsxWriter (in memory: no temporary file per sheet): saving the page's workbook with
    openpyxl took ~0.4 s, most of a page's build time on the full data."""
    book = xlsxwriter.Workbook(str(path), XLSX_OPTIONS)
    try:
        date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})  # openpyxl's default for times
        for table in tables:
            sheet = book.add_worksheet(table.title[:SHEET_NAME_MAX])
            for column, header in enumerate(table.frame.columns):
                sheet.write_string(0, column, str(header))
            for number, row in enumerate(table.frame.astype(object).to_numpy().tolist(), start=1):
                for column, value in enumerate(row):
                    _write_cell(sheet, number, column, _plain(value), date_format)
    finally:
        book.close()
    return path


def _write_cell(sheet, row: int, column: int, value, date_format) -> None:
    """A typed cell: nothing for missing, dates and times as Excel dates, else by type (str, bool, number)."""
    if value is None:
        return
    if isinstance(value, (dt.datetime, dt.date)):
        sheet.write_datetime(row, column, value, date_format)
    else:
        sheet.write(row, column, value)


def _plain(value):
    """A plain cell value: None for missing, Python numbers and strings instead of numpy scalars."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def write_downloads(out_dir: Path, stem: str, tables: list[Table]) -> dict[str, dict]:
    """Write every table as CSV and all of them as one workbook; returns the links per table key."""
    out_dir = Path(out_dir)
    links = {}
    for table in tables:
        csv = german_csv(table.frame, out_dir / f"{stem}-{table.key}.csv")
        links[table.key] = {"csv": csv.name, "xlsx": f"{stem}.xlsx", "sheet": table.title[:SHEET_NAME_MAX]}
    if tables:
        write_workbook(tables, out_dir / f"{stem}.xlsx")
    return links
