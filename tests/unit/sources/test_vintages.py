"""Release ids in time order: a quarter by its last day, a BKG release by its date (VG250 before VG5000 on the
same date, as the SQL order NEWEST_FIRST), never the id's text."""

from __future__ import annotations

import datetime as dt

import duckdb

from sources.vintages import NEWEST_FIRST, in_time_order, last_day, release_order

GEOMETRY_RELEASES = ["vg5000-2021-01-01", "vg250-2025-01-01", "vg5000-2025-01-01", "vg250-2021-01-01",
                     "vg250-2025-01-01-rev2"]


def test_quarters_sort_by_their_last_day_and_keep_a_revision_suffix():
    assert [in_time_order(v) for v in ("2025-Q2", "2024-Q4-rev2", "2023-12-31", "2021-mitte")] == [
        "2025-06-30", "2024-12-31-rev2", "2023-12-31", "2021-06-30"]
    registers = ["2025-12-31", "2025-Q2", "2024-12-31", "2024-Q4"]
    assert sorted(registers, key=release_order) == ["2024-12-31", "2024-Q4", "2025-Q2", "2025-12-31"]


def test_half_years_sort_by_their_last_day():
    """'2021-ende' sorts before '2021-mitte' as text: the mid-year release was taken for the newer one (the page's
    newest Breitbandatlas release, which of two byte-identical files is the copy)."""
    halves = ["2021-ende", "2021-mitte", "2020-ende", "2021-2", "2021-1", "2021-ende-rev2"]
    assert sorted(halves, key=release_order) == ["2020-ende", "2021-1", "2021-mitte", "2021-2", "2021-ende",
                                                 "2021-ende-rev2"]
    assert in_time_order("2025-01-bis-02") == "2025-01-bis-02" and in_time_order("2021-12") == "2021-12"


def test_ids_without_a_date_keep_their_text_order():
    for older, newer in [("2018-1", "2018-ende"), ("2023", "2025-01-bis-02"), ("2021-12", "2022-12"),
                         ("2022-12", "2022-12-rev2")]:
        assert release_order(older) < release_order(newer)


def test_the_python_order_of_bkg_releases_is_the_sql_order():
    """release_order (Datenstand, Python) and NEWEST_FIRST (geometries and Kreis names, SQL) pick alike."""
    con = duckdb.connect()
    con.execute("CREATE TABLE releases (vintage VARCHAR, territorial_date DATE)")
    con.executemany("INSERT INTO releases VALUES (?, ?)",
                    [(v, dt.date.fromisoformat(v.split("-", 1)[1][:10])) for v in GEOMETRY_RELEASES])
    newest_first = [v for (v,) in con.execute(f"SELECT vintage FROM releases ORDER BY {NEWEST_FIRST}").fetchall()]
    assert newest_first == sorted(GEOMETRY_RELEASES, key=release_order, reverse=True)
    assert newest_first[:2] == ["vg250-2025-01-01-rev2", "vg250-2025-01-01"]


def test_the_last_day_a_release_id_can_mean():
    assert [last_day(v) for v in ("2024-Q4", "2021-mitte", "2021-1", "2022-12", "2023", "vg5000-2021-01-01",
                                  "2025-01-bis-02", "2023-12-31-rev2")] == [
        dt.date(2024, 12, 31), dt.date(2021, 6, 30), dt.date(2021, 6, 30), dt.date(2022, 12, 31),
        dt.date(2023, 12, 31), dt.date(2021, 1, 1), dt.date(2025, 2, 28), dt.date(2023, 12, 31)]
    assert last_day("2023-11-31") is None and last_day("delivery") is None


def test_an_attribution_without_a_release_year_leaves_the_year_out():
    from sources.registry import attribution_text

    # "({year})" (BKG) and " {year}" (INKAR): neither printed empty ("BKG ()", "BBSR Bonn , INKAR")
    assert attribution_text("bkg_vg", None, None) == "© GeoBasis-DE / BKG, Daten verändert"
    assert attribution_text("inkar", None, "ohne-jahr") == "© BBSR Bonn, INKAR (aufbereitet von RegioHub/inkr)"
    assert attribution_text("inkar", None, "2024-12") == "© BBSR Bonn 2024, INKAR (aufbereitet von RegioHub/inkr)"


def test_the_stored_english_attribution_cites_the_year_of_its_release():
    """sources.yaml's English ``attribution`` is stored per release (source_releases.attribution): INKAR's said
    "© BBSR Bonn 2022" for any edition and BKG's "(year of the vintage)", the template's words, as data."""
    from sources.registry import sources, with_release_year

    inkar, bkg = sources()["inkar"].attribution, sources()["bkg_vg"].attribution
    assert with_release_year(inkar, "2024-12") == "© BBSR Bonn 2024, INKAR (as re-packaged by RegioHub/inkr)"
    assert with_release_year(inkar, "2022-12") == "© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)"
    assert with_release_year(bkg, "vg250-2025-01-01") == "© GeoBasis-DE / BKG (2025), Daten verändert"
    assert with_release_year(bkg, None) == "© GeoBasis-DE / BKG, Daten verändert"
    # every other source's attribution has no year to fill and is stored as written
    plain = {source_id: spec.attribution for source_id, spec in sources().items() if source_id not in ("inkar", "bkg_vg")}
    assert {source_id: with_release_year(text, "2031-12") for source_id, text in plain.items()} == plain
