"""The content of one town page, section by section, as plain values for the template."""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.data import INDEX_COLUMNS, ReportData
from reports.labels import (PILLARS, de_number, is_missing, not_scored_reasons, pillar_label, source_label,
                            translate_note, unit_label)
from reports.maps import COWORKING_RADIUS_M, TownGeometries, town_map

TOP_FLOWS = 10
REQUIRED_MISSING = "keine Daten für diesen Zeitraum; ohne diese Säule gibt es keinen Gesamtwert"


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN/NaT/NA turned into None (templates test ``is none``)."""
    return [{k: (None if v is pd.NaT or v is pd.NA or is_missing(v) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def town_context(data: ReportData, geoms: TownGeometries, ags: str) -> dict:
    """Everything the town template shows for ``ags``."""
    town = data.towns.loc[ags].to_dict()
    history = data.town_frame("index", ags, INDEX_COLUMNS)
    latest = records(history.tail(1))[0] if not history.empty else None
    return {
        "town": town,
        "overview": overview(latest, history),
        "history": history_section(history, ags),
        "pillars": pillar_rows(latest),
        "drivers": drivers(data.town_frame("contributions", ags, [])),
        "indicators": indicator_rows(data.town_frame("indicators", ags, [])),
        "peers": peer_rows(data.town_frame("peers", ags, [])),
        "map": map_section(data, geoms, ags, town["name"]),
        "commuting": commuting(data, town["kreis_ags"]),
        "coworking": coworking(data, geoms, ags),
    }


def overview(latest: dict | None, history: pd.DataFrame) -> dict | None:
    """The latest index row, plus the last scored period when the latest one has no score."""
    if latest is None:
        return None
    scored = history[history["score"].notna()]
    last_scored = records(scored.tail(1))[0] if latest["score"] is None and not scored.empty else None
    missing = [pillar_label(p.strip()) for p in (latest["missing_pillars"] or "").split(",") if p.strip()]
    notes = [f"{pillar_label(p)} nicht bewertet: {reason}" for p, reason in
             not_scored_reasons(latest["omitted_pillars"]).items()]
    return {**latest, "missing": missing, "notes_de": notes, "last_scored": last_scored}


def history_section(history: pd.DataFrame, ags: str) -> dict:
    rows = records(history[["period", "score", "score_p05", "score_p95", "rank", "rank_p05", "rank_p95",
                             "compared_towns"]])
    has_scores = history["score"].notna().any()
    chart = charts.history_chart(history, f"hist-{ags}") if has_scores else None
    return {"rows": rows, "chart": chart}


def pillar_rows(latest: dict | None) -> list[dict]:
    """One row per pillar: value or the reason it is not scored."""
    if latest is None:
        return []
    reasons = not_scored_reasons(latest["omitted_pillars"])
    missing = {p.strip() for p in (latest["missing_pillars"] or "").split(",")}
    rows = []
    for pillar in PILLARS:
        value = latest[pillar]
        reason = None if value is not None else reasons.get(pillar, REQUIRED_MISSING if pillar in missing
                                                            else "keine Daten für diesen Zeitraum")
        rows.append({"pillar": pillar, "label": pillar_label(pillar), "value": value, "reason": reason})
    return rows


def pillar_chart(rows: list[dict]) -> str:
    return charts.bar_chart([(r["label"], r["value"]) for r in rows], "Säulen des Index (0–100)")


def drivers(frame: pd.DataFrame) -> list[dict]:
    """Score points each indicator contributed to the changes ending in the latest period (newest start first)."""
    if frame.empty:
        return []
    frame = frame.assign(size=frame["contribution"].abs()).sort_values(
        ["period_from", "size"], ascending=[False, False], na_position="last")
    return [_change(records(pair), f"{ags}-{start}") for (ags, start), pair in
            frame.groupby(["ags", "period_from"], sort=False)]


def _change(rows: list[dict], key: str) -> dict:
    for row in rows:
        row["label"] = row["label"] or ("Zusammensetzung (Indikatoren neu/entfallen)" if row["indicator_id"] == "composition" else row["indicator_id"])
        row["pillar_label"] = pillar_label(row["pillar"])
    first = rows[0]
    chart = charts.diverging_chart([(r["label"], r["contribution"]) for r in rows], "Beiträge zur Veränderung")
    return {"key": key, "rows": rows, "chart": chart, "period_from": first["period_from"],
            "period_to": first["period_to"], "score_from": first["score_from"], "score_to": first["score_to"],
            "change": first["score_to"] - first["score_from"]}


def indicator_rows(frame: pd.DataFrame) -> list[dict]:
    """The town's latest value of each indicator with provenance, in pillar order."""
    order = {p: i for i, p in enumerate(PILLARS)}
    rows = records(frame)
    for row in rows:
        row.update(pillar_label=pillar_label(row["pillar"]) if row["pillar"] in order else "Kontext",
                   unit_de=unit_label(row["unit"]), source_de=source_label(row["source_id"]),
                   imputation_de=translate_note(row["imputation"]), quality_de=translate_note(row["quality_note"]))
    return sorted(rows, key=lambda r: (order.get(r["pillar"], len(order)), r["label"]))


