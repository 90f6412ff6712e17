"""Typed quality flags: every code the pipeline decides by, with its English and German label.

Decisions (is a value scored? did the territory change?) are taken on the typed columns of
``observations``, ``indicator_values`` and ``readiness_index`` (``territorial_change``,
``method_break``, ``source_level``, ``excluded_reason``, ``omitted_pillars``), never on note text.
The human text is rendered from these codes here and nowhere else: English for the warehouse's
``quality_note`` / ``notes`` columns, German for the reports (``label(code, lang="de")``).
"""

from __future__ import annotations

import math

# the caveats of a weighted restatement and of one from commuting counts, and what a value before a later change of
# its town's territory that is not restated describes (en, de): shared by the labels below
_WEIGHTED = ("the predecessors' shares, rates or averages weighted by population (approximate weight)",
             "Anteile, Quoten oder Mittelwerte der Vorgängergemeinden nach Einwohnerzahl gewichtet (Näherung)")
_INTERNAL = ("which count the commuting between them as crossing the boundary: in- and out-commuting too high, internal "
             "commuting too low (approximate)",
             "die das Pendeln zwischen ihnen als Pendeln über die Gemeindegrenze zählen: Ein- und Auspendeln zu hoch, "
             "Binnenpendeln zu niedrig (Näherung)")
_EARLIER = ("on the Gemeinde's territory before a later change of it, which the value is not restated to: land it took "
            "over since is not in the value, land it gave away since still is (series comparable up to the change)",
            "Gebiet der Gemeinde vor einer späteren Gebietsänderung, auf die der Wert nicht umgerechnet ist: seitdem "
            "übernommene Gebietsteile sind im Wert nicht enthalten, abgegebene noch enthalten (Reihe bis zur Änderung "
            "vergleichbar)")

