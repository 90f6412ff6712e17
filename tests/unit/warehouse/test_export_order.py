"""Export files list a view's rows in a fixed order (its key), so equal views give equal files."""

from __future__ import annotations

import zipfile

import duckdb
import pandas as pd
import pytest

from warehouse import exports
from warehouse.paths import SCHEMA_SQL, VIEWS_SQL
from warehouse.publish import PLANNER_VIEWS


def test_every_planner_view_has_an_export_order_of_its_own_columns():
    con = duckdb.connect()  # the published schema and views, empty: only their columns are read
    con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
    assert set(exports.EXPORT_ORDER) == set(PLANNER_VIEWS)
    for view, order in exports.EXPORT_ORDER.items():
        columns = {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}
        assert order and set(order) <= columns, (view, order)


@pytest.fixture
def con(tmp_path, monkeypatch):
    """A view whose rows come in descending AGS order (as a parallel join may return them)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("""CREATE TABLE t AS SELECT lpad(CAST(i AS VARCHAR), 8, '0') AS ags, 'Ort ' || i AS name,
                   i / 7.0 AS score FROM range(3000) r(i) ORDER BY i DESC""")
    con.execute("CREATE VIEW towns AS SELECT * FROM t")
    monkeypatch.setitem(exports.EXPORT_ORDER, "towns", ["ags"])
    yield con
    con.close()


def test_parquet_csv_and_xlsx_rows_come_in_the_export_order(con, tmp_path):
    todo = [("towns.parquet", "towns", "parquet"), ("towns.csv", "towns", "csv"), ("towns.xlsx", "towns", "xlsx")]
    assert [rows for _, rows in exports._write_files(con, tmp_path, todo, [], threads=2)] == [3000] * 3
    expected = [f"{i:08d}" for i in range(3000)]
    assert con.execute("SELECT ags FROM towns LIMIT 1").fetchone()[0] == expected[-1]  # the view itself: descending
    assert duckdb.sql(f"SELECT ags FROM '{tmp_path / 'towns.parquet'}'").fetchnumpy()["ags"].tolist() == expected
    csv = pd.read_csv(tmp_path / "towns.csv", sep=";", dtype=str, encoding="utf-8-sig")
    assert csv["AGS"].tolist() == expected
    with zipfile.ZipFile(tmp_path / "towns.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = [part.split("</t>")[0] for part in sheet.split('<t>')[1:]]  # inline strings: header-less AGS, names
    assert [c for c in cells if c.isdigit()] == expected
