"""Working-database helpers: delete-then-insert and additive column changes between versions."""

from __future__ import annotations

import duckdb
import pandas as pd

from warehouse.workdb import replace_rows


def test_replace_rows_never_duplicates_and_adds_new_columns():
    con = duckdb.connect()
    replace_rows(con, "t", pd.DataFrame({"source_id": ["a", "a", "b"], "value": [1, 2, 3]}), source_id="a")
    replace_rows(con, "t", pd.DataFrame({"source_id": ["a"], "value": [5]}), source_id="a")
    assert con.execute("SELECT source_id, value FROM t ORDER BY 1, 2").fetchall() == [("a", 5), ("b", 3)]
    # a newer pipeline writes an extra column into a table an older run created
    replace_rows(con, "t", pd.DataFrame({"source_id": ["b"], "value": [4], "band": [1.5]}), source_id="b")
    assert con.execute("SELECT source_id, value, band FROM t ORDER BY 1").fetchall() == [("a", 5, None), ("b", 4, 1.5)]
