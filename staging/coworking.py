"""Coworking places assigned to Gemeinden and counted within reach (OpenStreetMap and the towns' own lists).

The spatial joins run on the Gemeinde polygons of the BKG VG release; distances in metres (EPSG:25832).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.osm_coworking import METRIC_CRS, NOTE


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
                         radius_km: float = 10) -> pd.DataFrame:
    """Tidy observations per Gemeinde of ``gemeinden`` (OBSERVATION_COLUMNS).

    ``coworking_spaces``: spaces whose ``ags`` is the Gemeinde (0 is a real zero: OSM was queried
    for all of Germany). ``coworking_spaces_within_10km`` (name follows ``radius_km``): spaces at
    most ``radius_km`` from the Gemeinde polygon, those inside included, wherever they lie.
    ``coworking_nearest_km``: distance from the polygon to the nearest space, 0 if one is inside,
    NaN if there are no spaces at all. Distances are computed in EPSG:25832.
    """
    polygons = gemeinden[["ags", "geometry"]].to_crs(METRIC_CRS).reset_index(drop=True)
    points = _points(spaces_with_ags[["lat", "lon"]].reset_index(drop=True)).to_crs(METRIC_CRS)
    inside = spaces_with_ags["ags"].dropna().value_counts()
    near = gpd.sjoin(polygons, points, predicate="dwithin", distance=radius_km * 1000).groupby("ags").size()
    nearest = gpd.sjoin_nearest(polygons, points, distance_col="distance_m").groupby("ags")["distance_m"].min()
    ags = polygons["ags"]
    measures = {
        "coworking_spaces": ("count", ags.map(inside).fillna(0)),
        f"coworking_spaces_within_{radius_km:g}km": ("count", ags.map(near).fillna(0)),
        "coworking_nearest_km": ("km", (ags.map(nearest) / 1000).round(3)),
    }
    date = pd.Timestamp(reference_date).date()
    frames = [pd.DataFrame({"ags": ags, "level": "gemeinde", "reference_date": date, "measure": measure,
                            "value": values.astype(float), "unit": unit, "note": NOTE})
              for measure, (unit, values) in measures.items()]
    return pd.concat(frames, ignore_index=True)[OBSERVATION_COLUMNS]
