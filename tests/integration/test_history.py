"""History: releases accumulate, a publisher's revision becomes a new vintage, nothing published is lost.

Three refreshes into one warehouse from a copy of the snapshot: first without the latest
Breitbandatlas and Gemeindeverzeichnis releases, then with them, then with a revised copy of
the Breitbandatlas release (same file name, Mölln's figures changed).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import duckdb
import pytest

from tests.conftest import run_incremental
from warehouse.publish import view_checksums

MOELLN = "01053090"
BBA_2021 = "breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv"
GV_2024 = "destatis-gemeindeverzeichnis/AuszugGV4QAktuell_2024.xlsx"


def revise_moelln(csv_path, old: str, new: str) -> None:
    """The publisher corrects Mölln's row: every occurrence of ``old`` in it becomes ``new``."""
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    field = re.compile(rf"(?<=,){re.escape(old)}(?=,|\s*$)")
    revised = [field.sub(new, line) if line.startswith(f'"{MOELLN}"') else line for line in lines]
    assert revised != lines, "Mölln's row did not contain the figure to revise"
    csv_path.write_text("".join(revised), encoding="utf-8")


def published_times(con) -> list:
    return [row[0] for row in con.execute("SELECT published_at FROM publish_log ORDER BY published_at").fetchall()]


@pytest.fixture(scope="module")
def three_publishes(tmp_path_factory):
    """Run the three refreshes; return the warehouse path and what the tests compare."""
    from sources.registry import SNAPSHOT_DIR

    tmp = tmp_path_factory.mktemp("history")
    source = tmp / "source"
    shutil.copytree(SNAPSHOT_DIR, source)
    held_back = tmp / "held_back"
    held_back.mkdir()
    for name in (BBA_2021, GV_2024):
        shutil.move(source / name, held_back / name.split("/")[1])

    # incremental refreshes on one instance (pipelines/incremental.py), as the monthly schedule runs them
    assert run_incremental(tmp, source)[1].success
    for name in (BBA_2021, GV_2024):
        shutil.copy(held_back / name.split("/")[1], source / name)
    assert run_incremental(tmp, source)[1].success
    with duckdb.connect(str(tmp / "readiness.duckdb"), read_only=True) as con:
        gigabit_2021 = con.execute("""SELECT value FROM indicator_values
            WHERE ags = ? AND indicator_id = 'gigabit_coverage' AND period = 2021""", [MOELLN]).fetchone()[0]
    revise_moelln(source / BBA_2021, f"{gigabit_2021:.2f}", "97.50")
    _, revision_run = run_incremental(tmp, source)
    assert revision_run.success
    # only the revised source was parsed again: Dagster found the other staging assets up to date
    assert materialized(revision_run) & STAGING_ASSETS == {"stg/broadband"}
    return tmp / "readiness.duckdb", gigabit_2021


STAGING_ASSETS = {"stg/population_area", "stg/broadband", "stg/mobile", "stg/commuting", "stg/geometries",
                  "stg/coworking_spaces", "stg/crosswalk", "stg/pendleratlas"}


def materialized(result) -> set[str]:
    """The assets a run materialised."""
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_history_keeps_every_release_and_the_views_show_the_latest(three_publishes):
    path, _ = three_publishes
    with duckdb.connect(str(path), read_only=True) as con:
        assert len(published_times(con)) == 3
        releases = con.execute("""SELECT vintage, revision, valid_to IS NULL FROM source_releases_history
                                  WHERE source_id = 'breitbandatlas' AND vintage = '2021-mitte' ORDER BY revision""").fetchall()
        gv_vintages = {row[0] for row in con.execute(
            "SELECT vintage FROM source_releases WHERE source_id = 'destatis_gemeindeverzeichnis'").fetchall()}
        latest_register = con.execute("SELECT max(territorial_date) FROM municipalities").fetchone()[0]
        cited = con.execute("SELECT vintages FROM source_attribution WHERE source_id = 'breitbandatlas'").fetchone()[0]
    # the original release is kept (closed), the revision is current
    assert releases == [("2021-mitte", 1, False), ("2021-mitte", 2, True)]
    # the sources' list names the revision as the figures cite it ('2021-mitte' listed a release no row cites)
    assert "2021-mitte-rev2" in cited and "2021-mitte" not in cited
    assert {"2023-12-31", "2024-Q4"} <= gv_vintages
    assert str(latest_register) >= "2024-12-31"


def test_revision_is_a_new_vintage_and_as_of_shows_the_earlier(three_publishes):
    path, original = three_publishes
    query = """SELECT value, vintage FROM {source}
               WHERE ags = ? AND indicator_id = 'gigabit_coverage' AND period = 2021"""
    with duckdb.connect(str(path), read_only=True) as con:
        first, second, third = published_times(con)
        latest = con.execute(query.format(source="indicator_values"), [MOELLN]).fetchall()
        as_of_second = con.execute(query.format(source=f"indicator_values_as_of(TIMESTAMP '{second}')"),
                                   [MOELLN]).fetchall()
        as_of_first = con.execute(query.format(source=f"indicator_values_as_of(TIMESTAMP '{first}')"),
                                  [MOELLN]).fetchall()
        history = con.execute(query.format(source="indicator_values_history") + " ORDER BY valid_from",
                              [MOELLN]).fetchall()
        index_then = con.execute("SELECT score FROM readiness_index_as_of(?) WHERE ags = ? AND period = 2021",
                                 [second, MOELLN]).fetchone()[0]
        index_now = con.execute("SELECT score FROM readiness_index WHERE ags = ? AND period = 2021",
                                [MOELLN]).fetchone()[0]
    assert latest == [(97.5, "2021-mitte-rev2")]
    assert as_of_second == [(original, "2021-mitte")]
    # before the 2021 release was loaded, 2021 carried the 2020 figure forward
    assert [vintage for _, vintage in as_of_first] == ["2020-ende"]
    assert history == [*as_of_first, (original, "2021-mitte"), (97.5, "2021-mitte-rev2")]
    assert index_now > index_then  # the revision raised Mölln's gigabit share, so its 2021 score


