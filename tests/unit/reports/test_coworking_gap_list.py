"""The list 'Coworking-Orte bis 10 km' of the section Coworking-Lücke (reports/coworking_gap.py) holds what its tile
counts: the spaces of the tile's vintage, open on its date and within reach by the indicator's rule; and the share
line of a Verband member says that it is the Gemeindeverband's value (review of 5 December).

Constructed data: a square 'Gemeinde' near Mölln and invented spaces, not real places."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import duckdb
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box

from indicators import flags
from reports.context import coworking
from reports.coworking_gap import _latest_gap, _spaces_within_reach, load_spaces
from reports.data import COWORKING
from reports.maps import TownGeometries
from sources.local_inputs import active_on
from sources.osm_coworking import METRIC_CRS
from staging.coworking import assign_to_gemeinden, coworking_indicators

TOWN = "01053090"
SQUARE = box(10.60, 53.58, 10.76, 53.66)  # test geometry, not Mölln's boundary
DAY = dt.date(2023, 11, 20)


def east_of_town(km: float) -> tuple[float, float]:
    """(lat, lon) of a point ``km`` due east of the square's easternmost vertex in the indicator's CRS: its distance
    to the square is exactly ``km``."""
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    corners = [to_metric.transform(x, y) for x, y in SQUARE.exterior.coords]
    x, y = max(corners)
    lon, lat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True).transform(x + km * 1000, y)
    return lat, lon


def space(name, lat, lon, vintage="2023-11-20", osm_type="local", kind="permanent", opened=None, closed=None,
          placed=False, ags=TOWN):
    return {"osm_type": osm_type, "osm_id": abs(hash(name)) % 10**9, "name": name, "lat": lat, "lon": lon, "ags": ags,
            "local_kind": kind if osm_type == "local" else None,
            "sources": "local_inputs" if osm_type == "local" else "osm_coworking",
            "locally_reported": osm_type == "local", "located_at_gemeinde": placed, "supplier": "BEISPIEL",
            "licence": "dl-de/by-2-0", "desks": None, "opened": opened, "closed": closed, "vintage": vintage,
            "listed_on": dt.date.fromisoformat(vintage) if osm_type == "local" else None}


@pytest.fixture
def setting():
    """(spaces as load_spaces reads them, TownGeometries, the Gemeinde frame) of the constructed town."""
    inside = SQUARE.representative_point()
    rows = [space("A nahe Grenze innen", *east_of_town(9.97), ags=None),
            space("B knapp außerhalb", *east_of_town(10.03), ags=None),  # listed as '10,0 km', the tile did not count it
            space("C temporär, geschlossen", inside.y, inside.x, kind="temporary", opened=dt.date(2022, 10, 1),
                  closed=dt.date(2022, 10, 31)),
            space("D Probearbeitstag, vorbei", inside.y, inside.x, kind="trial_day", opened=dt.date(2023, 5, 15),
                  closed=dt.date(2023, 5, 15), placed=True),
            space("E OpenStreetMap", inside.y + 0.01, inside.x, osm_type="node"),
            space("F Bibliothek ohne Koordinaten", inside.y, inside.x, kind="third_place", placed=True,
                  opened=dt.date(2023, 3, 1)),
            space("G nur in einer späteren Lieferung", inside.y, inside.x, vintage="2024-02-01")]
    con = duckdb.connect()
    con.register("rows", pd.DataFrame(rows))
    con.execute("CREATE TABLE coworking_spaces AS SELECT * REPLACE (CAST(opened AS DATE) AS opened, "
                "CAST(closed AS DATE) AS closed) FROM rows")
    gemeinden = gpd.GeoDataFrame({"ags": [TOWN]}, geometry=[SQUARE], crs="EPSG:4326")
    geoms = TownGeometries(pd.DataFrame({"ags": [TOWN], "geometry_wkb": [shapely.to_wkb(SQUARE)]}))
    return load_spaces(con), geoms, gemeinden


def test_the_list_is_what_the_tile_counts(setting):
    spaces, geoms, gemeinden = setting
    observation = {"vintage": "2023-11-20", "reference_date": DAY}
    listed = _spaces_within_reach(spaces, geoms, TOWN, 10, observation)
    # B lies 10.03 km away: not counted, so not listed; C closed and D's day is past on the tile's date; G is of
    # another vintage than the tile's
    assert list(listed["name"]) == ["E OpenStreetMap", "F Bibliothek ohne Koordinaten", "A nahe Grenze innen"]
    assert listed["distance_km"].tolist() == [0.0, 0.0, 10.0]  # rounded for the page after the test, not before
    of_vintage = assign_to_gemeinden(spaces[spaces["vintage"] == "2023-11-20"].drop(columns="ags"), gemeinden)
    tile = coworking_indicators(active_on(of_vintage, DAY), gemeinden, DAY, 10).set_index("measure").loc[
        "coworking_spaces_within_10km", "value"]
    assert tile == len(listed) == 3
    assert listed.set_index("name").loc["F Bibliothek ohne Koordinaten", "location_de"] == (
        "Lage unbekannt: an einem Punkt innerhalb der Gemeinde verortet")  # not 'am Gemeindemittelpunkt'
    assert listed.set_index("name").loc["A nahe Grenze innen", "location_de"] is None


def test_the_coworking_section_counts_what_the_tile_counts_and_marks_the_rest(setting):
    """The section 'Coworking' (the latest batch) listed a closed temporary space and a past trial day as current,
    and measured 10 km in the maps' projection: beside a tile that left them out (review of 5 December)."""
    spaces, geoms, gemeinden = setting
    latest = spaces[spaces["vintage"] == "2023-11-20"].reset_index(drop=True).assign(
        kind=None, website=None, operator=None, osm_base_timestamp=None)
    section = coworking(SimpleNamespace(coworking=assign_to_gemeinden(latest, gemeinden), memo={}), geoms, TOWN)
    tile = _spaces_within_reach(spaces, geoms, TOWN, 10, {"vintage": "2023-11-20", "reference_date": DAY})
    assert sorted(r["name"] for r in section["rows"] if r["counted"]) == sorted(tile["name"])
    assert section["counted"] == 3 and section["radius_km"] == 10 and section["day"] == "2023-11-20"
    assert "B knapp außerhalb" not in [r["name"] for r in section["rows"]]  # 10.03 km from the boundary
    assert {r["name"]: r["open_de"] for r in section["rows"] if not r["counted"]} == {
        "C temporär, geschlossen": "geöffnet 01.10.2022–31.10.2022", "D Probearbeitstag, vorbei": "nur am 15.05.2023"}