# territorial_change: how the territory behind a value differs from the town's current territory
TERRITORIAL_CHANGE = {
    "recode": ("key changed, territory unchanged: value moved to the current key",
               "Gemeindeschlüssel geändert, Gebiet unverändert: Wert auf den heutigen Schlüssel übertragen"),
    "merger": ("restated to the current territory: the predecessors' figures summed",
               "auf den heutigen Gebietsstand umgerechnet: Zahlen der Vorgängergemeinden addiert"),
    "merger_weighted": (f"restated to the current territory: {_WEIGHTED[0]}",
                        f"auf den heutigen Gebietsstand umgerechnet: {_WEIGHTED[1]}"),
    "merger_internal_commuting": (f"restated to the current territory from its predecessors' figures, {_INTERNAL[0]}",
                                  "aus den Zahlen der Vorgängergemeinden auf den heutigen Gebietsstand umgerechnet, "
                                  f"{_INTERNAL[1]}"),
    "partial_transfer": ("territorial change: part of the territory moved to or from another Gemeinde",
                         "Gebietsänderung: Gebietsteile an eine andere Gemeinde abgegeben oder übernommen"),
    "minor_transfer": ("territorial change: a small area with at most 50 inhabitants or 1 % of the population "
                       "moved (series comparable)",
                       "Gebietsänderung: kleiner Gebietsteil mit höchstens 50 Einwohnern oder 1 % der Bevölkerung "
                       "umgegliedert (Reihe vergleichbar)"),
    "uninhabited_gain": ("territorial change: the area grew by land without inhabitants (gemeindefreies Gebiet); "
                         "series comparable",
                         "Gebietsänderung: Fläche um unbewohntes Gebiet (gemeindefreies Gebiet) gewachsen; Reihe "
                         "vergleichbar"),
    "split": ("territorial change: a Gemeinde was split over several Gemeinden",
              "Gebietsänderung: eine Gemeinde wurde auf mehrere Gemeinden aufgeteilt"),
    "earlier_territory": _EARLIER,
    "earlier_territory_weighted": (f"{_EARLIER[0]}; restated over its earlier mergers: {_WEIGHTED[0]}",
                                   f"{_EARLIER[1]}; über frühere Fusionen umgerechnet: {_WEIGHTED[1]}"),
    "earlier_territory_internal_commuting": (
        f"{_EARLIER[0]}; restated over its earlier mergers from its predecessors' figures, {_INTERNAL[0]}",
        f"{_EARLIER[1]}; über frühere Fusionen aus den Zahlen der Vorgängergemeinden umgerechnet, {_INTERNAL[1]}"),
    # not "without a known key change": Dingelstädt's density of 2021 lies before its known splits
    "area_change": ("territorial change: the area changed by more than 2 %; the values are not restated to one "
                    "territory",
                    "Gebietsänderung: Fläche um mehr als 2 % verändert; die Werte sind nicht auf einen gemeinsamen "
                    "Gebietsstand umgerechnet"),
    "implausible_step": ("territorial change: an inferred merger failed the plausibility checks, not restated",
                         "Gebietsänderung: eine erschlossene Fusion besteht die Plausibilitätsprüfung nicht, "
                         "nicht umgerechnet"),
    "publisher_restated": ("restated by the publisher onto the Gemeinde's later territory: dated before the merger "
                           "that gave it that territory (approximate)",
                           "vom Herausgeber auf das spätere Gemeindegebiet umgerechnet: Stand vor der Fusion, durch "
                           "die die Gemeinde dieses Gebiet erhielt (Näherung)"),
    "publisher_restated_commuting": ("restated by the publisher onto the Gemeinde's later territory: dated before "
                                     "the merger that gave it that territory, with the commuting between the merged "
                                     "Gemeinden counted as crossing the boundary, so in- and out-commuting too high "
                                     "(approximate)",
                                     "vom Herausgeber auf das spätere Gemeindegebiet umgerechnet: Stand vor der "
                                     "Fusion, durch die die Gemeinde dieses Gebiet erhielt; Pendeln zwischen den "
                                     "fusionierten Gemeinden zählt als Pendeln über die Gemeindegrenze, Ein- und "
                                     "Auspendeln daher zu hoch (Näherung)"),
    "verband_restated": ("restated by the publisher onto the Gemeindeverband's later territory: dated before the "
                         "reorganisation that gave the Verband that territory",
                         "vom Herausgeber auf das spätere Gebiet des Gemeindeverbands umgerechnet: Stand vor der "
                         "Neugliederung, durch die der Verband dieses Gebiet erhielt"),
}
# the codes whose label places a value on today's territory, and the code a Gemeinde value with one of them gets where
# it is dated before a later change of its town's territory that is not restated (indicators/compute.py
# earlier_territory): the restatement's caveat kept, the claim of today's territory dropped. The crosswalk gives
# 'earlier_territory' to a restated population or area whose area still differs from today's (staging/crosswalk.py
# flag_earlier_territory, crosswalk.EARLIER_TERRITORY_CODE)
EARLIER_TERRITORY = {"recode": "earlier_territory", "merger": "earlier_territory",
                     "merger_weighted": "earlier_territory_weighted",
                     "merger_internal_commuting": "earlier_territory_internal_commuting"}
# set by the indicator step (indicators/compute.py: on a change between two dates, or on a value dated before a later
# change that is not restated), never on an observation
CHANGE_ONLY = ("area_change", "uninhabited_gain",  # and the restatement caveats' variants of earlier_territory
               *(code for code in dict.fromkeys(EARLIER_TERRITORY.values()) if code != EARLIER_TERRITORY["merger"]))
OBSERVATION_CHANGE = tuple(code for code in TERRITORIAL_CHANGE if code not in CHANGE_ONLY)  # observations' codes
# territorial changes that make a value not comparable with the current territory: not scored
NOT_COMPARABLE = {"partial_transfer", "split", "area_change", "implausible_step"}
# those an observation or a change between two registers can carry (not the indicator step's area_change): the codes
# that leave a coworking-gap figure out (indicators/coworking_gap.py)
NOT_COMPARABLE_OBSERVED = tuple(sorted(NOT_COMPARABLE - set(CHANGE_ONLY)))

