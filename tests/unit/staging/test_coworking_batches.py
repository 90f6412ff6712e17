"""Which coworking picture is counted on which date: OSM queries and the towns' own lists (staging/coworking.py)."""

from __future__ import annotations

import pandas as pd

from sources.osm_coworking import SPACE_COLUMNS
from staging import coworking


def town_list(town: str, *names: str) -> pd.DataFrame:
    return pd.DataFrame({"name": list(names), "ags": town, "supplying_ags": town, "located_at_gemeinde": False})


def osm(vintage: str, *names: str) -> tuple[str, dict]:
    spaces = pd.DataFrame([{**dict.fromkeys(SPACE_COLUMNS), "osm_type": "node", "osm_id": i, "name": n}
                           for i, n in enumerate(names)], columns=SPACE_COLUMNS)
    return vintage, {"coworking_spaces": spaces}


MOELLN, WITTENBERGE = "01053090", "12070424"
DELIVERIES = {"2024-03-01": town_list(MOELLN, "Rathaus temporär"),
              "2024-04-01": town_list(WITTENBERGE, "Bahnhof"),
              "2024-06-01": town_list(MOELLN, "Rathaus dauerhaft", "Bücherei")}


def names(frame: pd.DataFrame) -> set[str]:
    return set(frame["name"])


def test_each_town_keeps_its_latest_list_whoever_delivered_since():
    """Only the latest delivery folder was taken: Wittenberge's April list dropped Mölln's March list."""
    assert names(coworking.lists_as_of(DELIVERIES, "2024-04-15")) == {"Rathaus temporär", "Bahnhof"}
    assert names(coworking.lists_as_of(DELIVERIES, "2024-06-01")) == {"Rathaus dauerhaft", "Bücherei", "Bahnhof"}
    assert coworking.lists_as_of(DELIVERIES, "2024-01-01").empty


def test_a_corrected_delivery_counts_from_its_day_and_says_so():
    """A corrected list in the same delivery folder lands as '2024-06-01-rev2', which sorts after '2024-06-01' as
    text: on an OSM query of that day it was left out. Its places carry the delivery's day (``listed_on``)."""
    corrected = {**DELIVERIES, "2024-06-01-rev2": town_list(MOELLN, "Rathaus")}
    del corrected["2024-06-01"]
    listed = coworking.lists_as_of(corrected, "2024-06-01")
    assert names(listed) == {"Rathaus", "Bahnhof"}
    assert set(zip(listed["name"], listed["listed_on"].astype(str))) == {("Rathaus", "2024-06-01"),
                                                                         ("Bahnhof", "2024-04-01")}


def test_a_list_delivered_after_the_latest_osm_query_is_counted_with_that_query():
    """Mölln's June list waited, unmerged, for an OSM answer that changed, while source_releases listed it."""
    batches = coworking.batches([osm("2024-05-14", "Coworking Hafen")], DELIVERIES)
    assert [(b.date, b.source_id) for b in batches] == [("2024-05-14", "osm_coworking"), ("2024-06-01", "local_inputs")]
    (_, _, may_osm, may_lists, _), (_, _, june_osm, june_lists, _) = batches
    assert names(may_osm) == names(june_osm) == {"Coworking Hafen"}
    assert names(may_lists) == {"Rathaus temporär", "Bahnhof"}
    assert names(june_lists) == {"Rathaus dauerhaft", "Bücherei", "Bahnhof"}


def test_without_osm_each_delivery_counts_every_list_up_to_it():
    batches = coworking.batches([], DELIVERIES)
    assert [(b.date, b.source_id) for b in batches] == [
        ("2024-03-01", "local_inputs"), ("2024-04-01", "local_inputs"), ("2024-06-01", "local_inputs")]
    assert all(b.osm.empty for b in batches)
    assert names(batches[1].lists) == {"Rathaus temporär", "Bahnhof"}


def test_a_delivery_measures_only_the_towns_that_delivered():
    """Wittenberge's list delivered after the latest OSM query re-counted every Gemeinde under the towns' own source,
    dated with Wittenberge's delivery: 10,951 values of 2023 from a 2021 query, shown as current and as "Eigene
    Angaben der Stadt" (coworking review of 5 December 2026). An OSM query still measures every Gemeinde."""
    with_osm = coworking.batches([osm("2024-03-15", "Coworking Hafen")], DELIVERIES)
    assert [(b.date, b.towns) for b in with_osm] == [("2024-03-15", None), ("2024-04-01", frozenset({WITTENBERGE})),
                                                     ("2024-06-01", frozenset({MOELLN}))]
    assert names(with_osm[1].lists) == {"Rathaus temporär", "Bahnhof"}  # Mölln's March list is merged, not re-dated
    without = coworking.batches([], DELIVERIES)
    assert [b.towns for b in without] == [frozenset({MOELLN}), frozenset({WITTENBERGE}), frozenset({MOELLN})]
