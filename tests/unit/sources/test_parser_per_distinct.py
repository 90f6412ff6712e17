"""Parsers working once per distinct text give exactly what the per-cell code they replaced gives (kept here as
the reference): the Breitbandatlas number conversion, the Gemeindeverzeichnis number cells and code padding,
over random tables and the Germany-wide files in ../shared/data; a refused cell is the same cell as before."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sources import breitbandatlas, contracts, destatis_gv
from sources.contracts import parse_number
from sources.errors import SourceError
from sources.registry import discover_releases, load_sources

TEXTS = ["", " ", "0", "00", "12", " 12", "12 ", "\xa012", "12.5", "12,5", "-3", "1e3", "99.99", "100", "x", "-",
         "nan", "inf", "007", "12.50", "9999999999999999999", "0.1", " 0.1 "]


def numbers_reference(table: pd.DataFrame, columns: list[str]):
    """The per-cell code _numbers replaced (sources/breitbandatlas.py before 2026-12-02 15:00), with the refused
    cell's row position (added 2026-12-04: the error names the file's line and key)."""
    values = table[list(columns)].apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = values.isna() & table[list(columns)].ne("")
    if bad.any().any():
        column = bad.any().idxmax()
        row = int(np.flatnonzero(bad[column].to_numpy())[0])
        return values, (column, table[column].iat[row], row)
    return values, None


def random_table(rng, rows: int, columns: int, pool: list[str]) -> pd.DataFrame:
    """Text columns as read_csv(dtype=str, keep_default_na=False) gives them; some columns from a
    whole-number pool only, so that int64 and float64 columns both occur."""
    data = {}
    for j in range(columns):
        choices = [t for t in pool if t.strip().isdigit()] if j % 3 == 0 else pool
        data[f"c{j}"] = rng.choice(np.array(choices, dtype=object), size=rows)
    return pd.DataFrame(data)


@pytest.mark.parametrize("seed", range(12))
def test_breitbandatlas_numbers_equal_the_per_cell_code_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    clean = [t for t in TEXTS if t.strip() not in ("x", "-", "nan", "inf", "1e3") or seed % 2]
    table = random_table(rng, int(rng.integers(0, 60)), int(rng.integers(1, 7)), clean)
    columns = list(table.columns)
    got, got_bad = breitbandatlas._numbers(table, columns)
    expected, expected_bad = numbers_reference(table, columns)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    assert got_bad == expected_bad


def test_breitbandatlas_refuses_the_same_first_cell():
    table = pd.DataFrame({"a": ["1", "2", "3"], "b": ["4", "5,5", "x"], "c": ["y", "1", "2"]}, dtype=object)
    assert breitbandatlas._numbers(table, ["a", "b", "c"])[1] == numbers_reference(table, ["a", "b", "c"])[1] \
        == ("b", "5,5", 1)
    text = "AGS;alle Technologien ≥ 50 Mbit/s\n01001000;12\n01002000; 1,5 \n"
    with pytest.raises(SourceError, match=r"x.csv: row 3 \(AGS 01002000\), column 'alle Technologien ≥ 50 Mbit/s': "
                                          r"non-numeric value ' 1,5 '"):
        breitbandatlas._parse_table("breitbandatlas", "x.csv", text.encode(), "labelled", None)


@pytest.mark.slow
def test_breitbandatlas_numbers_equal_the_per_cell_code_on_the_full_files(full_data):
    cells = 0
    for release in discover_releases(load_sources()["breitbandatlas"], full_data):
        for file in release.files:
            text = file.path.read_bytes().decode("utf-8-sig")
            header = text.split("\n", 1)[0]
            table = pd.read_csv(io.StringIO(text), sep=";" if header.count(";") > header.count(",") else ",",
                                dtype=str, keep_default_na=False)
            columns = list(table.columns[1:])
            got, got_bad = breitbandatlas._numbers(table, columns)
            expected, expected_bad = numbers_reference(table, columns)
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
            assert got_bad == expected_bad
            cells += got.size
    assert cells > 2_000_000


def numeric_reference(series: pd.Series, source_id="s", name="f", first_row=0) -> pd.Series:
    """destatis_gv._numeric before 2026-12-02 15:00: every non-numeric cell through parse_number in row order."""
    values = destatis_gv._object_array(series.to_numpy(dtype=object))
    types = destatis_gv._types(values)
    kinds = {t: issubclass(t, (int, float)) and not issubclass(t, bool) for t in set(types)}
    numeric = pd.Series(types, dtype=object).map(kinds).to_numpy(dtype=bool)
    result = np.full(len(values), np.nan)
    result[numeric] = values[numeric].astype(float)
    for position in np.flatnonzero(~numeric):
        if values[position] is None:
            continue
        try:
            number = parse_number(values[position])
        except ValueError as exc:
            raise SourceError(source_id, name, f"row {first_row + position + 1}/column {series.name}: {exc}") from None
        result[position] = np.nan if number is None else number
    return pd.Series(result, index=series.index, dtype=float)


CELLS = [None, 60.0, 60, 1.5, float("nan"), "", " ", "-", ".", "19.566", "1.234,5", "12,5", " 7 ", "3", 0.0,
         "\xa01.000", np.float64(2.5), -4]
BAD_CELLS = ["12.5", "abc", True, "1,2,3"]


def outcome(function, series):
    """The result, or the SourceError's message: both must match the reference."""
    try:
        return function(series, "s", "f", 4)
    except SourceError as exc:
        return str(exc)


