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
