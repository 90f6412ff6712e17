"""Coworking spaces from OpenStreetMap (Overpass API), assigned to Gemeinden by point-in-polygon.

One Germany-wide Overpass query (both ``amenity=coworking_space`` and ``office=coworking``)
is downloaded with the shared ``HttpClient`` and checked before it is kept: Overpass reports
runtime errors (timeouts, out of memory) with HTTP 200 and a ``remark`` next to a partial
``elements`` list, and such a result must never be used. ``parse_release`` turns the JSON into
one row per OSM object; ``assign_to_gemeinden`` and ``coworking_indicators`` need the BKG
Gemeinde geometries (``sources.bkg_vg``) and produce the tidy observations.

Data: © OpenStreetMap contributors, ODbL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError, without_userinfo
from sources.http import HttpClient
from sources.registry import Release, load_sources

SOURCE_ID = "osm_coworking"
_LIVE = load_sources()[SOURCE_ID].live  # the query and endpoint are declared in sources.yaml
OVERPASS_URL = _LIVE["url"]
COWORKING_QUERY = _LIVE["query"]
KINDS = (("amenity", "coworking_space"), ("office", "coworking"))
METRIC_CRS = "EPSG:25832"  # ETRS89 / UTM 32N, metres
FATAL_REMARKS = ("runtime error", "timed out", "out of memory")
NOTE = "OpenStreetMap (ODbL), © OpenStreetMap contributors; completeness of OSM tagging varies"
SPACE_COLUMNS = ["osm_type", "osm_id", "name", "lat", "lon", "kind", "website", "operator", "tags",
                 "osm_base_timestamp"]
log = logging.getLogger(__name__)


def run_query(client: HttpClient, url: str, query: str, destination: Path) -> Path:
    """POST ``query`` (form field ``data``) to an Overpass ``url``; keep the JSON at ``destination`` only if usable.

    The client retries 429/5xx/timeouts. A 200 that is an HTML page, not JSON, has no
    ``elements`` list or carries a runtime-error ``remark`` raises SourceError naming the URL,
    and the file is deleted. The file is kept unchanged (with ``osm3s.timestamp_osm_base``).
    """
    response = client.fetch(url, destination, method="POST", data={"data": query})
    try:
        document = _validated(response.path.read_bytes(), client.source_id, url, response.content_type)
    except SourceError:
        response.path.unlink(missing_ok=True)
        raise
    log.info("[%s] %s: %d elements, OSM data as of %s", client.source_id, without_userinfo(url),
             len(document["elements"]), document.get("osm3s", {}).get("timestamp_osm_base"))
    return response.path


def elements_sha256(path: Path) -> str:
    """Hash of the elements only: two queries with the same objects are the same release,
    although Overpass stamps every answer with a new ``timestamp_osm_base``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    canonical = json.dumps(sorted(document["elements"], key=lambda e: (e.get("type", ""), e.get("id", 0))),
                           sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validated(body: bytes, source_id: str, where: str, content_type: str = "") -> dict:
    """The Overpass document in ``body``, or SourceError if it is not a complete JSON result."""
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        snippet = " ".join(text.split())[:200]
        if re.match(r"<\?xml[^>]*>\s*<osm\b|<osm\b", text.lstrip()):  # the query asked for [out:xml]
            raise SourceError(source_id, where, f"got an Overpass XML answer instead of JSON (the query must start "
                                                f"with [out:json]): {snippet}") from None
        if "html" in content_type.lower() or text.lstrip().startswith("<"):
            raise SourceError(source_id, where, f"got an HTML page instead of Overpass JSON: {snippet}") from None
        raise SourceError(source_id, where, "not valid JSON (expected an Overpass [out:json] result)") from None
    if not isinstance(document, dict) or not isinstance(document.get("elements"), list):
        raise SourceError(source_id, where, "no 'elements' list: not an Overpass JSON result")
    remark = str(document.get("remark") or "")
    if any(word in remark.lower() for word in FATAL_REMARKS):
        raise SourceError(source_id, where, f"Overpass reported an incomplete result: {remark!r}")
    if remark:
        log.warning("[%s] %s: Overpass remark %r", source_id, where, remark)
    return document


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """``coworking_spaces`` (one row per OSM object, see SPACE_COLUMNS) and empty ``observations``.

    Reads every file of role ``elements``. Ways and relations are placed at their ``center``;
    objects without coordinates or without a coworking tag are dropped (and counted in the log);
    an object present twice (same type and id) is kept once, from the newest OSM base.
    """
    rows, no_coordinates, untagged = [], 0, 0
    files = [f for f in release.files if f.role == "elements"]
    if not files:
        raise SourceError(release.source_id, f"vintage {release.vintage}", "no 'elements' file")
    for file in files:
        document = _validated(file.path.read_bytes(), release.source_id, file.relative_path)
        base = document.get("osm3s", {}).get("timestamp_osm_base")
        dropped_before, centred = no_coordinates, 0  # per file: each answer comes from its own query
        for element in document["elements"]:
            tags = element.get("tags") or {}
            kind = ";".join(f"{k}={v}" for k, v in KINDS if tags.get(k) == v)
            point = element if "lat" in element else element.get("center") or {}
            centred += "center" in element
            if not kind:
                untagged += 1
            elif point.get("lat") is None or point.get("lon") is None:
                no_coordinates += 1
            else:
                rows.append({"osm_type": element.get("type"), "osm_id": int(element["id"]),
                             "name": tags.get("name"), "lat": float(point["lat"]), "lon": float(point["lon"]),
                             "kind": kind, "website": tags.get("website") or tags.get("contact:website"),
                             "operator": tags.get("operator"),
                             "tags": json.dumps(tags, ensure_ascii=False, sort_keys=True),
                             "osm_base_timestamp": base})
        if no_coordinates > dropped_before and not centred:
            # no way or relation has a "center": the query lost its `out center`, and Germany's spaces would silently
            # shrink to the nodes (a single relation without one is an oddity of its own: dropped, and logged below)
            raise SourceError(release.source_id, file.relative_path,
                              f"{no_coordinates - dropped_before} ways/relations have no coordinates and none has a "
                              "'center': the query must end with 'out center'")
    if no_coordinates or untagged:
        log.warning("[%s] vintage %s: dropped %d elements without coordinates and %d without a coworking tag",
                    release.source_id, release.vintage, no_coordinates, untagged)
    spaces = pd.DataFrame(rows, columns=SPACE_COLUMNS)
    spaces = (spaces.sort_values("osm_base_timestamp", kind="stable", na_position="first")
              .drop_duplicates(["osm_type", "osm_id"], keep="last").sort_values(["osm_type", "osm_id"]))
    return {"coworking_spaces": spaces.reset_index(drop=True),
            "observations": pd.DataFrame(columns=OBSERVATION_COLUMNS)}


def gemeinden_from_wkb(geometries: pd.DataFrame) -> gpd.GeoDataFrame:
    """The ``geometries`` frame of ``sources.bkg_vg.parse_release`` as a GeoDataFrame in EPSG:4326."""
    return gpd.GeoDataFrame(geometries.drop(columns="geometry_wkb"),
                            geometry=gpd.GeoSeries.from_wkb([bytes(b) for b in geometries["geometry_wkb"]],
                                                            index=geometries.index), crs="EPSG:4326")
