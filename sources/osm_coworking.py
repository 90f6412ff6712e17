"""Coworking spaces from OpenStreetMap (Overpass API), assigned to Gemeinden by point-in-polygon.

One Germany-wide Overpass query (both ``amenity=coworking_space`` and ``office=coworking``)
is downloaded with the shared ``HttpClient`` and checked before it is kept: Overpass reports
runtime errors (timeouts, out of memory) with HTTP 200 and a ``remark`` next to a partial
``elements`` list, and such a result must never be used. ``parse_release`` turns the JSON into
one row per open coworking space: an element tagged as closed is left out (``closed_because``), and
the same space mapped twice (a node and its building) is kept once (``without_duplicates``), each counted
in the log. ``staging.coworking`` assigns the spaces to the BKG Gemeinde geometries (``sources.bkg_vg``) and
counts them into the tidy observations.

Data: © OpenStreetMap contributors, ODbL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError, without_userinfo
from sources.http import HttpClient, TransientAnswer
from sources.registry import Release, load_sources
from sources.vintages import last_day

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

    The client retries 429/5xx/timeouts, and a 200 with a runtime-error ``remark`` (a busy server's timeout or
    memory limit: Overpass asks to try again later) with the same backoff. A 200 that is an HTML page, not JSON,
    has no ``elements`` list or still carries such a remark after the last attempt raises SourceError naming the
    URL, and the file is deleted. The file is kept unchanged (with ``osm3s.timestamp_osm_base``).
    """
    response = client.fetch(url, destination, method="POST", data={"data": query}, check=_answered)
    try:
        document = _validated(response.path.read_bytes(), client.source_id, url, response.content_type)
    except SourceError:
        response.path.unlink(missing_ok=True)
        raise
    log.info("[%s] %s: %d elements, OSM data as of %s", client.source_id, without_userinfo(url),
             len(document["elements"]), document.get("osm3s", {}).get("timestamp_osm_base"))
    return response.path


def _answered(path: Path) -> None:
    """TransientAnswer where the body is Overpass JSON whose remark says the server gave up (``_fatal_remark``);
    every other problem is left to ``_validated`` after the download."""
    try:
        problem = _fatal_remark(json.loads(path.read_bytes()))
    except (ValueError, AttributeError):
        return
    if problem:
        raise TransientAnswer(problem)


def _fatal_remark(document: dict) -> str | None:
    """The problem of an Overpass document whose ``remark`` says the server gave up (FATAL_REMARKS), else None."""
    remark = str(document.get("remark") or "")
    if any(word in remark.lower() for word in FATAL_REMARKS):
        return f"Overpass reported an incomplete result: {remark!r}"
    return None


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
    problem = _fatal_remark(document)
    if problem:
        raise SourceError(source_id, where, problem)
    remark = str(document.get("remark") or "")
    if remark:
        log.warning("[%s] %s: Overpass remark %r", source_id, where, remark)
    return document


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """``coworking_spaces`` (one row per OSM object, see SPACE_COLUMNS) and empty ``observations``.

    Reads every file of role ``elements``. Ways and relations are placed at their ``center``;
    objects without coordinates or without a coworking tag are dropped, and so are those tagged as
    closed on the date of their OSM data (``closed_because``), each counted in the log; an object
    present twice (same type and id) is kept once, from the newest OSM base, and a space mapped twice
    (same name, within SAME_PLACE_M) once (``without_duplicates``).
    """
    rows, no_coordinates, untagged, closed = [], 0, 0, {}
    files = [f for f in release.files if f.role == "elements"]
    if not files:
        raise SourceError(release.source_id, f"vintage {release.vintage}", "no 'elements' file")
    for file in files:
        document = _validated(file.path.read_bytes(), release.source_id, file.relative_path)
        base = document.get("osm3s", {}).get("timestamp_osm_base")
        _base_matches_name(release, file.relative_path, base)
        as_of = _data_date(base, release.vintage)
        dropped_before, centred = no_coordinates, 0  # per file: each answer comes from its own query
        for element in document["elements"]:
            tags = element.get("tags") or {}
            kind = ";".join(f"{k}={v}" for k, v in KINDS if tags.get(k) == v)
            point = element if "lat" in element else element.get("center") or {}
            centred += "center" in element
            reason = closed_because(tags, as_of) if kind else None
            if not kind:
                untagged += 1
            elif reason:
                closed[reason] = closed.get(reason, 0) + 1
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
    if closed:
        log.warning("[%s] vintage %s: left out %d spaces tagged as closed or not open yet (%s)", release.source_id,
                    release.vintage,
                    sum(closed.values()), ", ".join(f"{reason}: {n}" for reason, n in sorted(closed.items())))
    spaces = pd.DataFrame(rows, columns=SPACE_COLUMNS)
    spaces = (spaces.sort_values("osm_base_timestamp", kind="stable", na_position="first")
              .drop_duplicates(["osm_type", "osm_id"], keep="last").sort_values(["osm_type", "osm_id"]))
    spaces = without_duplicates(spaces.reset_index(drop=True), release)
    return {"coworking_spaces": spaces.reset_index(drop=True),
            "observations": pd.DataFrame(columns=OBSERVATION_COLUMNS)}


