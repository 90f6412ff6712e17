"""Maps of a town and its neighbours, and coworking spaces near a town (geometries in EPSG:3035, metres).

The map is SVG written directly: each Gemeinde is projected once per run (when the geometries are
loaded) and simplified and turned into an SVG path once per run (the first time a page needs it, then
cached), in kilometres; a page places those paths with one transform. Stroke widths do not scale with
it (``vector-effect``), so outlines look the same on every map.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from reports.charts import text_width
from sources.osm_coworking import METRIC_CRS
from staging.boundaries import bare_name

NEIGHBOUR_BUFFER_M = 2_000     # neighbours: touching the town or within 2 km of its boundary
SIMPLIFY_M = 100               # map detail; VG250 boundaries are far finer than a page needs
MISSING_COLOUR = "#d9d9d9"
# matplotlib's viridis at 0, 0.1, ..., 1 (interpolated linearly in between; the reports no longer import matplotlib)
VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151",
           "#bddf26", "#fde725"]
MAP_W, MAP_H, LEGEND_W = 500, 480, 170   # map area and legend column, pixels
LABEL_SIZE = 9
_TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
# the coworking indicator measures reach in METRIC_CRS (staging/coworking.py); the pages list what it counts
_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_MAP_TO_METRIC = Transformer.from_crs("EPSG:3035", METRIC_CRS, always_xy=True)


class TownGeometries:
    """All Gemeinde geometries in an equal-area projection, with a spatial index for neighbour look-ups."""

    def __init__(self, geometries: pd.DataFrame):
        geoms = shapely.from_wkb(geometries["geometry_wkb"].map(bytes).to_numpy())
        self.geoms = shapely.transform(geoms, to_metres, interleaved=False)
        self.ags = geometries["ags"].to_numpy()
        self.names = (geometries["name"] if "name" in geometries else geometries["ags"]).to_numpy()
        self.position = {ags: i for i, ags in enumerate(self.ags)}
        # per Gemeinde the boundary's date and whether its territory changed since (staging.boundaries)
        self.dates = geometries["territorial_date"].to_numpy() if "territorial_date" in geometries else None
        self.changed = (geometries["territory_changed_since_geometry"].to_numpy()
                        if "territory_changed_since_geometry" in geometries else None)
        # per Gemeinde drawn from several outlines or another key's (staging.boundaries): their AGS and names
        self.assembled = ({ags: list(zip(keys, names)) for ags, keys, names in zip(
            self.ags, geometries["assembled_from"], geometries["assembled_names"]) if len(keys)}
            if "assembled_from" in geometries else {})
        # per key drawn that is no Gemeinde of today: the Gemeinden of today its land went to (staging.boundaries)
        self.now_in = ({ags: list(keys) for ags, keys in zip(self.ags, geometries["now_in"]) if len(keys)}
                       if "now_in" in geometries else {})
        self.tree = shapely.STRtree(self.geoms)
        self._neighbours: dict[str, list[str]] = {}
        self._metric: dict[str, object] = {}  # metric_area per Gemeinde
        self._shapes: dict[int, tuple[str, tuple[float, float, float, float], tuple[float, float]]] = {}

    def has(self, ags: str) -> bool:
        return ags in self.position

    def boundary(self, ags: str) -> tuple[object, bool]:
        """(date of the town's boundary, whether its territory changed after it); (None, False) where not known. The
        outlines it is drawn from, where not its own alone: ``assembled``."""
        i = self.position[ags]
        day = self.dates[i] if self.dates is not None else None
        return day, bool(self.changed[i]) if self.changed is not None else False

    def metric_area(self, ags: str):
        """The town's polygon in the coworking indicator's METRIC_CRS (the maps hold it in EPSG:3035); transformed
        once per run and Gemeinde (both coworking sections of a page ask)."""
        if ags not in self._metric:
            self._metric[ags] = shapely.transform(self.geoms[self.position[ags]], _MAP_TO_METRIC.transform,
                                                  interleaved=False)
        return self._metric[ags]

    def neighbours(self, ags: str) -> list[str]:
        """AGS of the Gemeinden touching the town or within NEIGHBOUR_BUFFER_M of it (without the town).

        Cached: the page context and the map both ask, and buffering a fine boundary is the costly part."""
        if ags not in self._neighbours:
            geom = self.geoms[self.position[ags]]
            hits = self.tree.query(shapely.buffer(geom, NEIGHBOUR_BUFFER_M), predicate="intersects")
            self._neighbours[ags] = sorted(self.ags[i] for i in hits if self.ags[i] != ags)  # by AGS: stable order
        return self._neighbours[ags]

    def shape(self, ags: str) -> tuple[str, tuple[float, float, float, float], tuple[float, float]]:
        """(SVG path in km with y pointing down, bounds in metres, label point in metres) of the
        simplified geometry; computed once per run and Gemeinde."""
        i = self.position[ags]
        if i not in self._shapes:
            geom = shapely.simplify(self.geoms[i], SIMPLIFY_M)
            point = self.geoms[i].representative_point()
            self._shapes[i] = (svg_path(geom), tuple(shapely.bounds(geom)), (point.x, point.y))
        return self._shapes[i]


def to_metric_crs(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude (EPSG:4326) to metres in the coworking indicator's METRIC_CRS."""
    return _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def to_metres(x, y):
    """Longitude/latitude (EPSG:4326) to metres in EPSG:3035, the projection of every map."""
    return _TO_METRES.transform(x, y)


def svg_path(geom) -> str:
    """Path data of a (multi)polygon in km, y negated (SVG's y points down), holes as extra rings (even-odd)."""
    rings = []
    for polygon in getattr(geom, "geoms", [geom]):
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.round(np.asarray(ring.coords)[:-1] / 1000, 2)
            if len(coords) < 3:
                continue
            points = "L".join(f"{x:.2f} {-y:.2f}" for x, y in coords.tolist())
            rings.append(f"M{points}Z")
    return "".join(rings)


def colour(score) -> str:
    """Viridis colour of a score on 0..100, grey when missing."""
    if score is None or pd.isna(score):
        return MISSING_COLOUR
    position = min(max(float(score), 0.0), 100.0) / 10
    low = min(int(position), 9)
    share = position - low
    a, b = _rgb(VIRIDIS[low]), _rgb(VIRIDIS[low + 1])
    return "#" + "".join(f"{round(p + (q - p) * share):02x}" for p, q in zip(a, b))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


class View:
    """Metres to map pixels for the bounds of the shapes shown (equal scale in x and y, centred)."""

    def __init__(self, bounds: list[tuple[float, float, float, float]]):
        minx, miny = min(b[0] for b in bounds), min(b[1] for b in bounds)
        maxx, maxy = max(b[2] for b in bounds), max(b[3] for b in bounds)
        pad = 0.04 * max(maxx - minx, maxy - miny, 1.0)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        self.scale = min(MAP_W / (maxx - minx), MAP_H / (maxy - miny))   # pixels per metre
        self.width_m = maxx - minx
        self.x_off = (MAP_W - (maxx - minx) * self.scale) / 2 - minx * self.scale
        self.y_off = (MAP_H - (maxy - miny) * self.scale) / 2 + maxy * self.scale

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.x_off + x * self.scale, self.y_off - y * self.scale

    def transform(self) -> str:
        """The SVG transform for paths in km with y negated."""
        k = self.scale * 1000
        return f"matrix({k:.5f} 0 0 {k:.5f} {self.x_off:.2f} {self.y_off:.2f})"


def town_map(geoms: TownGeometries, ags: str, name: str, scores, period: int | None) -> str:
    """SVG map of the town (outlined) and its neighbours, coloured by index score in ``period`` (``scores``:
    score per AGS, a Series or a dict with ``get``); neighbours are labelled where their name fits without overlapping another label."""
    prefix = f"map-{escape(ags)}"
    neighbours = geoms.neighbours(ags)
    shapes = {other: geoms.shape(other) for other in [*neighbours, ags]}
    view = View([bounds for _, bounds, _ in shapes.values()])
    paths = [f'<path d="{shapes[n][0]}" fill="{colour(scores.get(n))}" stroke="#ffffff" stroke-width="0.8" '
             'vector-effect="non-scaling-stroke"/>' for n in neighbours]
    paths.append(f'<path d="{shapes[ags][0]}" fill="{colour(scores.get(ags))}" stroke="#000000" '
                 'stroke-width="2.4" vector-effect="non-scaling-stroke"/>')
    parts = [f'<g transform="{view.transform()}" fill-rule="evenodd">{"".join(paths)}</g>']
    parts += _labels(geoms, view, shapes, ags, name, neighbours)
    parts += _scale_bar(view)
    parts += _legend(prefix, name, period)
    title = f"Karte: {name} und Nachbargemeinden nach Indexwert" + (f" {period}" if period is not None else "")
    return (f'<svg id="{prefix}" role="img" aria-label="{escape(title)}" class="chart" '
            f'viewBox="0 0 {MAP_W + LEGEND_W} {MAP_H}" width="{MAP_W + LEGEND_W}" height="{MAP_H}" '
            f'font-family="sans-serif" font-size="11">{"".join(parts)}</svg>')


def _labels(geoms: TownGeometries, view: View, shapes: dict, ags: str, name: str,
            neighbours: list[str]) -> list[str]:
    """The town's name (bold, on a white box), then each neighbour's name where it fits inside the
    neighbour's extent, inside the map and clear of labels placed before (larger neighbours first)."""
    taken: list[tuple[float, float, float, float]] = []
    x, y = view.point(*shapes[ags][2])
    width = text_width(name, 12) + 8
    taken.append((x - width / 2, y - 10, x + width / 2, y + 8))
    parts = [f'<rect x="{x - width / 2:.1f}" y="{y - 10:.1f}" width="{width:.1f}" height="17" rx="3" '
             f'fill="#ffffff" fill-opacity="0.85"/>'
             f'<text x="{x:.1f}" y="{y + 3:.1f}" text-anchor="middle" font-size="12" font-weight="bold">'
             f'{escape(name)}</text>']

    def extent(other: str) -> float:
        minx, _, maxx, _ = shapes[other][1]
        return (maxx - minx) * view.scale

    for other in sorted(neighbours, key=extent, reverse=True):
        label = str(geoms.names[geoms.position[other]])
        x, y = view.point(*shapes[other][2])
        half = text_width(label, LABEL_SIZE) / 2 + 2
        box = (x - half, y - LABEL_SIZE, x + half, y + 3)
        if 2 * half > extent(other) or box[0] < 0 or box[2] > MAP_W or box[1] < 0 or box[3] > MAP_H:
            continue
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
            continue
        taken.append(box)
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="{LABEL_SIZE}" fill="#222222" '
                     f'stroke="#ffffff" stroke-width="2.5" stroke-opacity="0.8" paint-order="stroke">'
                     f'{escape(label)}</text>')
    return parts


