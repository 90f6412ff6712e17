"""What the publishers say of comparing their counts across years, as German notes beside a change.

A population change whose base year lies before a year the publisher declares a break, and whose value is of that
year or later, includes that break: the census's recount (``census_rebasings`` in sources.yaml: "enthält die
Neuberechnung der Einwohnerzahl nach dem Zensus 2011") or a method change after which the counts are "only partly
comparable" (``comparability_breaks``: Destatis' footnote to its counts since 2016). Neither is excluded from the
index (the counts are published as they are); a reader must know it is in the change.

And the values a publisher gives with their year only (``year_only_measures``: INKAR's accessibility indicators),
which the parser dates 31.12. by convention: the pages show their "Bezugsjahr" instead of a Stichtag
(reports/labels.py date_de), the German exports keep the typed date and say so (``year_only_note_sql``).

One rule for every place that shows a change: the town pages and ``readiness profil`` (``change_notes``) and the
German exports (``change_notes_sql``, the same text in SQL over the rows' ``source_id``, ``base_period`` and
``reference_date``; tests/unit/indicators/test_publisher_notes.py checks both agree).
"""

from __future__ import annotations

import functools

import pandas as pd

from indicators.flags import sql_text
from sources.registry import sources as source_specs


CENSUS_TEXT = "enthält die Neuberechnung der Einwohnerzahl nach dem {}"
YEAR_ONLY_TEXT = "Bezugsjahr {}: der Herausgeber nennt nur das Jahr, der Tag des Stichtags ist gesetzt"
COMPARABILITY_TEXT = "Einwohnerzahlen ab {} nur bedingt mit den Vorjahren vergleichbar ({})"


@functools.lru_cache(maxsize=1)
def declared() -> dict[str, dict[str, list[tuple[int, str]]]]:
    """{source id: {"census": [(first year, census name)], "comparability": [(first year, why)]}} in year order:
    sources.yaml's census_rebasings and comparability_breaks."""
    found = {}
    for source_id, spec in source_specs().items():
        census, breaks = sorted((spec.census_rebasings or {}).items()), sorted((spec.comparability_breaks or {}).items())
        if census or breaks:
            found[source_id] = {"census": census, "comparability": breaks}
    return found


def _spanned(source_id, base_period, reference_date, kind: str) -> list[tuple[int, str]]:
    """The (year, name or why) of the breaks of ``kind`` a change from ``base_period`` to ``reference_date`` spans."""
    if pd.isna(base_period) or pd.isna(reference_date):  # a level, not a change (None, NaN, NaT alike)
        return []
    end = pd.Timestamp(reference_date).year
    return [(year, text) for year, text in declared().get(source_id, {}).get(kind, [])
            if int(base_period) < year <= end]


def census_note(source_id, base_period, reference_date) -> str:
    """'enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011' ('… dem Zensus 2011 und dem Zensus 2022'
    for both); '' where the change spans no census year (or is no change, or of another source)."""
    names = [name for _, name in _spanned(source_id, base_period, reference_date, "census")]
    return CENSUS_TEXT.format(" und dem ".join(names)) if names else ""


def comparability_note(source_id, base_period, reference_date) -> str:
    """'Einwohnerzahlen ab 2016 nur bedingt mit den Vorjahren vergleichbar (methodische Änderungen der Bevölkerungsfortschreibung)'
    for a change across such a year; '' otherwise. A 10-year change across it was shown without it (review of
    6 December 2026)."""
    return "; ".join(COMPARABILITY_TEXT.format(year, why)
                     for year, why in _spanned(source_id, base_period, reference_date, "comparability"))


def change_notes(source_id, base_period, reference_date) -> str:
    """The census note, then the comparability notes, joined by '; ' ('' when the change spans no break)."""
    notes = (census_note(source_id, base_period, reference_date),
             comparability_note(source_id, base_period, reference_date))
    return "; ".join(n for n in notes if n)


def change_notes_sql(prefix: str = "") -> str:
    """``change_notes`` of each row as a SQL expression over ``source_id``, ``base_period`` and ``reference_date``
    (``prefix``: a table alias with its dot); NULL where the change spans no break."""
    # base years are INTEGER and dates DATE (tables.yaml); trunc as Python's int(), where a cast would round
    base, end = f"CAST(trunc({prefix}base_period) AS BIGINT)", f"year({prefix}reference_date)"

    def spans(year: int) -> str:
        return f"({base} < {year} AND {end} >= {year})"

    per_source = []
    for source_id, kinds in sorted(declared().items()):
        parts = []
        if kinds["census"]:  # the names spanned, joined as census_note joins them
            names = f"list_filter([{', '.join(f'CASE WHEN {spans(y)} THEN {sql_text(n)} END' for y, n in kinds['census'])}]" \
                    ", lambda n: n IS NOT NULL)"
            before, after = CENSUS_TEXT.split("{}")
            parts.append(f"CASE WHEN len({names}) > 0 THEN {sql_text(before)} || array_to_string({names}, ' und dem ') "
                         f"|| {sql_text(after)} END")
        parts += [f"CASE WHEN {spans(year)} THEN {sql_text(COMPARABILITY_TEXT.format(year, why))} END"
                  for year, why in kinds["comparability"]]
        per_source.append(f"WHEN {sql_text(source_id)} THEN concat_ws('; ', {', '.join(parts)})")
    if not per_source:
        return "NULL"
    return (f"CASE WHEN {prefix}base_period IS NULL OR {prefix}reference_date IS NULL THEN NULL "
            f"ELSE nullif(CASE {prefix}source_id {' '.join(per_source)} END, '') END")


@functools.lru_cache(maxsize=1)
def year_only() -> frozenset[tuple[str, str]]:
    """(indicator id, source id) pairs whose values the publisher gives with their year only: the indicator's measure
    is among the source's ``year_only_measures`` (sources.yaml). The parser dates them 31.12., a day no publisher
    named; "Stichtag 31.12.2018" read as one INKAR had given (dates review F9)."""
    from indicators.catalogue import load_catalogue

    specs = source_specs()
    return frozenset((i.indicator_id, source) for i in load_catalogue().indicators.values() for source in i.sources
                     if source in specs and i.params.get("measure") in specs[source].year_only_measures)


def year_only_note_sql(prefix: str = "") -> str:
    """'Bezugsjahr 2018: der Herausgeber nennt nur das Jahr, der Tag des Stichtags ist gesetzt' for a value whose
    publisher gives only the year (``year_only``), as a SQL expression over ``indicator_id``, ``source_id`` and
    ``reference_date`` (the German exports; the pages say "Bezugsjahr 2018" instead of a Stichtag); NULL otherwise."""
    pairs = sorted(year_only())
    if not pairs:
        return "NULL"
    before, after = YEAR_ONLY_TEXT.split("{}")
    listed = ", ".join(f"({sql_text(i)}, {sql_text(s)})" for i, s in pairs)
    return (f"CASE WHEN ({prefix}indicator_id, {prefix}source_id) IN ({listed}) AND {prefix}reference_date IS NOT NULL "
            f"THEN {sql_text(before)} || year({prefix}reference_date) || {sql_text(after)} END")
