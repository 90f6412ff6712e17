"""German labels and number formatting for the town reports (the warehouse speaks English).

The single place where German wording of codes lives: flag codes, release ids (vintages), dates and times,
and the pillar, unit and source names read from where they are declared (indicators/catalogue.yaml,
sources.yaml). Templates and report code never write German text for a code themselves.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from indicators import flags  # the typed codes and their German labels
from indicators.bands import RANK_DECIMALS, SIGNIFICANT_DIGITS
from indicators.catalogue import load_catalogue
from indicators.engine import published_score as engine_published_score
from indicators.peers import FEATURE_DATES as PEER_FEATURE_DATES
from indicators.peers import FEATURES as PEER_FEATURES
from indicators.publisher_notes import year_only as year_only_pairs  # values with a year, no day
from sources.names import ABBREVIATED_DESIGNATIONS, CITY_DESIGNATIONS
from sources.registry import attribution_text, sources as source_specs

# Pillar names and unit wording are declared once, in indicators/catalogue.yaml.
CATALOGUE = load_catalogue()
PILLAR_LABELS = {pillar: CATALOGUE.pillar_label(pillar) for pillar in CATALOGUE.pillars}
PILLARS = list(PILLAR_LABELS)
# the decimals an indicator's value is shown with on a page (its unit's ``unit_decimals``), wherever the page shows it
DECIMALS = {i.indicator_id: CATALOGUE.unit_decimals[i.unit] for i in CATALOGUE.indicators.values()}
UNIT_LABELS = CATALOGUE.units

# The method choices the Monte Carlo varies (the catalogue's ``uncertainty``), in the pages' words: the rank band
# sentence named three and left out the aggregation, the second-largest driver (review of 5 December)
CHOICES_DE = {"normalisation": "Normierung", "weights": "Gewichte", "imputation": "Ergänzung fehlender Werte",
              "aggregation": "Zusammenfassung der Säulen"}
VARIED_CHOICES_DE = ", ".join(CHOICES_DE[choice] for choice in CATALOGUE.uncertainty  # a new choice: KeyError
                              if choice not in ("draws", "seed"))

# What a town needs for peers (indicators.peers.FEATURES), in the pages' words: the page's no-peers sentence listed
# them by hand; a new feature fails here until it has a label
FEATURES_DE = {"log_population": "Einwohnerzahl", "log_density": "Einwohner je km² der Gemeinde",
               "log_kreis_density": "Einwohner je km² des Kreises", "east": "Lage in Ost oder West",
               "job_centrality": "Pendlersaldo (INKAR)"}
PEER_FEATURES_DE = ", ".join(FEATURES_DE[feature] for feature in PEER_FEATURES)
# why a town has no peers, on its page and in ``readiness profil`` (which printed an empty table)
NO_PEERS_DE = ("Keine Vergleichsstädte berechnet: Sie werden nur für Städte der Vergleichsgruppe bestimmt, für die "
               f"jedes Strukturmerkmal vorliegt ({PEER_FEATURES_DE}).")
# the features whose values carry a date (indicators.peers.FEATURE_DATES), named as above; a new one fails here
FEATURE_DATES_DE = {column: {"population_date": FEATURES_DE["log_population"],
                             "job_centrality_date": FEATURES_DE["job_centrality"]}[column]
                    for column in PEER_FEATURE_DATES}

# Short German name of each source: label_de in sources.yaml.
_SOURCES = source_specs()  # sources.yaml, read once per process
SOURCE_LABELS = {source_id: spec.label_de for source_id, spec in _SOURCES.items() if spec.label_de}

# German attribution where the one in sources.yaml is a template or has English words; {year} is
# the year of the release (BKG asks for "© GeoBasis-DE / BKG (<Jahr>)").
# German publisher and licence where sources.yaml describes them in English (the towns' own files:
# both are given per file, and each value keeps its own in the warehouse).
RELEASE_TEXT_DE = {
    "local_inputs": {"publisher": "die liefernde Stadt (je Datei in der Spalte „Lieferant“)",
                     "licence": "je Datei (Spalte „Lizenz“), z. B. dl-de/by-2-0"},
}

# The "Datenstand" next to a score, by pillar: the kind of its data and how their dates are written ("Breitband
# 06/2021, Pendler 2019, Bevölkerung 31.12.2023"), in the catalogue's pillar order (catalogue.yaml data_de,
# date_format; INKAR gives both commuting and accessibility, so the kind is the pillar's, not the source's).
PILLAR_DATA = {pillar: (spec["data_de"], spec["date_format"]) for pillar, spec in CATALOGUE.pillars.items()}
DATA_ORDER = list(dict.fromkeys(label for label, _ in PILLAR_DATA.values()))  # the line's order, each kind once

# Mobilfunk-Monitoring (Kreis context on the town page): the publisher's technology classes, shown with
# the publisher's own codes (its file does not define LTE2/LTE6/LTE10 further), and the area types in the
# order the page lists them (measure ``area_<technology>_<area>``, sources/mobilfunk.py).
MOBILE_TECHNOLOGIES = {"5g": "5G2", "lte10": "LTE10", "lte6": "LTE6", "lte2": "LTE2",
                       "mobile_all": "alle Technologien"}
MOBILE_AREAS = {
    "residential": "Wohnbaufläche", "commercial": "Gewerbliche Nutzfläche",
    "agricultural": "Landwirtschaftliche Flächen", "forest_meadow": "Wald- und Wiesenflächen", "water": "Gewässer",
    "motorway": "Autobahnen", "federal_road": "Bundesstraßen", "state_road": "Landesstraßen",
    "district_road": "Kreisstraßen", "railway": "Bahnstrecken", "waterway": "Wasserstraßen",
}

# German text of the codes indicators/flags.py does not own: an imputed value's year, and the typed columns of a
# Kreis-to-Kreis flow (commuter_flows.listing and .marker, whose codes sources/ba_commuting.py and
# sources/gigabit_grundbuch.py own; tests/unit/reports/test_labels.py checks both cover every code).
CARRIED_FORWARD_DE = flags.label("carried_forward", "de")  # 'fortgeschrieben aus {}'
FLOW_LISTING_DE = {
    "complete": "",
    "top_10": "nur die 10 größten Partnerkreise; Werte unter 10 auf 10 aufgerundet",
}
MARKERS_DE = {
    "*": "vom Herausgeber aus Datenschutzgründen nicht ausgewiesen („*“)",
    "-": "vom Herausgeber kein Wert gemeldet („-“)",
    ".": "unbekannt oder geheim zu halten (Zeichen „.“)",
}


def flow_note(listing: str, marker: str | None) -> str:
    """German note of a Kreis flow from its typed columns; an unknown listing code fails (KeyError)."""
    return "; ".join(t for t in (FLOW_LISTING_DE[listing], MARKERS_DE.get(marker, "")) if t)


def pillar_label(pillar: str | None) -> str:
    """German name of a pillar ('Kontext' for the context indicators, as the catalogue says); 'composition'
    (indicators entering or leaving) has its own wording."""
    if pillar is None:
        return "Zusammensetzung"
    return CATALOGUE.pillar_label(pillar)


def unit_label(unit: str | None) -> str:
    return UNIT_LABELS.get(unit or "", unit or "")


def source_label(source_id: str) -> str:
    return SOURCE_LABELS.get(source_id, source_id)


def release_text(source_id: str, field: str, value: str | None) -> str | None:
    """The German publisher or licence text of a source where sources.yaml's is English, else ``value``."""
    return RELEASE_TEXT_DE.get(source_id, {}).get(field, value)


