"""indicators/publisher_notes.py: the notes on a change across a census or a break in comparability, in Python (town
pages, readiness profil) and in SQL (the German exports), the same text for every case."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from indicators.publisher_notes import change_notes, change_notes_sql

GV, REGIO = "destatis_gemeindeverzeichnis", "regionalstatistik"
CASES = [  # source, base year, reference date
    (GV, 2009, "2013-12-31"), (GV, 2002, "2023-12-31"), (GV, 2013, "2021-12-31"), (GV, 2016, "2021-12-31"),
    (GV, 2013, "2015-12-31"), (GV, None, "2013-12-31"), (GV, 2009, None), (GV, 2015.6, "2021-12-31"),
    (REGIO, 2010, "2022-12-31"), (REGIO, 2013, "2022-12-31"), (REGIO, 2022, "2023-12-31"),
    ("breitbandatlas", 2009, "2021-06-30"), ("inkar", 2013, "2020-12-31"),
]


@pytest.mark.parametrize("source, base, reference", CASES)
def test_the_exports_sql_gives_the_pages_text(source, base, reference):
    expected = change_notes(source, base, None if reference is None else pd.Timestamp(reference)) or None
    got = duckdb.execute(f"SELECT {change_notes_sql()} FROM (SELECT $s AS source_id, CAST($b AS DOUBLE) AS base_period, "
                         "CAST($r AS DATE) AS reference_date)", {"s": source, "b": base, "r": reference}).fetchone()[0]
    assert got == expected


def test_both_breaks_of_one_change_in_one_order():
    """A 2009 -> 2021 change of the Gemeindeverzeichnis spans the Zensus 2011 and Destatis' 2016 break."""
    assert change_notes(GV, 2009, pd.Timestamp("2021-12-31")) == (
        "enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011; Einwohnerzahlen ab 2016 nur bedingt mit den Vorjahren "
        "vergleichbar (methodische Änderungen der Bevölkerungsfortschreibung)")
    assert change_notes(REGIO, 2010, pd.Timestamp("2023-12-31")).count("Zensus") == 2  # 'Zensus 2011 und dem Zensus 2022'


def test_the_values_inkar_gives_by_year_are_its_accessibility_indicators_the_parser_dates_31_december():
    """sources.yaml's year_only_measures are the measures the INKAR parser dates 31.12. (its convention for a year), and
    the commuting shares, dated the BA's own count day 30.06., are not among them (dates review F9)."""
    from indicators.publisher_notes import year_only
    from sources.inkar import DAY_OF_YEAR, MEASURE_COLUMNS
    from sources.registry import sources

    dated_by_convention = {MEASURE_COLUMNS[column][0] for column, day in DAY_OF_YEAR.items() if day == "-12-31"}
    assert set(sources()["inkar"].year_only_measures) == dated_by_convention and len(dated_by_convention) == 4
    assert {source for _, source in year_only()} == {"inkar"} and len(year_only()) == 4
    assert ("ic_ice_station_car_minutes", "inkar") in year_only()
    assert ("out_commuter_share", "inkar") not in year_only()


@pytest.mark.parametrize("indicator, source, reference, expected", [
    ("ic_ice_station_car_minutes", "inkar", "2020-12-31",
     "Bezugsjahr 2020: der Herausgeber nennt nur das Jahr, der Tag des Stichtags ist gesetzt"),
    ("transit_stop_distance", "inkar", "2018-12-31",
     "Bezugsjahr 2018: der Herausgeber nennt nur das Jahr, der Tag des Stichtags ist gesetzt"),
    ("out_commuter_share", "inkar", "2019-06-30", None),  # the BA's own count day
    ("ic_ice_station_car_minutes", "breitbandatlas", "2020-12-31", None),  # not that source's measure
    ("transit_stop_distance", "inkar", None, None)])
def test_the_exports_year_only_note(indicator, source, reference, expected):
    from indicators.publisher_notes import year_only_note_sql

    got = duckdb.execute(f"SELECT {year_only_note_sql()} FROM (SELECT $i AS indicator_id, $s AS source_id, "
                         "CAST($r AS DATE) AS reference_date)", {"i": indicator, "s": source, "r": reference}).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize("given", ["car_minutes_to_ic_ice_station", [""], [3], {"a": 1}])
def test_a_year_only_declaration_that_is_not_a_list_of_names_is_refused(tmp_path, given):
    """A plain string became a set of its characters and matched nothing, without a word (read of the change,
    6 December 2026)."""
    import yaml

    from sources.registry import SOURCES_YAML, load_sources

    document = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))
    document["sources"]["inkar"]["year_only_measures"] = given
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="inkar: year_only_measures must be a list of measure names"):
        load_sources(path)
