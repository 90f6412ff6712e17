"""OSM coworking spaces: Overpass download and its failure modes (local test server), parsing,
point-in-polygon assignment to the snapshot's Gemeinden and the per-Gemeinde indicators.

The Overpass responses are constructed (tests/osm_responses.py), not OSM data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.http import HttpClient, HttpSettings
from sources.osm_coworking import COWORKING_QUERY, parse_release, run_query
from sources.registry import Release, ReleaseFile
from staging.coworking import assign_to_gemeinden, coworking_indicators
from tests import osm_responses as responses

PATH = "/api/interpreter"
JSON = "application/json"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps) -> HttpClient:
    return HttpClient("osm_coworking", HttpSettings(backoff_seconds=0.01, read_timeout=5), sleep=sleeps.append)


def elements_release(*paths) -> Release:
    return Release("osm_coworking", "2024-05-14",
                   [ReleaseFile("elements", p, p.name, "0" * 64, p.stat().st_size) for p in paths])


def download(httpserver, client, tmp_path):
    destination = tmp_path / "overpass" / "coworking.json"
    return destination, run_query(client, httpserver.url_for(PATH), COWORKING_QUERY, destination)


def assert_nothing_left(destination):
    assert not destination.exists()
    assert not destination.with_name(destination.name + ".part").exists()


# --- download ------------------------------------------------------------------------------------

def test_happy_path_keeps_file_and_sends_query_with_both_tags(httpserver, client, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_data(responses.coworking_response(responses.OSM_BASE),
                                                                     content_type=JSON)
    destination, path = download(httpserver, client, tmp_path)
    assert path == destination and path.is_file()
    assert json.loads(path.read_text())["osm3s"]["timestamp_osm_base"] == responses.OSM_BASE
    (request, _), = httpserver.log
    sent = request.form["data"]
    assert sent == COWORKING_QUERY
    box = "(47.17,5.70,55.16,15.21)"  # Germany's box (47.270-55.058 N, 5.866-15.042 E) and at least 10 km around
    assert f'nwr["amenity"="coworking_space"]{box}' in sent and f'nwr["office"="coworking"]{box}' in sent
    south, west, north, east = map(float, box.strip("()").split(","))
    km_per_degree_lat, km_per_degree_lon = 111.2, 111.2 * math.cos(math.radians(55.058))  # the narrowest: north
    assert min(47.270 - south, north - 55.058) * km_per_degree_lat >= 10
    assert min(5.866 - west, east - 15.042) * km_per_degree_lon >= 10
    assert "[out:json][timeout:180]" in sent and "out center tags;" in sent


def test_runtime_error_remark_with_200_is_retried_then_rejected_and_file_deleted(httpserver, client, sleeps, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_data(responses.runtime_error_response(),
                                                                     content_type=JSON)
    with pytest.raises(SourceError, match="gave up after 5 attempts: Overpass reported an incomplete result: "
                                          "'runtime error: Query timed out") as error:
        download(httpserver, client, tmp_path)
    assert httpserver.url_for(PATH) in str(error.value)
    assert len(httpserver.log) == client.settings.max_attempts and sleeps == [0.01, 0.02, 0.04, 0.08]
    assert_nothing_left(tmp_path / "overpass" / "coworking.json")


def test_a_busy_servers_remark_is_retried_like_a_503(httpserver, client, sleeps, tmp_path):
    """Overpass answers a query it could not finish on a busy server with 200 and a runtime-error remark, and asks to
    try later: the monthly refresh failed on the first such answer (review of 5 December)."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(responses.runtime_error_response(),
                                                                             content_type=JSON)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(
        responses.coworking_response(responses.OSM_BASE), content_type=JSON)
    destination, path = download(httpserver, client, tmp_path)
    assert len(httpserver.log) == 2 and sleeps == [0.01]
    assert "remark" not in json.loads(path.read_text()) and len(json.loads(path.read_text())["elements"]) == len(
        responses.coworking_elements())


def test_rate_limit_429_waits_retry_after_then_succeeds(httpserver, client, sleeps, tmp_path):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(
        responses.RATE_LIMITED_HTML, status=429, headers={"Retry-After": "1"}, content_type="text/html; charset=utf-8")
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(responses.coworking_response(responses.OSM_BASE),
                                                                             content_type=JSON)
    destination, path = download(httpserver, client, tmp_path)
    assert len(httpserver.log) == 2 and sleeps == [1.0]
    assert [r.status_code for _, r in httpserver.log] == [429, 200]
    assert len(json.loads(path.read_text())["elements"]) == len(responses.coworking_elements())


