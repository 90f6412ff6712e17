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


def test_replace_rows_inserts_through_arrow_and_falls_back_for_mixed_columns():
    """Rows go in through Arrow (fast for text columns); a column Arrow cannot convert (text and numbers
    mixed) goes in through pandas as before; missing values are NULL either way."""
    from warehouse.workdb import _as_arrow

    con = duckdb.connect()
    con.execute("CREATE TABLE t (source_id VARCHAR, ags VARCHAR, value DOUBLE, reference_date DATE)")
    frame = pd.DataFrame({"source_id": ["a", "a"], "ags": ["01001000", None], "value": [1.5, float("nan")],
                          "reference_date": [pd.Timestamp("2024-06-30").date(), None]})
    assert _as_arrow(frame) is not None
    replace_rows(con, "t", frame, source_id="a")
    day = pd.Timestamp("2023-06-30").date()
    mixed = pd.DataFrame({"source_id": ["b", "b"], "ags": ["01002000", 1002000], "value": [2.0, 3.0],
                          "reference_date": [day, None]})
    assert _as_arrow(mixed) is None
    replace_rows(con, "t", mixed, source_id="b")
    assert con.execute("SELECT source_id, ags, value, reference_date FROM t ORDER BY 1, 2 NULLS LAST").fetchall() == [
        ("a", "01001000", 1.5, pd.Timestamp("2024-06-30").date()), ("a", None, None, None),
        ("b", "01002000", 2.0, day), ("b", "1002000", 3.0, None)]
