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
                              date_format="%d.%m.%Y", float_format="%.12g")
    written = german_csv(Table("t", "T", rows), tmp_path / "rows.csv")
    assert written.read_bytes() == expected.read_bytes()


def test_float_noise_is_not_downloaded(tmp_path):
    """A restated share stored as 58.949999999999996 was downloaded as '58,949999999999996'."""
    path = german_csv(Table("t", "T", [{"Wert": 58.949999999999996}, {"Wert": 1.3900000000000001},
                                       {"Wert": 19566.0}, {"Wert": 53.627531}]), tmp_path / "t.csv")
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["Wert", "58,95", "1,39", "19566", "53,627531"]


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


def test_a_table_without_rows_gets_no_file_and_no_sheet(tmp_path):
    """Offline the coworking table is empty: its CSV was a BOM and a line break, its sheet blank, both shipped."""
    import openpyxl

    (tmp_path / "01053090-coworking.csv").write_bytes(b"\xef\xbb\xbf\n")  # an earlier build's
    links = write_downloads(tmp_path, "01053090", [Table("indikatoren", "Indikatoren", ROWS),
                                                   Table("coworking", "Coworking", [])])
    assert list(links) == ["indikatoren"] and not (tmp_path / "01053090-coworking.csv").exists()
    assert openpyxl.load_workbook(tmp_path / "01053090.xlsx").sheetnames == ["Indikatoren"]
    assert write_downloads(tmp_path, "rangliste", [Table("rangliste", "Coworking-Lücke", [])]) == {}
    assert not list(tmp_path.glob("rangliste*"))


def _xlsxwriter_book(tables: list[Table], path) -> None:
    """The tables as XlsxWriter wrote the downloads until 2026-12-02 (``write`` per cell, dates with
    openpyxl's time format): the reference the small writer of reports/xlsx.py is read against."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False, "remove_timezone": True})
    date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for table in tables:
        sheet = book.add_worksheet(table.title[:31])
        for column, header in enumerate(table.columns()):
            sheet.write_string(0, column, header)
            for number, row in enumerate(table.rows, start=1):
                value = row.get(header)
                if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                    continue
                if isinstance(value, (dt.date, dt.datetime)):
                    sheet.write_datetime(number, column, value, date_format)
                else:
                    sheet.write(number, column, value.item() if hasattr(value, "item") else value)
    book.close()


def _cells(path) -> dict:
    """Every sheet's cells as openpyxl reads them: value, type and number format."""
    book = openpyxl.load_workbook(path)
    return {name: [[(c.value, c.data_type, c.number_format) for c in row] for row in book[name].iter_rows()]
            for name in book.sheetnames}


def test_workbook_cells_are_the_ones_xlsxwriter_wrote(tmp_path):
    """Texts (XML and control characters, blanks at the ends, "=A1", a leading zero), numbers (16 digits,
    ints, NaN), booleans, dates and numpy scalars read back as from XlsxWriter's file of the same tables,
    in sheets of the same names and order; the file is a valid zip (``zipfile.testzip``)."""
    import zipfile

    rows = [{"text": "a & <b>", "gaps": None, "num": 1, "float": 2.5, "flag": True, "date": dt.date(2024, 6, 30),
             "mixed": "x", "np": np.float64(1.5)},
            {"text": "", "gaps": " b\t", "num": 2, "float": float("nan"), "flag": False, "date": None,
             "mixed": 3, "np": np.int64(7)},
            {"text": "=A1", "gaps": "ctrl\x01", "num": None, "float": 0.1 + 0.2, "flag": None,
             "date": dt.datetime(2020, 1, 1, 12, 30), "mixed": None, "np": None},
            {"text": "01053090", "gaps": "Zeile\nzwei", "num": 12345678901234567, "float": -1e-07, "flag": None,
             "date": dt.date(1900, 1, 1), "mixed": 2.25, "np": np.bool_(True)}]
    tables = [Table("t", "T & <Tabelle>", rows), Table("k", "Ein sehr langer Tabellentitel über 31 Zeichen", ROWS),
              Table("leer", "Leer", []), Table("u", "U", [{"a": "x", "b": 1.0}] * 3), Table("v", "V", TRANSPOSED)]
    ours = write_workbook(tables, tmp_path / "ours.xlsx")
    _xlsxwriter_book(tables, tmp_path / "xlsxwriter.xlsx")
    assert _cells(ours) == _cells(tmp_path / "xlsxwriter.xlsx")
    with zipfile.ZipFile(ours) as package:
        assert package.testzip() is None
    sheet = openpyxl.load_workbook(ours)["T & <Tabelle>"]
    assert [c.value for c in sheet["B"]][1:] == [None, " b\t", "ctrl_x0001_", "Zeile\nzwei"]
    # a literal "_x0041_" is escaped as Excel does (else Excel shows "A"); openpyxl undoes that escape
    # for shared strings only, so it is not in the comparison with XlsxWriter's file above
    write_workbook([Table("t", "T", [{"a": "_x0041_"}])], tmp_path / "escape.xlsx")
    with zipfile.ZipFile(tmp_path / "escape.xlsx") as package:
        assert "<t>_x005F_x0041_</t>" in package.read("xl/worksheets/sheet1.xml").decode()


