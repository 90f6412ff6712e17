"""The publish's time (warehouse/publish.py ``publish_time``): whole seconds, later than every earlier publish."""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.publish import publish_time

LAST = dt.datetime(2026, 12, 5, 8, 26, 23, 313000)  # a publish stored with microseconds, as before


def previous_with_log(*times: dt.datetime) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS previous")
    con.execute("CREATE TABLE previous.publish_log (published_at TIMESTAMP)")
    con.executemany("INSERT INTO previous.publish_log VALUES (?)", [[t] for t in times])
    return con


def test_whole_seconds_so_the_time_the_exports_show_is_the_key():
    """The CSV showed 09:26:23 (Berlin) for a publish stored as 08:26:23.313 UTC: as_of(08:26:23) lay before it."""
    now = dt.datetime(2026, 12, 5, 9, 0, 1, 999999)
    assert publish_time(duckdb.connect(), None, now) == dt.datetime(2026, 12, 5, 9, 0, 1)
    assert publish_time(previous_with_log(LAST), "previous", now) == dt.datetime(2026, 12, 5, 9, 0, 1)


def test_never_at_or_before_the_previous_publish():
    """Two publishes in one second, or a clock set back: the history's valid_from must still increase."""
    con = previous_with_log(dt.datetime(2026, 12, 1), LAST)
    assert publish_time(con, "previous", LAST.replace(microsecond=900000)) == dt.datetime(2026, 12, 5, 8, 26, 24)
    assert publish_time(con, "previous", dt.datetime(2026, 12, 4)) == dt.datetime(2026, 12, 5, 8, 26, 24)
    empty = duckdb.connect()
    empty.execute("ATTACH ':memory:' AS previous")  # a previous warehouse without a log (a first lake snapshot)
    assert publish_time(empty, "previous", LAST) == dt.datetime(2026, 12, 5, 8, 26, 23)