def test_without_a_tile_the_latest_vintage_open_on_its_date(setting):
    spaces, geoms, _ = setting
    listed = _spaces_within_reach(spaces, geoms, TOWN, 10)
    assert list(listed["name"]) == ["G nur in einer späteren Lieferung"]


def test_a_neighbours_place_without_coordinates_counts_for_its_own_gemeinde_only(setting):
    """A place a town listed without coordinates is put at a point inside its Gemeinde. Whether it is within 10 km
    of a neighbour depended on that invented point, and the neighbour's tile, list and index counted it; now it
    counts for its own Gemeinde only, in the indicator, the tile's list and the section alike."""
    spaces, geoms, gemeinden = setting
    neighbour = box(10.76, 53.58, 10.92, 53.66)  # east of the square, sharing its edge
    point = neighbour.representative_point()  # inside the neighbour, a few km from the town
    both = pd.concat([gemeinden, gpd.GeoDataFrame({"ags": ["01053999"]}, geometry=[neighbour], crs="EPSG:4326")],
                     ignore_index=True)
    placed = pd.DataFrame([space("H Nachbarort ohne Koordinaten", point.y, point.x, placed=True, ags="01053999")])
    positioned = placed.assign(located_at_gemeinde=False, name="H Nachbarort mit Koordinaten")
    value = {}
    for label, rows in (("placed", placed), ("positioned", positioned)):
        observed = coworking_indicators(rows, both, DAY, 10).set_index(["ags", "measure"])["value"]
        value[label] = {key: observed[key] for key in [(TOWN, "coworking_spaces_within_10km"),
                                                       (TOWN, "coworking_nearest_km"),
                                                       ("01053999", "coworking_spaces_within_10km"),
                                                       ("01053999", "coworking_nearest_km")]}
    assert value["positioned"][(TOWN, "coworking_spaces_within_10km")] == 1  # a known position within reach counts
    assert 0 < value["positioned"][(TOWN, "coworking_nearest_km")] < 10
    assert value["placed"][(TOWN, "coworking_spaces_within_10km")] == 0
    assert pd.isna(value["placed"][(TOWN, "coworking_nearest_km")])  # no place with a known position at all
    assert value["placed"][("01053999", "coworking_spaces_within_10km")] == 1
    assert value["placed"][("01053999", "coworking_nearest_km")] == 0
    with_neighbour = pd.concat([spaces, load_like(placed, spaces)], ignore_index=True)
    listed = _spaces_within_reach(with_neighbour, geoms, TOWN, 10, {"vintage": "2023-11-20", "reference_date": DAY})
    assert "H Nachbarort ohne Koordinaten" not in set(listed["name"]) and len(listed) == 3
    latest = with_neighbour[with_neighbour["vintage"] == "2023-11-20"].reset_index(drop=True).assign(
        kind=None, website=None, operator=None, osm_base_timestamp=None, osm_id=lambda f: range(len(f)))
    # the section reads what the report data's query selects (it lacked located_at_gemeinde, review of 5 December)
    table = duckdb.connect()
    table.register("coworking_spaces", latest.drop(columns=["x_m", "y_m"]))
    section = coworking(SimpleNamespace(coworking=table.execute(COWORKING).df(), memo={}), geoms, TOWN)
    assert "H Nachbarort ohne Koordinaten" not in [r["name"] for r in section["rows"]]
    assert section["counted"] == 3
    # a town's place says when its list was delivered; an OpenStreetMap one does not
    sources = {r["name"]: r["source_de"] for r in section["rows"]}
    assert sources["F Bibliothek ohne Koordinaten"] == "Liste der Stadt (BEISPIEL, Stand 20.11.2023)"
    assert sources["E OpenStreetMap"] == "OpenStreetMap"