def attribution_label(source_id: str, attribution: str | None, vintage: str | None) -> str:
    """The attribution to print for a release: German, with the release year filled in (sources.yaml
    ``attribution_de``; the same text the exports print)."""
    return attribution_text(source_id, attribution, vintage, _SOURCES)


def credit_de(source_id: str, licence: bool = True) -> str:
    """A source's credit in prose, attribution and (``licence``) licence as sources.yaml gives them
    ('© OpenStreetMap-Mitwirkende, ODbL-1.0'; a "{year}" left out): the pages' fixed notes wrote these by hand."""
    spec = _SOURCES[source_id]
    text = attribution_text(source_id, spec.attribution, None, _SOURCES)
    return f"{text}, {spec.licence}" if licence else text


VINTAGE_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), lambda m: f"{m[3]}.{m[2]}.{m[1]}"),
    (re.compile(r"^(\d{4})-mitte$"), lambda m: f"06/{m[1]}"),
    (re.compile(r"^(\d{4})-ende$"), lambda m: f"12/{m[1]}"),
    (re.compile(r"^(\d{4})-1$"), lambda m: f"06/{m[1]}"),   # first half-year file (Stichtag 30.06.)
    (re.compile(r"^(\d{4})-2$"), lambda m: f"12/{m[1]}"),
    (re.compile(r"^(\d{4})-(\d{2})$"), lambda m: f"{m[2]}/{m[1]}"),
    (re.compile(r"^(\d{4})-Q(\d)$"), lambda m: f"{m[2]}. Quartal {m[1]}"),
    (re.compile(r"^(\d{4})-(\d{2})-bis-(\d{2})$"), lambda m: f"{m[2]}–{m[3]}/{m[1]}"),
    (re.compile(r"^(\d{4})$"), lambda m: m[1]),
    (re.compile(r"^vg(\d+)-(\d{4})-(\d{2})-(\d{2})$", re.I), lambda m: f"VG{m[1]}, Stand {m[4]}.{m[3]}.{m[2]}"),
]


