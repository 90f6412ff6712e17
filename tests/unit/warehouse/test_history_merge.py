"""History merge (warehouse/history.py): kept, closed and opened versions, NULL-safe, within the scope.

Each test builds a tiny candidate from schema.sql with an in-memory ``work`` database and, where it
applies, an in-memory ``previous`` file, then merges as ``build_candidate`` does.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from warehouse.history import merge_history
from warehouse.paths import SCHEMA_SQL

FIRST, SECOND = dt.datetime(2026, 1, 5, 10), dt.datetime(2026, 2, 5, 10)
COLUMNS = "ags, indicator_id, period, value, unit, source_id, vintage, reference_date, imputed, quality_note"


def candidate(rows: list[tuple], previous: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A candidate with ``work.indicator_values`` holding ``rows`` (COLUMNS), ``previous`` attached if given."""
    con = duckdb.connect()
    con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    con.execute("ATTACH ':memory:' AS work")
    con.execute("CREATE TABLE work.indicator_values AS "
                "SELECT * EXCLUDE (valid_from, valid_to) FROM indicator_values_history LIMIT 0")
    if rows:
        con.executemany(f"INSERT INTO work.indicator_values ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def row(ags: str, value: float | None, note: str | None = None, period: int = 2023) -> tuple:
    return (ags, "gigabit_coverage", period, value, "%", "breitbandatlas", "2023", dt.date(2023, 12, 31), False, note)


def versions(con, schema: str = "main") -> list[tuple]:
    return con.execute(f"""SELECT ags, period, value, quality_note, valid_from, valid_to
                           FROM {schema}.indicator_values_history ORDER BY ags, period, valid_from""").fetchall()


def publish(rows: list[tuple], previous_rows: list[tuple] | None) -> tuple[duckdb.DuckDBPyConnection, dict]:
    """First publish of ``previous_rows`` (if given), then a publish of ``rows`` on top of it."""
    con = candidate(rows)
    if previous_rows is None:
        return con, merge_history(con, "indicator_values_history", FIRST, None)
    old = candidate(previous_rows)
    merge_history(old, "indicator_values_history", FIRST, None)
    con.execute("ATTACH ':memory:' AS previous")
    frame = old.execute("SELECT * FROM indicator_values_history").arrow()
    con.register("old_rows", frame)
    con.execute("CREATE TABLE previous.indicator_values_history AS SELECT * FROM old_rows")
    return con, merge_history(con, "indicator_values_history", SECOND, "previous")


def test_first_publish_opens_every_row_in_town_order():
    con, counts = publish([row("02000000", 50.0), row("01053090", 91.0, "note")], None)
    assert counts == {"previous_versions": 0, "closed": 0, "opened": 2, "current": 2}
    assert con.execute("SELECT ags FROM indicator_values_history").fetchall() == [("01053090",), ("02000000",)]
    assert versions(con)[0] == ("01053090", 2023, 91.0, "note", FIRST, None)


@pytest.mark.parametrize("part_rows", [300_000, 1])  # one part; a part per current version (merge_parts)
def test_unchanged_rows_are_kept_changed_closed_and_reopened_gone_closed(part_rows, monkeypatch):
    from warehouse import history

    monkeypatch.setattr(history, "MERGE_PART_ROWS", part_rows)  # the parts of the Germany-wide merge, in small
    old = [row("01053090", 91.0), row("01053091", 5.0, None), row("01053092", 10.0, "a"), row("01053093", 7.0)]
    new = [row("01053090", 91.0), row("01053091", 5.0, None), row("01053092", 10.0, None), row("01053094", 1.0)]
    con, counts = publish(new, old)
    assert counts == {"previous_versions": 4, "closed": 2, "opened": 2, "current": 4}
    assert versions(con) == [
        ("01053090", 2023, 91.0, None, FIRST, None),          # the same row: kept as it was
        ("01053091", 2023, 5.0, None, FIRST, None),           # NULL equals NULL: kept
        ("01053092", 2023, 10.0, "a", FIRST, SECOND),         # a NULL where there was a note: a change
        ("01053092", 2023, 10.0, None, SECOND, None),
        ("01053093", 2023, 7.0, None, FIRST, SECOND),         # gone from the new data: closed
        ("01053094", 2023, 1.0, None, SECOND, None),          # new
    ]


def test_a_rerun_changes_nothing():
    rows = [row("01053090", 91.0, "x"), row("01053091", 3.0)]
    con, counts = publish(rows, rows)
    assert counts == {"previous_versions": 2, "closed": 0, "opened": 0, "current": 2}
    assert {v[4] for v in versions(con)} == {FIRST}


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-300, -5.5])
def test_a_last_digit_change_is_a_change(value):
    con, counts = publish([row("01053090", value)], [row("01053090", value + abs(value) * 1e-15)])
    assert (counts["closed"], counts["opened"]) == (1, 1)


def test_a_column_the_previous_file_lacked_is_null_in_its_rows():
    """Additive schema change: the previous file had no quality_note; its rows count as NULL there."""
    con = candidate([row("01053090", 91.0), row("01053091", 5.0, "new note")])
    old = candidate([row("01053090", 91.0), row("01053091", 5.0)])
    merge_history(old, "indicator_values_history", FIRST, None)
    con.register("old_rows", old.execute("SELECT * EXCLUDE (quality_note) FROM indicator_values_history").arrow())
    con.execute("ATTACH ':memory:' AS previous")
    con.execute("CREATE TABLE previous.indicator_values_history AS SELECT * FROM old_rows")
    counts = merge_history(con, "indicator_values_history", SECOND, "previous")
    assert counts == {"previous_versions": 2, "closed": 1, "opened": 1, "current": 2}
    assert [v[3:] for v in versions(con)] == [(None, FIRST, None), (None, FIRST, SECOND), ("new note", SECOND, None)]


def test_zero_turning_negative_zero_is_a_change():
    """-0.0 equals 0.0 as a number but is published as "-0.0": a new version, as with main's text comparison."""
    con, counts = publish([row("01053090", -0.0)], [row("01053090", 0.0)])
    assert (counts["closed"], counts["opened"]) == (1, 1)


def test_the_join_runs_in_parts_of_at_most_merge_part_rows_current_versions():
    from warehouse.history import MERGE_PART_ROWS, merge_parts

    assert [merge_parts(n) for n in (0, 1, MERGE_PART_ROWS, MERGE_PART_ROWS + 1)] == [1, 1, 1, 2]
    assert merge_parts(1_083_600) == 4  # the Germany-wide indicator versions (ra76)
