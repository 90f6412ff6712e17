"""The municipalities table's register row and latest population: for one territorial status or one Stichtag the
later release in time order, as the indicators take it ('2025-Q2' is older than '2025-12-31', though not as text)."""

from __future__ import annotations

import datetime as dt

import duckdb

from indicators.municipalities import municipality_rows


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
    [row] = municipality_rows(working_database(), ["01053090"]).to_dict("records")
    assert (row["name"], row["population"], row["is_pilot"]) == ("Mölln, Stadt", 19600, True)
