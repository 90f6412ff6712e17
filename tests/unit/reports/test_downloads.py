"""The page downloads written from row dicts: CSV bytes as pandas wrote them, typed .xlsx cells."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from reports.downloads import Table, german_csv, write_downloads, write_workbook

# one column per kind a report table has, with the awkward values: missing ones, quotes, separators,
# line breaks, a leading zero, floats that print with an exponent, ints that become floats next to None
ROWS = [
    {"AGS": "01053090", "Gemeinde": 'Mölln; "Stadt"', "Rang": 3, "Rang oder nichts": 7, "Wert": 19566.0,
     "Anteil": 0.1 + 0.2, "klein": 1e-05, "ja": True, "leer": None, "Hinweis": ""},
    {"AGS": "01053091", "Gemeinde": "Zeile\nzwei", "Rang": 12, "Rang oder nichts": None, "Wert": 2,
     "Anteil": float("nan"), "klein": -3.5e20, "ja": False, "leer": None, "Hinweis": None},
]
CASES = {
    "kinds": ROWS,
    "no rows": [],
    "one text column": [{"Quelle": "a"}, {"Quelle": None}],
    "text with a NaN gap": [{"Quelle": "a"}, {"Quelle": float("nan")}, {"Quelle": ""}],
    "floats without a gap": [{"a": 1.0}, {"a": -0.25}, {"a": 1e16}],
    "keys of later rows appended": [{"a": 1}, {"a": 2, "b": "x"}],
    "bools with a gap (pandas path)": [{"a": True}, {"a": None}],
    "dates (pandas path)": [{"a": pd.Timestamp("2024-06-30")}, {"a": None}],
}
# one column per town, one row per figure (the comparison table): text and numbers in one column
TRANSPOSED = [{"Merkmal": "AGS", "Mölln": "01053090"}, {"Merkmal": "Indexwert", "Mölln": 61.25},
              {"Merkmal": "Rang", "Mölln": 3}, {"Merkmal": "Anteil", "Mölln": None}]


@pytest.mark.parametrize("name", list(CASES))
def test_csv_bytes_equal_pandas(tmp_path, name):
    rows = CASES[name]
    expected = tmp_path / "pandas.csv"
    pd.DataFrame(rows).to_csv(expected, sep=";", decimal=",", index=False, encoding="utf-8-sig",
                              date_format="%d.%m.%Y")
    written = german_csv(Table("t", "T", rows), tmp_path / "rows.csv")
    assert written.read_bytes() == expected.read_bytes()


def test_text_and_numbers_in_one_column_get_a_decimal_comma(tmp_path):
    """pandas writes such an object column with a decimal point; a German spreadsheet reads 61.25 as a date."""
    path = german_csv(Table("t", "T", TRANSPOSED), tmp_path / "t.csv")
    assert path.read_text(encoding="utf-8-sig").splitlines() == [
        "Merkmal;Mölln", "AGS;01053090", "Indexwert;61,25", "Rang;3", "Anteil;"]
    frame = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype=str).set_index("Merkmal")
    assert frame.loc["AGS", "Mölln"] == "01053090" and float(frame.loc["Indexwert", "Mölln"].replace(",", ".")) == 61.25


def test_csv_reads_back_german_style(tmp_path):
    path = german_csv(Table("t", "T", ROWS), tmp_path / "t.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype={"AGS": str})
    assert list(frame["AGS"]) == ["01053090", "01053091"]
    assert list(frame["Gemeinde"]) == ['Mölln; "Stadt"', "Zeile\nzwei"]
    assert frame["Wert"].tolist() == [19566.0, 2.0] and frame["klein"].tolist() == [1e-05, -3.5e20]
    assert math.isnan(frame["Rang oder nichts"][1]) and frame["Rang"].tolist() == [3, 12]


def test_workbook_cells_are_typed_and_missing_ones_empty(tmp_path):
    rows = ROWS + [{"AGS": "01053092", "Gemeinde": "x", "Stichtag": dt.datetime(2024, 6, 30, 12, 0)}]
    path = write_workbook([Table("t", "Ein sehr langer Tabellentitel über 31 Zeichen", rows),
                           Table("leer", "Leer", [])], tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Ein sehr langer Tabellentitel ü", "Leer"]
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == list(dict.fromkeys(k for r in rows for k in r))
    first, second, third = ({h: c for h, c in zip(header, row)} for row in sheet.iter_rows(min_row=2))
    assert first["AGS"].value == "01053090" and first["AGS"].data_type == "s"
    assert first["Rang"].value == 3 and first["Wert"].value == 19566 and first["ja"].value is True
    assert first["Gemeinde"].value == 'Mölln; "Stadt"'
    # None, NaN and "" are all empty cells, never an empty text
    assert first["leer"].value is None and first["Hinweis"].value is None and second["Anteil"].value is None
    assert third["Stichtag"].value == dt.datetime(2024, 6, 30, 12, 0)
    assert book["Leer"].max_row == 1 and book["Leer"]["A1"].value is None


def test_write_downloads_links_each_table_to_its_csv_and_sheet(tmp_path):
    links = write_downloads(tmp_path, "01053090", [Table("indikatoren", "Indikatoren", ROWS)])
    assert links == {"indikatoren": {"csv": "01053090-indikatoren.csv", "xlsx": "01053090.xlsx",
                                     "sheet": "Indikatoren"}}
    assert (tmp_path / "01053090-indikatoren.csv").is_file() and (tmp_path / "01053090.xlsx").is_file()


def test_workbook_by_column_kind_is_the_file_the_cell_by_cell_writer_wrote(tmp_path, monkeypatch):
    """Columns of one kind go straight to XlsxWriter's typed call (reports/downloads.py ``_cell_kind``); the
    same table through ``_write_cell`` for every cell gives the same cells and, with a fixed creation
    time, the same bytes (shared strings in the same order)."""
    from reports import downloads

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764676800")
    rows = [{"text": "a", "gaps": None, "num": 1, "float": 2.5, "flag": True, "date": dt.date(2024, 6, 30),
             "mixed": "x", "np": np.float64(1.5)},
            {"text": "", "gaps": "b", "num": 2, "float": float("nan"), "flag": False, "date": None,
             "mixed": 3, "np": np.int64(7)},
            {"text": "=A1", "gaps": None, "num": None, "float": -1e-07, "flag": None, "date": dt.datetime(2020, 1, 1),
             "mixed": None, "np": None}]
    tables = [Table("t", "T", rows), Table("leer", "Leer", []), Table("u", "U", [{"a": "x", "b": 1.0}] * 3)]
    assert [downloads._cell_kind([r.get(c) for r in rows]) for c in rows[0]] == [
        "text", "text", "number", "number", "bool", "any", "any", "any"]
    by_kind = write_workbook(tables, tmp_path / "kind.xlsx").read_bytes()
    monkeypatch.setattr(downloads, "_cell_kind", lambda values: downloads._ANY)
    by_cell = write_workbook(tables, tmp_path / "cell.xlsx").read_bytes()
    assert by_kind == by_cell
    sheet = openpyxl.load_workbook(tmp_path / "kind.xlsx")["T"]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_col=5)] == [
        ["a", None, 1, 2.5, True], [None, "b", 2, None, False], ["=A1", None, None, -1e-07, None]]
    assert sheet["A4"].data_type == "s"  # a text beginning with "=" stays text