def vintage_label(vintage: str | None) -> str:
    """A release id as a German date: '2021-mitte' -> '06/2021', '2021-12-31' -> '31.12.2021',
    '2024-Q4' -> '4. Quartal 2024'; a revision suffix becomes '(Revision 2)'."""
    if not vintage:
        return ""
    base, _, revision = str(vintage).partition("-rev")
    for pattern, render in VINTAGE_PATTERNS:
        match = pattern.match(base)
        if match:
            text = render(match)
            break
    else:
        text = base
    return f"{text} (Revision {revision})" if revision else text


def data_date_line(rows) -> str:
    """'Breitband 06/2021, Pendler 2019, Bevölkerung 31.12.2023' from (pillar, oldest reference date) pairs.

    Per kind of data the oldest date counts: the score rests on data at least that old."""
    oldest: dict[str, tuple] = {}
    for pillar, date in rows:
        kind = PILLAR_DATA.get(pillar)
        if kind is None or is_missing(date) or date is None:
            continue
        label, fmt = kind
        if label not in oldest or date < oldest[label][0]:
            oldest[label] = (date, fmt)
    return ", ".join(f"{label} {oldest[label][0].strftime(oldest[label][1])}" for label in DATA_ORDER if label in oldest)


def data_dates_text(spans: dict, inputs: int, carried: int) -> str | None:
    """'Daten: Pendler 2019 (alle Eingangswerte aus früheren Ständen fortgeschrieben)' or 'Daten: Breitband 06/2021,
    Pendler 2019, Bevölkerung 31.12.2021, Erreichbarkeit 2018–2020 (60 % der Eingangswerte aus früheren Ständen
    fortgeschrieben)': per kind of data (the catalogue's ``data_de`` of the pillars in ``spans``: pillar -> oldest and
    newest date, ``reports.data.InputDates.spans``) the oldest to the newest date in its format, and the share of the
    ``inputs`` that were ``carried`` forward. None without a span.

    Why: the atlas headed its maps "Pendelpotenzial 2021" over values resting on data of 30.06.2019 only, and the
    index page gave no data date at all; the town pages did (dates review of 6 December 2026)."""
    kinds: dict[str, list] = {}  # data_de -> [oldest, newest, format]
    for pillar, (oldest, newest) in spans.items():
        label, fmt = PILLAR_DATA[pillar]
        was = kinds.setdefault(label, [oldest, newest, fmt])
        was[0], was[1] = min(was[0], oldest), max(was[1], newest)
    texts = []
    for label in DATA_ORDER:
        if label in kinds:
            first, last = (pd.Timestamp(day).strftime(kinds[label][2]) for day in kinds[label][:2])
            texts.append(f"{label} {first}" if first == last else f"{label} {first}–{last}")
    if not texts:
        return None
    share = carried_share_de(carried, inputs)
    return f"Daten: {', '.join(texts)}" + (f" ({share} aus früheren Ständen fortgeschrieben)" if share else "")


def carried_share_de(carried: int, inputs: int) -> str | None:
    """'alle Eingangswerte', '60 % der Eingangswerte', 'weniger als 1 % der Eingangswerte' (never a rounded 0 % or
    100 % beside a part); None when none was carried forward."""
    if not inputs or not carried:
        return None
    if carried == inputs:
        return "alle Eingangswerte"
    percent = 100 * carried / inputs
    said = ("weniger als 1" if percent < 0.5 else "mehr als 99" if percent >= 99.5 else de_number(percent, 0))
    return f"{said} % der Eingangswerte"


def boundary_date_de(day) -> str:
    """'Gemeindegrenzen: Stand 01.01.2021' (the town maps' note and the atlas' line); two dates as a span."""
    days = sorted({pd.Timestamp(d) for d in (day if isinstance(day, (list, tuple, set)) else [day])})
    return f"Gemeindegrenzen: Stand {days[0]:%d.%m.%Y}" + (f"–{days[-1]:%d.%m.%Y}" if len(days) > 1 else "")


def is_year_only(indicator_id: str | None, source_id: str | None) -> bool:
    """Whether the publisher gives this indicator's values from this source with their year only (sources.yaml
    year_only_measures: INKAR's accessibility indicators). The parser dates them 31.12., a day no publisher named:
    shown as "Bezugsjahr 2018", where "Stichtag 31.12.2018" read as a day INKAR had given (dates review F9)."""
    return (indicator_id, source_id) in year_only_pairs()


def date_de(value, indicator_id: str | None = None, source_id: str | None = None) -> str | None:
    """A value's reference date for a table cell: '30.06.2021', or 'Bezugsjahr 2018' where the publisher gives only
    the year (``is_year_only``), so a cell under "Stichtag" says which it is; None when missing."""
    if value is None or pd.isna(value):  # NaT and pd.NA too (a raw frame's cell; is_missing knows floats only)
        return None
    stamp = pd.Timestamp(value)
    return f"Bezugsjahr {stamp.year}" if is_year_only(indicator_id, source_id) else f"{stamp:%d.%m.%Y}"


