"""benchmarks/compare_views.py: the check that a speed-up changed no published row."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.unit.bench_scripts import load


def _module():
    return load("compare_views")


def _warehouse(path: Path, values: list[float], published_at: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t (ags VARCHAR, value DOUBLE, published_at TIMESTAMP)")
        con.executemany("INSERT INTO t VALUES (?, ?, ?)", [("01053090", v, published_at) for v in values])
        con.execute("CREATE VIEW town_profile AS SELECT * FROM t")
    return path


def test_publish_times_do_not_count_but_one_changed_or_duplicated_row_does(tmp_path):
    compare = _module().compare
    before = _warehouse(tmp_path / "a.duckdb", [19566.0, 91.0], "2026-12-01 22:11:00")
    same = _warehouse(tmp_path / "b.duckdb", [91.0, 19566.0], "2026-12-01 22:43:00")
    changed = _warehouse(tmp_path / "c.duckdb", [19566.0, 91.00000000000001], "2026-12-01 22:43:00")
    doubled = _warehouse(tmp_path / "d.duckdb", [19566.0, 91.0, 91.0], "2026-12-01 22:43:00")
    assert compare(before, same) == [("town_profile", 2, 2, 0, 0)]
    assert compare(before, changed) == [("town_profile", 2, 2, 1, 1)]
    assert compare(before, doubled) == [("town_profile", 2, 3, 0, 1)]  # EXCEPT ALL: multisets
    assert _module().main([str(before), str(changed)]) == 1


def test_ignored_columns_are_left_out(tmp_path):
    compare = _module().compare
    for name, mode in (("a", "snapshot"), ("b", "directory")):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            con.execute(f"CREATE VIEW source_releases AS SELECT 'inkar' AS source_id, '{mode}' AS mode")
    assert compare(tmp_path / "a.duckdb", tmp_path / "b.duckdb") == [("source_releases", 1, 1, 1, 1)]
    assert compare(tmp_path / "a.duckdb", tmp_path / "b.duckdb", ignore=frozenset({"mode"})) == \
        [("source_releases", 1, 1, 0, 0)]


def test_a_view_on_one_side_only_differs_and_tables_are_compared_when_asked(tmp_path):
    compare = _module().compare
    before = _warehouse(tmp_path / "a.duckdb", [19566.0], "2026-12-01 22:11:00")
    after = _warehouse(tmp_path / "b.duckdb", [19566.0], "2026-12-01 22:43:00")
    with duckdb.connect(str(after)) as con:
        con.execute("CREATE VIEW latest_ranking AS SELECT 1 AS rank")
        con.execute("UPDATE t SET published_at = NULL")  # a timestamp: not compared
    assert compare(before, after) == [("latest_ranking", 0, 1, 0, 1), ("town_profile", 1, 1, 0, 0)]
    with duckdb.connect(str(after)) as con:
        con.execute("CREATE TABLE observations AS SELECT '01053090' AS ags")
    assert ("observations", 0, 1, 0, 1) in compare(before, after, tables=True)
    assert ("t", 1, 1, 0, 0) in compare(before, after, tables=True)
    assert all(row[0] != "observations" for row in compare(before, after))