def test_gateway_timeout_504_is_retried(httpserver, client, sleeps, tmp_path):
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("Gateway Timeout", status=504)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(responses.coworking_response(responses.OSM_BASE),
                                                                             content_type=JSON)
    destination, path = download(httpserver, client, tmp_path)
    assert len(httpserver.log) == 2 and sleeps == [0.01]
    assert path.is_file()


def test_persistent_504_gives_up(httpserver, client, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_data("Gateway Timeout", status=504)
    with pytest.raises(SourceError, match="gave up after 5 attempts: HTTP 504"):
        download(httpserver, client, tmp_path)
    assert len(httpserver.log) == 5
    assert_nothing_left(tmp_path / "overpass" / "coworking.json")


def test_html_page_with_200_is_rejected(httpserver, client, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_data(responses.HTML_ERROR_PAGE,
                                                                     content_type="text/html; charset=utf-8")
    with pytest.raises(SourceError, match="got an HTML page instead of Overpass JSON") as error:
        download(httpserver, client, tmp_path)
    assert httpserver.url_for(PATH) in str(error.value)
    assert_nothing_left(tmp_path / "overpass" / "coworking.json")


# --- parsing -------------------------------------------------------------------------------------

def test_parse_release_rows_way_center_and_duplicates(tmp_path, caplog):
    path = tmp_path / "coworking.json"
    path.write_text(responses.coworking_response(responses.OSM_BASE), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        parsed = parse_release(elements_release(path))
    spaces = parsed["coworking_spaces"].set_index(["osm_type", "osm_id"])
    assert sorted(spaces.index) == sorted(responses.EXPECTED_AGS)  # duplicate once, relation without center gone
    assert "dropped 1 elements without coordinates" in caplog.text
    points = responses.pilot_points()
    way = spaces.loc[("way", 9000000002)]
    assert (way["lat"], way["lon"]) == points["12070424"]
    assert way["website"] == "https://example.invalid/wittenberge"  # from contact:website
    assert spaces.loc[("node", 9000000003), "kind"] == "office=coworking"
    assert spaces.loc[("node", 9000000003), "operator"] == "Test GmbH"
    assert spaces.loc[("node", 9000000004), "kind"] == "amenity=coworking_space;office=coworking"
    assert spaces.loc[("node", 9000000001), "name"] == "Testraum Mölln (constructed)"
    assert json.loads(spaces.loc[("node", 9000000001), "tags"])["opening_hours"] == "Mo-Fr 08:00-18:00"
    assert set(spaces["osm_base_timestamp"]) == {responses.OSM_BASE}
    assert parsed["observations"].empty and list(parsed["observations"].columns) == OBSERVATION_COLUMNS


def test_an_answer_whose_ways_and_relations_all_lack_a_center_fails(tmp_path):
    """The query lost its `out center`: the ways and relations would vanish and the towns they are in get 0."""
    document = json.loads(responses.coworking_response(responses.OSM_BASE))
    for element in document["elements"]:
        element.pop("center", None)
    path = tmp_path / "coworking.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SourceError, match=r"coworking\.json: 3 ways/relations have no coordinates and none has a "
                                          r"'center': the query must end with 'out center'"):
        parse_release(elements_release(path))


def test_an_xml_answer_is_named_as_such(tmp_path):
    path = tmp_path / "coworking.json"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="Overpass API 0.7.59">\n'
                    '<node id="1" lat="53.6" lon="10.6"><tag k="amenity" v="coworking_space"/></node>\n</osm>\n',
                    encoding="utf-8")
    with pytest.raises(SourceError, match=r"coworking\.json: got an Overpass XML answer instead of JSON \(the query "
                                          r"must start with \[out:json\]\)"):
        parse_release(elements_release(path))


def test_an_empty_answer_fails_the_contract(tmp_path):
    """Germany has hundreds of mapped spaces: no element at all is a failed query, not 0 everywhere."""
    from sources import contracts

    document = json.loads(responses.coworking_response(responses.OSM_BASE))
    document["elements"] = []
    path = tmp_path / "coworking.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    release = elements_release(path)
    with pytest.raises(SourceError, match=r"0 rows, expected at least 1"):
        contracts.check_release("osm_coworking", release, parse_release(release), contracts.Registers())


def test_parse_release_rejects_json_without_elements(tmp_path):
    path = tmp_path / "coworking.json"
    path.write_text(json.dumps({"version": 0.6, "generator": responses.GENERATOR}), encoding="utf-8")
    with pytest.raises(SourceError, match=r"coworking\.json: no 'elements' list"):
        parse_release(elements_release(path))


# --- geometry ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spaces(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("osm") / "coworking.json"
    path.write_text(responses.coworking_response(responses.OSM_BASE), encoding="utf-8")
    return parse_release(elements_release(path))["coworking_spaces"]


def test_assign_to_gemeinden_puts_points_into_the_right_ags(spaces):
    assigned = assign_to_gemeinden(spaces, responses.snapshot_gemeinden())
    assert len(assigned) == len(spaces)
    got = {(t, i): a for t, i, a in zip(assigned["osm_type"], assigned["osm_id"], assigned["ags"])}
    assert got == responses.EXPECTED_AGS  # Salzburg -> None


def test_point_on_a_shared_boundary_goes_to_one_gemeinde():
    gemeinden = responses.snapshot_gemeinden().set_index("ags")
    border = gemeinden.loc["01053090", "geometry"].boundary.intersection(gemeinden.loc["01053002", "geometry"].boundary)
    lon, lat = shapely.get_coordinates(border)[1]  # a vertex shared by Mölln and Alt-Mölln
    on_border = pd.DataFrame({"osm_type": ["node"], "osm_id": [1], "lat": [lat], "lon": [lon]})
    assigned = assign_to_gemeinden(on_border, responses.snapshot_gemeinden())
    assert len(assigned) == 1 and assigned["ags"].iloc[0] in {"01053090", "01053002"}


def test_coworking_indicators(spaces):
    gemeinden = responses.snapshot_gemeinden()
    observations = coworking_indicators(assign_to_gemeinden(spaces, gemeinden), gemeinden, "2024-05-14", 10)
    assert list(observations.columns) == OBSERVATION_COLUMNS
    assert len(observations) == 3 * len(gemeinden) == 3 * 244
    value = observations.set_index(["ags", "measure"])["value"]
    assert value[("01053090", "coworking_spaces")] == 1
    assert value[("01053090", "coworking_nearest_km")] == 0
    assert value[("01053002", "coworking_spaces")] == 0  # Alt-Mölln, next to Mölln
    assert value[("01053002", "coworking_spaces_within_10km")] >= 1
    assert value[("01053002", "coworking_nearest_km")] == pytest.approx(1.495, abs=0.002)  # border to the point
    assert observations.groupby("measure")["value"].sum()["coworking_spaces"] == 5  # Salzburg is in no Gemeinde
    assert set(observations["unit"]) == {"count", "km"} and set(observations["level"]) == {"gemeinde"}
    assert set(observations["reference_date"]) == {dt.date(2024, 5, 14)}
    assert observations["note"].str.contains("ODbL").all()


def test_coworking_indicators_without_any_space(spaces):
    gemeinden = responses.snapshot_gemeinden()
    observations = coworking_indicators(assign_to_gemeinden(spaces.iloc[:0], gemeinden), gemeinden, "2024-05-14", 10)
    counts = observations[observations["unit"] == "count"]["value"]
    assert len(counts) == 2 * 244 and (counts == 0).all()
    assert all(math.isnan(v) for v in observations[observations["unit"] == "km"]["value"])


# --- closed and doubly mapped spaces (review of 5 December) -------------------------------------------------------

def answer(tmp_path, elements) -> pd.DataFrame:
    """``parse_release`` of a constructed answer holding ``elements`` (OSM data as of responses.OSM_BASE)."""
    document = json.loads(responses.coworking_response(responses.OSM_BASE))
    document["elements"] = elements
    path = tmp_path / "coworking.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return parse_release(elements_release(path))["coworking_spaces"]


@pytest.mark.parametrize("osm_base, refused", [
    ("2019-05-01T10:11:12Z", "the file's name dates it 2025-06-01, but its OSM data are of 2019-05-01 "
                             "(osm3s.timestamp_osm_base 2019-05-01T10:11:12Z), 2223 days earlier (at most 31): "
                             "an older Overpass answer under a newer name?"),
    ("2025-04-30T23:59:59Z", "32 days earlier (at most 31)"),
    ("2025-05-01T00:00:00Z", None),  # a month: saved, then named weeks later
    ("2025-06-01T06:00:00Z", None),  # the live connector's: the day of the query
    ("2026-01-10T08:00:00Z", None),  # a query for OSM's state of an earlier date carries the current base
])
def test_an_answer_dated_by_its_name_long_after_its_data_is_refused(tmp_path, osm_base, refused):
    """An Overpass answer of 2019 saved as coworking_2025-06-01.json was dated by its name: 2019's spaces published as
    2025's (review of 5 December). The release's date is its file name's (sources.yaml): its OSM data may be at most
    a month older."""
    from sources.registry import discover_releases, load_sources

    path = tmp_path / "osm-coworking" / "coworking_2025-06-01.json"
    path.parent.mkdir()
    path.write_text(responses.coworking_response(osm_base), encoding="utf-8")
    [release] = discover_releases(load_sources()["osm_coworking"], tmp_path)
    if refused is None:
        assert len(parse_release(release)["coworking_spaces"]) == 6
        return
    with pytest.raises(SourceError, match=r"^\[osm_coworking\] osm-coworking/coworking_2025-06-01.json: .*"
                                          + re.escape(refused)):
        parse_release(release)


def coworking(osm_id, lat, lon, osm_type="node", **tags):
    element = {"type": osm_type, "id": osm_id, "tags": {"amenity": "coworking_space", **tags}}
    point = {"lat": lat, "lon": lon}
    return {**element, **point} if osm_type == "node" else {**element, "center": point}


def test_a_space_mapped_as_node_and_as_building_is_counted_once(tmp_path, caplog):
    """The same space as a node and as its building way was two spaces within reach."""
    lat, lon = responses.pilot_points()["01053090"]
    elements = [coworking(1, lat, lon, name="Coworking Mölln"),
                coworking(2, lat + 0.0004, lon, "way", name="coworking mölln", building="yes",  # 44 m north
                          website="https://example.invalid"),
                coworking(3, lat + 0.02, lon, name="Coworking Mölln"),  # 2.2 km away: a second branch
                coworking(4, lat, lon + 0.0001), coworking(5, lat, lon + 0.0002)]  # unnamed: not told apart
    with caplog.at_level(logging.WARNING):
        spaces = answer(tmp_path, elements)
    # kept: the better-mapped way (more tags); the second branch and both unnamed nodes stay
    assert sorted(zip(spaces["osm_type"], spaces["osm_id"])) == [("node", 3), ("node", 4), ("node", 5), ("way", 2)]
    assert "1 spaces mapped twice (same name within 100 m) counted once: node 1" in caplog.text


def kept_ids(tmp_path, caplog, elements: list[dict]) -> list[int]:
    """The OSM ids of the spaces an answer of ``elements`` keeps, its warnings captured in ``caplog``."""
    with caplog.at_level(logging.WARNING):
        return sorted(answer(tmp_path, elements)["osm_id"])


def test_spaces_tagged_as_closed_are_left_out_and_counted(tmp_path, caplog):
    """A space tagged closed still counted as supply. The answer's OSM data are of 2024-05-14 (responses.OSM_BASE):
    an end_date before that day is past, one after it is not."""
    lat, lon = responses.pilot_points()["01053090"]
    elements = [coworking(1, lat, lon, name="Geschlossen", opening_hours="closed"),
                coworking(2, lat, lon, name="Ende 2023", end_date="2023"),
                coworking(3, lat, lon, name="Ende Mai 2024", end_date="2024-05-31"),  # after the data's date: open
                {"type": "node", "id": 4, "lat": lat, "lon": lon,
                 "tags": {"office": "coworking", "disused:amenity": "coworking_space", "name": "Stillgelegt"}},
                coworking(5, lat, lon, name="Aufgegeben", abandoned="yes"),
                coworking(6, lat, lon, name="Ungefähr", end_date="~2021"),  # no date: counted, and logged
                coworking(7, lat, lon, name="Offen", opening_hours="Mo-Fr 09:00-17:00; PH off")]
    assert kept_ids(tmp_path, caplog, elements) == [3, 6, 7]
    assert ("left out 4 spaces tagged as closed or not open yet (disused/abandoned=yes: 1, disused: prefix: 1, "
            "end_date in the past: 1, opening_hours closed: 1)") in caplog.text
    assert "end_date '~2021' is no date" in caplog.text


def test_spaces_not_open_on_the_datas_date_are_left_out(tmp_path, caplog):
    """A space mapped before it opened (construction=yes, opening_date 2024-06-01 beside data of 2024-05-14) counted
    for seven Rheingau towns (review of 5 December). One that opened on or before the data's date counts."""
    lat, lon = responses.pilot_points()["01053090"]
    elements = [coworking(1, lat, lon, name="Im Bau", construction="yes"),
                coworking(2, lat, lon, name="Eröffnet im Juni", opening_date="2024-06-01"),
                coworking(3, lat, lon, name="Ab 2025", start_date="2025"),
                coworking(4, lat, lon, name="Eröffnet im Mai", opening_date="2024-05"),  # 1 May: open on the 14th
                coworking(5, lat, lon, name="Seit 2019", start_date="2019-03-01"),
                coworking(6, lat, lon, name="Bald", opening_date="demnächst")]  # no date: counted, and logged
    assert kept_ids(tmp_path, caplog, elements) == [4, 5, 6]
    assert ("left out 3 spaces tagged as closed or not open yet (construction=yes: 1, opening_date in the future: 1, "
            "start_date in the future: 1)") in caplog.text
    assert "opening_date 'demnächst' is no date" in caplog.text


def test_within_reach_is_the_rule_of_the_indicator():
    """The report lists the spaces within reach with ``within_reach``; the indicator counts them in
    staging.coworking.coworking_indicators. Both must agree at the border: a space 10.03 km away was listed as
    '10,0 km' beside a tile that did not count it."""
    from sources.osm_coworking import METRIC_CRS
    from staging.coworking import within_reach

    gemeinden = responses.snapshot_gemeinden()
    moelln = gemeinden[gemeinden["ags"] == "01053090"]
    area = moelln.to_crs(METRIC_CRS).geometry.iloc[0]
    edge = shapely.get_coordinates(area)
    east = edge[edge[:, 0].argmax()]  # the easternmost vertex: a point due east of it is Δx from the polygon
    xs, ys = [east[0] + 9_990, east[0] + 10_030], [east[1], east[1]]
    points = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs=METRIC_CRS).to_crs("EPSG:4326")
    spaces = pd.DataFrame({"lat": points.y, "lon": points.x, "ags": None})
    listed = within_reach(area, xs, ys, 10)
    counted = [coworking_indicators(spaces.iloc[[i]], moelln, "2024-05-14", 10).set_index("measure").loc[
        "coworking_spaces_within_10km", "value"] for i in range(2)]
    assert listed.tolist() == [bool(c) for c in counted] == [True, False]


