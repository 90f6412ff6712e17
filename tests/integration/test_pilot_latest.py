"""The pilot table the Dagster UI shows after each index run: the year the pages lead with, not a provisional one."""

from __future__ import annotations

import duckdb

from pipelines.assets.indicators import CATALOGUE, pilot_latest


def test_the_ui_pilot_table_is_of_the_published_period():
    con = duckdb.connect()
    con.execute("CREATE TABLE municipalities AS SELECT '01053090' AS ags, 'Mölln, Stadt' AS name, TRUE AS is_pilot")
    con.execute("CREATE TABLE index_bands (ags VARCHAR, period INTEGER, method_version VARCHAR, rank_p05 DOUBLE, "
                "rank_p95 DOUBLE, score_p05 DOUBLE, score_p95 DOUBLE)")
    con.execute("CREATE TABLE readiness_index (ags VARCHAR, period INTEGER, method_version VARCHAR, score DOUBLE, "
                "rank INTEGER, compared_towns INTEGER, period_provisional BOOLEAN)")
    version = CATALOGUE.method_version
    con.executemany("INSERT INTO readiness_index VALUES ('01053090', ?, ?, ?, ?, 50, ?)",
                    [(2021, version, 70.2, 7, False), (2023, version, 70.3, 8, True), (2024, "0.1.0", 1.0, 1, False)])
    rows = pilot_latest(con)
    assert rows[["period", "score", "rank"]].values.tolist() == [[2021, 70.2, 7]]