def load_like(rows: pd.DataFrame, spaces: pd.DataFrame) -> pd.DataFrame:
    """``rows`` as load_spaces gives them: its columns, with the coordinates in the indicator's CRS."""
    from reports.maps import to_metric_crs

    x, y = to_metric_crs(rows["lon"], rows["lat"])
    return rows.assign(x_m=x, y_m=y)[spaces.columns]


def test_the_share_of_a_verband_member_says_it_is_the_verbands_value():
    """Schönberg (Holstein)'s share line showed Amt Probstei's 12.5 % as its own; the indicator table says
    'Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)', and so does the section now."""
    row = {"ags": "01057073", "period": 2023, "long_distance_share": 12.5, "long_distance_share_year": 2019,
           "basis": "inkar_estimate", "long_distance_share_level": "gemeindeverband", "coworking_source_id": None}
    gap = _latest_gap(SimpleNamespace(gaps={"01057073": row}), "01057073")
    verband = flags.render_value_note(source_level="gemeindeverband", lang="de")
    assert gap["share_level_de"] == verband == "Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)"
    assert gap["basis_de"] == ("INKAR-Anteil der Arbeitswege ab 50 km (2019) × Erwerbstätige am Wohnort; "
                               f"Anteil: {verband}")
    own = _latest_gap(SimpleNamespace(gaps={"01053090": {**row, "long_distance_share_level": "gemeinde"}}),
                      "01053090")
    assert own["share_level_de"] is None and "Gemeindeverband" not in own["basis_de"]


def test_the_gap_section_says_why_there_is_no_count():
    """The flows alone with no far destination among the ten are no count (indicators/coworking_gap.py); the page
    then said the employed residents were missing, though they were there (review of 5 December 2026)."""
    from reports.coworking_gap import _no_count_de

    counted = {"long_distance_out_commuters": 120.0, "employed_at_residence": 1000.0}
    flows_zero = {"long_distance_out_commuters": None, "employed_at_residence": 1000.0,
                  "long_distance_out_commuters_flows": 0.0, "long_distance_flows_year": 2023}
    nothing = {"long_distance_out_commuters": None, "employed_at_residence": 1000.0,
               "long_distance_out_commuters_flows": None}
    no_base = {"long_distance_out_commuters": None, "employed_at_residence": None}
    assert _no_count_de(counted) is None
    assert _no_count_de(flows_zero).startswith("Unter den 10 wichtigsten Zielen der Pendleratlas-Ströme 2023 ist "
                                               "keines 50 km oder weiter entfernt")
    assert _no_count_de(nothing).startswith("Ohne INKAR-Anteil")
    assert _no_count_de(no_base).startswith("Ohne Zahl der Erwerbstätigen am Wohnort")


