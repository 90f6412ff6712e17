"""``warehouse.workdb.fetch_frame``: the frame ``df()`` gives, with repeated strings shared (issue 13, memory of
the generated contract checks, pipelines/checks.py)."""

from __future__ import annotations

import duckdb
import pandas as pd

from sources import contracts
from warehouse.workdb import fetch_frame

EVERY_TYPE = """
SELECT * FROM (VALUES
    (1::BIGINT, 1.5::DOUBLE, 'a', DATE '2020-01-01', TIMESTAMP '2020-01-01 10:00', true, 3::INTEGER,
     2.5::DECIMAL(10,2), 'ü'),
    (NULL, NULL, NULL, NULL, NULL, NULL, 4, NULL, 'ü'),
    (7, 'nan'::DOUBLE, 'a', DATE '2021-06-30', NULL, false, 5, 1.25, 'ü')) t(i, d, s, dt, ts, b, i2, dec, u)"""


def test_every_type_as_df_gives_it():
    con = duckdb.connect()
    expected = con.execute(EVERY_TYPE).df()
    got = fetch_frame(con, EVERY_TYPE)
    pd.testing.assert_frame_equal(got, expected)  # dtypes too: Int64 and boolean with NULLs, decimals as float
    assert got["s"][1] is None and got["s"][0] is got["s"][2]
    for sql in ("SELECT 1 AS x WHERE false", "SELECT 'a' AS x WHERE false", "SELECT 42 AS x, 2.5 AS y"):
        pd.testing.assert_frame_equal(fetch_frame(con, sql), con.execute(sql).df())


def test_the_contract_finds_the_same_problems_in_the_shared_frame(tmp_path):
    # INKAR-shaped staged rows with a bad key, an unknown level, a duplicate, a value out of range and a wrong
    # unit: the generated contract check reads them through fetch_frame and must word every finding as before
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE stg (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, "
                "reference_date DATE, measure VARCHAR, value DOUBLE, unit VARCHAR)")
    unit = "% of employees at residence"
    rows = [("inkar", "2022-12", f"0100{i:04d}", "gemeinde", "2021-12-31", "out_commuter_share", 50.0 + i, unit)
            for i in range(1, 200)]
    rows += [("inkar", "2022-12", "0100000X", "gemeinde", "2021-12-31", "out_commuter_share", 10.0, unit),
             ("inkar", "2022-12", "01001", "ort", "2021-12-31", "out_commuter_share", 10.0, unit),
             ("inkar", "2022-12", "01000001", "gemeinde", "2021-12-31", "out_commuter_share", 11.0, unit),
             ("inkar", "2022-12", "01002", "kreis", "2021-12-31", "out_commuter_share", 400.0, unit),
             ("inkar", "2022-12", "01003", "kreis", "2021-12-31", "out_commuter_share", 20.0, "km"),
             ("inkar", "2022-12", "01004", "kreis", None, "out_commuter_share", None, None)]
    con.executemany("INSERT INTO stg VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    contract = contracts.CONTRACTS["inkar"]["observations"]
    checked = ", ".join(c for c in ["ags", "level", "reference_date", "measure", "value", "unit"])
    sql = f"SELECT {checked} FROM stg WHERE source_id = ? AND vintage = ?"
    params = ["inkar", "2022-12"]
    before = [v.problem for v in contracts.check_table(contract, con.execute(sql, params).df(), None, "2022-12")]
    after = [v.problem for v in contracts.check_table(contract, fetch_frame(con, sql, params), None, "2022-12")]
    assert after == before
    assert len(before) >= 5 and any("does not match" in p for p in before)
    assert any("more than once" in p for p in before)
    assert any("above the maximum" in p for p in before) and any("unit 'km'" in p for p in before)