def test_workbook_bytes_depend_only_on_the_tables_and_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764676800")
    first = write_workbook([Table("t", "T", ROWS)], tmp_path / "a.xlsx").read_bytes()
    assert write_workbook([Table("t", "T", ROWS)], tmp_path / "b.xlsx").read_bytes() == first
    assert openpyxl.load_workbook(tmp_path / "a.xlsx").properties.created == dt.datetime(2025, 12, 2, 12, 0)
    with pytest.raises(ValueError, match="sheet names must differ"):
        write_workbook([Table("t", "T", ROWS), Table("u", "T", ROWS)], tmp_path / "c.xlsx")


def test_workbook_package_is_the_one_zipfile_writes(tmp_path, monkeypatch):
    """The package zipped in memory (reports/xlsx.py ``_zip``) is byte for byte what zipfile writes for the
    same parts, each deflated under a ``ZipInfo`` of 1980-01-01 (the writer used before): twice, so the
    parts deflated once per run (``_deflated``) are read from that cache the second time."""
    import zipfile

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764676800")
    tables = [Table("t", "T", ROWS), Table("leer", "Leer", []), Table("v", "V", TRANSPOSED)]
    for attempt in ("first", "second"):
        ours = write_workbook(tables, tmp_path / f"{attempt}.xlsx")
        with zipfile.ZipFile(ours) as package:
            parts = {name: package.read(name) for name in package.namelist()}
        with zipfile.ZipFile(tmp_path / f"{attempt}-zipfile.xlsx", "w") as package:
            for name, data in parts.items():
                package.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        assert ours.read_bytes() == (tmp_path / f"{attempt}-zipfile.xlsx").read_bytes()


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"klick\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1"]


@pytest.mark.parametrize("rows", [
    [{"Name": text} for text in FORMULAS],                                        # the plain writer, text column
    [{"Name": text, "Tag": pd.Timestamp("2024-06-30")} for text in FORMULAS],     # the pandas path (a date column)
    [{"Merkmal": "x", "Name": text} for text in FORMULAS] + [{"Merkmal": "y", "Name": 1.5}],  # mixed column
], ids=["plain", "pandas", "mixed"])
def test_text_that_excel_would_run_as_a_formula_is_written_as_text(tmp_path, rows):
    """OSM names, a town's list and survey texts reach the planners' Excel: '=HYPERLINK(...)' in a double-clicked
    CSV is a live formula. Such a cell gets a leading apostrophe; a negative number stays a number."""
    path = german_csv(Table("t", "T", rows + [{"Name": "Mölln-Nord"}]), tmp_path / "t.csv")
    cells = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)["Name"].tolist()
    assert cells[:len(FORMULAS)] == ["'" + text for text in FORMULAS] and cells[-1] == "Mölln-Nord"
    numbers = german_csv(Table("n", "N", [{"Wert": -2.5}, {"Wert": 3.0}]), tmp_path / "n.csv")
    assert numbers.read_text(encoding="utf-8-sig").splitlines() == ["Wert", "-2,5", "3"]


@pytest.mark.parametrize("extra", [{}, {"Tag": pd.Timestamp("2024-06-30")}], ids=["plain", "pandas"])
def test_a_formula_like_header_and_a_numpy_string_are_defused(tmp_path, extra):
    """The comparison table is headed by town names (from the Gemeindeverzeichnis); numpy strings are strings."""
    rows = [{"Merkmal": "Indexwert", "=1+1 Schwarzenbek": 61.25, "Mölln": np.str_("@SUM(1)"), **extra}]
    path = german_csv(Table("t", "T", rows), tmp_path / "t.csv")
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns)[:3] == ["Merkmal", "'=1+1 Schwarzenbek", "Mölln"] and frame["Mölln"][0] == "'@SUM(1)"
