"""The history merge onto a previous publish fits its memory limit at the size of the Germany-wide warehouse.

Every publish after the first merges the ~1.1 M current indicator versions with the incoming rows; with the
candidate's 256 MB that join ran out of memory on the Germany-wide files (5 December 2026), which no test saw: the
snapshot is small, and a cold refresh merges nothing. Here a working table of that size and width (the columns of
``indicator_values``; text as long as the real notes, 67 characters on average) is merged onto a previous file
holding the same rows, under the candidate's limit (``candidate_memory_limit``, 256 MB). With its join in one part
(before ``merge_parts``) this merge failed with an OutOfMemoryException (measured on these rows: 7.4 s to the
failure; 512 MB passed).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from warehouse.history import merge_history
from warehouse.paths import DUCKDB_MEMORY_ENV, SCHEMA_SQL
from warehouse.publish import candidate_memory_limit

pytestmark = pytest.mark.slow

ROWS = 1_100_000  # the Germany-wide build's indicator_values: 1,083,600 (ra75)
WORKING_ROWS = f"""
    SELECT lpad(CAST(i // 100 AS VARCHAR), 8, '0') AS ags, 'indicator_' || CAST(i % 17 AS VARCHAR) AS indicator_id,
           1997 + CAST(i % 27 AS BIGINT) AS period, (i * 0.37) % 100 AS value, '% of households' AS unit,
           'breitbandatlas' AS source_id, '2021-mitte' AS vintage, TIMESTAMP '2021-06-30' AS reference_date,
           i % 3 = 0 AS imputed, CASE WHEN i % 3 = 0 THEN 'carried forward from 2019' END AS imputation,
           CASE WHEN i % 2 = 0 THEN 'restated onto the current territory: merger of ' || CAST(i % 997 AS VARCHAR)
                || ' parts, population-weighted' ELSE '' END AS quality_note,
           CASE WHEN i % 5 = 0 THEN 'merger_weighted' END AS territorial_change, false AS method_break,
           'gemeinde' AS source_level, CAST(NULL AS VARCHAR) AS excluded_reason, CAST(NULL AS INTEGER) AS base_period
    FROM range({ROWS}) r(i)"""


def test_a_merge_of_a_germany_sized_history_fits_the_candidates_memory_limit(tmp_path, monkeypatch):
    monkeypatch.delenv(DUCKDB_MEMORY_ENV, raising=False)
    work, previous = tmp_path / "work.duckdb", tmp_path / "previous.duckdb"
    with duckdb.connect(str(work)) as con:
        con.execute(f"CREATE TABLE indicator_values AS {WORKING_ROWS}")
    with duckdb.connect(str(previous)) as con:  # the previous publish: the same rows, current since January
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        con.execute(f"""INSERT INTO indicator_values_history BY NAME
                        SELECT *, TIMESTAMP '2030-01-01' AS valid_from, NULL AS valid_to FROM ({WORKING_ROWS})""")
    with duckdb.connect(str(tmp_path / "candidate.duckdb")) as con:
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        con.execute(f"ATTACH '{work}' AS work (READ_ONLY)")
        con.execute(f"ATTACH '{previous}' AS previous (READ_ONLY)")
        con.execute(f"SET memory_limit = '{candidate_memory_limit()}'")
        counts = merge_history(con, "indicator_values_history", dt.datetime(2030, 2, 1), "previous")
    assert counts == {"previous_versions": ROWS, "closed": 0, "opened": 0, "current": ROWS}