def dated_de(value, indicator_id: str | None = None, source_id: str | None = None) -> str | None:
    """The same in a sentence: 'Stichtag 30.06.2021' or 'Bezugsjahr 2018'; None when missing."""
    text = date_de(value, indicator_id, source_id)
    return text if text is None or is_year_only(indicator_id, source_id) else f"Stichtag {text}"


def berlin_time(value) -> str:
    """A UTC timestamp of the warehouse (naive = UTC) as German local time, e.g. '01.12.2026 16:38 Uhr'."""
    if is_missing(value) or value is None:
        return "–"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert("Europe/Berlin").strftime("%d.%m.%Y %H:%M Uhr")


def safe_url(url: str | None) -> str | None:
    """The URL when it is an http(s) link, else None: OSM tags such as website=javascript:... never become links."""
    text = (url or "").strip()
    return text if re.match(r"^https?://[^\s<>\"']+$", text, re.I) else None


def german_sort_key(name: str | None) -> tuple:
    """DIN 5007-1 order for names: umlauts as their base letter, ß as ss, case-insensitive ("Bäk" before
    "Buchhorst"); Python's default order would put every umlaut after "z"."""
    text = (name or "").casefold()
    base = text.translate(str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"}))
    return (base, text)


def not_scored_reasons(omitted_pillars: str | None, uncompared_pillars: str | None = None) -> dict[str, str]:
    """Pillar -> German reason, from readiness_index.omitted_pillars and uncompared_pillars (typed pillar ids, not
    note text); the uncompared reason is the German label of indicators/flags.py without its pillar slot."""
    reasons = {pillar: f"keine Daten (Quellen: {_pillar_sources_de(pillar)}) für diesen Zeitraum"
               for pillar in flags.pillar_ids(omitted_pillars)}
    uncompared = flags.label("uncompared_pillar", "de").removeprefix("{} ")
    return {**reasons, **{pillar: uncompared for pillar in flags.pillar_ids(uncompared_pillars)}}


def no_data_in_any_year_de(pillar: str) -> str:
    """Why a pillar is not scored when the town has no value of it in any year (INKAR lists no Tangstedt, Kreis
    Stormarn): 'keine Daten für diesen Zeitraum' read as if a later year might have them (review of 6 December
    2026)."""
    return f"in keinem Jahr Daten für diese Gemeinde (Quellen: {_pillar_sources_de(pillar)})"


def _pillar_sources_de(pillar: str) -> str:
    """The sources a pillar draws on, by their German names ('eigene Angaben der Stadt, Coworking-Spaces
    (OpenStreetMap)'): those of the catalogue, loaded or not, where no value of the pillar came from."""
    return ", ".join(source_label(s) for s in _pillar_sources().get(pillar, []))


@functools.lru_cache(maxsize=1)
def _pillar_sources() -> dict[str, list[str]]:
    return {p: CATALOGUE.pillar_sources(p) for p in CATALOGUE.pillars}


def is_missing(value) -> bool:
    # ``value != value`` is math.isnan for a float without the call (called ~1,500 times per town page)
    return value is None or (isinstance(value, float) and value != value)


def imputed_share_of_score(row) -> float | None:
    """The share of a score's input weight carried forward; None for a year without a score, which has no such
    share (Mölln 2019 showed 33 %): the pages' history, their headline and ``readiness profil`` all read it here."""
    share = row.get("imputed_share")
    return None if is_missing(row.get("score")) or is_missing(share) else share


def de_number(value, digits: int = 1) -> str:
    """German number format: decimal comma, dot as thousands separator, a real minus sign ('−0,50', as
    ``de_signed``); '–' for missing. A half in the next place rounds away from zero, as a reader rounds the
    decimal the download shows (82,485 -> '82,49'), not the binary float just below it (82.48499999...)."""
    if is_missing(value):
        return "–"
    text = f"{shown_number(value, digits):,.{digits}f}".translate(_DE_SEPARATORS)
    if text.startswith("-"):  # no sign before a value shown as zero ('0,00', not '−0,00')
        return "\u2212" + text[1:] if text.strip("-0,.") else text[1:]
    return text


def display_name(name):
    """A register name as the pages show it, the designation written out: 'Dießen am Ammersee, M' -> 'Dießen am
    Ammersee, Markt', 'Weilheim i.OB, St' -> 'Weilheim i.OB, Stadt' (a pilot's title and sentences such as
    "Abstand = Vergleichsstadt minus Dießen am Ammersee, M" read like leftover codes, page audit of 7 December 2026).
    Anything else (a missing name too) unchanged; the warehouse keeps the register's names."""
    if not isinstance(name, str):
        return name
    head, comma, designation = name.rpartition(", ")
    return f"{head}, {ABBREVIATED_DESIGNATIONS[designation]}" if comma and designation in ABBREVIATED_DESIGNATIONS \
        else name


def display_names(names: pd.Series) -> pd.Series:
    """``display_name`` of every name of a column, computed once per distinct name."""
    return names.map({name: display_name(name) for name in names.dropna().unique()}).where(names.notna(), names)


def pillar_coverage(scored_indicators, usual: dict[str, int]) -> dict[str, str]:
    """Pillar -> ``pillar_coverage_de`` for each pillar whose scored indicators (``scored_indicators``: the ids of a
    town's period without an excluded_reason) are fewer than ``usual`` ({pillar: indicators scored for any town in
    that period}, ``reports.data.PILLAR_INDICATORS``)."""
    counts: dict[str, int] = {}
    for indicator_id in set(scored_indicators):
        indicator = CATALOGUE.indicators.get(indicator_id)
        if indicator is not None:
            counts[indicator.pillar] = counts.get(indicator.pillar, 0) + 1
    notes = {pillar: pillar_coverage_de(counts.get(pillar, 0), n) for pillar, n in usual.items()}
    return {pillar: note for pillar, note in notes.items() if note}


def pillar_coverage_de(scored: int, usual: int) -> str | None:
    """Why a pillar's value may not compare with other towns': it rests on ``scored`` of the ``usual`` indicators
    (those scored for any town in the period); None where it rests on all of them. Wiesbaden's digital pillar rested on
    the ≥ 100 Mbit/s share alone (94,4 beside a median of 42,3) without a word (CLI audit of 7 December 2026)."""
    if scored >= usual:
        return None
    return (f"beruht auf {scored} von {usual} Indikatoren dieser Säule, für die übrigen gibt es keinen bewertbaren "
            "Wert")


def full_stop(text) -> str:
    """``text`` ending a sentence: a full stop added unless it already ends with one, as a register name does
    ('Harz (Landkreis Göttingen), gemfr. Geb.' closed a map note with 'Geb..' on 9 pages, audit of 7 December
    2026). Markup stays Markup (no second escaping)."""
    return text if text.endswith(".") else text + "."


def de_list(items) -> str:
    """'A', 'A und B', 'A, B und C'."""
    items = [str(item) for item in items]
    return " und ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " und " + items[-1]


def shown_number(value, digits: int = 1) -> float:
    """``value`` as ``de_number`` shows it, as a number (4.96 -> 5.0): what a rule about a shown figure compares."""
    number = float(value)
    if abs(abs(number) * 10.0 ** digits % 1.0 - 0.5) < 1e-6:  # a tie, or the binary float just beside one
        # the digits the download writes (reports/downloads.py FLOAT_FORMAT, 12 significant): a median computed as
        # 29.884999999999998 is 29,885 there, so 29,89 here (its repr's digits gave 29,88)
        return float(Decimal(f"{number:.{SIGNIFICANT_DIGITS}g}").quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    return round(number, digits)


# the decimals each indicator's values are published with (catalogue units value_decimals)
VALUE_DECIMALS = {i.indicator_id: CATALOGUE.value_decimals[i.unit] for i in CATALOGUE.indicators.values()}


def published_value(indicator_id: str, value) -> float | None:
    """An indicator value for the downloads, at the decimals its unit is published with (catalogue units
    ``value_decimals``; a half away from zero, as ``shown_number``): a value restated onto today's territory (the
    predecessors' values weighted by population) is stored at full float precision, which the CSV wrote as
    "83,6367521547" (Süderbrarup, review of 5 December); a published value has no more decimals and stays as it is.
    None when missing; a figure of no catalogue indicator (the drivers' composition row) unchanged."""
    if is_missing(value):
        return None
    digits = VALUE_DECIMALS.get(indicator_id)
    return value if digits is None else shown_number(value, digits)


_DE_SEPARATORS = str.maketrans({",": ".", ".": ","})  # swap both at once (one call per number, not three)


def published_score(value) -> float | None:
    """An overall score at its published precision (what the ranks compare); None when missing."""
    return None if is_missing(value) else engine_published_score(float(value), CATALOGUE.score_decimals)


def de_score(value) -> str:
    """An overall score as published: '70,2' (the catalogue's score_decimals, rounded as the ranks compare it)."""
    return de_number(published_score(value), CATALOGUE.score_decimals)


def gap_shown(gap) -> float | None:
    """A gap of two pillar scores as every output shows it: at a score's published decimals, rounded as the scores
    are (``published_score``; no "-0,0" for a float's noise). The page rounded a gap of -5.449999999999989 the
    decimal way (-5,5) and its download and peer_comparison the scores' way (-5,4): 596 cells of 546 pages differed
    (audit of 7 December 2026)."""
    shown = published_score(gap)
    return None if shown is None else shown + 0.0


def score_gap(to, from_) -> float | None:
    """The difference of two scores as shown (70,2 against 69,0 is +1,2, whatever the hidden decimals)."""
    if is_missing(to) or is_missing(from_):
        return None
    # rounded again: 70.2 - 69.0 is 1.2000000000000028 in floating point, which a CSV would print in full
    return engine_published_score(published_score(to) - published_score(from_), CATALOGUE.score_decimals)


def kreis_de(name: str | None, ags: str | None = None, designation: str | None = None) -> str:
    """The Kreis as the name allows, as a noun: 'Landkreis Prignitz', 'Kreis Herzogtum Lauenburg', but
    'Rheingau-Taunus-Kreis' and 'Oberbergischer Kreis' for a name that says Kreis already, 'Region Hannover',
    'Stadtkreis Heidelberg' and 'kreisfreie Stadt Pirmasens' for the Gemeindeverzeichnis's 'Heidelberg, Stadtkreis'
    and 'Pirmasens, kreisfreie Stadt'; 'Kreis 06439' without a name. ``designation`` (``kreise.designation``) decides
    where the name does not say it: 'Schweinfurt' is a Landkreis and a kreisfreie Stadt of the same name. The town
    pages (``in_kreis``) and ``readiness profil`` say it alike: the CLI's 'Kreis Prignitz' beside the page's
    'Landkreis Prignitz' (review of 6 December 2026)."""
    if not name:
        return "kein Kreis" if no_kreis(name, ags) else f"Kreis {ags or '–'}"
    # a kreisfreie Stadt: by its designation, else by the name's suffix ('Heidelberg, Stadtkreis', 'Kiel,
    # Landeshauptstadt')
    city, _, kind = name.partition(", ")
    kind = CITY_DESIGNATIONS.get(designation, kind)
    if kind:
        return f"Stadtkreis {city}" if kind == "Stadtkreis" else f"kreisfreie Stadt {city}"
    if "kreis" not in name.lower() and not name.startswith(("Region ", "Städteregion ", "Regionalverband ")):
        # the designation where the BKG gives it: 'Landkreis Prignitz' (a Landkreis Kassel beside the kreisfreie
        # Stadt Kassel read 'Kreis Kassel'), 'Kreis Herzogtum Lauenburg'
        return f"{'Landkreis' if designation == 'Landkreis' else 'Kreis'} {name}"
    return name


def kreis_cell_name(cell, register_name, kreis_ags: str) -> str:
    """The Kreis as a table cell (index, ranking, comparison): the BKG's name ``cell``, told apart where two Kreise
    share one (``kreis_labels``: 'Aschaffenburg (Landkreis)'), else the register's, else ``kreis_de`` ('kein Kreis'
    for 07000, which the comparison printed as 'None')."""
    return next((name for name in (cell, register_name) if isinstance(name, str) and name), None) or kreis_de(
        None, kreis_ags)


def kreis_column(kreis_ags: pd.Series, kreis_cells: pd.Series, register_names: pd.Series) -> pd.Series:
    """``kreis_cell_name`` of every row (``kreis_cells``: ``ReportData.kreis_cells``)."""
    return pd.Series([kreis_cell_name(cell, name, ags) for cell, name, ags in
                      zip(kreis_ags.map(kreis_cells), register_names, kreis_ags)], index=kreis_ags.index, dtype=object)


def no_kreis(name: str | None, ags: str | None) -> bool:
    """True for the register's Land-level key of a gemeindefreies Gebiet that lies in no Kreis (07000: the German-
    Luxembourg condominium, 13000: the coastal waters of Mecklenburg-Vorpommern): a key ``LL000`` without a Kreis
    name. Berlin (11000) and Hamburg (02000) are Kreise with that key and have a name. The pages said "im Kreis
    07000"."""
    return not name and bool(ags) and len(ags) == 5 and ags.endswith("000")


def in_kreis(name: str | None, ags: str | None = None, designation: str | None = None) -> str:
    """Where the town lies: ``kreis_de`` after its preposition: 'im Landkreis Prignitz', 'im Rheingau-Taunus-Kreis'
    ('im Kreis Rheingau-Taunus-Kreis' stood on the pages), 'in der Region Hannover', 'im Stadtkreis Heidelberg',
    'in der kreisfreien Stadt Pirmasens'; an adjective before "Kreis" in the dative: 'im Oberbergischen Kreis'."""
    if no_kreis(name, ags):
        return "in keinem Kreis"
    noun = kreis_de(name, ags, designation)
    if noun.startswith("kreisfreie Stadt "):
        return "in der kreisfreien Stadt " + noun.removeprefix("kreisfreie Stadt ")
    if noun.startswith(("Region ", "Städteregion ")):
        return f"in der {noun}"
    return "im " + re.sub(r"er Kreis\b", "en Kreis", noun)


def former_kreis_de(former: str, kreis_ags: str, day, apart: bool = False) -> str:
    """Why a Kreis section shows a former Kreis's figures (``former``: 'Osterode am Harz (03156)'): the publisher lists
    the Kreise before a merger at its Stichtag, not the town's Kreis of today (the Mobilfunk-Monitoring of mid-2021,
    the Landkreis Göttingen of 2016; audit of 7 December 2026); ``apart``: it lists the former Kreis beside today's,
    whose figures leave it out (Eisenach, 16056, beside the Wartburgkreis in 2016)."""
    why = (f"weist zum Stichtag {date_de(day)} diesen Kreis als eigenen aus, die Werte des heutigen Kreises "
           f"({kreis_ags}) ohne ihn" if apart else
           f"weist zum Stichtag {date_de(day)} die früheren Kreise aus, für den heutigen Kreis ({kreis_ags}) keine Werte")
    return f"Gezeigt sind die Werte für {former}, einen früheren Kreis, in dem das Gebiet der Gemeinde lag: Der Herausgeber {why}"


def separate_kreise_de(parts: list[str], kreis_ags: str, day, commuting: bool = False, whole: bool = True) -> str:
    """That a Kreis's figures leave out a part that was a Kreis of its own at the publisher's Stichtag (``parts``:
    'Eisenach (16056)', in the Wartburgkreis since 2021): the Wartburgkreis's 48,7 % out-commuters of 2016 counted
    those working in Eisenach, today inside the Kreis, without a word (audit of 7 December 2026). ``whole``: each part
    lies wholly in this Kreis today, not split among several."""
    one = len(parts) == 1
    text = (f"Zum Stichtag {date_de(day)} weist der Herausgeber {de_list(parts)} als eigene{'n' if one else ''} "
            f"Kreis{'' if one else 'e'} aus; heute gehör{'t es' if one else 'en sie'}"
            f"{'' if whole else ' ganz oder zum Teil'} zu diesem Kreis ({kreis_ags}). "
            f"Die Werte beschreiben den Kreis ohne {'dieses Gebiet' if one else 'diese Gebiete'}")
    return text + ("; wer dorthin pendelte, zählt als Auspendler" if commuting else "")


def moved_parts_sentence_de(parts: list[str], there: str, here: str, town: str | None, day, move: dict,
                            certain: bool = True, commuting: bool = False, whole: bool = False) -> str:
    """That parts of the town lay in another Kreis of today at a Kreis section's Stichtag ``day`` (``parts``: 'Lichte
    (16073049; 1.568 Einwohner am 31.12.2013)'; ``there``: that Kreis, 'im Landkreis Saalfeld-Rudolstadt (16073)';
    ``here``: the town's Kreis of today, both named, as "diesem Kreis" was read as the other one in a review), so the
    section's figures count them there; ``move``: a part's row of ``kreis_moves`` (the change list's or the BKG's
    day, else the registers around the move); ``certain``: the day lies before the move, not between the two
    registers; ``whole``: the part is the whole Gemeinde under its old key (Lahr, moved in 2014). Kaltennordheim's
    3,342 inhabitants from the Wartburgkreis, read of 7 December 2026."""
    one = len(parts) == 1
    it, lay = ("es", "lag") if one else ("sie", "lagen")
    who = de_list(parts) if whole or not town else (
        f"{de_list(parts)} – heute {'Teil' if one else 'Teile'} von {town} –")
    lies = f"lieg{'t' if one else 'en'} {it}"
    if is_missing(move["moved_on"]):
        moved = (f"{'es kam' if one else 'sie kamen'} zwischen dem {date_de(move['last_listed'])} und dem "
                 f"{date_de(move['first_unlisted'])} in den heutigen Kreis")
    elif move.get("moved_on_basis") == "change_list":  # the change list's day is the move's own
        moved = f"seit dem {date_de(move['moved_on'])} {lies} {here}"
    else:  # the BKG's day is the Gemeinde's last change, the move unless it changed again: attributed
        moved = f"laut BKG {lies} seit dem {date_de(move['moved_on'])} {here}"
    who_lived = f"wer in {'diesem Teil' if one else 'diesen Teilen'} wohnte"
    employed = f"Beschäftigten mit Wohnort {here}"
    if not certain:
        return (f"Ob {who} am {date_de(day)} noch {there} {lay}, sagen die Gemeindeverzeichnisse nicht: {moved}. "
                f"Die Werte dieses Stichtags zählen {it} vielleicht noch dort mit"
                + (f" (dann zählt, {who_lived}, nicht zu den {employed})" if commuting else ""))
    return (f"{who} {lay} am {date_de(day)} noch {there}; {moved}. Die Werte dieses Stichtags zählen {it} dort mit, "
            f"nicht {here}"
            + (f"; {who_lived}, zählt nicht zu den {employed}, und wer aus dem übrigen Kreis dorthin pendelte, als "
               f"Auspendler" if commuting else ""))


def kreis_value_moved_phrase_de(parts: list[str], there: str, when: str, certain: bool = True,
                                singular_part: bool = False, whole: bool = False) -> str:
    """What a Kreis value leaves out, after 'Kreiswert' ('Kreis' in the comparison): 'ohne Lichte (16073049) und Piesau
    (16073066), die am 30.06.2018 noch im Landkreis Saalfeld-Rudolstadt (16073) lagen und heute zur Gemeinde gehören'
    (``parts``: accusative cells, 'einen Teil von Anrode (16064073)'; ``when``: 'am 30.06.2021', 'im Bezugsjahr 2018',
    'auf dem Gebietsstand von INKAR (BBSR) 12/2022'; ``singular_part``: the one part is land of a Gemeinde, 'der';
    ``whole``: the part is the whole Gemeinde under its old key). ``certain`` False: the registers do not say whether
    they still lay there."""
    one = len(parts) == 1
    if whole:
        if not certain:
            return (f"vielleicht ohne die Gemeinde: ob sie {when} als {parts[0]} noch {there} lag, sagen die "
                    f"Gemeindeverzeichnisse nicht")
        return f"ohne die Gemeinde, die {when} als {parts[0]} noch {there} lag"
    if not one:
        which, pronoun, lay, belongs = "die", "sie", "lagen", "gehören"
    elif singular_part:  # 'einen Teil von Anrode (…), der'
        which, pronoun, lay, belongs = "der", "er", "lag", "gehört"
    else:  # 'Lichte (…), das'
        which, pronoun, lay, belongs = "das", "es", "lag", "gehört"
    if not certain:
        return (f"vielleicht ohne {de_list(parts)}, {which} heute zur Gemeinde {belongs}: ob {pronoun} {when} noch "
                f"{there} {lay}, sagen die Gemeindeverzeichnisse nicht")
    return f"ohne {de_list(parts)}, {which} {when} noch {there} {lay} und heute zur Gemeinde {belongs}"


def de_rank(value) -> str:
    """A rank or rank percentile (which the Monte Carlo interpolates between draws): one decimal, none where that
    is a whole number ('2' for 2.0499999999999545, not '2,0'; '439,9')."""
    if is_missing(value):
        return "–"
    shown = rank_shown(value)
    return de_number(shown, 0 if shown.is_integer() else 1)


def de_rank_band(low, high) -> str | None:
    """A 5–95 % rank band as the pages show it ('2–18', '439,9–801,1'); None when an end is missing."""
    return None if is_missing(low) or is_missing(high) else f"{de_rank(low)}–{de_rank(high)}"


def rank_shown(value) -> float | None:
    """A rank percentile as the pages and downloads show it (RANK_DECIMALS), halves away from zero as the
    exports' SQL ``round``; None when missing."""
    return None if is_missing(value) else engine_published_score(float(value), RANK_DECIMALS)


def de_signed(value, digits: int = 1) -> str:
    """Signed German number, e.g. '+4,0' or '−0,1' (with a real minus sign); '0,0' without a sign."""
    if is_missing(value):
        return "–"
    text = de_number(abs(value), digits)
    if not text.strip("0,."):  # shown as zero: no sign ('0,00', not '+0,00' or '−0,0' for -0.04)
        return text
    return ("+" if value >= 0 else "\u2212") + text


def years_de(periods) -> str:
    """The years a chart shows, for its accessible name (the visible headings carry them): "2013–2023", "2021";
    empty without any. A screen reader read "Indexverlauf" or "Säulen des Index" without a year."""
    periods = sorted({int(p) for p in periods})
    if not periods:
        return ""
    return str(periods[0]) if periods[0] == periods[-1] else f"{periods[0]}–{periods[-1]}"


def feature_dates_de(rows: list[dict]) -> str | None:
    """'Einwohnerzahl Stichtag 31.12.2023, Pendlersaldo (INKAR) Stichtag 30.06.2019': per dated structure feature
    (FEATURE_DATES_DE) the date of the town's and the peers' values in ``rows`` (peer rows: the town's date in the
    feature's column, the peer's in ``peer_<column>``), their span where they differ ('30.06.2018 bis 30.06.2019');
    None without any date. The similarity was shown without the age of what it compares (review of 6 December 2026)."""
    parts = []
    for column, label in FEATURE_DATES_DE.items():
        days = sorted({pd.Timestamp(value) for row in rows for value in (row.get(column), row.get(f"peer_{column}"))
                       if value is not None and not pd.isna(value)})
        if days:
            span = date_de(days[0]) if days[0] == days[-1] else f"{date_de(days[0])} bis {date_de(days[-1])}"
            parts.append(f"{label} Stichtag {span}")
    return ", ".join(parts) or None


def peer_dates_sentence_de(name: str, rows: list[dict]) -> str | None:
    """The town page's and ``readiness profil``'s sentence under the peers: on which structure features of ``name``
    and its peers the similarity rests, with their dates (``feature_dates_de``); None without any date."""
    dates = feature_dates_de(rows)
    if not dates:
        return None
    return f"Die Ähnlichkeit beruht auf den Strukturmerkmalen von {name} und den Vergleichsstädten: {dates}."
