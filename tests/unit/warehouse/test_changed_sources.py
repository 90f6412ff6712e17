"""publish_log.changes "sources_changed": what a publish changed in the releases, not in their bookkeeping."""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.publish import changed_sources

BEFORE, NOW = dt.datetime(2026, 12, 1), dt.datetime(2026, 12, 4)


def history(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """source_releases_history rows (source, vintage, revision, file, sha256, mode, valid_from, valid_to)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE source_releases_history (source_id VARCHAR, vintage VARCHAR, revision INTEGER, "
                "file VARCHAR, sha256 VARCHAR, mode VARCHAR, valid_from TIMESTAMP, valid_to TIMESTAMP)")
    con.executemany("INSERT INTO source_releases_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def test_the_same_files_from_another_mode_are_no_change():
    """From the snapshot to a directory of the same files: only mode and origin differ. Every source was listed
    as both new and withdrawn (ba_commuting 2016-06, same sha256 02d46eb039a6 in both rows)."""
    con = history([("ba_commuting", "2016-06", 1, "ba/k.xlsx", "02d46eb039a6", "snapshot", BEFORE, NOW),
                   ("ba_commuting", "2016-06", 1, "ba/k.xlsx", "02d46eb039a6", "directory", NOW, None)])
    assert changed_sources(con, NOW) == {}


def test_a_revision_is_new_and_its_predecessor_withdrawn():
    con = history([("breitbandatlas", "2021-mitte", 1, "bb/g.csv", "aaa", "directory", BEFORE, NOW),
                   ("breitbandatlas", "2021-mitte", 2, "bb/g.csv", "bbb", "directory", NOW, None),
                   ("inkar", "2022-12", 1, "inkar/x.parquet", "ccc", "snapshot", BEFORE, NOW),  # mode only
                   ("inkar", "2022-12", 1, "inkar/x.parquet", "ccc", "directory", NOW, None),
                   ("destatis_gemeindeverzeichnis", "2024-Q4", 1, "gv/q4.xlsx", "ddd", "directory", NOW, None)])
    assert changed_sources(con, NOW) == {
        "breitbandatlas": {"new": ["2021-mitte-rev2"], "withdrawn": ["2021-mitte"]},
        "destatis_gemeindeverzeichnis": {"new": ["2024-Q4"], "withdrawn": []}}


def test_the_lists_are_sorted_and_a_withdrawn_revision_keeps_its_label():
    """ORDER BY 1 inside the aggregate sorted by the constant: publish_log listed '2018-1', '2019-ende', '2021-mitte',
    '2018-ende'; a revision 2 replaced by a revision 3 was listed as withdrawn '2021-mitte'."""
    con = history([("breitbandatlas", vintage, 1, f"bb/{vintage}.csv", vintage, "directory", NOW, None)
                   for vintage in ("2021-mitte", "2018-1", "2019-ende", "2018-ende")]
                  + [("gigabit_grundbuch", "2023-06", 2, "gg/a.xlsx", "r2", "directory", BEFORE, NOW),
                     ("gigabit_grundbuch", "2023-06", 3, "gg/a.xlsx", "r3", "directory", NOW, None)])
    assert changed_sources(con, NOW) == {
        "breitbandatlas": {"new": ["2018-1", "2018-ende", "2019-ende", "2021-mitte"], "withdrawn": []},
        "gigabit_grundbuch": {"new": ["2023-06-rev3"], "withdrawn": ["2023-06-rev2"]}}
