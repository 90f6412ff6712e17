"""The report section "Coworking-Lücke": long-distance commuters, spaces within reach, main destinations,
the town's own survey results, and a map. Context for templates/coworking_gap.html.j2.

Reads the published warehouse (read-only connection). Wiring (reports engineer): in
``Renderer.town`` add ``context["cowork_gap"] = coworking_gap_context(con, self.geoms, ags)`` and in
town.html.j2 ``{% include "coworking_gap.html.j2" %}`` plus a link ``#coworking-luecke`` in the nav.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch

from indicators.coworking_gap import gap_parameters
from reports.charts import figure_svg, new_figure, styled
from reports.labels import de_number
from reports.maps import SIMPLIFY_M, TownGeometries, _path, _project, _scale_bar

KIND_LABELS = {"permanent": "dauerhaft", "temporary": "temporär", "trial_day": "Probearbeitstag",
               "third_place": "Bibliothek/Dritter Ort"}
SOURCE_LABELS = {"osm_coworking": "OpenStreetMap", "local_inputs": "eigene Angaben der Stadt",
                 "osm_coworking; local_inputs": "OpenStreetMap und eigene Angaben der Stadt"}


def coworking_gap_context(con: duckdb.DuckDBPyConnection, geoms: TownGeometries, ags: str) -> dict:
    """Everything the section shows for one town; empty parts say why they are empty."""
    reach_km = gap_parameters()["reach_km"]
    gap = _latest_gap(con, ags)
    spaces = _spaces_within_reach(con, geoms, ags, reach_km)
    destinations = _destinations(con, geoms, ags)
    return {
        "gap": gap, "reach_km": reach_km, "spaces": spaces.to_dict("records"), "destinations": destinations,
        "surveys": _surveys(con, ags), "parameters": _parameter_rows(),
        "map": coworking_map(geoms, ags, spaces, destinations) if geoms.has(ags) else None,
    }


def _latest_gap(con, ags: str) -> dict | None:
    frame = con.execute("""SELECT * FROM coworking_gap WHERE ags = ? ORDER BY period DESC LIMIT 1""", [ags]).df()
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def _spaces_within_reach(con, geoms: TownGeometries, ags: str, reach_km: float) -> pd.DataFrame:
    spaces = con.execute("""SELECT name, lat, lon, local_kind, sources, locally_reported, located_at_gemeinde,
                                   supplier, licence, desks, opened, closed, vintage
                            FROM coworking_spaces QUALIFY vintage = max(vintage) OVER ()""").df()
    if spaces.empty or not geoms.has(ags):
        return spaces.assign(distance_km=[], kind_de=[], sources_de=[])
    spaces["distance_km"] = (geoms.distances_m(ags, spaces["lon"], spaces["lat"]) / 1000).round(1)
    spaces = spaces[spaces["distance_km"] <= reach_km].sort_values(["distance_km", "name"])
    spaces["kind_de"] = spaces["local_kind"].map(KIND_LABELS).fillna("Coworking-Space")
    spaces["sources_de"] = spaces["sources"].map(SOURCE_LABELS).fillna(spaces["sources"])
    return spaces


def _destinations(con, geoms: TownGeometries, ags: str) -> list[dict]:
    """The ten main destinations of the latest Pendleratlas year, named where the register knows them."""
    flows = con.execute("""
        SELECT f.rank, f.partner_ags, coalesce(m.name, k.name, f.partner_ags) AS name, f.commuters, f.distance_km,
               f.vintage
        FROM commuter_flows_gemeinde f
        LEFT JOIN municipalities m ON m.ags = f.partner_ags
        LEFT JOIN kreise k ON k.ags = substr(f.partner_ags, 1, 5) AND f.partner_ags LIKE '%000'
        WHERE f.ags = ? AND f.direction = 'out'
        QUALIFY f.vintage = max(f.vintage) OVER ()
        ORDER BY f.rank""", [ags]).df()
    return flows.to_dict("records")


def _surveys(con, ags: str) -> list[dict]:
    """Survey results per question, with who ran the survey and supplied the file."""
    rows = con.execute("""SELECT question_code, question, answer, share, respondents, fieldwork_from, fieldwork_to,
                                 conducted_by, supplier, licence
                          FROM local_survey_results WHERE ags = ? ORDER BY question_code, row""", [ags]).df()
    questions = []
    for code, group in rows.groupby("question_code", sort=False):
        first = group.iloc[0]
        questions.append({"code": code, "question": first["question"], "respondents": int(first["respondents"]),
                          "fieldwork": f"{first['fieldwork_from']:%d.%m.%Y}–{first['fieldwork_to']:%d.%m.%Y}",
                          "conducted_by": first["conducted_by"], "supplier": first["supplier"],
                          "licence": first["licence"],
                          "answers": [{"answer": a, "share": de_number(s)} for a, s in zip(group["answer"], group["share"])]})
    return questions


def _parameter_rows() -> list[dict]:
    parameters = gap_parameters()
    names = {"remote_capable_share": "Anteil Beschäftigter mit homeoffice-fähiger Tätigkeit",
             "remote_days_per_week": "Tage mobil/remote je Woche",
             "workdays_per_week": "Arbeitstage je Woche",
             "coworking_share_of_remote_days": "Anteil der Remote-Tage im Coworking"}
    return [{"label": label, "value": de_number(parameters[key]), "source": parameters[f"{key}_source"]}
            for key, label in names.items()]


@styled
def coworking_map(geoms: TownGeometries, ags: str, spaces: pd.DataFrame, destinations: list[dict]) -> str:
    """SVG: the town outlined, spaces within reach (filled: exact place; hollow: placed at the Gemeinde),
    lines to the main destinations whose Gemeinde geometry is loaded, labelled with the distance in km."""
    fig = new_figure(6.4, 5.0)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    town = geoms.geoms[geoms.position[ags]]
    ax.add_patch(PathPatch(_path(shapely.simplify(town, SIMPLIFY_M)), facecolor="#e8eef7", edgecolor="#000000",
                           linewidth=2.0, zorder=2))
    centre = shapely.centroid(town)
    for flow in destinations:
        if not geoms.has(flow["partner_ags"]):
            continue
        target = shapely.centroid(geoms.geoms[geoms.position[flow["partner_ags"]]])
        ax.plot([centre.x, target.x], [centre.y, target.y], color="#c05621", linewidth=1.2, zorder=3)
        ax.text(target.x, target.y, f"{de_number(flow['distance_km'], 0)} km", fontsize=7, zorder=5)
    if len(spaces):
        x, y = _project(spaces["lon"].to_numpy(dtype=float), spaces["lat"].to_numpy(dtype=float))
        placed = spaces["located_at_gemeinde"].fillna(False).astype(bool).to_numpy()
        ax.scatter(np.asarray(x)[~placed], np.asarray(y)[~placed], s=36, color="#2b6cb0", zorder=4)
        ax.scatter(np.asarray(x)[placed], np.asarray(y)[placed], s=36, facecolors="none", edgecolors="#2b6cb0",
                   zorder=4)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(0.08)
    ax.set_axis_off()
    _scale_bar(ax)
    ax.legend(handles=[Line2D([], [], marker="o", linestyle="", color="#2b6cb0", label="Coworking (Lage bekannt)"),
                       Line2D([], [], marker="o", linestyle="", markerfacecolor="none", color="#2b6cb0",
                              label="Coworking (an der Gemeinde verortet)"),
                       Line2D([], [], color="#c05621", label="Hauptziel der Auspendler (km)")],
              loc="lower right", fontsize=7, frameon=False)
    return figure_svg(fig, f"gap-map-{ags}", "Karte: Gemeinde, Coworking-Orte und Hauptziele der Auspendler")