# source_level: the territorial level the publisher gave the value for
SOURCE_LEVEL = {
    "gemeinde": ("value of the Gemeinde", "Wert der Gemeinde"),
    "gemeindeverband": ("value of the Gemeindeverband (shared by its member Gemeinden)",
                        "Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)"),
    "kreis": ("value of the Kreis", "Wert des Kreises"),
}

# excluded_reason: why the index does not use a value (NULL: used)
EXCLUDED_REASON = {
    # a change across the territorial change, and a level in the period of one, alike (broadband, a partial transfer)
    "territorial_change": ("not scored: a territorial change lies within the value's period, so it does not describe "
                           "the town on its territory",
                           "nicht bewertet: eine Gebietsänderung fällt in den Zeitraum des Werts, er beschreibt nicht "
                           "die Gemeinde in ihrem Gebiet"),
    "implausible_step": ("not scored: rests on an inferred merger that failed the plausibility checks",
                         "nicht bewertet: beruht auf einer erschlossenen Fusion, die die Plausibilitätsprüfung "
                         "nicht besteht"),
    "context_indicator": ("not scored: context indicator outside the index",
                          "nicht bewertet: Kontextindikator außerhalb des Index"),
    "impossible_value": ("not scored: outside the values the quantity can take (publisher error)",
                         "nicht bewertet: außerhalb des möglichen Wertebereichs (Fehler in der Quelle)"),
    "inconsistent_value": ("not scored: larger than the sum of its parts in the same release (contradiction in the "
                           "source)",
                           "nicht bewertet: größer als die Summe seiner Teile in derselben Veröffentlichung "
                           "(Widerspruch in der Quelle)"),
    "contradictory_values": ("not scored: contradicts another value of the same release and date (a mean distance "
                             "under the radius, while the share of residents within the radius is published as 0)",
                             "nicht bewertet: widerspricht einem anderen Wert derselben Veröffentlichung zum selben "
                             "Stichtag (die mittlere Entfernung ist kleiner als der Radius, in dem laut Quelle 0 % der "
                             "Einwohner wohnen; Fehler in der Quelle)"),
    "implausible_fall": ("not scored: the supply share of a later release of the same source lies below an earlier "
                         "one by more than the source's bound for a fall; a supply does not vanish, so the values "
                         "before and after contradict each other and nothing says which is wrong (publisher error)",
                         "nicht bewertet: der Versorgungsanteil einer späteren Veröffentlichung derselben Quelle liegt "
                         "um mehr unter einem früheren, als die Quelle für einen Rückgang zulässt; eine Versorgung "
                         "verschwindet nicht, die Werte davor und danach widersprechen sich, und welcher falsch ist, "
                         "sagt die Quelle nicht (Fehler in der Quelle)"),
    "series_spike": ("not scored: differs from the values of the year before and the year after, in the same "
                     "direction, by more than the source's year-on-year bound (publisher error)",
                     "nicht bewertet: weicht vom Wert des Vorjahres und des Folgejahres in dieselbe Richtung um mehr "
                     "ab, als sich der Wert dieser Quelle in einem Jahr plausibel ändert (Fehler in der Quelle)"),
    "no_inhabitants": ("not scored: the area had no inhabitants at the value's date (an uninhabited gemeindefreies "
                       "Gebiet), so a share of its households, residents or employees, or a yearly rate of its "
                       "population, describes nobody",
                       "nicht bewertet: das Gebiet hatte zum Stichtag keine Einwohner (unbewohntes gemeindefreies "
                       "Gebiet), ein Anteil seiner Haushalte, Einwohner oder Beschäftigten, auch eine jährliche "
                       "Veränderungsrate seiner Einwohnerzahl, beschreibt niemanden"),
}
# the exclusions a value's rendered text names ("nicht bewertet: …"); a context indicator's is said by its pillar
# (Kontext). An excluded value must say so: Nieste's 10-year change, over a 2 % area change, stood unmarked in the
# table of the values its score rests on (analytics review, 4 December)
SCORE_EXCLUSIONS = set(EXCLUDED_REASON) - {"context_indicator"}  # why a value of a pillar is not scored
# implausible_step is a territorial code too, rendered with the same sentence (CODES): named once
RENDERED_EXCLUSIONS = SCORE_EXCLUSIONS - {"implausible_step"}

