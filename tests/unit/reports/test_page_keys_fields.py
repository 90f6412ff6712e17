"""Every field of ReportData a page renders from is part of the pages' content keys (reports/pages.py).

Review of 5 December: the Kreis/Land/Bund values (``ReportData.references``, a dict) were never hashed, so a parser or
staging change of them left the town pages, their -indikatoren.csv and netzwerk-vergleich.csv stale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from reports import pages
from reports.data import ReportData, TownSplit


def report_data(**changes) -> ReportData:
    """A small ReportData: one town, one Kreis reference value, every other frame with one row."""
    towns = pd.DataFrame({"ags": ["01053090"], "name": ["Mölln"], "kreis_ags": ["01053"], "is_pilot": [True],
                          "kreis_name": ["Herzogtum Lauenburg"], "land": ["Schleswig-Holstein"], "population": [19566],
                          "population_date": [pd.Timestamp("2023-12-31")]})
    index = pd.DataFrame({"ags": ["01053090"], "period": [2021], "score": [55.0]})
    row = pd.DataFrame({"ags": ["01053090"], "value": [1.0]})
    values = dict(
        path=Path("readiness.duckdb"), method_version="v1", latest_period=2021,
        towns=towns.set_index("ags", drop=False), kreise=pd.DataFrame({"ags": ["01053"], "name": ["Herzogtum"]}),
        index=index, releases=row, geometries=pd.DataFrame({"ags": ["01053090"], "geometry_wkb": [b"\x01"]}),
        coworking=row, coworking_gap=row, gap_inputs=row, kreis_commuting=row, mobile_kreis=row, group_medians=row,
        references={("broadband_1000", "kreis", "01053"): ([pd.Timestamp("2021-06-30")], [40.0])},
        reference_releases={("broadband_1000", "kreis", "01053"): [("breitbandatlas", "2021-mitte")]},
        by_town={"index": TownSplit(index, "ags")}, flows_by_kreis={"01053": row.assign(home_kreis="01053")},
        former_kreise=pd.DataFrame({"ags": ["01053090"], "kreis_ags": ["01099"], "kreis_name": ["Früher"]}),
        kreis_moves=pd.DataFrame({"ags": ["01053090"], "part_ags": ["01062001"], "part_name": ["Teil"],
                                  "kind": ["merger"], "kreis_ags": ["01062"], "kreis_name": ["Stormarn"],
                                  "first_listed": [pd.Timestamp("1983-12-31")], "last_listed": [pd.Timestamp("2013-12-31")],
                                  "first_unlisted": [pd.Timestamp("2021-12-31")],
                                  "moved_on": [pd.Timestamp("2019-01-01")], "moved_on_basis": ["bkg_wsk"],
                                  "part_population": [100.0]}))
    return ReportData(**{**values, **changes})


def common_key(data: ReportData) -> str:
    return pages.PageKeys(data, geoms=None, neighbour_cache={}).common


def changed(value):
    """The same kind of value with one thing different (a frame gets another row, a mapping another entry)."""
    if isinstance(value, pd.DataFrame):
        return pd.concat([value, value.head(1)], ignore_index=True)
    if isinstance(value, dict):
        return {**value, ("another", "key"): ([pd.Timestamp("2020-12-31")], [1.0])}
    if isinstance(value, Path):
        return value.with_name("other.duckdb")
    return f"{value}-changed"


def test_a_changed_kreis_land_or_bund_value_changes_every_page_key():
    before = report_data()
    refs = {key: (dates, [v + 1 for v in values]) for key, (dates, values) in before.references.items()}
    assert common_key(report_data(references=refs)) != common_key(before)


@pytest.mark.parametrize("name", pages.shared_fields(report_data()))
def test_every_field_not_hashed_apart_is_hashed_into_the_common_key(name):
    """A field added to ReportData is in this list by itself: it fails here unless its change changes the key."""
    before = report_data()
    assert common_key(report_data(**{name: changed(getattr(before, name))})) != common_key(before), name


def test_every_field_is_hashed_or_declared_shown_nowhere():
    """HASHED_APART and NOT_SHOWN name fields that exist; the references are hashed whole."""
    names = {f.name for f in dataclasses.fields(ReportData)}
    assert set(pages.HASHED_APART) | pages.NOT_SHOWN <= names
    assert "references" in pages.shared_fields(report_data())


class NoGeometries:
    """No town has a polygon: a page key then has no neighbours."""

    def has(self, ags: str) -> bool:
        return False


def town_and_index_keys(data: ReportData) -> tuple[str, str]:
    keys = pages.PageKeys(data, geoms=NoGeometries(), neighbour_cache={})
    return keys.town("01053090"), keys.index(["01053090.html"])


@pytest.mark.parametrize("name", sorted(pages.HASHED_APART))
def test_every_field_hashed_apart_reaches_the_key_of_a_page_that_shows_it(name):
    """A field declared hashed apart but hashed nowhere would pass the test above: its change must change the
    town page's key or the index page's (review of the diff)."""
    before = report_data()
    value = getattr(before, name)
    if name == "by_town":
        value = {"index": TownSplit(before.index.assign(score=56.0), "ags")}
    elif name == "flows_by_kreis":
        value = {"01053": before.flows_by_kreis["01053"].assign(value=2.0)}
    elif name == "towns":
        value = before.towns.assign(name="Mölln, Stadt")
    elif name == "geometries":
        value = before.geometries.assign(geometry_wkb=[b"\x02"])
    else:
        value = changed(value)
    assert town_and_index_keys(report_data(**{name: value})) != town_and_index_keys(before), name


def test_the_index_page_key_follows_the_dates_its_scores_rest_on():
    """The index page says what the published scores rest on (labels.data_dates_text over index_data_dates): a new
    date with the same scores must rewrite it (dates review of 6 December 2026)."""
    dates = pd.DataFrame({"ags": ["01053090"], "period": [2021], "pillar": ["commuting_potential"],
                          "reference_date": [pd.Timestamp("2019-06-30")], "carried_forward": [1], "inputs": [1]})
    index = report_data().index

    def index_key(frame: pd.DataFrame) -> str:
        data = report_data(by_town={"index": TownSplit(index, "ags"), "input_dates": TownSplit(frame, "ags")})
        return town_and_index_keys(data)[1]

    assert index_key(dates) != index_key(dates.assign(reference_date=pd.Timestamp("2020-06-30")))
    assert index_key(dates) == index_key(dates.copy())


def test_a_mapping_is_hashed_independently_of_its_order():
    one = {("a", "kreis", "1"): ([1], [2.0]), ("b", "land", "2"): ([3], [4.0])}
    assert pages.value_digest(one) == pages.value_digest(dict(reversed(list(one.items()))))
    assert pages.value_digest(one) != pages.value_digest({**one, ("b", "land", "2"): ([3], [4.5])})


def test_a_territory_flag_moving_from_one_town_to_another_changes_every_pages_key():
    """The map's note says whether a town's territory changed after its boundary; a new change list may move the flag
    from one town to another with as many flagged as before, which a digest per column did not see (review of
    6 December 2026). The shapes, and with them the neighbour cache's key, stay."""
    import datetime as dt
    from types import SimpleNamespace

    frame = pd.DataFrame({"ags": ["01", "02", "03"], "name": ["A", "B", "C"], "geometry_wkb": [b"a", b"b", b"c"],
                          "territorial_date": [dt.date(2021, 1, 1)] * 3,
                          "territory_changed_since_geometry": [True, False, False]})
    moved = frame.assign(territory_changed_since_geometry=[False, False, True])
    keys = [pages.PageKeys(SimpleNamespace(geometries=f), None, {}) for f in (frame, moved, frame.copy())]
    assert keys[0].boundary_digest != keys[1].boundary_digest == keys[1].boundary_digest
    assert keys[0].boundary_digest == keys[2].boundary_digest
    assert keys[0].geometry_digest == keys[1].geometry_digest


