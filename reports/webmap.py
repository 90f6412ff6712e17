"""The interactive map page ``karte.html``: every Gemeinde coloured by index or pillar, offline.

    from reports.webmap import build_webmap
    build_webmap(load(published), out_dir)   # karte.html, karte-daten.js, vendor/leaflet-1.9.4/

Leaflet (vendored from the npm registry, see reports/vendor/leaflet-1.9.4/SOURCE.md) draws the Gemeinde
boundaries as the only layer: no tiles, no request leaves the folder. The boundaries are simplified once
(coverage simplification in metres, so neighbours keep a shared border) and their coordinates rounded to
4 decimals (about 10 m) to keep the data file small. The data is a script (``karte-daten.js``), not a
.geojson fetched at run time, because browsers refuse fetch() from file:// pages.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jinja2
import numpy as np
import shapely
from pyproj import Transformer

from reports.atlas import (COLOURS, BREAKS, MEASURES, OUTSIDE_COLOUR, AtlasData, legend_classes,
                           measure_label, simplified)
from reports.data import ReportData

TEMPLATES = Path(__file__).with_name("templates")
LEAFLET_DIR = Path(__file__).with_name("vendor") / "leaflet-1.9.4"
SIMPLIFY_M = 150         # boundary detail of the interactive map (metres); VG250 is far finer
DECIMALS = 4             # 4 decimals of a degree: ~11 m north-south, ~7 m east-west in Germany
MISSING_FILL = "#f2f2f2"  # no value: very light grey with a dashed outline (canvas draws no patterns)
DATA_FILE = "karte-daten.js"
_TO_DEGREES = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
_AGS = re.compile(r"^\d{8}$")


def geojson(atlas: AtlasData, pages: set[str]) -> dict:
    """A GeoJSON FeatureCollection (WGS84) of every Gemeinde with its values, German texts and report link.

    ``pages`` are the file names of the town reports that exist; a link is set only for those."""
    shapes = shapely.transform(simplified(atlas.geoms, SIMPLIFY_M), _to_degrees, interleaved=False)
    points = shapely.transform(shapely.point_on_surface(atlas.geoms), _to_degrees, interleaved=False)
    features = []
    for i, (ags, geom) in enumerate(zip(atlas.ags, shapes)):
        geometry = _rounded(shapely.geometry.mapping(geom))
        if geometry is None:
            continue
        values = [atlas.value(i, m) for m in MEASURES]
        page = f"{ags}.html"
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "ags": ags, "name": str(atlas.names[i]),
            "href": page if _AGS.match(ags) and page in pages else None,
            "status": [v.status for v in values],
            "value": [None if v.value is None else round(v.value, 1) for v in values],
            "text": [v.text for v in values],
            "point": [round(shapely.get_y(points[i]), DECIMALS), round(shapely.get_x(points[i]), DECIMALS)],
        }})
    return {"type": "FeatureCollection", "measures": MEASURES, "period": atlas.period, "features": features}


def _to_degrees(x, y):
    return _TO_DEGREES.transform(x, y)


def _rounded(geometry: dict) -> dict | None:
    """The GeoJSON geometry with rounded coordinates; polygons only, None when nothing is left."""
    def ring(coords):
        return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in coords]
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    elif geometry["type"] == "GeometryCollection":
        polygons = [g["coordinates"] for g in geometry["geometries"] if g["type"] == "Polygon"]
    else:
        return None
    polygons = [[ring(r) for r in p] for p in polygons if p and len(p[0]) >= 4]
    if not polygons:
        return None
    return {"type": "MultiPolygon", "coordinates": polygons}


def data_script(collection: dict) -> str:
    """``karte-daten.js``: the collection as a JSON literal; <, > and & escaped so no name can end the script."""
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.KARTE_DATEN = {text};\n"


def build_webmap(data: ReportData, out_dir: Path, atlas: AtlasData | None = None) -> list[Path]:
    """Write ``karte.html``, ``karte-daten.js`` and the vendored Leaflet into ``out_dir``; the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atlas = atlas or AtlasData(data)
    pages = {p.name for p in out_dir.glob("*.html")}
    vendor = out_dir / "vendor" / LEAFLET_DIR.name
    shutil.copytree(LEAFLET_DIR, vendor, dirs_exist_ok=True)
    script = out_dir / DATA_FILE
    script.write_text(data_script(geojson(atlas, pages)), encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("atlas_karte.html.j2").render(
        period=atlas.period, leaflet=f"vendor/{LEAFLET_DIR.name}", data_file=DATA_FILE,
        measures=[{"id": m, "label": measure_label(m)} for m in MEASURES],
        legend=legend_classes(), colours=COLOURS, breaks=BREAKS, outside=OUTSIDE_COLOUR, missing=MISSING_FILL,
        bounds=_bounds(atlas))
    html_path = out_dir / "karte.html"
    html_path.write_text(page, encoding="utf-8")
    return [html_path, script, vendor]


def _bounds(atlas: AtlasData) -> list[list[float]]:
    """[[south, west], [north, east]] of all Gemeinden, for the initial view."""
    x0, y0, x1, y1 = shapely.total_bounds(atlas.geoms)
    (w, e), (s, n) = _TO_DEGREES.transform(np.array([x0, x1]), np.array([y0, y1]))
    return [[round(s, 3), round(w, 3)], [round(n, 3), round(e, 3)]]
