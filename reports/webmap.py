"""The interactive map page ``atlas/karte.html``: every Gemeinde coloured by index or pillar, offline.

    from reports.webmap import build_maps
    build_maps(load(published), out_dir)   # <out_dir>/atlas/: karte.html, karte-daten.js,
                                           # vendor/leaflet-1.9.4/, and the static atlas (reports/atlas.py)

Everything lives in ``atlas/`` beside the town pages (``../<ags>.html``), so the reports folder keeps one
HTML file per town plus index and network page at its top level.

Leaflet (vendored from the npm registry, see reports/vendor/leaflet-1.9.4/SOURCE.md) draws the Gemeinde
boundaries as the only layer: no tiles, no request leaves the folder. The boundaries are simplified once
(coverage simplification in metres, so neighbours keep a shared border) and their coordinates rounded to
DECIMALS places (3: about 100 m, the detail of VG5000) to keep the file small. The GeoJSON is shipped
as a script (``karte-daten.js``), not a .geojson fetched at run time: browsers refuse fetch() from file://.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import jinja2
import numpy as np
import shapely
from pyproj import Transformer

from reports.atlas import (BREAKS, COLOURS, MEASURES, OUTSIDE_COLOUR, AtlasData, build_atlas, legend_classes,
                           measure_label, paused_gc, ring_table, simplified)
from reports.data import ReportData

TEMPLATES = Path(__file__).with_name("templates")
LEAFLET_DIR = Path(__file__).with_name("vendor") / "leaflet-1.9.4"
SIMPLIFY_M = 150         # boundary detail of the interactive map (metres); VG250 is far finer
DECIMALS = 3             # 3 decimals of a degree: ~110 m north-south, ~70 m east-west, finer than SIMPLIFY_M
MISSING_FILL = "#f2f2f2"  # no value: very light grey with a dashed outline (canvas draws no patterns)
DATA_FILE = "karte-daten.js"
_TO_DEGREES = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
_AGS = re.compile(r"^\d{8}$")


def geojson(atlas: AtlasData, pages: set[str]) -> dict:
    """A GeoJSON FeatureCollection (WGS84) of every Gemeinde with its values and report link.

    Per feature and measure (order of ``measures``): ``value`` (one decimal) or null, and ``why``: null or
    the position of the German reason in the collection's ``reasons`` (kept once: the same few texts
    would otherwise repeat 50,000 times). ``pages`` are the town reports that exist; only those are linked."""
    shapes = shapely.transform(simplified(atlas.geoms, SIMPLIFY_M), _to_degrees, interleaved=False)
    points = shapely.transform(shapely.point_on_surface(atlas.geoms), _to_degrees, interleaved=False)
    lat, lon = np.round(shapely.get_y(points), DECIMALS), np.round(shapely.get_x(points), DECIMALS)
    reasons: dict[tuple[str, str], int] = {}
    features = []
    for i, polygons in enumerate(multipolygons(shapes)):
        if not polygons:
            continue
        ags, values = atlas.ags[i], [atlas.value(i, m) for m in MEASURES]
        page = f"{ags}.html"
        features.append({"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                         "properties": {
            "ags": ags, "name": str(atlas.names[i]),
            "href": f"../{page}" if _AGS.match(ags) and page in pages else None,
            # as shown (AtlasData.value: one decimal, the score as published), classified by the page's script as the
            # print atlas classifies it (atlas.class_of): one colour per town on both maps
            "value": [v.value for v in values],
            "why": [None if v.status == "value" else reasons.setdefault((v.status, v.text), len(reasons))
                    for v in values],
            "point": [float(lat[i]), float(lon[i])],
        }})
    return {"type": "FeatureCollection", "measures": MEASURES, "period": atlas.period,
            "reasons": [{"status": status, "text": text} for status, text in reasons], "features": features}


def _to_degrees(x, y):
    return _TO_DEGREES.transform(x, y)


def multipolygons(shapes: np.ndarray) -> list[list]:
    """GeoJSON MultiPolygon coordinates per geometry, rounded to DECIMALS, vectorised over all rings.

    Points that round onto the previous one are dropped; a ring left with fewer than 4 points (closing
    point included) is dropped, and with its exterior the whole polygon."""
    coords, point_ring, ring_part, part_geom = ring_table(shapes)
    coords = np.round(coords, DECIMALS)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = (coords[1:] != coords[:-1]).any(axis=1) | (point_ring[1:] != point_ring[:-1])
    coords, point_ring = coords[keep], point_ring[keep]
    counts = np.bincount(point_ring, minlength=len(ring_part))
    ends = np.cumsum(counts)
    points = coords.tolist()
    out: list[list] = [[] for _ in range(len(shapes))]
    previous, dropped = -1, -1
    for ring, part in enumerate(ring_part):
        is_exterior = part != previous
        previous = part
        if is_exterior and counts[ring] < 4:
            dropped = part  # and with it the holes that follow
            continue
        if part == dropped or counts[ring] < 4:
            continue
        ring_points = points[ends[ring] - counts[ring]:ends[ring]]
        if is_exterior:
            out[part_geom[part]].append([ring_points])
        else:
            out[part_geom[part]][-1].append(ring_points)
    return out


def data_script(collection: dict) -> str:
    """``karte-daten.js``: the collection as a JSON literal; <, > and & escaped so no name can end the script."""
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.KARTE_DATEN = {text};\n"


def build_webmap(data: ReportData, out_dir: Path, atlas: AtlasData | None = None,
                 pages: set[str] | None = None) -> list[Path]:
    """Write ``atlas/karte.html``, ``atlas/karte-daten.js`` and the vendored Leaflet under the reports folder
    ``out_dir`` (whose town pages the map links to: ``pages``, file names, or None: the pages there now);
    the paths written."""
    with paused_gc():
        return _build_webmap(data, Path(out_dir), atlas, pages)


def _build_webmap(data: ReportData, out_dir: Path, atlas: AtlasData | None, pages: set[str] | None) -> list[Path]:
    target = out_dir / "atlas"
    target.mkdir(parents=True, exist_ok=True)
    atlas = atlas or AtlasData(data)
    if pages is None:
        pages = {p.name for p in out_dir.glob("*.html")}
    vendor = target / "vendor" / LEAFLET_DIR.name
    shutil.copytree(LEAFLET_DIR, vendor, dirs_exist_ok=True)
    script = target / DATA_FILE
    script.write_text(data_script(geojson(atlas, pages)), encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    everywhere = np.arange(len(atlas.ags))
    page = env.get_template("atlas_karte.html.j2").render(
        period=atlas.period, leaflet=f"vendor/{LEAFLET_DIR.name}", data_file=DATA_FILE,
        measures=[{"id": m, "label": measure_label(m)} for m in MEASURES],
        legend=legend_classes(), colours=COLOURS, breaks=BREAKS, outside=OUTSIDE_COLOUR, missing=MISSING_FILL,
        bounds=_bounds(atlas), geometry_credit=html.escape(atlas.geometry_credit),
        credits=[value_attribution(atlas.credits[m]) for m in MEASURES],
        # per measure the dates its values rest on, and the outlines' date (the print atlas' lines, atlas.py)
        data_dates=[atlas.data_dates(everywhere, m) or "" for m in MEASURES], boundary=atlas.boundaries(everywhere))
    html_path = target / "karte.html"
    html_path.write_text(page, encoding="utf-8")
    return [html_path, script, vendor]


def value_attribution(credits: list[str]) -> str:
    """The map's attribution of the values of one measure ("Werte: …; …", "" without values), HTML-escaped:
    Leaflet writes attributions as HTML."""
    return html.escape("Werte: " + "; ".join(credits)) if credits else ""


def _bounds(atlas: AtlasData) -> list[list[float]]:
    """[[south, west], [north, east]] of all Gemeinden, for the initial view."""
    x0, y0, x1, y1 = shapely.total_bounds(atlas.geoms)
    (w, e), (s, n) = _TO_DEGREES.transform(np.array([x0, x1]), np.array([y0, y1]))
    return [[round(s, 3), round(w, 3)], [round(n, 3), round(e, 3)]]


def build_maps(data: ReportData, out_dir: Path, pages: set[str] | None = None) -> list[Path]:
    """The atlas (static SVG, Germany and each Land) and the interactive map, sharing one projection.

    The map links only reports that exist: ``pages`` (the town pages' file names there will be, when the
    maps are drawn while they are written) or, None, the pages in ``out_dir`` now."""
    with paused_gc():
        atlas = AtlasData(data)
    return [*build_atlas(data, out_dir, atlas), *build_webmap(data, out_dir, atlas, pages)]
