"""The narrow read of indicator_values by the index steps equals the engine's rule applied to the whole table."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from indicators.catalogue import load_catalogue
from indicators.engine import index_rows
from indicators.compute import index_values

CATALOGUE = load_catalogue()


def _working_tables() -> duckdb.DuckDBPyConnection:
    """indicator_values with index, context and excluded rows in shuffled order, and a reference group."""
    rng = np.random.default_rng(5)
    indicators = [*CATALOGUE.indicators]  # includes the context indicator population_density
    rows = pd.DataFrame([(f"0{t:07d}", i, p) for t in range(30) for i in indicators for p in (2017, 2018, 2021)],
                        columns=["ags", "indicator_id", "period"]).sample(frac=1.0, random_state=5)
    rows["value"] = rng.normal(50, 20, len(rows))
    rows["imputed"] = rng.random(len(rows)) < 0.3
    rows["excluded_reason"] = np.where(rng.random(len(rows)) < 0.1, "territorial_change", None)
    rows["reference_date"] = pd.to_datetime(rows["period"].astype(str) + "-12-31")
    con = duckdb.connect()
    con.execute("CREATE TABLE indicator_values AS SELECT * FROM rows")
    con.execute("CREATE TABLE municipalities AS SELECT DISTINCT ags, ags < '00000015' AS in_reference_group FROM rows")
    return con


def test_index_values_are_the_index_rows_in_table_order():
    con = _working_tables()
    table = con.execute("SELECT * FROM indicator_values").df()
    group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
    expected_all = table[index_rows(table, CATALOGUE)].reset_index(drop=True)
    got = index_values(con, CATALOGUE)
    assert len(got) < len(table) and got["excluded_reason"].isna().all()
    pd.testing.assert_frame_equal(got, expected_all[got.columns.tolist()])
    scored = index_values(con, CATALOGUE, periods=[2018, 2021], group_only=True)
    expected = expected_all[expected_all["period"].isin([2018, 2021]) & expected_all["ags"].isin(group)]
    pd.testing.assert_frame_equal(scored, expected[got.columns.tolist()].reset_index(drop=True))
    assert set(scored["ags"]) == group and set(scored["period"]) == {2018, 2021}