def peer_rows(frame: pd.DataFrame) -> list[dict]:
    """Similar towns with their score and the gap per pillar (peer minus town: positive = learn from them)."""
    rows = records(frame)
    for row in rows:
        gaps = [(p, row[f"gap_{p}"]) for p in PILLARS]
        row["gaps"] = [{"label": pillar_label(p), "value": v} for p, v in gaps]
        ahead = sorted([(v, p) for p, v in gaps if v is not None and v > 0], reverse=True)
        row["ahead_in"] = [pillar_label(p) for _, p in ahead]
    return rows


def map_section(data: ReportData, geoms: TownGeometries, ags: str, name: str) -> dict:
    if not geoms.has(ags):
        return {"svg": None, "neighbours": []}
    neighbours = geoms.neighbours(ags)
    svg = town_map(geoms, ags, name, data.latest_scores, data.latest_period)
    return {"svg": svg, "neighbours": [data.towns.loc[n, "name"] if n in data.towns.index else n
                                       for n in neighbours]}


def commuting(data: ReportData, kreis_ags: str) -> dict:
    """Where employees living in the town's Kreis work (Kreis-level flows, the latest reference date)."""
    flows = data.flows_by_kreis.get(kreis_ags, pd.DataFrame())
    names = data.kreis_names
    rows = records(flows.head(TOP_FLOWS))
    peak = max([r["commuters"] or 0 for r in rows] + [1])
    for row in rows:
        row["work_name"] = names.get(row["work_kreis"])
        row["bar"] = round(100 * (row["commuters"] or 0) / peak, 1)
        row["note_de"] = translate_note(row["note"])
    totals = data.kreis_commuting[data.kreis_commuting["kreis_ags"] == kreis_ags]
    measures = dict(zip(totals["measure"], totals["value"]))
    return {"kreis_ags": kreis_ags, "kreis_name": names.get(kreis_ags), "rows": rows,
            "reference_date": rows[0]["reference_date"] if rows else None,
            "out_commuters": measures.get("out_commuters"), "employees": measures.get("employees_residence"),
            "notes": sorted({r["note_de"] for r in rows if r["note_de"]})}


def coworking(data: ReportData, geoms: TownGeometries, ags: str) -> dict:
    """Coworking spaces in the town or within COWORKING_RADIUS_M of it (latest OSM query)."""
    spaces = data.coworking
    if spaces.empty:
        return {"loaded": False, "rows": []}
    if geoms.has(ags):
        distance = geoms.distances_m(ags, spaces["lon"].to_numpy(), spaces["lat"].to_numpy())
    else:  # without a geometry only the spaces assigned to the town can be listed
        distance = pd.Series(0.0, index=spaces.index).where(spaces["ags"] == ags).to_numpy()
    near = spaces.assign(distance_km=distance / 1000)
    near = near[(near["ags"] == ags) | (near["distance_km"] <= COWORKING_RADIUS_M / 1000)]
    rows = records(near.sort_values(["distance_km", "name"]))
    for row in rows:
        row["in_town"] = row["ags"] == ags
        row["distance_de"] = "in der Gemeinde" if row["in_town"] else f"{de_number(row['distance_km'])} km"
    return {"loaded": True, "rows": rows, "vintage": spaces["vintage"].iloc[0],
            "osm_base": spaces["osm_base_timestamp"].iloc[0], "radius_km": COWORKING_RADIUS_M // 1000}
