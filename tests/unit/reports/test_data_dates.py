"""Dates on the town pages: the Datenstand line (the oldest date of a kind counts), German local time of the
warehouse's UTC stamps, and the census note at the census year. Expected strings written by hand from the
docstrings and sources.yaml's census_rebasings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from indicators.publisher_notes import census_note
from reports.labels import berlin_time, data_date_line


@pytest.mark.parametrize("rows", [
    [("digital_infrastructure", dt.date(2022, 12, 31)), ("digital_infrastructure", dt.date(2021, 6, 30))],
    [("digital_infrastructure", dt.date(2021, 6, 30)), ("digital_infrastructure", dt.date(2022, 12, 31))],
])
def test_the_oldest_date_of_a_kind_counts_whatever_the_order(rows):
    assert data_date_line(rows) == "Breitband 06/2021"


def test_the_oldest_date_per_pillar_in_the_catalogues_order():
    """The line lists the pillars' kinds of data in the catalogue's pillar order, each written as the catalogue says
    (data_de, date_format), whatever the rows' order; the context pillar has no place in it."""
    rows = [("accessibility", pd.Timestamp("2020-12-31")), ("demographic_dynamics", pd.Timestamp("2023-12-31")),
            ("local_work_infrastructure", pd.Timestamp("2024-03-01")), ("commuting_potential", pd.Timestamp("2019-12-31")),
            ("digital_infrastructure", pd.Timestamp("2023-12-31")), ("context", pd.Timestamp("2010-12-31")),
            ("demographic_dynamics", pd.Timestamp("2022-12-31"))]
    assert data_date_line(rows) == ("Breitband 12/2023, Pendler 2019, Bevölkerung 31.12.2022, Coworking 01.03.2024, "
                                    "Erreichbarkeit 2020")


@pytest.mark.parametrize("value, shown", [
    (pd.Timestamp("2026-12-01 12:00"), "01.12.2026 13:00 Uhr"),  # naive means UTC; December: CET, UTC+1
    (pd.Timestamp("2026-07-15 12:00"), "15.07.2026 14:00 Uhr"),  # July: CEST, UTC+2
    ("2026-12-01 23:30", "02.12.2026 00:30 Uhr"),  # the next day in Berlin
    (pd.Timestamp("2026-12-01 12:00", tz="UTC"), "01.12.2026 13:00 Uhr"),
    (pd.Timestamp("2026-12-01 12:00", tz="Europe/Berlin"), "01.12.2026 12:00 Uhr"),  # already local: unchanged
    # clocks go back on 25.10.2026 at 01:00 UTC: 00:30 UTC is 02:30 CEST, 01:30 UTC 02:30 CET
    (pd.Timestamp("2026-10-25 00:30"), "25.10.2026 02:30 Uhr"),
    (pd.Timestamp("2026-10-25 01:30"), "25.10.2026 02:30 Uhr"),
])
def test_berlin_time_of_utc_stamps(value, shown):
    assert berlin_time(value) == shown


GV = "destatis_gemeindeverzeichnis"  # census_rebasings {2011: Zensus 2011}: counts from 31.12.2011 on
NOTE = "enthält die Neuberechnung der Einwohnerzahl nach dem "


@pytest.mark.parametrize("base, reference, note", [
    (2010, "2011-12-31", NOTE + "Zensus 2011"),  # the first count on the census: the change contains it
    (2011, "2013-12-31", ""),  # both ends on the Zensus 2011's count: no correction in the change
    (2011, "2011-12-31", ""),
    (2009, "2010-12-31", ""),  # both before the census
])
def test_census_note_at_the_census_year(base, reference, note):
    assert census_note(GV, base, pd.Timestamp(reference)) == note


def test_census_note_of_both_censuses_and_at_the_second_census_year():
    """regionalstatistik: {2011: Zensus 2011, 2022: Zensus 2022}."""
    assert census_note("regionalstatistik", 2010, pd.Timestamp("2022-12-31")) == \
        NOTE + "Zensus 2011 und dem Zensus 2022"
    assert census_note("regionalstatistik", 2011, pd.Timestamp("2022-12-31")) == NOTE + "Zensus 2022"
    assert census_note("regionalstatistik", 2022, pd.Timestamp("2023-12-31")) == ""