def test_as_of_reads_a_time_with_a_zone_as_that_instant_and_one_without_as_utc(three_publishes):
    """A planner's DuckDB runs in Europe/Berlin: CAST(TIMESTAMPTZ AS TIMESTAMP) gave the Berlin wall time, an
    hour after the instant, and a text's '+01' was dropped (review of 5 December). The time the exports show
    (Berlin, whole seconds) now finds its publish, with its offset."""
    path, original = three_publishes
    query = """SELECT value, vintage FROM indicator_values_as_of({at})
               WHERE ags = '01053090' AND indicator_id = 'gigabit_coverage' AND period = 2021"""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("SET TimeZone = 'Europe/Berlin'")
        times = published_times(con)
        assert all(t.microsecond == 0 for t in times)  # whole seconds: the time the exports show is the key
        second = times[1]
        berlin = (second + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")  # CET in December
        found = {at: con.execute(query.format(at=at)).fetchall() for at in [
            f"TIMESTAMP '{second}'", f"'{second}'", f"TIMESTAMPTZ '{second}+00'", f"'{berlin}+01'",
            f"'{berlin}+01:00'", f"'{second}Z'", f"TIMESTAMPTZ '{berlin} Europe/Berlin'"]}
        before = con.execute(query.format(at=f"TIMESTAMPTZ '{second}+00' - INTERVAL 1 SECOND")).fetchall()
        # without a zone a time is UTC: the Berlin wall time is an hour after the second publish, after the third
        naive_berlin = con.execute(query.format(at=f"TIMESTAMP '{berlin}'")).fetchall()
    assert {at: rows for at, rows in found.items() if rows != [(original, "2021-mitte")]} == {}
    assert [vintage for _, vintage in before] == ["2020-ende"]
    assert times[2] < second + dt.timedelta(hours=1) and naive_berlin == [(97.5, "2021-mitte-rev2")]


def test_publish_log_reports_changed_sources_and_rows_gained(three_publishes):
    path, _ = three_publishes
    with duckdb.connect(str(path), read_only=True) as con:
        changes = [json.loads(row[0]) for row in con.execute("SELECT changes FROM publish_log ORDER BY published_at").fetchall()]
    assert changes[1]["sources_changed"]["breitbandatlas"]["new"] == ["2021-mitte"]
    assert changes[1]["sources_changed"]["destatis_gemeindeverzeichnis"]["new"] == ["2024-Q4"]
    assert changes[1]["rows_gained"]["indicator_values"] > 0
    assert changes[2]["sources_changed"] == {"breitbandatlas": {"new": ["2021-mitte-rev2"], "withdrawn": ["2021-mitte"]}}


def test_identical_refreshes_give_identical_views(snapshot_warehouse, snapshot_rerun):
    """The first refresh is the session's; the second one, identical, is the whole job again over a copy of
    it (tests/conftest.py: snapshot_rerun; an incremental refresh would not run at all)."""
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        first = view_checksums(con)
        history_rows = con.execute("SELECT count(*) FROM indicator_values_history").fetchone()[0]
    published, second = snapshot_rerun
    assert second.success
    assert STAGING_ASSETS <= second.materialized  # the rerun's materialised asset keys (conftest.RunOutcome)
    with duckdb.connect(str(published), read_only=True) as con:
        assert view_checksums(con) == first
        assert con.execute("SELECT count(*) FROM indicator_values_history").fetchone()[0] == history_rows
        last = json.loads(con.execute("SELECT changes FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0])
    assert last["sources_changed"] == {}
    assert {name: n for name, n in last["rows_gained"].items() if n} == {"publish_log": 1}


def test_history_tables_are_stored_in_town_order(three_publishes):
    """After three publishes (previous versions, closed ones and new ones together) every history table
    is stored in warehouse.history.HISTORY_ORDER, so a filter on one town skips the other row groups;
    the merge counts of the last publish add up to the table's rows."""
    from warehouse.history import HISTORY_ORDER

    path, _ = three_publishes
    with duckdb.connect(str(path), read_only=True) as con:
        for table, key in HISTORY_ORDER.items():
            columns = ", ".join([*key, "valid_from"])
            out_of_order = con.execute(f"""SELECT count(*) FROM (
                SELECT row_number() OVER (ORDER BY {columns}, rowid) AS sorted, row_number() OVER (ORDER BY rowid) AS stored
                FROM {table}) WHERE sorted <> stored""").fetchone()[0]
            assert out_of_order == 0, table
        last = json.loads(con.execute("SELECT changes FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0])
        merged = last["history"]["indicator_values_history"]
        total, current = con.execute("""SELECT count(*), count(*) FILTER (valid_to IS NULL)
                                        FROM indicator_values_history""").fetchone()
    assert merged["previous_versions"] + merged["opened"] == total and merged["opened"] > 0
    assert merged["current"] == current
