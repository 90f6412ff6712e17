"""Workbooks in the publishers' layouts, for parser tests and for a local test HTTP server.

Figures are real where the publisher's value is known (../shared/docs/source-formats.md and
../shared/data); unknown cells are left empty or carry a publisher marker. The few
placeholder numbers (the decoy "Fläche" sheet, the mobile workbook) are marked as such.
Every writer takes a path or a binary buffer; ``as_bytes`` returns the workbook as bytes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import Workbook

BBA_CLASSES = [16, 30, 50, 100, 200, 400, 1000]  # "Alle Technologien"; the FTTB/H block only has ≥ 1000
BBA_REAL_ROWS = [  # (AGS, Name, Verwaltungsebene, Alle ≥16 … ≥1000, FTTB/H ≥1000); Dec 2025, Privathaushalte
    ("0", "Deutschland", "Bund", *["-"] * 8),  # real values unknown: publisher marker '-'
    ("06431", "Bergstraße", "Kreis", *["-"] * 8),
    ("06431003", "Biblis", "Gemeinde", *[None] * 6, 96.08, 96.08),  # other classes unknown: empty
    ("06431005", "Bürstadt", "Gemeinde", *[None] * 6, 89.21, 78.90),
    ("06431010", "Groß-Rohrheim", "Gemeinde", *[None] * 6, 89.94, 8.50),
    ("06431013", "Lampertheim", "Gemeinde", *[None] * 6, "74,65", "37,97"),  # text with comma decimals
]
STUTTGART_2024 = ("08111000", "Stuttgart, Landeshauptstadt", 267688, "442.289", 165914, 276247, 101756)
GEMBAND_REAL_ROWS = [  # (key, name, SvB Wohnort, SvB Arbeitsort, Wohnort = Arbeitsort, Einpendler, Auspendler)
    ("08", "Baden-Württemberg", None, None, None, None, None),  # aggregate, values unknown
    ("08111", "Stuttgart, Stadtkreis", 267688, 442289, 165914, 276247, 101756),  # kreisfrei: same as the city
    STUTTGART_2024,
    ("08111901", "Markerprobe A (fictitious)", "*", "*", "*", "*", "*"),  # marker rows: fictitious keys of a well-formed pattern (no such Gemeinde)
    ("08111902", "Markerprobe B (fictitious)", "-", "-", "-", "-", "-"),
    ("08111903", "Markerprobe C (fictitious)", ".", ".", ".", ".", "."),
]
PILOT_KREISE = ["01053", "06439", "09181", "12070", "14628"]
LAENDER = {"01": "Schleswig-Holstein", "02": "Hamburg", "03": "Niedersachsen", "04": "Bremen",
           "05": "Nordrhein-Westfalen", "06": "Hessen", "07": "Rheinland-Pfalz", "08": "Baden-Württemberg",
           "09": "Bayern", "10": "Saarland", "11": "Berlin", "12": "Brandenburg", "13": "Mecklenburg-Vorpommern",
           "14": "Sachsen", "15": "Sachsen-Anhalt", "16": "Thüringen"}
MARKER_FOOTNOTES = ["* Zahlenwert anonymisiert (Datenschutz)", "- nichts vorhanden", ". Zahlenwert unbekannt oder geheim"]


def as_bytes(writer, *args, **kwargs) -> bytes:
    buffer = io.BytesIO()
    writer(buffer, *args, **kwargs)
    return buffer.getvalue()


def _free_cells(sheet, lines):
    for line in lines:
        sheet.append([line])


def _bba_sheet(sheet, rows, datenstand, extra_title_rows, blocks):
    _free_cells(sheet, [f"Titelzeile {i + 1}" for i in range(extra_title_rows)])
    _free_cells(sheet, ([f"Datenstand {datenstand}"] if datenstand else []) + ["Angaben in %", "Zurück"])
    block_row = sheet.max_row + 1
    sheet.cell(block_row, 4, blocks[0])
    sheet.merge_cells(start_row=block_row, start_column=4, end_row=block_row, end_column=3 + len(BBA_CLASSES))
    sheet.cell(block_row, 4 + len(BBA_CLASSES), blocks[1])
    sheet.append(["AGS", "Name", "Verwaltungsebene", *[f"≥ {c} Mbit/s" for c in BBA_CLASSES], "≥ 1000 Mbit/s"])
    for row in rows:
        sheet.append(list(row))
    sheet.append([])
    sheet.append(["Quelle: Bundesnetzagentur, Gigabit-Grundbuch"])


def write_bba_workbook(target, rows=BBA_REAL_ROWS, datenstand="12.2025", extra_title_rows=0,
                       blocks=("Alle Technologien", "FTTB/H")):
    """``bba_MM_YYYY.xlsx``: Erläuterungen, Privathaushalte (the rows given) and a decoy Fläche sheet."""
    workbook = Workbook()
    workbook.active.title = "Erläuterungen"
    _free_cells(workbook.active, ["Erläuterungen zum Gigabit-Grundbuch", "Angaben in % der jeweiligen Grundgesamtheit"])
    _bba_sheet(workbook.create_sheet("Privathaushalte"), rows, datenstand, extra_title_rows, blocks)
    # Placeholder numbers, not publisher values: only here to prove which sheet was read.
    decoy = [(r[0], r[1], r[2], *[1.0 + i for i in range(8)]) for r in rows]
    _bba_sheet(workbook.create_sheet("Fläche"), decoy, datenstand, extra_title_rows, blocks)
    workbook.save(target)
    return target


def write_default_bba_workbook(directory: Path, name="bba_12_2025.xlsx") -> Path:
    return write_bba_workbook(Path(directory) / name)


def write_ba_gemband_workbook(target, rows=GEMBAND_REAL_ROWS, stichtag="30.06.2024", extra_title_rows=0):
    """Gemeindeband: title rows, a three-row merged header, the rows given, footnotes with the markers."""
    workbook = Workbook()
    workbook.active.title = "Deckblatt"
    workbook.active.append(["Statistik der Bundesagentur für Arbeit"])
    sheet = workbook.create_sheet("Gemeindedaten")
    _free_cells(sheet, [f"Titelzeile {i + 1}" for i in range(extra_title_rows)])
    _free_cells(sheet, ["Gemeindedaten der sozialversicherungspflichtig Beschäftigten nach Wohn- und Arbeitsort",
                        f"Stichtag: {stichtag}", "Deutschland", None])
    top = sheet.max_row + 1
    for column, label, width, height in [(1, "Gemeinde", 2, 1), (3, "Sozialversicherungspflichtig Beschäftigte", 10, 1),
                                         (3, "am Arbeitsort", 3, 1), (6, "am Wohnort", 3, 1),
                                         (9, "Wohnort gleich Arbeitsort", 1, 2), (10, "Einpendler", 1, 2),
                                         (11, "Auspendler", 1, 2), (12, "Pendlersaldo", 1, 2)]:
        row = top if label in ("Gemeinde", "Sozialversicherungspflichtig Beschäftigte") else top + 1
        sheet.cell(row, column, label)
        if width > 1 or height > 1:
            sheet.merge_cells(start_row=row, start_column=column, end_row=row + height - 1,
                              end_column=column + width - 1)
    for column, label in enumerate(["Schlüssel", "Name", "Insgesamt", "Männer", "Frauen", "Insgesamt", "Männer",
                                    "Frauen"], 1):
        sheet.cell(top + 2, column, label)
    for key, name, residence, workplace, same, inbound, outbound in rows:
        balance = inbound - outbound if all(isinstance(v, int) for v in (inbound, outbound)) else None
        # sex breakdown unknown: left empty
        sheet.append([key, name, workplace, None, None, residence, None, None, same, inbound, outbound, balance])
    sheet.append([])
    for footnote in MARKER_FOOTNOTES + ["Quelle: Statistik der Bundesagentur für Arbeit"]:
        sheet.append([footnote[0], footnote[2:]] if footnote[1] == " " else [footnote])
    workbook.save(target)
    return target


def write_ba_krpend_workbook(target, flows, kreise, totals=None, names=None, stichtag="30.06.2016"):
    """Kreis flow workbook: sheets Einpendler/Auspendler Kreise, one block per Kreis of ``kreise``.

    ``flows``: dicts with home_kreis, work_kreis, commuters (number or marker), optional men, women.
    ``totals``: {(kreis, "in" | "out"): number} for the "...pendler insgesamt" rows. Land rows are
    written before their Kreise with the marker '.' (the real Land totals are not known here).
    """
    names, totals = names or {}, totals or {}
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, own, partner, direction in [("Einpendler Kreise", "work_kreis", "home_kreis", "in"),
                                           ("Auspendler Kreise", "home_kreis", "work_kreis", "out")]:
        sheet = workbook.create_sheet(title)
        word = "Einpendler" if direction == "in" else "Auspendler"
        _free_cells(sheet, [f"Sozialversicherungspflichtig Beschäftigte – {word} nach Kreisen", f"Stichtag: {stichtag}",
                            None])
        places = ["Arbeitsort", "Wohnort"] if direction == "in" else ["Wohnort", "Arbeitsort"]
        sheet.append([places[0], None, places[1], None, "Sozialversicherungspflichtig Beschäftigte"])
        for first in (1, 3):
            sheet.merge_cells(start_row=4, start_column=first, end_row=4, end_column=first + 1)
        sheet.merge_cells(start_row=4, start_column=5, end_row=4, end_column=10)
        sheet.append(["Schlüssel", "Name", "Schlüssel", "Name", "Insgesamt", "Männer", "Frauen", "Deutsche",
                      "Ausländer", "Auszubildende"])
        for kreis in kreise:
            sheet.append([kreis, names.get(kreis, ""), "Z", f"{word} insgesamt", totals.get((kreis, direction))])
            # aggregate rows carry '.' (unknown here): a parser taking them for flows would show up
            sheet.append([None, None, "ZZ", f"{word} {'aus dem' if direction == 'in' else 'in das'} Bundesgebiet",
                          "."])
            mine = sorted((f for f in flows if f[own] == kreis), key=lambda f: f[partner])
            land = None
            for flow in mine:
                if flow[partner][:2] != land:
                    land = flow[partner][:2]
                    sheet.append([None, None, land, LAENDER.get(land, ""), "."])
                sheet.append([None, None, flow[partner], names.get(flow[partner], ""), flow["commuters"],
                              flow.get("men"), flow.get("women")])
        sheet.append([])
        for footnote in MARKER_FOOTNOTES + ["Quelle: Statistik der Bundesagentur für Arbeit"]:
            sheet.append([footnote])
    workbook.save(target)
    return target


def pendler_json_pilot_flows(path: Path, kreise=PILOT_KREISE):
    """Flows, totals and names of ``kreise`` read straight from the real pendler.json (independent of the parser)."""
    features = json.loads(Path(path).read_text(encoding="utf-8"))["features"]
    flows, totals, names = {}, {}, {}
    for feature in features:
        p = feature["properties"]
        kreis = p["ID"]
        try:
            names[kreis] = p["region"].encode("latin-1").decode("utf-8")  # names are UTF-8 read as Latin-1
        except (UnicodeEncodeError, UnicodeDecodeError):
            names[kreis] = p["region"]
        for direction, key in (("in", "einpendler"), ("out", "auspendler")):
            if kreis in kreise:
                totals[(kreis, direction)] = p[key]["gesamt"]["anzahl"]
            for partner, v in p[key].items():
                if not partner.isdigit():
                    continue
                home, work = (partner, kreis) if direction == "in" else (kreis, partner)
                if home in kreise or work in kreise:
                    flows[(home, work)] = {"home_kreis": home, "work_kreis": work, "commuters": v["anzahl"],
                                           "men": v["maenner"], "women": v["frauen"]}
    return list(flows.values()), totals, names


def write_mobilfunk_workbook(target, rows):
    """Gemeinde mobile workbook layout: sheet Fläche, operator blocks over 2G/4G/5G/5G SA, shares 0-1.

    Used with placeholder shares only: no real Gemeinde values of this workbook are known here.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Fläche"
    sheet.append(["Mobilfunk-Monitoring (April 2024)"])
    sheet.append([None, None, "Alle MNO", None, None, None, "Telekom"])
    sheet.merge_cells("C2:F2")
    sheet.merge_cells("G2:J2")
    sheet.append(["AGS", "Name", *["2G", "4G", "5G", "5G SA"] * 2])
    for row in rows:
        sheet.append(list(row))
    workbook.save(target)
    return target


