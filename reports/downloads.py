"""'Tabelle herunterladen': every table of a report page as German CSV and as a sheet of the page's .xlsx.

German CSV is what Excel in a German locale opens correctly by double-click: ``;`` as separator,
decimal comma, UTF-8 with BOM (without the BOM Excel reads UTF-8 as Windows-1252: "MÃ¶lln").
AGS and other keys are written as text in both formats; Excel opening the CSV by double-click still reads them
as numbers (01053090 becomes 1053090), so the CSV link says to take the .xlsx, whose cells are text.

The files are written beside the page: ``<stem>-<table>.csv`` per table and one ``<stem>.xlsx`` with
one sheet per table (one workbook per page keeps the cost per page at one save; a page links each
table to its sheet by name).

Both are written straight from the row dicts the page context already holds, without a DataFrame
per table: building 9 frames and writing them with pandas cost ~150 ms of a page's ~220 ms. The CSV
bytes are the ones ``DataFrame.to_csv`` wrote before (same column types, see ``_column_kind``); a
table with a column of any other kind is still written by pandas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from indicators.bands import SIGNIFICANT_DIGITS
from reports import xlsx
from warehouse.exports import FORMULA_START, defused

SHEET_NAME_MAX = 31  # Excel's limit
DATE_FORMAT = "%d.%m.%Y"
# Floats with at most 12 significant digits: a restated share stored as 58.949999999999996 was downloaded as
# "58,949999999999996" (audit of 2026-12-03); no figure a page shows has more than 12 (coordinates have 8).
FLOAT_FORMAT = f"%.{SIGNIFICANT_DIGITS}g"


class Shown(float):
    """A number the downloads write with exactly ``digits`` decimals, as the page shows it: a score 60,0 (not 60), a
    pillar 57,0, a car time 38,10 minutes (the planner exports' CSV write them so; planner walkthrough of 7 December
    2026). To the workbook and to arithmetic it is the float it holds."""

    __slots__ = ("digits",)

    def __new__(cls, value: float, digits: int):
        number = super().__new__(cls, value)
        number.digits = digits
        return number

    def __reduce__(self):  # a table built in a page process pickles as it is
        return Shown, (float(self), self.digits)


def shown(value, digits: int | None):
    """``value`` (already rounded to ``digits``) as a ``Shown`` number; None for a missing one, the value itself
    where its decimals are not known."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if digits is None else Shown(value + 0.0, digits)  # + 0.0: no "-0,0000" for a value shown as 0


def _float_text(value: float) -> str:
    """A float's CSV text with a decimal comma: a ``Shown`` with its digits, any other with FLOAT_FORMAT."""
    text = f"{value:.{value.digits}f}" if type(value) is Shown else FLOAT_FORMAT % value
    return text.replace(".", ",", 1)


@dataclass
class Table:
    """One downloadable table: file key (``indikatoren``), sheet title and its rows (dicts with German
    headers as keys; the columns are the keys in order of first appearance, as a DataFrame would have)."""

    key: str
    title: str
    rows: list[dict]
    # the CSV bytes once formatted: a table shared by many pages (Datenstand) is formatted once per run
    _csv: bytes | None = field(default=None, init=False, repr=False, compare=False)
    # headers and cells column by column, read from the rows once for both the CSV and the sheet
    _columns: tuple[list[str], list[list]] | None = field(default=None, init=False, repr=False, compare=False)

    def columns(self) -> list[str]:
        """The column headers in order of first appearance (DataFrame's order for a list of dicts)."""
        return self._by_column()[0]

    def values(self) -> list[list]:
        """The cells column by column, in ``columns()`` order (None where a row lacks the key)."""
        return self._by_column()[1]

    def _by_column(self) -> tuple[list[str], list[list]]:
        if self._columns is None:
            columns = list(dict.fromkeys(key for row in self.rows for key in row))
            self._columns = (columns, [[row.get(c) for row in self.rows] for c in columns])
        return self._columns

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (the pandas path for columns ``_column_kind`` does not cover)."""
        return pd.DataFrame(self.rows)


def _missing(value) -> bool:
    """None or a float NaN: an empty cell (what pandas writes as its na_rep "")."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _column_kind(values: list) -> str | None:
    """The dtype pandas infers for a column of a list of dicts, for the kinds a report table has:
    "empty" (only missing), "text" (strings and missing: object), "int" (ints, none missing: int64),
    "float" (numbers with a float or a missing one: float64), "bool" (booleans, none missing).
    None for anything else (dates, mixed types): that table goes through pandas."""
    # ``_missing`` spelled out: a call per cell was a sixth of the CSV time
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    types = {float if t is Shown else t for t in {type(v) for v in present}}
    if not present:
        return "empty"
    if types == {str}:
        return "text"
    if types == {bool}:
        return "bool" if len(present) == len(values) else None
    if types <= {int, float}:  # bool is no subclass match here: type(True) is bool, not int
        return "int" if types == {int} and len(present) == len(values) else "float"
    if types <= {str, int, float}:  # a transposed table (the comparison): each cell by its own type,
        return "mixed"               # floats with a decimal comma (pandas would write a decimal point)
    return None