def test_a_release_with_far_fewer_spaces_than_the_one_before_is_refused_unless_allowed(spaces, tmp_path):
    """An Overpass answer of 5 spaces after one of 900 passed min_rows (review of 5 December): a partial answer
    without a runtime-error remark. sources.yaml: fewer than half the spaces of the release before is refused; an
    allow-list entry (measure 'rows') accepts a real fall; a release that grows, or the first one, passes."""
    from sources.contracts import Allowance, check_source, shrunk_release

    def release(day: str, rows: pd.DataFrame):
        path = tmp_path / f"coworking_{day}.json"
        files = [ReleaseFile("elements", path, f"osm-coworking/{path.name}", "0" * 64, 1)]
        return Release("osm_coworking", day, files), {
            "coworking_spaces": rows, "observations": pd.DataFrame(columns=OBSERVATION_COLUMNS)}

    many = pd.concat([spaces.assign(osm_id=spaces["osm_id"] + 10**6 * k) for k in range(4)], ignore_index=True)
    few = spaces.head(len(many) // 2 - 1)
    parsed = [release("2024-06-14", few), release("2024-05-14", many)]  # in time order: many, then few
    with pytest.raises(SourceError, match=rf"osm-coworking/coworking_2024-06-14.json.*coworking_spaces: {len(few)} "
                                          rf"rows against {len(many)} in the release 2024-05-14 before it"):
        check_source("osm_coworking", parsed)
    allowed = [Allowance("osm_coworking", "2024-06-14", "mass deletion in OSM, checked", measure="rows")]
    assert shrunk_release("osm_coworking", parsed, allowed) is None
    other = [Allowance("osm_coworking", "2024-06-14", "a measure's change", measure="coworking_.*")]
    assert shrunk_release("osm_coworking", parsed, other) is not None
    half = [release("2024-05-14", many), release("2024-06-14", many.head(len(many) // 2))]
    assert shrunk_release("osm_coworking", half, []) is None  # exactly half: not fewer
    assert shrunk_release("osm_coworking", [release("2024-05-14", few), release("2024-06-14", many)], []) is None
