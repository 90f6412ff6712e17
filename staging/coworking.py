"""Coworking places assigned to Gemeinden and counted within reach (OpenStreetMap and the towns' own lists).

The spatial joins run on the Gemeinde polygons of the BKG VG release; distances in metres (EPSG:25832).
"""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sources import OBSERVATION_COLUMNS, local_inputs, within_measure
from sources.osm_coworking import METRIC_CRS, NOTE, SPACE_COLUMNS
from sources.registry import label_vintage


def _points(spaces: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(spaces, geometry=gpd.points_from_xy(spaces["lon"], spaces["lat"]), crs="EPSG:4326")


def assign_to_gemeinden(spaces: pd.DataFrame, gemeinden: gpd.GeoDataFrame) -> pd.DataFrame:
    """``spaces`` plus column ``ags``: the Gemeinde polygon each point lies in (None outside all of them).

    The join uses ``intersects``, not ``within``: a point exactly on a boundary is not *within*
    either neighbour and would be lost; here it goes to the first match, keeping one row per space.
    """
    polygons = gemeinden[["ags", "geometry"]].to_crs("EPSG:4326")
    joined = gpd.sjoin(_points(spaces[["lat", "lon"]]), polygons, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    result = spaces.copy()
    result["ags"] = joined["ags"].reindex(spaces.index).astype(object)
    result["ags"] = result["ags"].where(result["ags"].notna(), None)
    return result


def coworking_indicators(spaces_with_ags: pd.DataFrame, gemeinden: gpd.GeoDataFrame, reference_date,
                         radius_km: float) -> pd.DataFrame:
    """Tidy observations per Gemeinde of ``gemeinden`` (OBSERVATION_COLUMNS).

    ``coworking_spaces``: spaces whose ``ags`` is the Gemeinde (0 is a real zero: OSM was queried
    for all of Germany). ``coworking_spaces_within_10km`` (``within_measure``: its name follows ``radius_km``,
    the catalogue's ``coworking_gap.reach_km``): spaces at most ``radius_km`` from the
    Gemeinde polygon, those inside included, wherever they lie (also across the national border: the query's box).
    ``coworking_nearest_km``: distance from the polygon to the nearest space, 0 if one is inside,
    NaN if there is no space with a known position (nor one placed in the Gemeinde itself). Distances are computed
    in EPSG:25832. A place listed without coordinates counts for its own Gemeinde only (``within_reach``).
    """
    polygons = gemeinden[["ags", "geometry"]].to_crs(METRIC_CRS).reset_index(drop=True)
    # OpenStreetMap's spaces alone (no town list merged in) have coordinates and no located_at_gemeinde column
    placed = (placed_at_gemeinde(spaces_with_ags) if "located_at_gemeinde" in spaces_with_ags
              else pd.Series(False, index=spaces_with_ags.index))
    located = spaces_with_ags[~placed]  # their position is known: they count wherever they are within reach
    points = _points(located[["lat", "lon"]].reset_index(drop=True)).to_crs(METRIC_CRS)
    inside = spaces_with_ags["ags"].dropna().value_counts()
    own = spaces_with_ags.loc[placed, "ags"].dropna().value_counts()  # inside their Gemeinde: within reach, 0 km
    near = gpd.sjoin(polygons, points, predicate="dwithin", distance=radius_km * 1000).groupby("ags").size()
    nearest = gpd.sjoin_nearest(polygons, points, distance_col="distance_m").groupby("ags")["distance_m"].min()
    ags = polygons["ags"]
    measures = {
        "coworking_spaces": ("count", ags.map(inside).fillna(0)),
        within_measure(radius_km): ("count", ags.map(near).fillna(0) + ags.map(own).fillna(0)),
        "coworking_nearest_km": ("km", (ags.map(nearest) / 1000).round(3).mask(ags.isin(own.index), 0.0)),
    }
    date = pd.Timestamp(reference_date).date()
    frames = [pd.DataFrame({"ags": ags, "level": "gemeinde", "reference_date": date, "measure": measure,
                            "value": values.astype(float), "unit": unit, "note": NOTE})
              for measure, (unit, values) in measures.items()]
    return pd.concat(frames, ignore_index=True)[OBSERVATION_COLUMNS]


def lists_as_of(deliveries: dict[str, pd.DataFrame], date: str) -> pd.DataFrame:
    """Each supplying town's latest list delivered on or before ``date`` (deliveries by date, rows with
    ``supplying_ags``), with the day it was delivered (``listed_on``). A town's new list replaces its earlier one;
    another town's delivery does not: taking only the latest delivery folder dropped the lists of every town that had
    delivered before it. Why the day: a list counts until the town delivers a new one, and a 2023 list merged into a
    2026 OSM picture was shown as of 2026 (dates review of 5 December)."""
    # the delivery's day, not its label: '2023-11-20-rev2' (a correction) sorts after '2023-11-20' as text
    delivered = [rows.assign(vintage=day) for day, rows in sorted(deliveries.items())
                 if label_vintage(day) <= label_vintage(date) and len(rows)]
    if not delivered:
        return pd.DataFrame(columns=[*local_inputs.SPACE_COLUMNS, "located_at_gemeinde", "listed_on"])
    latest = local_inputs.latest_delivery(pd.concat(delivered, ignore_index=True), ["supplying_ags"])
    days = pd.to_datetime(latest["vintage"].map(label_vintage), format="%Y-%m-%d")  # '2023-11-20-rev2': a correction
    return latest.assign(listed_on=days.dt.date).drop(columns="vintage")


def within_reach(area, x, y, reach_km: float, placed=None, in_town=None) -> np.ndarray:
    """Which points (``x``, ``y`` in METRIC_CRS) are within reach of a Gemeinde's ``area`` (its polygon in
    METRIC_CRS): at most ``reach_km`` from it, the points inside included. The rule ``coworking_indicators`` applies
    to all Gemeinden at once through a spatial join (GEOS's dwithin on the unrounded distance), for one town: the
    report that lists the spaces behind the count uses it, so that a space the list shows is one the indicator
    counts (a test holds the two equal).

    A place a town listed without coordinates (``placed``: put at a point inside its Gemeinde) counts only where it
    is ``in_town``. Why: where in its Gemeinde it lies is unknown, so is whether it is within reach of a neighbour;
    the point it was put at decided that by chance, and the neighbour's count went into its index."""
    near = shapely.dwithin(area, shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float)),
                           reach_km * 1000)
    if placed is None:
        return near
    return near & (~np.asarray(placed, dtype=bool) | np.asarray(in_town, dtype=bool))