def test_the_gap_section_says_which_change_left_figures_out():
    """Dingelstädt's 2023 section showed INKAR's share of 2019 though the split of 2023 had left it out of the index;
    the gap now leaves it out too (indicators/coworking_gap.py) and the section says why, from the typed code."""
    row = {"ags": "16061118", "period": 2023, "long_distance_share": None, "territorial_change": "split",
           "coworking_source_id": None}
    gap = _latest_gap(SimpleNamespace(gaps={"16061118": row}), "16061118")
    assert gap["left_out_de"] == ("Zahlen aus der Zeit vor einer Gebietsänderung, die bis Ende 2023 wirksam wurde, "
                                  f"sind nicht verwendet ({flags.label('split', 'de')}): sie beschreiben die Gemeinde "
                                  "in ihren früheren Grenzen, wie der Index solche Werte auslässt")
    whole = _latest_gap(SimpleNamespace(gaps={"16061118": {**row, "territorial_change": None}}), "16061118")
    assert whole["left_out_de"] is None


@pytest.mark.parametrize("verband_row_first", [True, False])
def test_the_share_line_says_the_level_of_the_row_the_gap_read_whatever_the_row_order(verband_row_first):
    """A town that is its own Verband's key has INKAR's Verband row (no source level) beside its Gemeinde row (a
    Verband value restated onto it: source level 'gemeindeverband'), both of one release and year. The gap reads the
    Gemeinde row; the share line's note came from whichever row the query met first, and the pages drawn by one
    process and by two differed (16061045, 6 December 2026)."""
    from reports.coworking_gap import LATEST_GAP, _dicts

    con = duckdb.connect()
    con.execute("CREATE TABLE current_method AS SELECT '0.3.0' AS method_version")
    con.execute("CREATE TABLE coworking_gap_ranking AS SELECT 2023 AS period")
    con.execute("CREATE TABLE coworking_gap AS SELECT ? AS ags, 2023 AS period, '0.3.0' AS method_version, "
                "11.6 AS long_distance_share, 2019 AS long_distance_share_year", [TOWN])
    rows = [(TOWN, "gemeindeverband", None, 11.67), (TOWN, "gemeinde", "gemeindeverband", 11.60)]
    con.execute("CREATE TABLE observations (ags VARCHAR, level VARCHAR, source_level VARCHAR, value DOUBLE, "
                "source_id VARCHAR, measure VARCHAR, reference_date DATE, vintage VARCHAR)")
    for row in rows if verband_row_first else rows[::-1]:
        con.execute("INSERT INTO observations VALUES (?, ?, ?, ?, 'inkar', 'commuters_50km_share', DATE '2019-06-30', "
                    "'2022-12')", list(row))
    [gap] = _dicts(con, LATEST_GAP, TOWN)
    assert gap["long_distance_share_level"] == "gemeindeverband"
    assert _latest_gap(SimpleNamespace(gaps={TOWN: gap}), TOWN)["share_level_de"] == \
        "Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)"


def test_a_gap_year_without_coworking_data_lists_no_places_of_a_later_batch(setting):
    """Wittenberge (a town list of 15.01.2024, a gap year 2023): the tile read "–" and the text "keine
    Coworking-Daten (OpenStreetMap nicht geladen, keine eigene Liste)", while the list below it showed the 2024
    list's places (review of 6 December 2026). With a batch of the year the list is what the tile counts."""
    from reports.coworking_gap import coworking_gap_context

    spaces, geoms, _ = setting
    row = {"ags": TOWN, "period": 2023, "coworking_source_id": None, "coworking_vintage": None,
           "coworking_reference_date": None, "long_distance_out_commuters": None}
    tables = SimpleNamespace(gaps={TOWN: row}, destinations={}, surveys={})
    without = coworking_gap_context(None, geoms, TOWN, spaces, tables)
    assert without["spaces"] == [] and without["gap"]["coworking_data_de"] is None
    assert without["gap"]["no_coworking_de"].startswith("Für diese Gemeinde liegen für 2023 keine Coworking-Daten vor (")
    dated = {**row, "coworking_source_id": "local_inputs", "coworking_vintage": "2023-11-20",
             "coworking_reference_date": DAY}
    tables.gaps[TOWN] = dated
    listed = coworking_gap_context(None, geoms, TOWN, spaces, tables)
    assert [s["name"] for s in listed["spaces"]] == ["E OpenStreetMap", "F Bibliothek ohne Koordinaten",
                                                     "A nahe Grenze innen"]