def _csv_cell(value, kind: str) -> str:
    """A cell as pandas' to_csv writes it with ``decimal=","`` and ``float_format=FLOAT_FORMAT``."""
    if _missing(value):
        return ""
    if kind == "float" or (kind == "mixed" and type(value) in (float, Shown)):
        return _float_text(value)
    return defused(value) if isinstance(value, str) else str(value)


def _csv_column(values: list, kind: str) -> list[str]:
    """``_csv_cell`` of every value of a column of ``kind``: the same texts, with the kind's test once."""
    if kind == "text":  # strings and missing values; a formula-like text defused (warehouse.exports.FORMULA_START)
        return ["" if v is None or (isinstance(v, float) and v != v) else "'" + v if v.startswith(FORMULA_START)
                else v for v in values]  # _missing and defused inline
    if kind in ("int", "bool"):  # none missing (``_column_kind``)
        return [str(v) for v in values]
    if kind == "float":
        return ["" if v is None or (isinstance(v, float) and v != v) else _float_text(v) for v in values]
    return [_csv_cell(v, kind) for v in values]  # "empty", "mixed": cell by cell


def german_csv(table: Table, path: Path) -> Path:
    """Write ``table`` as German CSV (``;``, decimal comma, UTF-8 with BOM), byte for byte as
    ``DataFrame.to_csv(sep=";", decimal=",", index=False, encoding="utf-8-sig", float_format=FLOAT_FORMAT)``
    writes it."""
    data = csv_bytes(table)
    if data is None:  # a column type the plain writer does not reproduce: pandas decides
        frame = table.frame()
        frame = frame.apply(lambda column: column if pd.api.types.is_numeric_dtype(column.dtype)
                            else column.map(lambda v: defused(v) if isinstance(v, str) else v))
        for name, values in zip(table.columns(), table.values()):  # a Shown number keeps its decimals here too
            if any(type(v) is Shown for v in values):
                frame[name] = [_float_text(v) if type(v) is Shown else v for v in values]
        frame.columns = [defused(str(c)) for c in frame.columns]  # a town's name heads the comparison's columns
        frame.to_csv(path, sep=";", decimal=",", index=False, encoding="utf-8-sig", date_format=DATE_FORMAT,
                     float_format=FLOAT_FORMAT)
        return path
    Path(path).write_bytes(data)
    return path


def csv_bytes(table: Table) -> bytes | None:
    """The German CSV of ``table`` as bytes (BOM first), formatted once per Table; None when a column
    is of a kind only pandas writes right (``_column_kind``)."""
    if table._csv is None:
        columns, values = table.columns(), table.values()
        kinds = [_column_kind(column) for column in values]
        if None in kinds:
            return None
        handle = io.StringIO(newline="")  # no newline translation, as the file opened with newline=""
        if not columns:  # what pandas writes for a frame without rows and columns
            handle.write("\n")
        else:
            writer = csv.writer(handle, delimiter=";", lineterminator="\n")  # QUOTE_MINIMAL, '"' doubled: pandas' dialect
            writer.writerow([defused(str(c)) for c in columns])  # a town's name heads the comparison's columns
            # each column with the conversion of its kind (one test per column, not per cell)
            writer.writerows(zip(*(_csv_column(column, kind) for column, kind in zip(values, kinds))))
        table._csv = handle.getvalue().encode("utf-8-sig")
    return table._csv


def build_time() -> dt.datetime:
    """Now (UTC), or the time in SOURCE_DATE_EPOCH when set (reproducible-builds.org): two builds of the
    same data then write the same bytes (the pages' "erstellt" line, the workbooks' creation date)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
        except ValueError as error:
            raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r} is no integer number of seconds") from error
    return dt.datetime.now(dt.timezone.utc)


def write_workbook(tables: list[Table], path: Path) -> Path:
    """One sheet per table; text stays text (AGS), numbers stay numbers, missing values are empty cells.

    Written by reports/xlsx.py (straight from the row dicts): saving the page's workbook with openpyxl took
    ~0.4 s, with XlsxWriter ~6 ms, most of a page's build time on the full data."""
    sheets = [(table.title[:SHEET_NAME_MAX], table.columns(), table.values()) for table in tables]
    return xlsx.write(path, sheets, build_time())


def write_downloads(out_dir: Path, stem: str, tables: list[Table]) -> dict[str, dict]:
    """Write every table with rows as CSV and all of them as one workbook; returns the links per table key.

    A table without rows gets no file and no sheet (and loses the file of an earlier build): it has no columns
    either, so its CSV was a BOM and a line break and its sheet blank (the coworking table offline), shipped
    beside the page unlinked. The page shows such a section's note instead and links no download."""
    out_dir = Path(out_dir)
    links = {}
    for table in tables:
        target = out_dir / f"{stem}-{table.key}.csv"
        if not table.rows:
            target.unlink(missing_ok=True)
            continue
        csv_path = german_csv(table, target)
        links[table.key] = {"csv": csv_path.name, "xlsx": f"{stem}.xlsx", "sheet": table.title[:SHEET_NAME_MAX]}
    if links:
        write_workbook([table for table in tables if table.rows], out_dir / f"{stem}.xlsx")
    else:
        (out_dir / f"{stem}.xlsx").unlink(missing_ok=True)
    return links
