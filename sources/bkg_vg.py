"""BKG Verwaltungsgebiete (VG5000 / VG250) Gemeinde layer: geometry, name and designation.

Spatial work is done in geopandas (no DuckDB spatial extension at run time); the
warehouse stores geometries as WKB in EPSG:4326 plus the area computed in EPSG:25832.
"""

from __future__ import annotations

import pandas as pd
import pyogrio

from sources.errors import SourceError
from sources.registry import Release

REQUIRED = ["AGS", "GEN", "BEZ"]
AREA_CRS = "EPSG:25832"  # ETRS89 / UTM 32N: metric, used for areas in Germany


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
    layer = layer.dissolve(by="AGS", aggfunc="first", as_index=False)
    area_km2 = layer.to_crs(AREA_CRS).area / 1e6
    wgs84 = layer.to_crs("EPSG:4326")
    geometries = pd.DataFrame({
        "ags": layer["AGS"].astype(str),
        "name": layer["GEN"],
        "designation": layer["BEZ"],
        "geometry_area_km2": area_km2.round(3),
        "geometry_wkb": wgs84.geometry.to_wkb(),
        "vintage": release.vintage,
    })
    return {"geometries": geometries}
