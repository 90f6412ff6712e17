"""Maps of a town and its neighbours, and coworking spaces near a town (geometries in EPSG:3035, metres)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from pyproj import Transformer

from reports.charts import figure_svg, new_figure, styled

NEIGHBOUR_BUFFER_M = 2_000     # neighbours: touching the town or within 2 km of its boundary
COWORKING_RADIUS_M = 10_000    # coworking spaces counted within 10 km, like the index indicator
SIMPLIFY_M = 100               # map detail; VG250 boundaries are far finer than a page needs
CMAP = "viridis"
MISSING_COLOUR = "#d9d9d9"
_TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)


class TownGeometries:
    """All Gemeinde geometries in an equal-area projection, with a spatial index for neighbour look-ups."""

    def __init__(self, geometries: pd.DataFrame):
        geoms = shapely.from_wkb(geometries["geometry_wkb"].map(bytes).to_numpy())
        self.geoms = shapely.transform(geoms, _project, interleaved=False)
        self.ags = geometries["ags"].to_numpy()
        self.position = {ags: i for i, ags in enumerate(self.ags)}
        self.tree = shapely.STRtree(self.geoms)

    def has(self, ags: str) -> bool:
        return ags in self.position

    def neighbours(self, ags: str) -> list[str]:
        """AGS of the Gemeinden touching the town or within NEIGHBOUR_BUFFER_M of it (without the town)."""
        geom = self.geoms[self.position[ags]]
        hits = self.tree.query(shapely.buffer(geom, NEIGHBOUR_BUFFER_M), predicate="intersects")
        return [self.ags[i] for i in sorted(hits) if self.ags[i] != ags]

    def distances_m(self, ags: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Distance in metres from the town's area to each point (0 inside the town)."""
        x, y = _project(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return shapely.distance(self.geoms[self.position[ags]], shapely.points(x, y))


def _project(x, y):
    return _TO_METRES.transform(x, y)


@styled
def town_map(geoms: TownGeometries, ags: str, name: str, scores: pd.Series, period: int | None) -> str:
    """SVG map of the town (outlined) and its neighbours, coloured by index score in ``period``."""
    fig = new_figure(6.4, 5.0)
    ax = fig.add_axes((0.0, 0.0, 0.82, 1.0))
    norm = Normalize(0, 100)
    cmap = colormaps[CMAP]
    for other in [*geoms.neighbours(ags), ags]:
        score = scores.get(other, np.nan)
        colour = MISSING_COLOUR if pd.isna(score) else cmap(norm(score))
        geom = shapely.simplify(geoms.geoms[geoms.position[other]], SIMPLIFY_M)
        is_town = other == ags
        ax.add_patch(PathPatch(_path(geom), facecolor=colour, edgecolor="#000000" if is_town else "#ffffff",
                               linewidth=2.2 if is_town else 0.6, zorder=3 if is_town else 2))
    _label_town(ax, geoms.geoms[geoms.position[ags]], name)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_axis_off()
    _legend(fig, ax, norm, cmap, name, period)
    _scale_bar(ax)
    return figure_svg(fig, f"map-{ags}", f"Karte: {name} und Nachbargemeinden nach Indexwert")


def _path(geom) -> MplPath:
    """A matplotlib path of a (multi)polygon, holes included."""
    vertices, codes = [], []
    for polygon in getattr(geom, "geoms", [geom]):
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.asarray(ring.coords)
            vertices.append(coords)
            codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(coords) - 2) + [MplPath.CLOSEPOLY])
    return MplPath(np.concatenate(vertices), np.concatenate(codes))


def _label_town(ax, geom, name: str) -> None:
    point = geom.representative_point()
    ax.annotate(name, (point.x, point.y), ha="center", va="center", fontsize=9, fontweight="bold", zorder=4,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "linewidth": 0})


def _legend(fig, ax, norm, cmap, name: str, period: int | None) -> None:
    cax = fig.add_axes((0.86, 0.35, 0.03, 0.5))
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    bar.set_label(f"Indexwert {period or ''}".strip())
    handles = [Line2D([], [], color="#000000", linewidth=2.2, label=name),
               Patch(facecolor=MISSING_COLOUR, label="nicht bewertet")]
    ax.legend(handles=handles, loc="lower left", frameon=True, fontsize=8)


def _scale_bar(ax) -> None:
    """A 5 km (or 10 km on wide maps) scale bar in the upper left corner."""
    (x0, x1), (_, y1) = ax.get_xlim(), ax.get_ylim()
    length = 10_000 if x1 - x0 > 40_000 else 5_000
    x, y = x0 + 0.03 * (x1 - x0), y1 - 0.04 * (x1 - x0)
    ax.plot([x, x + length], [y, y], color="#000000", linewidth=2, zorder=5)
    ax.text(x + length / 2, y, f"{length // 1000} km", ha="center", va="bottom", fontsize=8, zorder=5)
