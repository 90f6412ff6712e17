"""Overpass API responses for the local test server (pytest-httpserver).

CONSTRUCTED TEST DATA, NOT OPENSTREETMAP DATA. No real Overpass export of coworking spaces
is stored in this project, so the elements below are invented (names, ids and tags) and
placed at points computed from the committed BKG VG5000 snapshot: ``representative_point()``
of a pilot town's polygon, which is guaranteed to lie inside it. Only the SHAPE follows real
Overpass output (``[out:json]`` with ``out center tags``, Overpass API 0.7.59): header with
``version``, ``generator`` and ``osm3s`` (``timestamp_osm_base``, ODbL copyright), nodes with
``lat``/``lon``, ways and relations with ``center`` and no ``nodes``/``members``; runtime errors
as HTTP 200 with a ``remark`` after a partial ``elements`` list; the rate-limit page (HTTP 429)
in the OSM3S HTML layout quoted in drolbr/Overpass-API issues #229 and #447.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

from sources import bkg_vg
from sources.osm_coworking import gemeinden_from_wkb
from sources.registry import SNAPSHOT_DIR, discover_releases, load_sources

GENERATOR = "Overpass API 0.7.59 e21c39fe"
OSM_BASE = "2024-05-14T09:12:37Z"
COPYRIGHT = ("The data included in this document is from www.openstreetmap.org. "
             "The data is made available under ODbL.")
PILOT_TOWNS = {"01053090": "Mölln", "06439012": "Oestrich-Winkel", "09181114": "Dießen am Ammersee",
               "12070424": "Wittenberge", "14628060": "Dippoldiswalde"}
OUTSIDE_GERMANY = (47.8095, 13.0550)  # Salzburg, Residenzplatz: outside Germany, inside the contract's bounding box


@lru_cache(maxsize=1)
def snapshot_gemeinden():
    """The 244 Gemeinden of the committed VG5000 snapshot as a GeoDataFrame (EPSG:4326)."""
    release = discover_releases(load_sources()["bkg_vg"], SNAPSHOT_DIR)[0]
    return gemeinden_from_wkb(bkg_vg.parse_release(release)["geometries"])


def pilot_points() -> dict[str, tuple[float, float]]:
    """(lat, lon) of a point inside each pilot town's polygon, rounded to 7 decimals like OSM."""
    gemeinden = snapshot_gemeinden().set_index("ags")
    points = {}
    for ags in PILOT_TOWNS:
        point = gemeinden.loc[ags, "geometry"].representative_point()
        points[ags] = (round(point.y, 7), round(point.x, 7))
    return points


def _node(osm_id, lat, lon, tags):
    return {"type": "node", "id": osm_id, "lat": lat, "lon": lon, "tags": tags}


def _centered(osm_type, osm_id, lat, lon, tags):
    return {"type": osm_type, "id": osm_id, "center": {"lat": lat, "lon": lon}, "tags": tags}


def coworking_elements() -> list[dict]:
    """Invented coworking elements; EXPECTED_AGS says where each one lies."""
    p = pilot_points()
    moelln = _node(9000000001, *p["01053090"], {
        "amenity": "coworking_space", "name": "Testraum Mölln (constructed)",
        "website": "https://example.invalid/moelln", "opening_hours": "Mo-Fr 08:00-18:00"})
    return [
        moelln,
        _centered("way", 9000000002, *p["12070424"], {  # building polygon: center, no nodes
            "amenity": "coworking_space", "building": "yes", "name": "Testhaus Wittenberge (constructed)",
            "contact:website": "https://example.invalid/wittenberge"}),
        _node(9000000003, *p["14628060"], {  # older tagging only
            "office": "coworking", "name": "Testbüro Dippoldiswalde (constructed)", "operator": "Test GmbH"}),
        _node(9000000004, *p["06439012"], {
            "amenity": "coworking_space", "office": "coworking", "name": "Testraum Oestrich-Winkel (constructed)"}),
        _centered("relation", 9000000005, *p["09181114"], {
            "amenity": "coworking_space", "type": "multipolygon", "name": "Testhof Dießen (constructed)"}),
        _node(9000000006, *OUTSIDE_GERMANY, {"amenity": "coworking_space", "name": "Testraum Salzburg (constructed)"}),
        {"type": "relation", "id": 9000000007, "tags": {"amenity": "coworking_space"}},  # no center: dropped
        dict(moelln),  # the same node twice
    ]


EXPECTED_AGS = {("node", 9000000001): "01053090", ("way", 9000000002): "12070424",
                ("node", 9000000003): "14628060", ("node", 9000000004): "06439012",
                ("relation", 9000000005): "09181114", ("node", 9000000006): None}


def overpass_json(elements: list[dict], remark: str | None = None, osm_base: str = OSM_BASE) -> str:
    """A body in Overpass's [out:json] layout (``remark`` comes after ``elements``, as Overpass writes it)."""
    document = {"version": 0.6, "generator": GENERATOR,
                "osm3s": {"timestamp_osm_base": osm_base, "copyright": COPYRIGHT}, "elements": elements}
    if remark is not None:
        document["remark"] = remark
    return json.dumps(document, ensure_ascii=False, indent=2)


def coworking_response(osm_base: str | None = None) -> str:
    """The constructed answer; its OSM data of today (as a live answer's: the parser refuses data more than a month
    older than the date in the file's name, and the live runs name the file with today) unless ``osm_base``."""
    return overpass_json(coworking_elements(), osm_base=osm_base or today_base())


def today_base() -> str:
    """A ``timestamp_osm_base`` of today (UTC midnight: the same all day, so two answers of a test are equal)."""
    return f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}T00:00:00Z"


def runtime_error_response() -> str:
    """HTTP 200 with a partial result and the timeout remark: must be rejected."""
    return overpass_json(coworking_elements()[:2],
                         remark='runtime error: Query timed out in "query" at line 3 after 181 seconds.')


def _osm3s_html(message: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
  <meta http-equiv="content-type" content="text/html; charset=utf-8" lang="en"/>
  <title>OSM3S Response</title>
</head>
<body>

<p>{COPYRIGHT}</p>
<p><strong style="color:#FF0000">Error</strong>: {message} </p>

</body>
</html>
"""


RATE_LIMITED_HTML = _osm3s_html(
    "runtime error: open64: 0 Success /osm3s_osm_base Dispatcher_Client::request_read_and_idx::rate_limited. "
    "Please check /api/status for the quota of your IP address.")

# An HTML page delivered with HTTP 200 (e.g. a proxy or maintenance page in front of the API).
HTML_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Service temporarily unavailable</title></head>
<body><h1>Service temporarily unavailable</h1>
<p>The server is down for maintenance. Please try again later.</p></body></html>
"""
