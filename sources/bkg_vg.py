"""BKG Verwaltungsgebiete (VG5000 / VG250): Gemeinde geometries, names and designations; Kreis names.

Spatial work is done in geopandas (no DuckDB spatial extension at run time); the
warehouse stores geometries as WKB in EPSG:4326 plus the area computed in EPSG:25832.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import numpy as np
import pandas as pd
import pyogrio
import shapely

from sources.errors import SourceError
from sources.registry import Release

REQUIRED = ["AGS", "GEN", "BEZ"]
AREA_CRS = "EPSG:25832"  # ETRS89 / UTM 32N: metric, used for areas in Germany
log = logging.getLogger(__name__)


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Gemeinde geometries of one VG release (``geometries``: ags, name, designation, area, WKB)."""
    shp = release.file("gemeinden", ".shp")
    try:
        layer = pyogrio.read_dataframe(shp.path, encoding="UTF-8")
    except Exception as exc:  # GDAL errors on broken shapefiles
        raise SourceError(release.source_id, shp.relative_path, f"not a readable shapefile ({exc})") from exc
    missing = [c for c in REQUIRED if c not in layer.columns]
    if missing:
        raise SourceError(release.source_id, shp.relative_path, f"missing attribute columns {missing}")
    if layer.crs is None:
        raise SourceError(release.source_id, shp.relative_path, "no coordinate reference system (.prj missing)")
    # GF=4 rows are land areas; VG files also carry water areas (GF 1/2) with the same AGS.
    if "GF" in layer.columns:
        layer = layer[layer["GF"] == 4] if (layer["GF"] == 4).any() else layer
    # parts of one Gemeinde share key and name; one key with two names is a broken file, not a multipolygon
    names = layer.groupby("AGS")["GEN"].nunique()
    if (names > 1).any():
        raise SourceError(release.source_id, shp.relative_path, f"AGS {names[names > 1].index[0]!r} occurs more "
                                                                "than once with different names (GEN)")
    layer = layer.dissolve(by="AGS", aggfunc="first", as_index=False)
    area_km2 = layer.to_crs(AREA_CRS).area / 1e6
    wgs84 = layer.to_crs("EPSG:4326")
    _within_germany(release, shp.relative_path, layer.crs, wgs84)
    _no_polygon_on_another(release, shp.relative_path, layer)
    _no_polygon_overlaps(release, shp.relative_path, layer)
    geometries = pd.DataFrame({
        "ags": layer["AGS"].astype(str),
        "name": layer["GEN"],
        "designation": layer["BEZ"],
        "geometry_area_km2": area_km2.round(3),
        "geometry_wkb": wgs84.geometry.to_wkb(),
        "last_change_date": last_change_dates(release, shp.relative_path, layer),
        "vintage": release.vintage,
        "territorial_date": territorial_date(release, shp.relative_path),
    })
    return {"geometries": geometries, "kreise": kreise(release)}


def last_change_dates(release: Release, file: str, layer: pd.DataFrame) -> pd.Series:
    """``WSK`` ("Wirksamkeit"), the date the Gemeinde's last territorial change took effect, as a date; NaT where the
    release has no WSK column or leaves it empty. A value that is no ISO date is a broken file, not a missing date:
    it would silently drop the Gemeinde from the restatement check of the publishers' series (docs/methodology.md)."""
    if "WSK" not in layer.columns:
        return pd.Series(pd.NaT, index=layer.index, dtype="datetime64[ns]")
    given = layer["WSK"].where(layer["WSK"].notna() & (layer["WSK"].astype(str).str.strip() != ""))
    dates = pd.to_datetime(given, format="%Y-%m-%d", errors="coerce")
    broken = given.notna() & dates.isna()
    if broken.any():
        first = layer.loc[broken].iloc[0]
        raise SourceError(release.source_id, file, f"column WSK: {int(broken.sum())} values are no date (YYYY-MM-DD), "
                                                   f"e.g. {first['WSK']!r} for AGS {first['AGS']!r}")
    return dates.dt.normalize()