# method_break (boolean) and omitted_pillars (pillar ids) render with these
OTHER = {
    "method_break": ("method break: the publisher's method changed since the previous value",
                     "Methodenwechsel: die Erhebungsmethode des Herausgebers hat sich seit dem Vorwert geändert"),
    "base_period": ("base year {}", "Basisjahr {}"),
    "carried_forward": ("carried forward from {}", "fortgeschrieben aus {}"),
    "omitted_pillar": ("{} not scored: no data from {} for this period",
                       "{} nicht bewertet: keine Daten (Quellen: {}) für diesen Zeitraum"),
    "uncompared_pillar": ("{} not in the score: fewer than half of the towns have it for this period, and one ranking "
                          "compares the same pillars for every town",
                          "{} nicht im Gesamtwert: weniger als die Hälfte der Gemeinden hat in diesem Zeitraum Daten "
                          "dazu, und der Rang vergleicht alle Gemeinden auf denselben Säulen"),
}

# plausibility of a territorial step (territorial_changes.plausibility)
PLAUSIBILITY = {
    "official": ("from the Destatis change lists (not tested)", "aus den Destatis-Gebietsänderungslisten"),
    "ok": ("inferred, population and geography plausible", "erschlossen, Einwohner und Lage plausibel"),
    "unchecked": ("inferred, no neighbouring population or coordinates to test it",
                  "erschlossen, ohne Einwohnerzahlen oder Koordinaten zur Prüfung"),
    "population_jump": ("inferred, rejected: predecessors' population does not continue into the successor's",
                        "erschlossen, verworfen: Einwohnerzahl der Vorgänger setzt sich beim Nachfolger nicht fort"),
    "too_far": ("inferred, rejected: a predecessor lies too far from the successor",
                "erschlossen, verworfen: eine Vorgängergemeinde liegt zu weit vom Nachfolger entfernt"),
}

CODES = {**TERRITORIAL_CHANGE, **SOURCE_LEVEL, **EXCLUDED_REASON, **OTHER, **PLAUSIBILITY}


def label(code: str, lang: str = "de") -> str:
    """The English or German label of a code; a KeyError names an unknown code (no silent English)."""
    if lang not in ("de", "en"):
        raise ValueError(f"lang must be 'de' or 'en', not {lang!r}")
    english, german = CODES[code]
    return german if lang == "de" else english


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not False \
        and value != ""


def render_value_note(territorial_change=None, method_break=False, source_level=None, base_period=None,
                      lang: str = "en", excluded_reason=None) -> str | None:
    """The note of one indicator value, from its typed columns (None when there is nothing to say)."""
    parts = []
    if excluded_reason in RENDERED_EXCLUSIONS:
        parts.append(label(excluded_reason, lang))
    if _present(base_period):
        parts.append(label("base_period", lang).format(int(base_period)))
    if _present(source_level) and source_level != "gemeinde":
        parts.append(label(source_level, lang))
    if _present(territorial_change):
        parts.append(label(territorial_change, lang))
    if _present(method_break) and bool(method_break):
        parts.append(label("method_break", lang))
    return "; ".join(parts) or None


def render_omitted(omitted_pillars, sources: dict[str, list[str]] | None = None, lang: str = "en",
                   pillar_names: dict[str, str] | None = None, uncompared=None) -> str | None:
    """The note of an index row from its ``omitted_pillars`` and ``uncompared_pillars`` (comma-separated pillar ids).

    ``sources``: pillar -> the source ids it would need; ``pillar_names`` (e.g. German labels) replace the ids.
    """
    sources, names = sources or {}, pillar_names or {}
    parts = [label("omitted_pillar", lang).format(names.get(p, p), ", ".join(sources.get(p, [])) or "?")
             for p in pillar_ids(omitted_pillars)]
    parts += [label("uncompared_pillar", lang).format(names.get(p, p)) for p in pillar_ids(uncompared)]
    return "; ".join(parts) or None