def _scale_bar(view: View) -> list[str]:
    """A 5 km (or 10 km on wide maps) scale bar in the upper left corner."""
    length = 10_000 if view.width_m > 40_000 else 5_000
    pixels = length * view.scale
    return [f'<rect x="6" y="6" width="{pixels + 12:.1f}" height="26" fill="#ffffff" fill-opacity="0.8"/>',
            f'<line x1="12" y1="26" x2="{12 + pixels:.1f}" y2="26" stroke="#000000" stroke-width="2"/>',
            f'<text x="{12 + pixels / 2:.1f}" y="21" text-anchor="middle" font-size="10">{length // 1000} km</text>']


def _legend(prefix: str, name: str, period: int | None) -> list[str]:
    """Colour scale 0–100 (a gradient of the viridis stops), the town outline and the grey of unscored towns."""
    x, top, height = MAP_W + 20, 60, 240
    heading = f"Indexwert {period}" if period else "Indexwert"
    stops = "".join(f'<stop offset="{i / 10:.1f}" stop-color="{c}"/>' for i, c in enumerate(reversed(VIRIDIS)))
    parts = [f'<defs><linearGradient id="{prefix}-scale" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>',
             f'<text x="{x}" y="{top - 14}">{heading}</text>',
             f'<rect x="{x}" y="{top}" width="16" height="{height}" fill="url(#{prefix}-scale)" stroke="#666666" '
             'stroke-width="0.5"/>']
    for value in range(0, 101, 20):
        y = top + (1 - value / 100) * height
        parts.append(f'<line x1="{x + 16}" y1="{y:.1f}" x2="{x + 20}" y2="{y:.1f}" stroke="#333333"/>'
                     f'<text x="{x + 23}" y="{y + 4:.1f}">{value}</text>')
    # the name in the legend's 22 characters: without its designation where the whole does not fit ('Dießen am
    # Ammersee, Markt' -> 'Dießen am Ammersee'), cut only where that does not fit either
    short = next((n for n in (name, bare_name(name)) if len(n) <= 22), bare_name(name)[:21] + "…")
    y = top + height + 34
    parts.append(f'<rect x="{x}" y="{y - 10}" width="16" height="11" fill="none" stroke="#000000" stroke-width="2.2"/>'
                 f'<text x="{x + 22}" y="{y}">{escape(short)}</text>')
    parts.append(f'<rect x="{x}" y="{y + 10}" width="16" height="11" fill="{MISSING_COLOUR}"/>'
                 f'<text x="{x + 22}" y="{y + 20}">nicht bewertet</text>')
    return parts
