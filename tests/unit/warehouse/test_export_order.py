"""Two exports of the same published file are the same files: rows in the stored order of the view's table."""

from __future__ import annotations

import zipfile

import duckdb
import pytest

from warehouse import exports

TODO = [("towns.parquet", "towns", "parquet"), ("towns.csv", "towns", "csv"), ("towns.xlsx", "towns", "xlsx")]
ROWS = 400_000  # several of DuckDB's row groups (122,880 rows): a parallel scan would interleave them


@pytest.fixture
def published(tmp_path):
    """A file with a view joining a large table (stored in AGS order) to a small one, as the planner views do."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"""CREATE TABLE t AS SELECT lpad(CAST(i AS VARCHAR), 8, '0') AS ags, i % 13 AS k, i / 7.0 AS score
                        FROM range({ROWS}) r(i) ORDER BY i""")
        con.execute("CREATE TABLE labels AS SELECT k, 'Kennzahl ' || k AS label FROM range(13) r(k)")
        con.execute("CREATE VIEW towns AS SELECT t.ags, l.label, t.score FROM t JOIN labels l USING (k)")
    return path


def export(published, folder):
    folder.mkdir()
    with duckdb.connect(str(published), read_only=True, config=exports.export_config()) as con:
        assert [rows for _, rows in exports._write_files(con, folder, TODO, [], threads=2)] == [ROWS] * 3
    return folder


def data_sheet(path):
    with zipfile.ZipFile(path) as book:
        return book.read("xl/worksheets/sheet1.xml")


def test_two_exports_give_the_same_bytes_in_the_stored_order(published, tmp_path):
    first, second = export(published, tmp_path / "a"), export(published, tmp_path / "b")
    for name in ("towns.parquet", "towns.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert data_sheet(first / "towns.xlsx") == data_sheet(second / "towns.xlsx")  # the sources sheet has the export minute
    ags = duckdb.sql(f"SELECT ags FROM '{first / 'towns.parquet'}'").fetchnumpy()["ags"].tolist()
    assert ags == [f"{i:08d}" for i in range(ROWS)]  # the table's order, not the join's hash order
    csv_ags = [line.split(";")[0] for line in (first / "towns.csv").read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert csv_ags == ags


def test_the_export_connection_keeps_the_memory_limit_and_runs_one_thread(monkeypatch):
    monkeypatch.setenv("READINESS_DUCKDB_MEMORY_LIMIT", "512MB")
    assert exports.export_config() == {"memory_limit": "512MB", "threads": "1"}