def pillar_ids(pillars) -> list[str]:
    """The pillar ids of a typed comma-separated column value (omitted_, uncompared_, missing_pillars); [] for none
    (None, NaN, pd.NA, '': anything not text)."""
    return [p.strip() for p in pillars.split(",") if p.strip()] if isinstance(pillars, str) else []


def render_method_break(previous_generation: str, generation: str) -> str:
    """English note of a method break between two publisher generations (sources.yaml names them)."""
    return f"method break: {previous_generation} -> {generation}"


# ---- the same texts as DuckDB expressions, for the German exports (rows stream from SQL, no Python per row) ----

def sql_text(value: str) -> str:
    """A SQL string literal (single quotes doubled); indicators/publisher_notes.py writes its SQL with it too."""
    return "'" + value.replace("'", "''") + "'"


def _case(column: str, codes, lang: str) -> str:
    """``label(code, lang)`` of the code in ``column`` (NULL for no code)."""
    whens = " ".join(f"WHEN {sql_text(c)} THEN {sql_text(label(c, lang))}" for c in sorted(codes))
    return f"CASE CAST({column} AS VARCHAR) {whens} END"


def _formatted(code: str, lang: str, value: str) -> str:
    """``label(code, lang).format(value)`` for one SQL value; NULL when the value is NULL."""
    before, after = label(code, lang).split("{}")
    return f"({sql_text(before)} || {value} || {sql_text(after)})"


def value_note_sql(lang: str, prefix: str = "") -> str:
    """``render_value_note`` of each row as a SQL expression over the typed columns (``prefix``: a table alias
    with its dot). ``tests/unit/indicators/test_flags.py`` checks both give the same text for every code."""
    c = {name: prefix + name for name in ("excluded_reason", "base_period", "source_level", "territorial_change",
                                           "method_break")}
    parts = [_case(c["excluded_reason"], RENDERED_EXCLUSIONS, lang),
             _formatted("base_period", lang, f"CAST(CAST({c['base_period']} AS BIGINT) AS VARCHAR)"),
             f"CASE WHEN CAST({c['source_level']} AS VARCHAR) <> 'gemeinde' "
             f"THEN {_case(c['source_level'], SOURCE_LEVEL, lang)} END",
             _case(c["territorial_change"], TERRITORIAL_CHANGE, lang),
             f"CASE WHEN {c['method_break']} THEN {sql_text(label('method_break', lang))} END"]
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


def imputation_sql(lang: str, prefix: str = "") -> str:
    """The imputation text of a carried-forward value ('fortgeschrieben aus 2019'), NULL for an observed one."""
    year = f"CAST(year({prefix}reference_date) AS VARCHAR)"
    return f"CASE WHEN {prefix}imputed THEN {_formatted('carried_forward', lang, year)} END"


def omitted_sql(lang: str, sources: dict[str, list[str]], pillar_names: dict[str, str], prefix: str = "") -> str:
    """``render_omitted`` of each index row as a SQL expression over ``omitted_pillars`` and ``uncompared_pillars``."""
    def each(column: str, render, unknown: str) -> str:
        whens = " ".join(f"WHEN {sql_text(p)} THEN {sql_text(render(p))}" for p in sorted(pillar_names))
        ids = f"list_filter(string_split(CAST({prefix}{column} AS VARCHAR), ','), lambda p: trim(p) <> '')"
        listed = f"list_transform({ids}, lambda p: CASE trim(p) {whens} ELSE {unknown} END)"
        return f"nullif(array_to_string({listed}, '; '), '')"

    def by_id(code: str) -> str:  # an id the catalogue does not name: as render_omitted writes it (sources '?')
        before, after = label(code, lang).split("{}", 1)
        return f"({sql_text(before)} || trim(p) || {sql_text(after.replace('{}', '?'))})"

    omitted = each("omitted_pillars", lambda p: label("omitted_pillar", lang).format(
        pillar_names[p], ", ".join(sources.get(p, [])) or "?"), by_id("omitted_pillar"))
    uncompared = each("uncompared_pillars", lambda p: label("uncompared_pillar", lang).format(pillar_names[p]),
                      by_id("uncompared_pillar"))
    return f"nullif(concat_ws('; ', {omitted}, {uncompared}), '')"