# Germany's extent in EPSG:4326 with a margin (lon 5.87-15.04, lat 47.27-55.06; the islands and the coast included)
GERMANY_BOUNDS = {"minx": 5.5, "miny": 47.0, "maxx": 15.5, "maxy": 55.5}


def _within_germany(release: Release, file: str, crs, wgs84) -> None:
    """Every Gemeinde's extent must lie in Germany once transformed: a .prj naming another coordinate system than
    the coordinates use (EPSG:25832 over Gauss-Krüger metres) moves every town hundreds of kilometres while the
    areas stay plausible, and the crosswalk's polygon tests and the maps would read those places."""
    bounds = wgs84.bounds
    outside = ((bounds["minx"] < GERMANY_BOUNDS["minx"]) | (bounds["miny"] < GERMANY_BOUNDS["miny"])
               | (bounds["maxx"] > GERMANY_BOUNDS["maxx"]) | (bounds["maxy"] > GERMANY_BOUNDS["maxy"]))
    if outside.any():
        first = bounds[outside].iloc[0]
        raise SourceError(release.source_id, file, f"{int(outside.sum())} Gemeinden lie outside Germany once "
                          f"transformed from the .prj's coordinate system {crs.to_string()!r}, e.g. AGS "
                          f"{wgs84.loc[first.name, 'AGS']!r} at lon {first['minx']:.2f}-{first['maxx']:.2f}, lat "
                          f"{first['miny']:.2f}-{first['maxy']:.2f}: does the .prj name the coordinates' system?")


def _no_polygon_on_another(release: Release, file: str, layer) -> None:
    """No Gemeinde's inner point may lie in another Gemeinde's polygon: the polygons of one territorial status tile
    Germany (the real VG5000 of 2021: none of 10,997 does). A polygon whose coordinates were shifted keeps its key,
    name and area, so every other check passes while its maps, neighbours and coworking reach are another place's
    (bad-input review: Mölln moved 16 km published). One spatial-index query, 0.1-0.2 s Germany-wide. A shift smaller
    than the polygon leaves its inner point on its own former ground: ``_no_polygon_overlaps`` sees it."""
    polygons = np.asarray(layer.geometry.values)
    inner, covering = shapely.STRtree(polygons).query(shapely.point_on_surface(polygons), predicate="within")
    other = inner != covering
    if other.any():
        pairs = [f"AGS {layer['AGS'].iat[a]!r} ({layer['GEN'].iat[a]}) in AGS {layer['AGS'].iat[b]!r} "
                 f"({layer['GEN'].iat[b]})" for a, b in zip(inner[other][:3], covering[other][:3])]
        raise SourceError(release.source_id, file, f"{int(other.sum())} Gemeinden have their inner point in another "
                          f"Gemeinde's polygon, e.g. {'; '.join(pairs)}: polygons lie on top of each other (the "
                          "coordinates of one shifted?)")


# The Gemeinden of one release form a coverage: neighbours share their edges exactly and no two overlap (the real
# VG5000 of 2021 and the snapshot: shapely.coverage_is_valid). A polygon shifted by less than its own size keeps its
# inner point on its own former ground (_no_polygon_on_another), but it now lies partly on its neighbours: Mölln
# moved 500 m north overlaps one by 12.7 % of the smaller polygon's area, 50 m by 1.3 %, 5 m by 0.1 %. Refused: a
# pair overlapping by more than OVERLAP_SHARE of the smaller one's area; smaller overlaps (edges of a release that do
# not quite match) are logged and read, as they move no figure (VG5000 draws boundaries to about a kilometre). How
# far a polygon must move to be refused depends on its size and shape: 40 m for Mölln, ~40 m for the median
# Gemeinde, ~160 m for the 99th percentile (a review's estimate from 100 m shifts, 6 December 2026). An island, or a
# Gemeinde moved out over the coast or the border, overlaps nobody: staging.geometries.position_mismatches compares
# each polygon with the register's centre of its key.
OVERLAP_SHARE = 0.01


