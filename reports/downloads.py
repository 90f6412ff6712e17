"""'Tabelle herunterladen': every table of a report page as German CSV and as a sheet of the page's .xlsx.

German CSV is what Excel in a German locale opens correctly by double-click: ``;`` as separator,
decimal comma, UTF-8 with BOM (without the BOM Excel reads UTF-8 as Windows-1252: "MÃ¶lln").
AGS and other keys stay text in both formats (a leading zero is never lost).

The files are written beside the page: ``<stem>-<table>.csv`` per table and one ``<stem>.xlsx`` with
one sheet per table (one workbook per page keeps the cost per page at one openpyxl save).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

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


def write_workbook(tables: list[Table], path: Path) -> Path:
    """One sheet per table; text stays text (AGS), numbers stay numbers, missing values are empty cells.

    The normal (not write-only) mode: for sheets of a few dozen rows it is faster, write-only mode
    spends most of its time creating and removing one temporary file per sheet."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in tables:
        sheet = workbook.create_sheet(table.title[:SHEET_NAME_MAX])
        sheet.append(list(table.frame.columns))
        # Python str values are written as text cells by openpyxl: "01053090" keeps its leading zero
        for row in table.frame.astype(object).to_numpy().tolist():
            sheet.append([_plain(value) for value in row])
    workbook.save(path)
    return path


def _plain(value):
    """A cell value openpyxl accepts: None for missing, plain Python numbers and strings."""
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