# --- Pendleratlas of the Statistische Ämter (../shared/docs/source-formats.md section 5) -----------------------------
# No real Pendleratlas file exists offline. These files follow the documented layout exactly. REAL figures:
# only München 2024 totals (the check values of source-formats.md: EIP 529,834; AUSP 248,679; Saldo +281,155;
# EIP_Quote 45.3; IOP 640,422) and the 501 km of a Berlin resident registered as working in München. Every
# other figure (the men/women split, München's AUSP_Quote, all pilot-town rows and flows) is CONSTRUCTED for
# tests and is not publisher data. None of this enters the committed snapshot.
PENDLERATLAS_YEARS = ["2021", "2022", "2023", "2024"]
PENDLERATLAS_INDICATORS = ["EIP", "AUSP", "Saldo", "EIP_Quote", "AUSP_Quote", "IOP"]
MUENCHEN_ARS = "091620000000"
MUENCHEN_2024 = {"EIP": 529834, "AUSP": 248679, "IOP": 640422}  # real (source-formats.md)
# constructed: (ARS, EIP, AUSP, IOP) per pilot town; year 2024 adds 2 % to the 2021 figures, step by step
PENDLERATLAS_PILOTS = [("010530090090", 4100, 6300, 3900), ("064390012012", 2600, 5200, 1400),
                       ("091810114114", 1900, 4300, 1800), ("120700424424", 3300, 2400, 4100),
                       ("146280060060", 3700, 4400, 3000)]