# Lifecycle prefixes (OSM wiki "Lifecycle prefix"): a coworking key under one of them is a space that was, not one
# that is. The query selects only elements with a current coworking tag; an element that carries one beside such a
# key (disused:amenity=coworking_space and office=coworking) is a closed space whose other tag was not removed.
LIFECYCLE_PREFIXES = ("disused", "abandoned", "was", "demolished", "removed", "razed", "destroyed")
CLOSED_HOURS = {"closed", "off"}  # opening_hours of a place closed for good (the whole value, not "PH off")
END_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def closed_because(tags: dict, as_of: dt.date | None) -> str | None:
    """Why an element with a coworking tag is no longer an open space (a short reason for the log), or None.

    ``opening_hours=closed``/``off``; a coworking key under a lifecycle prefix (``disused:amenity=coworking_space``,
    ``was:office=coworking``) or ``disused=yes``/``abandoned=yes``; an ``end_date`` before ``as_of`` (the date of
    the OSM data, not of the run: a space that closed after the query was open on its date). Not open yet either:
    ``construction=yes`` or an ``opening_date``/``start_date`` after ``as_of`` (a space mapped before it opened
    counted for seven Rheingau towns; review of 5 December). A date that is no date (``~2021``, ``before 2020``)
    is not guessed at: the space stays, and the log says so.
    """
    if str(tags.get("opening_hours", "")).strip().lower() in CLOSED_HOURS:
        return "opening_hours closed"
    for key, value in tags.items():
        prefix, _, rest = key.partition(":")
        if prefix in LIFECYCLE_PREFIXES and (rest, value) in KINDS:
            return f"{prefix}: prefix"
    if any(tags.get(key) == "yes" for key in ("disused", "abandoned")):
        return "disused/abandoned=yes"
    if tags.get("construction") == "yes":
        return "construction=yes"
    end = _tag_date(tags, "end_date", as_of, last=True)
    if end is not None and end < as_of:
        return "end_date in the past"
    for key in ("opening_date", "start_date"):
        start = _tag_date(tags, key, as_of, last=False)
        if start is not None and start > as_of:
            return f"{key} in the future"
    return None


def _tag_date(tags: dict, key: str, as_of: dt.date | None, last: bool) -> dt.date | None:
    """The date a date tag gives (its last day for ``end_date``, its first for an opening), None where it is absent,
    there is no ``as_of`` to compare with, or it is no date (logged: the space is counted)."""
    text = tags.get(key)
    if not text or not as_of:
        return None
    match = END_DATE.fullmatch(str(text).strip())
    day = _last_day(str(text)) if match else None
    if day is None:
        log.warning("[%s] %s %r is no date (YYYY, YYYY-MM or YYYY-MM-DD): the space is counted", SOURCE_ID, key, text)
        return None
    # 2024 opens on 1 January at the earliest, and ends on 31 December
    return day if last else dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))


def _last_day(text: str) -> dt.date | None:
    """The last day an OSM ``end_date`` covers (2023 -> 2023-12-31, 2023-05 -> 2023-05-31, as a release id's:
    ``sources.vintages.last_day``), None if it is no date (only YYYY, YYYY-MM or YYYY-MM-DD: not '2020s')."""
    return last_day(text.strip()) if END_DATE.fullmatch(text.strip()) else None