def placed_at_gemeinde(spaces: pd.DataFrame) -> pd.Series:
    """Which spaces were listed without coordinates and put at their Gemeinde (``located_at_gemeinde``). A frame
    without the column is a KeyError: the town page's query lacked it, and every place counted as located."""
    return spaces["located_at_gemeinde"].map(lambda flag: not pd.isna(flag) and bool(flag)).astype(bool)


class Batch(NamedTuple):
    """One coworking picture to merge and count: its date and source, the OSM spaces and the towns' lists, and the
    towns it measures (``towns``: None for every Gemeinde, else these AGS only)."""

    date: str
    source_id: str
    osm: pd.DataFrame
    lists: pd.DataFrame
    towns: frozenset | None


def batches(osm_parsed: list, deliveries: dict[str, pd.DataFrame]) -> list[Batch]:
    """The batches to merge and count, one per date the picture changes.

    Each OSM query date: its spaces with every town's latest list up to then (source osm_coworking), measuring every
    Gemeinde (OSM was queried for all of Germany, so a 0 is a real 0). Each delivery after the latest OSM query:
    that query's spaces with the lists up to the delivery (source local_inputs), measuring only the towns that
    delivered on that date: a list delivered after it used to wait, unmerged, for a query whose answer changed
    (live mode lands a new OSM vintage only then) while ``source_releases`` listed it. Without OSM: the lists up to
    each delivery, alone, again measuring the delivering towns.

    Why only those: the batch's values are dated with the delivery and labelled as the towns' own data. Measuring
    every Gemeinde re-dated the older OSM picture of all 10,951 to the day one town delivered (and a town's earlier
    list to the day another town delivered), so a 2021 count was shown as 2023's, not carried forward, with a method
    break and "Eigene Angaben der Stadt" for towns that gave none (coworking review of 5 December 2026).
    """
    no_osm = pd.DataFrame(columns=SPACE_COLUMNS)
    osm = sorted(((vintage, tables["coworking_spaces"]) for vintage, tables in osm_parsed), key=lambda pair: pair[0])
    result = [Batch(vintage, "osm_coworking", spaces, lists_as_of(deliveries, vintage), None) for vintage, spaces in osm]
    latest_query, latest_spaces = osm[-1] if osm else ("", no_osm)
    result += [Batch(day, "local_inputs", latest_spaces, lists_as_of(deliveries, day), _delivering(deliveries[day]))
               for day in sorted(deliveries) if day > latest_query]
    return result


def _delivering(rows: pd.DataFrame) -> frozenset:
    """The towns whose lists a delivery holds."""
    return frozenset(rows["supplying_ags"]) if len(rows) else frozenset()