def _no_polygon_overlaps(release: Release, file: str, layer) -> None:
    """No two Gemeinden may overlap by more than OVERLAP_SHARE of the smaller one's area (a polygon shifted by less
    than its size, bad-input review). Only polygons whose edges do not match their neighbours' are measured: one
    GEOS coverage validation, 0.2 s for the 10,997 polygons of VG5000 Germany-wide (6 December 2026)."""
    polygons = np.asarray(layer.geometry.values)
    measurable = ~shapely.is_missing(polygons) & (shapely.area(polygons) > 0)
    suspect = np.flatnonzero(measurable & ~shapely.is_empty(shapely.coverage_invalid_edges(polygons)))
    if not len(suspect):
        return
    # a ring crossing itself (the real VG5000 has 3 such polygons) makes GEOS' intersection fail: measure a valid copy
    invalid = measurable & ~shapely.is_valid(polygons)
    polygons = polygons.copy()
    polygons[invalid] = shapely.make_valid(polygons[invalid])  # only those: the valid ones are measured as given
    found, other = shapely.STRtree(polygons).query(polygons[suspect], predicate="intersects")
    found, other = suspect[found], other
    # each pair once (both of a pair are usually suspect), never a polygon with itself or one without area
    keep = (found != other) & measurable[other]
    first, second = np.unique(np.sort(np.column_stack([found, other])[keep], axis=1), axis=0).T
    overlap = shapely.area(shapely.intersection(polygons[first], polygons[second]))
    share = overlap / np.minimum(shapely.area(polygons[first]), shapely.area(polygons[second]))
    order = np.argsort(-share)
    large = order[share[order] > OVERLAP_SHARE]
    described = [f"AGS {layer['AGS'].iat[first[i]]!r} ({layer['GEN'].iat[first[i]]}) and AGS "
                 f"{layer['AGS'].iat[second[i]]!r} ({layer['GEN'].iat[second[i]]}) by {100 * share[i]:.2f} %"
                 for i in (large if len(large) else order)[:3]]
    if len(large):
        pairs = "1 pair of Gemeinden overlaps" if len(large) == 1 else f"{len(large)} pairs of Gemeinden overlap"
        raise SourceError(release.source_id, file, f"{pairs} by more than "
                          f"{100 * OVERLAP_SHARE:g} % of the smaller one's area, e.g. {'; '.join(described)}: the "
                          "polygons of one release tile Germany (the coordinates of one shifted?)")
    log.info("%s %s: %d Gemeinden have edges that do not match their neighbours' exactly; the largest overlap, %s, "
             "is below %g %% of the smaller area and is read as is", release.source_id, file, len(suspect),
             described[0] if described else "none", 100 * OVERLAP_SHARE)


def territorial_date(release: Release, file: str) -> dt.date:
    """The territorial status of a VG release: the date its vintage names ('vg250-2025-01-01': Stand 01.01.2025)."""
    match = re.search(r"\d{4}-\d{2}-\d{2}", release.vintage)
    if match is None:
        raise SourceError(release.source_id, file, f"vintage {release.vintage!r} names no territorial date "
                                                   "(expected e.g. vg250-2025-01-01)")
    return dt.date.fromisoformat(match[0])


def kreise(release: Release) -> pd.DataFrame:
    """Names of the Kreise from the Kreis layer's attribute table (empty when the release has none)."""
    dbf = [f for f in release.files if f.role == "kreise" and f.path.suffix.lower() == ".dbf"]
    if not dbf:
        return pd.DataFrame(columns=["ags", "name", "designation", "vintage", "territorial_date"])
    try:
        table = pyogrio.read_dataframe(dbf[0].path, read_geometry=False, encoding="UTF-8")
    except Exception as exc:
        raise SourceError(release.source_id, dbf[0].relative_path, f"not a readable dBASE table ({exc})") from exc
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise SourceError(release.source_id, dbf[0].relative_path, f"missing attribute columns {missing}")
    table = table[table["GF"] == 4] if "GF" in table.columns and (table["GF"] == 4).any() else table
    status = territorial_date(release, dbf[0].relative_path)
    return pd.DataFrame({"ags": table["AGS"].astype(str), "name": table["GEN"], "designation": table["BEZ"],
                         "vintage": release.vintage, "territorial_date": status}).drop_duplicates("ags")