# How long before the date in its name an answer's OSM data may be. The live connector names a file with the day of the
# query and keeps an unchanged answer under its first name, and Overpass's data lag minutes (a lagging instance hours):
# name and data agree to the day. A month leaves room for an answer saved in directory mode and named a few weeks
# later; more is another state of the map, its spaces counted as of the name's date (a 2019 answer saved as
# coworking_2025-06-01.json published 2019's supply as 2025's; review of 5 December). Data after the name are not
# refused: an answer to a query for an earlier date ([date:"2019-05-01T00:00:00Z"], OSM's history) carries the
# database's current timestamp_osm_base beside elements of the date asked for.
LABEL_LAG = dt.timedelta(days=31)


def _base_matches_name(release: Release, name: str, base: str | None) -> None:
    """Refuse an answer whose OSM data (``osm3s.timestamp_osm_base``) are more than LABEL_LAG older than the date its
    file name gives (the release's vintage). An answer without a base, or a label without a date, is not checked."""
    try:
        named = dt.date.fromisoformat(release.vintage[:10])
        data = dt.date.fromisoformat(str(base)[:10])
    except ValueError:
        return
    if data < named - LABEL_LAG:
        raise SourceError(release.source_id, name,
                          f"the file's name dates it {named.isoformat()}, but its OSM data are of {data.isoformat()} "
                          f"(osm3s.timestamp_osm_base {base}), {(named - data).days} days earlier (at most "
                          f"{LABEL_LAG.days}): an older Overpass answer under a newer name?")


def _data_date(base: str | None, vintage: str) -> dt.date | None:
    """The date of an answer's OSM data: its ``timestamp_osm_base``, else the release's date, else None."""
    for text in (base, vintage):
        try:
            return dt.date.fromisoformat(str(text)[:10])
        except ValueError:
            continue
    return None


def without_duplicates(spaces: pd.DataFrame, release: Release | None = None) -> pd.DataFrame:
    """``spaces`` with each space once: elements of the same name (case, spaces and punctuation ignored) within
    SAME_PLACE_M metres are one space mapped twice, typically a node and the building way around it, counted twice.

    The distance is the town-list merge's (``sources.local_inputs.SAME_PLACE_M``, 100 m): a node at the entrance or
    inside a building lies within half the building's diagonal of the way's centre, and the same name is required,
    so two branches of one operator in neighbouring streets stay two. Kept: the element with the most tags (the
    better-mapped one; a tie: node before way before relation, then the lower id). Unnamed elements are not
    compared (nothing tells two unnamed spaces apart from one). The duplicates are counted in the log.
    """
    from sources.local_inputs import SAME_PLACE_M, match_key, metres_between

    names = spaces["name"].map(match_key)
    order = spaces.assign(_tags=spaces["tags"].map(lambda t: len(json.loads(t)) if isinstance(t, str) else 0),
                          _type=spaces["osm_type"].map({"node": 0, "way": 1, "relation": 2}))
    order = order.sort_values(["_tags", "_type", "osm_id"], ascending=[False, True, True]).index
    kept: dict[str, list[int]] = {}
    dropped = []
    for index in order:
        name = names[index]
        if not name:
            continue
        twins = kept.setdefault(name, [])
        if twins and (metres_between(spaces.loc[twins, "lat"], spaces.loc[twins, "lon"], spaces.at[index, "lat"],
                                spaces.at[index, "lon"]) <= SAME_PLACE_M).any():
            dropped.append(index)
        else:
            twins.append(index)
    if dropped:
        where = f"vintage {release.vintage}" if release is not None else "spaces"
        log.warning("[%s] %s: %d spaces mapped twice (same name within %d m) counted once: %s", SOURCE_ID, where,
                    len(dropped), SAME_PLACE_M, ", ".join(f"{spaces.at[i, 'osm_type']} {spaces.at[i, 'osm_id']}"
                                                          for i in dropped[:10]))
    return spaces.drop(index=dropped)


def gemeinden_from_wkb(geometries: pd.DataFrame) -> gpd.GeoDataFrame:
    """The ``geometries`` frame of ``sources.bkg_vg.parse_release`` as a GeoDataFrame in EPSG:4326."""
    return gpd.GeoDataFrame(geometries.drop(columns="geometry_wkb"),
                            geometry=gpd.GeoSeries.from_wkb([bytes(b) for b in geometries["geometry_wkb"]],
                                                            index=geometries.index), crs="EPSG:4326")