def test_the_flows_of_a_former_kreis_a_page_may_show_reach_its_key():
    """A town's Kreis section reads the flows of its former Kreis where its Kreis of today is not listed, and of a
    part of its Kreis listed apart on the same day (reports.context ``_kreis_section``): their change must change the
    page's key, though they are another Kreis's rows (review of 7 December 2026)."""
    before = report_data()  # Mölln (01053) lay in "01099" (the fixture's former_kreise)
    flows = {**before.flows_by_kreis, "01099": before.flows_by_kreis["01053"].assign(home_kreis="01099")}
    with_former = report_data(flows_by_kreis=flows)
    assert town_and_index_keys(with_former)[0] != town_and_index_keys(before)[0]
    other = report_data(flows_by_kreis={**flows, "09999": flows["01099"].assign(home_kreis="09999")})
    assert town_and_index_keys(other)[0] == town_and_index_keys(with_former)[0]  # a Kreis the page never reads


def test_another_gemeinde_in_the_towns_kreis_changes_its_key():
    """A Kreis of one Gemeinde is the town itself, and its page says so (``reports.context.whole_kreis``): a second
    Gemeinde in the Kreis changes that wording while the town's own rows stay the same (review of 7 December 2026)."""
    before = report_data()
    towns = pd.concat([before.towns, before.towns.assign(ags="01053001", name="Breitenfelde")]).set_index("ags", drop=False)
    assert town_and_index_keys(report_data(towns=towns))[0] != town_and_index_keys(before)[0]
