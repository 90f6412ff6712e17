"""German labels and number formatting for the town reports (the warehouse speaks English)."""

from __future__ import annotations

import math
import re

PILLAR_LABELS = {
    "digital_infrastructure": "Digitale Infrastruktur",
    "commuting_potential": "Pendelpotenzial",
    "demographic_dynamics": "Demografische Dynamik",
    "local_work_infrastructure": "Lokale Arbeitsinfrastruktur",
    "accessibility": "Erreichbarkeit",
}
PILLARS = list(PILLAR_LABELS)

UNIT_LABELS = {
    "% of households": "% der Haushalte",
    "% of employees at residence": "% der Beschäftigten am Wohnort",
    "% per year": "% pro Jahr",
    "inhabitants per km²": "Einwohner je km²",
    "count": "Anzahl",
    "persons": "Personen",
    "minutes by car": "Minuten mit dem Pkw",
    "m (straight line, population-weighted)": "m Luftlinie (einwohnergewichtet)",
    "% of residents": "% der Einwohner",
}

SOURCE_LABELS = {
    "destatis_gemeindeverzeichnis": "Gemeindeverzeichnis",
    "regionalstatistik": "Regionaldatenbank",
    "breitbandatlas": "Breitbandatlas",
    "gigabit_grundbuch": "Gigabit-Grundbuch",
    "inkar": "INKAR",
    "ba_commuting": "Pendlerstatistik der BA",
    "mobilfunk_monitoring": "Mobilfunk-Monitoring",
    "bkg_vg": "Verwaltungsgebiete (VG250/VG5000)",
    "osm_coworking": "Coworking-Spaces (OpenStreetMap)",
    "pendleratlas": "Pendleratlas (Statistische Ämter)",
    "local_inputs": "eigene Angaben der Stadt",
}

# Patterns of the pipeline's English notes, with their German wording (unknown text is shown as is).
_NOTE_PATTERNS = [
    (re.compile(r"carried forward from (\d{4})"), r"fortgeschrieben aus \1"),
    (re.compile(r"base year (\d{4})"), r"Basisjahr \1"),
    (re.compile(r"from Gemeindeverband (\d+)"), r"aus Gemeindeverband \1"),
    (re.compile(r"territorial change: area ([\d.]+) -> ([\d.]+) km²"), r"Gebietsänderung: Fläche \1 → \2 km²"),
    (re.compile(r"method break"), "Methodenwechsel"),
    (re.compile(r"locally reported: includes the town's own list"), "von der Stadt gemeldet: mit der eigenen Liste der Stadt"),
    (re.compile(r"top-10 partners only"), "nur die 10 größten Partnerkreise"),
    (re.compile(r"values under 10 rounded up to 10"), "Werte unter 10 auf 10 aufgerundet"),
]
_NOT_SCORED = re.compile(r"(\w+) not scored: no data from (.+) for this period")


def pillar_label(pillar: str | None) -> str:
    """German name of a pillar; 'composition' (indicators entering or leaving) has its own wording."""
    if pillar is None:
        return "Zusammensetzung"
    return PILLAR_LABELS.get(pillar, pillar)


def unit_label(unit: str | None) -> str:
    return UNIT_LABELS.get(unit or "", unit or "")


def source_label(source_id: str) -> str:
    return SOURCE_LABELS.get(source_id, source_id)


def translate_note(text: str | None) -> str:
    """German wording of an imputation or quality note from the warehouse."""
    if not text:
        return ""
    for pattern, german in _NOTE_PATTERNS:
        text = pattern.sub(german, text)
    return text


def not_scored_reasons(notes: str | None) -> dict[str, str]:
    """Pillar -> German reason, parsed from readiness_index.notes ('<pillar> not scored: ...')."""
    reasons = {}
    for part in (notes or "").split(";"):
        match = _NOT_SCORED.search(part.strip())
        if match:
            sources = ", ".join(source_label(s.strip()) for s in match.group(2).split(","))
            reasons[match.group(1)] = f"keine Daten aus {sources} für diesen Zeitraum"
    return reasons


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def de_number(value, digits: int = 1) -> str:
    """German number format: decimal comma, dot as thousands separator; '–' for missing."""
    if is_missing(value):
        return "–"
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def de_rank(value) -> str:
    """A rank or rank percentile: whole numbers without decimals."""
    if is_missing(value):
        return "–"
    return de_number(value, 0 if float(value).is_integer() else 1)


def de_signed(value, digits: int = 1) -> str:
    """Signed German number, e.g. '+4,0' or '−0,1' (with a real minus sign)."""
    if is_missing(value):
        return "–"
    text = de_number(abs(value), digits)
    return ("+" if value >= 0 else "\u2212") + text