@pytest.mark.parametrize("seed", range(20))
def test_gv_numbers_equal_the_per_cell_code_on_random_columns(seed):
    rng = np.random.default_rng(seed)
    pool = CELLS + (BAD_CELLS if seed % 2 else [])
    cells = [pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(0, 50)))]
    series = pd.Series(cells, dtype=object, name="population")
    got, expected = outcome(destatis_gv._numeric, series), outcome(numeric_reference, series)
    if isinstance(expected, str):
        assert got == expected  # the same first refused row and message
    else:
        pd.testing.assert_series_equal(got, expected, check_exact=True)


def test_gv_refuses_the_first_bad_row_whatever_its_type():
    series = pd.Series([1.0, "12,5", "abc", True, "abc"], dtype=object, name="male")
    with pytest.raises(SourceError, match=r"row 7/column male: 'abc' is not a number"):
        destatis_gv._numeric(series, "s", "f", 4)
    assert outcome(destatis_gv._numeric, series) == outcome(numeric_reference, series)
    series = pd.Series([1.0, True, "abc"], dtype=object, name="male")
    with pytest.raises(SourceError, match=r"row 6/column male: True is a boolean"):
        destatis_gv._numeric(series, "s", "f", 4)
    assert outcome(destatis_gv._numeric, series) == outcome(numeric_reference, series)


@pytest.mark.parametrize("width, keep_empty", [(2, False), (2, True), (3, True)])
def test_gv_code_padding_equals_pandas_zfill(width, keep_empty):
    texts = pd.Series(["", "1", "01", "12", "123", "7", "", "1"], dtype=object)
    expected = texts.str.zfill(width)
    if keep_empty:
        expected = texts.where(texts == "", expected)
    assert list(destatis_gv._zfilled(texts.to_numpy(dtype=object), width, keep_empty)) == list(expected)


def test_cell_strings_are_shared_per_distinct_text():
    cells = destatis_gv._cells([" 01 ", "01", " 01 ", "02"])
    assert list(cells) == ["01", "01", "01", "02"] and cells[0] is cells[2]


def test_register_kreise_computed_once_and_right():
    register = pd.DataFrame({"ags": ["01001000", "01002000", "02000000"], "vintage": ["2021", "2021", "2023"],
                             "territorial_date": pd.to_datetime(["2021-12-31", "2021-12-31", "2023-12-31"]).date})
    registers = contracts.Registers.from_frame(register)
    assert registers.kreise() == {"01001", "01002", "02000"}
    assert registers.kreise() is registers.kreise()
