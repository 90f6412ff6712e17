"""The municipalities table's register row and latest population: for one territorial status or one Stichtag the
later release in time order, as the indicators take it ('2025-Q2' is older than '2025-12-31', though not as text)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from indicators.catalogue import load_catalogue
from indicators.municipalities import job_centrality, municipality_rows

POPULATION_SOURCES = load_catalogue().population_sources  # the register first, then the Regionaldatenbank


def working_database() -> duckdb.DuckDBPyConnection:
    """Mölln in a quarterly and the later annual Gemeindeverzeichnis, both with the population of 31.12.2024: the
    annual one corrected it (19,600 against 19,566) and calls the town by its designation."""
    con = duckdb.connect()
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, name VARCHAR, kreis_ags VARCHAR, "
                "kreis_name VARCHAR, land_name VARCHAR, kind VARCHAR, territorial_date DATE, lon DOUBLE, "
                "lat DOUBLE, vintage VARCHAR)")
    con.executemany("INSERT INTO municipality_register VALUES ('01053090', ?, '01053', 'Herzogtum Lauenburg', "
                    "'Schleswig-Holstein', 'Stadt', ?, 10.7, 53.6, ?)",
                    [("Mölln", dt.date(2025, 12, 31), "2025-Q2"), ("Mölln, Stadt", dt.date(2025, 12, 31), "2025-12-31")])
    con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, "
                "reference_date DATE, measure VARCHAR, value DOUBLE)")
    con.executemany("INSERT INTO observations VALUES ('destatis_gemeindeverzeichnis', ?, '01053090', 'gemeinde', "
                    "?, ?, ?)",
                    [("2025-Q2", dt.date(2024, 12, 31), "population_total", 19566.0),
                     ("2025-12-31", dt.date(2024, 12, 31), "population_total", 19600.0),
                     ("2025-Q2", dt.date(2024, 12, 31), "area_km2", 25.05),
                     ("2025-12-31", dt.date(2024, 12, 31), "area_km2", 25.05)])
    return con


def test_the_later_release_of_one_stichtag_gives_population_and_name():
    [row] = municipality_rows(working_database(), ["01053090"], POPULATION_SOURCES).to_dict("records")
    assert (row["name"], row["population"], row["is_pilot"]) == ("Mölln, Stadt", 19600, True)


def test_of_one_date_the_first_population_source_of_the_catalogue_wins_and_a_later_date_any():
    """The Regionaldatenbank's count of the register's date gives way to the register (the catalogue's order,
    whichever source it names first); its count of a later date is the latest population."""
    assert POPULATION_SOURCES == ["destatis_gemeindeverzeichnis", "regionalstatistik"]
    con = working_database()
    con.execute("INSERT INTO observations VALUES ('regionalstatistik', '2026-01', '01053090', 'gemeinde', "
                "DATE '2024-12-31', 'population_total', 19570)")
    rows = {tuple(order): municipality_rows(con, ["01053090"], order).loc[0, "population"]
            for order in (POPULATION_SOURCES, POPULATION_SOURCES[::-1])}
    assert rows == {tuple(POPULATION_SOURCES): 19600, tuple(POPULATION_SOURCES[::-1]): 19570}
    con.execute("INSERT INTO observations VALUES ('regionalstatistik', '2026-01', '01053090', 'gemeinde', "
                "DATE '2025-12-31', 'population_total', 19610)")
    assert municipality_rows(con, ["01053090"], POPULATION_SOURCES).loc[0, "population"] == 19610
    assert municipality_rows(con, ["01053090"], POPULATION_SOURCES[:1]).loc[0, "population"] == 19600


def test_job_centrality_is_inkars_balance_of_the_latest_date_and_later_release():
    """INKAR 2025-Q2 and its revision 2025-12-31 for 2023, an older 2022 figure, and another source's measure of
    the same name that is not INKAR's."""
    con = working_database()
    con.executemany("INSERT INTO observations VALUES (?, ?, ?, 'gemeinde', ?, 'commuter_balance_per_100', ?)",
                    [("inkar", "2025-Q2", "01053090", dt.date(2023, 12, 31), -20.0),
                     ("inkar", "2025-12-31", "01053090", dt.date(2023, 12, 31), -21.5),
                     ("inkar", "2024-12-31", "01053090", dt.date(2022, 12, 31), -19.0),
                     ("inkar", "2025-Q2", "01053002", dt.date(2023, 12, 31), None),
                     ("other", "2026-01-01", "01053002", dt.date(2024, 12, 31), 5.0)])
    assert job_centrality(con).to_dict("records") == [{"ags": "01053090", "job_centrality": -21.5,
                                                       "job_centrality_date": pd.Timestamp(2023, 12, 31)}]


def test_a_catalogue_without_the_populations_sources_is_refused_by_name():
    import dataclasses

    import pytest

    with pytest.raises(ValueError, match="catalogue.yaml: inhabitants"):
        dataclasses.replace(load_catalogue(), inhabitants=None).population_sources
