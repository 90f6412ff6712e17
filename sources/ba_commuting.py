"""Bundesagentur für Arbeit (BA) commuting statistics; each file is parsed by its role.

* ``gemband``: "Gemeindedaten der sozialversicherungspflichtig Beschäftigten nach Wohn- und Arbeitsort"
  (xlsx; older editions xlsb, already unzipped). Per Gemeinde (and Gemeindeverband): employees at
  residence/workplace, living and working in the same Gemeinde, in- and out-commuters across the
  Gemeinde border. Kreis/Land rows are skipped: their commuter definition differs from the
  Kreis-border figures of ``krpend``. Headers span 2-3 merged rows and are found by label.
* ``krpend``: Kreis-to-Kreis flows, sheets "Einpendler Kreise"/"Auspendler Kreise". Each Kreis row
  (key and name in columns A/B) is followed by its partner rows (C/D), then the counts
  Insgesamt, Männer, Frauen, ... Partners that are Länder, Regierungsbezirke, abroad or totals are
  aggregates and are not flows; the "...pendler insgesamt" rows give the Kreis totals.
* ``pendleratlas_json``: the legacy Pendleratlas GeoJSON (30.06.2016, 401 Kreise), top-10 partner
  Kreise per direction plus totals ``gesamt`` and ``svb`` (employees at residence).

Outputs ``observations`` (unit persons; Kreis-level commuters cross the Kreis border) and
``commuter_flows`` (home_kreis, work_kreis, reference_date, commuters, listing, marker, note). Markers *, -, .
are NaN with the reason in the note, never zeros. A flow's typed columns say what the reports render:
``listing`` (every partner Kreis, or the Pendleratlas' top 10 with small counts rounded up) and
``marker`` (the publisher's marker of a missing count); ``note`` is English text rendered from them.
Reference date 30 June (Stichtag).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.gigabit_grundbuch import (MARKERS, cell_value, date_from_vintage, marker, open_workbook, parse_date,
                                       region_key, sheet_rows, text)
from sources.registry import Release, ReleaseFile

FLOW_COLUMNS = ["home_kreis", "work_kreis", "reference_date", "commuters", "listing", "marker", "note"]
# commuter_flows.listing -> English note: how complete a Kreis's list of partner Kreise is (German: reports/labels.py)
FLOW_LISTING = {
    "complete": "",  # the BA's Kreis table: every partner Kreis with its exact count
    "top_10": "top-10 partners only; values under 10 rounded up to 10",  # the Pendleratlas
}
GEMBAND_MEASURES = [  # pattern on the combined header -> measure; first match wins, so specific ones first
    (re.compile(r"wohnort\s*(=|gleich)\s*arbeitsort"), "employees_residence_eq_workplace"),
    (re.compile(r"einpendler"), "in_commuters"),
    (re.compile(r"auspendler"), "out_commuters"),
    (re.compile(r"arbeitsort"), "employees_workplace"),
    (re.compile(r"wohnort"), "employees_residence"),
]
SUBGROUP = re.compile(r"männer|frauen|deutsch|ausländ|azubi|auszubild|teilzeit|vollzeit|saldo|anteil|%")
MEASURE_WORD = re.compile(r"wohnort|arbeitsort|einpendler|auspendler", re.IGNORECASE)
KEY_LABEL = re.compile(r"schlüssel|^ags$|kennziffer", re.IGNORECASE)


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    parsers = {"gemband": _gemband, "krpend": _krpend, "pendleratlas_json": _pendleratlas}
    observations, flows = [], []
    for release_file in release.files:
        if release_file.role not in parsers:
            raise SourceError(release.source_id, release_file.relative_path,
                              f"unknown file role {release_file.role!r} (expected one of {sorted(parsers)})")
        obs, flow = parsers[release_file.role](release, release_file)
        observations.append(obs)
        flows.append(flow)
    # the Gemeindeband has no flows and the flow files few observations: skip empty parts
    def combined(frames, columns):
        return pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)[columns]

    return {"observations": combined(observations, OBSERVATION_COLUMNS),
            "commuter_flows": combined(flows, FLOW_COLUMNS)}


def _frames(observations: list, flows: list, reference_date) -> tuple[pd.DataFrame, pd.DataFrame]:
    obs = pd.DataFrame(observations, columns=["ags", "level", "measure", "value", "note"])
    flow = pd.DataFrame(flows, columns=["home_kreis", "work_kreis", "commuters", "listing", "marker"])
    return (obs.assign(reference_date=reference_date, unit="persons")[OBSERVATION_COLUMNS],
            flow.assign(reference_date=reference_date, note=_flow_notes(flow))[FLOW_COLUMNS])


def _one_count_per_flow(source_id: str, name: str, flows: list[tuple]) -> list[tuple]:
    """The flows (home, work, commuters, listing, marker, where) without their repeats: a flow is listed from both
    of its Kreise (the home Kreis's out-commuters, the work Kreis's in-commuters). Two different counts for one
    flow fail, naming both places: keeping either would publish one of them without a signal."""
    first: dict[tuple[str, str], tuple] = {}
    for flow in flows:
        seen = first.setdefault(flow[:2], flow)
        if seen is not flow and not (_same(seen[2], flow[2]) and seen[4] == flow[4]):
            raise SourceError(source_id, name, f"flow {flow[0]} -> {flow[1]}: {seen[5]} gives "
                                               f"{_shown(seen)}, {flow[5]} gives {_shown(flow)}")
    return [flow[:5] for flow in first.values()]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _shown(flow: tuple) -> str:
    return f"marker {flow[4]!r}" if flow[4] is not None else f"{flow[2]:g}"


def _flow_notes(flow: pd.DataFrame) -> list[str]:
    """The English note of each flow, rendered from its listing and marker."""
    return ["; ".join(t for t in (FLOW_LISTING[listing], MARKERS.get(symbol, "")) if t)
            for listing, symbol in zip(flow["listing"], flow["marker"])]


def _stichtag(release: Release, rows: list[list]) -> dt.date:
    """The date in a title row naming the Stichtag ("Stichtag: 30.06.2024", "30. Juni 2024"), else the vintage."""
    for row in rows:
        line = " ".join(text(c) for c in row if text(c))
        if re.search(r"stichtag|juni|30\.\s*0?6\.", line, re.IGNORECASE) and (date := parse_date(line)):
            return date
    return date_from_vintage(release.source_id, release.vintage, month=6)


def _number(source_id: str, name: str, where: str, cell) -> tuple[float, str] | None:
    try:
        return cell_value(cell, counts=True)
    except ValueError:
        raise SourceError(source_id, name, f"{where}: {text(cell)!r} is neither a number nor a marker (*, -, .)")


def _gemband(release: Release, release_file: ReleaseFile):
    source_id, name = release.source_id, release_file.relative_path
    workbook = open_workbook(source_id, release_file)
    for sheet in sorted(workbook.sheet_names, key=lambda s: "gemeinde" not in s.lower()):
        rows = sheet_rows(source_id, release_file, workbook, sheet)
        start = next((i for i, row in enumerate(rows[:20])
                      if sum(bool(MEASURE_WORD.search(text(c))) for c in row) >= 2), None)
        if start is not None:
            break
    else:
        raise SourceError(source_id, name, "no sheet with a header naming 'Wohnort' and 'Arbeitsort'/'Einpendler'/"
                                           "'Auspendler' in its first 20 rows "
                                           f"(sheets: {', '.join(workbook.sheet_names)})")
    key_column = next((j for row in rows[max(0, start - 2):start + 4] for j, c in enumerate(row)
                       if KEY_LABEL.search(text(c))), 0)  # no label: keys in the first column
    data_start = next((i for i in range(start + 1, len(rows)) if region_key(rows[i][key_column])), len(rows))
    header_rows = rows[start:min(data_start, start + 4)]
    headers = []
    for level, row in enumerate(header_rows):  # merged cells: forward-fill all but the last header row
        current, filled = "", []
        for cell in row:
            current = text(cell) or (current if level < len(header_rows) - 1 else "")
            filled.append(current)
        headers.append(filled)
    columns = {}
    for j in range(len(header_rows[0])):
        combined = " | ".join(h[j] for h in headers if h[j]).lower()
        measure = next((m for pattern, m in GEMBAND_MEASURES if pattern.search(combined)), None)
        if j != key_column and measure and not SUBGROUP.search(combined) and measure not in columns.values():
            columns[j] = measure
    missing = {"employees_residence", "employees_workplace", "in_commuters", "out_commuters"} - set(columns.values())
    if missing:
        raise SourceError(source_id, name, f"sheet {sheet!r}: no column for {sorted(missing)} in the header rows "
                                           f"{start + 1}-{start + len(header_rows)}")
    records = []
    for number, row in enumerate(rows[data_start:], start=data_start + 1):
        region = region_key(row[key_column])
        if region is None or region[1] not in ("gemeinde", "gemeindeverband"):
            continue  # footnotes, blanks and aggregate rows
        for j, measure in columns.items():
            parsed = _number(source_id, name, f"sheet {sheet!r} row {number}, column {j + 1}", row[j])
            if parsed is not None:
                records.append((*region, measure, *parsed))
    return _frames(records, [], _stichtag(release, rows[:start]))


def _krpend(release: Release, release_file: ReleaseFile):
    source_id, name = release.source_id, release_file.relative_path
    workbook = open_workbook(source_id, release_file)
    sheets = [s for s in workbook.sheet_names if s.lower().startswith(("einpendler", "auspendler"))]
    if not sheets:
        raise SourceError(source_id, name, "no sheet 'Einpendler Kreise' or 'Auspendler Kreise' "
                                           f"(sheets: {', '.join(workbook.sheet_names)})")
    totals, flows, reference_date = [], [], None
    for sheet in sorted(sheets, key=lambda s: not s.lower().startswith("ein")):  # Einpendler first
        inbound = sheet.lower().startswith("ein")
        rows = sheet_rows(source_id, release_file, workbook, sheet)
        header_at = next((i for i, row in enumerate(rows[:15]) for c in row if text(c).lower() == "insgesamt"), None)
        if header_at is None:
            raise SourceError(source_id, name, f"no header row with a cell 'Insgesamt' in the first 15 rows of "
                                               f"sheet {sheet!r}")
        count_column = [text(c).lower() for c in rows[header_at]].index("insgesamt")
        reference_date = reference_date or _stichtag(release, rows[:header_at])
        kreis = None
        for number, row in enumerate(rows[header_at + 1:], start=header_at + 2):
            own, partner = _code(row[0], row[1]), _code(row[2], row[3])
            kreis = own or kreis  # a Kreis row opens the block of its partner rows
            if partner is None or kreis is None or len(kreis[0]) != 5 or not kreis[0].isdigit():
                continue
            parsed = _number(source_id, name, f"sheet {sheet!r} row {number}", row[count_column])
            if parsed is None:
                continue
            if re.search(r"pendler\s+insgesamt", partner[1], re.IGNORECASE):
                totals.append((kreis[0], "kreis", "in_commuters" if inbound else "out_commuters", *parsed))
            elif len(partner[0]) == 5 and partner[0].isdigit():
                ends = (partner[0], kreis[0]) if inbound else (kreis[0], partner[0])
                flows.append((*ends, parsed[0], "complete", marker(row[count_column]), f"sheet {sheet!r} row {number}"))
    return _frames(totals, _one_count_per_flow(source_id, name, flows), reference_date)


def _code(first, second) -> tuple[str, str] | None:
    """(code, name) from a key/name cell pair in either order: 5-digit Kreis, Land, 'Z'/'ZZ' totals, country."""
    for code, label in ((first, second), (second, first)):
        value = text(code)
        if re.fullmatch(r"\d{1,5}|[A-Z]{1,3}", value):
            return value.zfill({4: 5, 1: 2}.get(len(value), 0)) if value.isdigit() else value, text(label)
    return None


def _pendleratlas(release: Release, release_file: ReleaseFile):
    source_id, name = release.source_id, release_file.relative_path
    try:
        features = json.loads(release_file.path.read_text(encoding="utf-8"))["features"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise SourceError(source_id, name, f"not a Pendleratlas GeoJSON FeatureCollection ({exc!r})") from exc
    observations, flows = [], []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") or {}
        if properties.get("ID") in (None, ""):  # its format is the contract's to check
            raise SourceError(source_id, name, f"feature {number}: no Kreis key 'ID' (properties: "
                                               f"{', '.join(properties) or 'none'})")
        kreis = str(properties["ID"]).zfill(5)
        try:
            inbound, outbound = properties["einpendler"], properties["auspendler"]
            observations += [(kreis, "kreis", "in_commuters", float(inbound["gesamt"]["anzahl"]), ""),
                             (kreis, "kreis", "out_commuters", float(outbound["gesamt"]["anzahl"]), ""),
                             (kreis, "kreis", "employees_residence", float(inbound["svb"]["anzahl"]), "")]
            flows += [(p, kreis, float(v["anzahl"]), "top_10", None, f"Kreis {kreis} einpendler")
                      for p, v in inbound.items() if p.isdigit()]
            flows += [(kreis, p, float(v["anzahl"]), "top_10", None, f"Kreis {kreis} auspendler")
                      for p, v in outbound.items() if p.isdigit()]
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(source_id, name, f"Kreis {kreis!r}: expected 'einpendler'/'auspendler' with 'gesamt', "
                                               f"'svb' and partner Kreise holding 'anzahl' ({exc!r} missing or bad)")
    return _frames(observations, _one_count_per_flow(source_id, name, flows),
                   date_from_vintage(source_id, release.vintage, month=6))