PENDLERATLAS_MARKER = "."  # constructed example of a publisher marker (Dießen's IOP_w in every year)


def _pendleratlas_figures(year: str) -> dict[str, dict[str, float]]:
    """EIP, AUSP, IOP per ARS for a year: München real in 2024 only, pilots constructed."""
    step = 1 + 0.02 * (int(year) - 2021) / 3
    figures = {ars: {"EIP": round(e * step), "AUSP": round(a * step), "IOP": round(i * step)}
               for ars, e, a, i in PENDLERATLAS_PILOTS}
    if year == "2024":
        figures[MUENCHEN_ARS] = dict(MUENCHEN_2024)
    return figures


def _pendleratlas_cell(indicator: str, f: dict[str, float]) -> float:
    if indicator == "Saldo":
        return f["EIP"] - f["AUSP"]
    if indicator == "EIP_Quote":  # in-commuters per employed at workplace: 529834 / (529834 + 640422) = 45.3 %
        return round(f["EIP"] / (f["EIP"] + f["IOP"]) * 100, 1)
    if indicator == "AUSP_Quote":
        return round(f["AUSP"] / (f["AUSP"] + f["IOP"]) * 100, 1)
    return f[indicator]


def _number(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def pendleratlas_indicator_csv(year: str, indicator: str) -> bytes:
    """``{year}_{IND}_Karte_L00.csv``: ``ARS;IND;IND_m;IND_w``; men 52 %, women the rest (constructed split)."""
    lines = [f"ARS;{indicator};{indicator}_m;{indicator}_w"]
    for ars, figures in _pendleratlas_figures(year).items():
        total = _pendleratlas_cell(indicator, figures)
        if isinstance(total, float):  # rates: the same rate for both sexes (constructed)
            men, women = total, total
        else:
            men = round(total * 0.52)
            women = total - men
        women_text = PENDLERATLAS_MARKER if ars.startswith("09181") and indicator == "IOP" else _number(women)
        lines.append(f"{ars};{_number(total)};{_number(men)};{women_text}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# constructed flows: Land -> [(Rang, ARS, ARS_AO, AUSP_AO, AUSP_km, ARS_WO, EIP_WO, EIP_km)]
PENDLERATLAS_FLOWS = {
    "01": [(1, "010530090090", "020000000000", 2100, 46.0, "010530088088", 420, 8.0),
           (2, "010530090090", "010030000000", 1200, 29.0, "010530003003", 310, 11.0),
           (3, "010530090090", "010530100100", 480, 9.0, "", "", "")],
    "09": [(1, MUENCHEN_ARS, "091840000000", 30000, 15.0, "110000000000", 2600, 501.0),  # 501 km: real example
           (1, "091810114114", MUENCHEN_ARS, 1500, 40.0, "091810113113", 260, 6.0),
           (2, "091810114114", "091810130130", 650, 19.0, "091880139139", 190, 12.0)],
    "12": [(1, "120700424424", "110000000000", 600, 127.0, "120700125125", 350, 7.0)],
}


def pendleratlas_flow_csv(year: str, land: str) -> bytes:
    """``{year}_Verfl_L{LL}.csv``; Länder without constructed rows get the header only."""
    lines = ["Rang;ARS;ARS_AO;AUSP_AO;AUSP_km;ARS_WO;EIP_WO;EIP_km"]
    lines += [";".join(_number(v) if isinstance(v, float) else str(v) for v in row)
              for row in PENDLERATLAS_FLOWS.get(land, [])]
    return ("\n".join(lines) + "\n").encode("utf-8")


def pendleratlas_file(vintage: str) -> bytes:
    """The body for a live download ``<year>/<name>`` as declared in sources.yaml."""
    year, name = vintage.split("/")
    if "_Verfl_L" in name:
        return pendleratlas_flow_csv(year, name[-2:])
    return pendleratlas_indicator_csv(year, name[len(year) + 1:-len("_Karte_L00")])


def write_pendleratlas_folder(root: Path, years=PENDLERATLAS_YEARS) -> list[Path]:
    """A directory-mode folder ``root/pendleratlas/<year>/...`` with every indicator and flow file."""
    written = []
    for year in years:
        folder = root / "pendleratlas" / year
        folder.mkdir(parents=True, exist_ok=True)
        for indicator in PENDLERATLAS_INDICATORS:
            path = folder / f"{year}_{indicator}_Karte_L00.csv"
            path.write_bytes(pendleratlas_indicator_csv(year, indicator))
            written.append(path)
        for land in LAENDER:
            path = folder / f"{year}_Verfl_L{land}.csv"
            path.write_bytes(pendleratlas_flow_csv(year, land))
            written.append(path)
    return written
