"""The Datenstand table names each source's newest release in time order, with its attribution year: a live
VG250 of 2025 beside the snapshot's VG5000 of 2021 is the current one, the annual register after the quarter's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

from reports.build import Renderer
from reports.data import releases_due


def test_the_datenstand_names_the_newest_release_not_the_largest_id():
    releases = pd.DataFrame({
        "source_id": ["bkg_vg", "bkg_vg", "destatis_gemeindeverzeichnis", "destatis_gemeindeverzeichnis"],
        "vintage": ["vg250-2025-01-01", "vg5000-2021-01-01", "2025-Q2", "2025-12-31"],
        "ingested_at": [dt.datetime(2026, 12, 1)] * 4, "publisher": "p", "licence": "dl-de/by-2-0",
        "licence_url": None, "attribution": "a"})
    due = releases_due(releases, dt.datetime(2026, 12, 1, 9, 30))
    rows = {r["source_id"]: r for r in Renderer._releases(SimpleNamespace(data=SimpleNamespace(releases=releases,
                                                                                               releases_due=due,
                                                                                               year_only_data=())))}
    assert rows["bkg_vg"]["vintage"] == "vg250-2025-01-01" and "(2025)" in rows["bkg_vg"]["attribution_de"]
    assert rows["destatis_gemeindeverzeichnis"]["vintage"] == "2025-12-31"
    assert rows["bkg_vg"]["vintages"] == 2
    # a newer release is due two annual cycles and a month after the newest one's date: not yet at this publish
    assert (rows["bkg_vg"]["due"], rows["bkg_vg"]["overdue"]) == (dt.date(2027, 2, 1), False)
    assert rows["destatis_gemeindeverzeichnis"]["due"] == dt.date(2028, 1, 31)


def test_a_source_whose_newer_release_is_overdue_says_so():
    """The dates review (5 December): the BA's Kreis file of June 2016 was 3,810 days old in a build of 2026 and the
    newest_release_age check warned in the Dagster UI, while the pages said only "Neuester Stand 06/2016"."""
    releases = pd.DataFrame({"source_id": ["ba_commuting", "local_inputs"], "vintage": ["2016-06", "2023-05-10"],
                             "ingested_at": [dt.datetime(2026, 12, 1)] * 2, "publisher": "p", "licence": "l",
                             "licence_url": None, "attribution": "a"})
    due = releases_due(releases, pd.Timestamp("2026-12-05 19:47:00"))
    assert due == {"ba_commuting": {"newest": "2016-06", "data_date": None, "due": dt.date(2018, 7, 31), "overdue": True}}  # no cycle: none
    from reports.tables import releases_table
    rows = Renderer._releases(SimpleNamespace(data=SimpleNamespace(releases=releases, releases_due=due, year_only_data=())))
    table = {row["source_id"]: r for row, r in zip(rows, releases_table(rows).rows)}
    assert (table["ba_commuting"]["Neuer Stand fällig"], table["ba_commuting"]["überfällig"]) == ("31.07.2018",
                                                                                                        "ja")
    assert (table["local_inputs"]["Neuer Stand fällig"], table["local_inputs"]["überfällig"]) == (None, None)


def test_a_later_publish_of_the_same_data_can_turn_a_source_overdue(tmp_path):
    """The pages' build stops early when the published data and templates are as before; the due dates follow the
    publish time, which the data's fingerprint leaves out, so they are part of the build's state of their own."""
    import duckdb

    from reports.build import _due_state

    published = tmp_path / "readiness.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute("CREATE TABLE source_releases AS SELECT 'destatis_gemeindeverzeichnis' AS source_id, "
                    "'2024-Q4' AS vintage")
        con.execute("CREATE TABLE observations AS SELECT 'destatis_gemeindeverzeichnis' AS source_id, "
                    "DATE '2023-12-31' AS reference_date, 'population_total' AS measure")
        con.execute("CREATE TABLE publish_log AS SELECT TIMESTAMP '2025-12-05 19:47:00' AS published_at")
    before = _due_state(published)
    with duckdb.connect(str(published)) as con:
        con.execute("INSERT INTO publish_log VALUES (TIMESTAMP '2026-03-01 08:00:00')")  # due 30.01.2026
    assert before != _due_state(published)
    assert "True" in _due_state(published) and "True" not in before


def test_a_release_newer_than_its_data_is_due_from_the_datas_date():
    """The dates review (5 December, F3): the Gemeindeverzeichnis 2024-Q4 gives the population of 31.12.2023. Judged
    by its id a newer release was due by 31.01.2027; by its data by 30.01.2026, so a publish of December 2026 is
    overdue, and the page says which Stichtag the newest data have."""
    releases = pd.DataFrame({"source_id": ["destatis_gemeindeverzeichnis"] * 2 + ["breitbandatlas"],
                             "vintage": ["2023-12-31", "2024-Q4", "2021-mitte"],
                             "ingested_at": [dt.datetime(2026, 12, 1)] * 3, "publisher": "p", "licence": "l",
                             "licence_url": None, "attribution": "a"})
    published_at = pd.Timestamp("2026-12-05 19:47:00")
    by_id = releases_due(releases, published_at)
    assert (by_id["destatis_gemeindeverzeichnis"]["due"], by_id["destatis_gemeindeverzeichnis"]["overdue"]) == (
        dt.date(2027, 1, 31), False)
    dates = {"destatis_gemeindeverzeichnis": dt.date(2023, 12, 31), "breitbandatlas": dt.date(2021, 6, 30)}
    due = releases_due(releases, published_at, dates)
    assert due["destatis_gemeindeverzeichnis"] == {"newest": "2024-Q4", "data_date": dt.date(2023, 12, 31),
                                                   "due": dt.date(2026, 1, 30), "overdue": True}
    assert due["breitbandatlas"]["due"] == by_id["breitbandatlas"]["due"]  # data of the release's own date
    from reports.tables import releases_table
    rows = Renderer._releases(SimpleNamespace(data=SimpleNamespace(releases=releases, releases_due=due, year_only_data=())))
    by_source = {row["source_id"]: row for row in rows}
    assert by_source["destatis_gemeindeverzeichnis"]["data_date_differs"]
    assert not by_source["breitbandatlas"]["data_date_differs"]
    table = {row["source_id"]: r for row, r in zip(rows, releases_table(rows).rows)}
    assert (table["destatis_gemeindeverzeichnis"]["Daten bis"], table["destatis_gemeindeverzeichnis"]["überfällig"]) \
        == ("31.12.2023", "ja")


def test_a_source_publishing_old_figures_is_not_overdue_a_month_after_its_release():
    """INKAR's 2022-12 release holds data of 2020 (review of today's change): two cycles after the data's date it was
    "überfällig" from February 2023, a month after it came out. Its declared lag of 24 months moves the due day to
    31.01.2024; by March 2023 it is not overdue, by December 2026 it is."""
    releases = pd.DataFrame({"source_id": ["inkar"], "vintage": ["2022-12"], "ingested_at": [dt.datetime(2023, 2, 1)],
                             "publisher": "p", "licence": "l", "licence_url": None, "attribution": "a"})
    dates = {"inkar": dt.date(2020, 12, 31)}
    early = releases_due(releases, pd.Timestamp("2023-03-01"), dates)["inkar"]
    assert (early["due"], early["overdue"]) == (dt.date(2024, 1, 31), False)
    assert releases_due(releases, pd.Timestamp("2026-12-05"), dates)["inkar"]["overdue"]
    # a data date after the release's own day (a mislabelled row) never makes the source look newer than its id
    late = releases_due(releases, pd.Timestamp("2023-03-01"), {"inkar": dt.date(2024, 6, 30)})["inkar"]
    assert late["due"] == dt.date(2026, 1, 30)  # as data of 31.12.2022: a cycle, the lag and a month


def test_the_newest_data_of_a_year_say_daten_bis_that_year():
    """INKAR's newest data are its accessibility figures of 2020, which INKAR gives by year and the parser dates
    31.12.: the Datenstand table read "Daten bis 31.12.2020" (read of the change, 6 December 2026). A source whose
    newest date also has measures with their day (INKAR's commuting shares of 30.06.) keeps the day."""
    import duckdb

    from reports.data import newest_data
    from reports.tables import releases_table

    con = duckdb.connect()
    con.execute("""CREATE TABLE observations AS SELECT * FROM (VALUES
        ('inkar', DATE '2020-12-31', 'car_minutes_to_ic_ice_station'), ('inkar', DATE '2019-06-30', 'out_commuter_share'),
        ('inkar', DATE '2018-12-31', 'distance_to_transit_stop_m'),
        ('destatis_gemeindeverzeichnis', DATE '2023-12-31', 'population_total')) t(source_id, reference_date, measure)""")
    assert newest_data(con) == {"inkar": (dt.date(2020, 12, 31), True),
                                "destatis_gemeindeverzeichnis": (dt.date(2023, 12, 31), False)}
    con.execute("INSERT INTO observations VALUES ('inkar', DATE '2020-12-31', 'out_commuter_share')")
    assert newest_data(con)["inkar"] == (dt.date(2020, 12, 31), False)
    releases = pd.DataFrame({"source_id": ["inkar", "destatis_gemeindeverzeichnis"], "vintage": ["2022-12", "2024-Q4"],
                             "ingested_at": [dt.datetime(2026, 12, 1)] * 2, "publisher": "p", "licence": "l",
                             "licence_url": None, "attribution": "a"})
    dates = {"inkar": dt.date(2020, 12, 31), "destatis_gemeindeverzeichnis": dt.date(2023, 12, 31)}
    due = releases_due(releases, pd.Timestamp("2026-12-05 19:47:00"), dates)
    rows = Renderer._releases(SimpleNamespace(data=SimpleNamespace(releases=releases, releases_due=due,
                                                                   year_only_data=("inkar",))))
    table = {row["source_id"]: r for row, r in zip(rows, releases_table(rows).rows)}
    assert table["inkar"]["Daten bis"] == "Bezugsjahr 2020"  # the page: "Daten bis 2020"
    assert next(r for r in rows if r["source_id"] == "inkar")["data_date_de"] == "2020"
    assert table["destatis_gemeindeverzeichnis"]["Daten bis"] == "31.12.2023"
