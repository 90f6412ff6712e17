"""Export files written by two threads are the files one thread writes; a failure in a thread is raised."""

from __future__ import annotations

import zipfile

import duckdb
import pytest

from warehouse.exports import _write_files

TODO = [("towns.parquet", "towns", "parquet"), ("towns.csv", "towns", "csv"), ("towns.xlsx", "towns", "xlsx"),
        ("small.xlsx", "small", "xlsx"), ("small.csv", "small", "csv")]


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("""CREATE TABLE t AS SELECT lpad(CAST(i AS VARCHAR), 8, '0') AS ags, 'Ort ' || i AS name,
                   i / 7.0 AS score, i % 3 = 0 AS provisional, DATE '2023-12-31' AS reference_date
                   FROM range(30000) r(i)""")
    con.execute("CREATE VIEW towns AS SELECT * FROM t ORDER BY ags")
    con.execute("CREATE VIEW small AS SELECT * FROM t WHERE score < 100 ORDER BY ags")
    yield con
    con.close()


def sheet(path):
    with zipfile.ZipFile(path) as book:
        return book.read("xl/worksheets/sheet1.xml")


def test_two_threads_write_the_same_files_as_one(con, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    sources = [("src", "Herausgeber", "dl-de/by-2-0", "https://www.govdata.de/dl-de/by-2-0", "© Herausgeber")]
    rows_one = _write_files(con, one, TODO, sources, threads=1)
    rows_two = _write_files(con, two, TODO, sources, threads=2)
    assert rows_one == rows_two == [("towns.parquet", 30000), ("towns.csv", 30000), ("towns.xlsx", 30000),
                                    ("small.xlsx", 700), ("small.csv", 700)]
    for name in ("towns.parquet", "towns.csv", "small.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    for name in ("towns.xlsx", "small.xlsx"):  # the data sheet; the sources sheet carries the export minute
        assert sheet(one / name) == sheet(two / name), name


def test_a_failing_file_in_a_thread_is_raised_with_its_name(con, tmp_path):
    con.execute("CREATE VIEW broken AS SELECT ags, CASE WHEN ags = '00000005' THEN 'infinity'::DOUBLE "
                "ELSE score END AS score FROM t ORDER BY ags")
    todo = [("towns.csv", "towns", "csv"), ("broken.xlsx", "broken", "xlsx"), ("small.csv", "small", "csv")]
    with pytest.raises(ValueError, match=r"broken\.xlsx.*row 7, column 'Indexwert'"):
        _write_files(con, tmp_path, todo, [], threads=2)
