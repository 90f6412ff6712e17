"""Typed flags render to English and German from one place (indicators/flags.py)."""

from __future__ import annotations

import pytest

from indicators import compute, flags
from staging import crosswalk

ENGLISH_WORDS = {"territorial", " change", "value", "merger", "not scored", "weighted", "method ", "the ", " of "}


@pytest.mark.parametrize("code", sorted(flags.CODES))
def test_every_code_has_an_english_and_a_german_label(code: str):
    english, german = flags.label(code, "en"), flags.label(code, "de")
    assert english and german and english != german
    assert not {w for w in ENGLISH_WORDS if w in german.lower()}, german  # no English on German pages


def test_every_code_the_pipeline_writes_has_labels():
    written = {"recode", "merger", "merger_weighted", crosswalk.INTERNAL_COMMUTING, "partial_transfer", "split",
               "area_change", "implausible_step",
               "minor_transfer", "uninhabited_gain", "publisher_restated", crosswalk.PUBLISHER_COMMUTING,
               "verband_restated", *flags.EARLIER_TERRITORY.values()}
    assert written <= set(flags.TERRITORIAL_CHANGE)
    assert not set(flags.EARLIER_TERRITORY.values()) & flags.NOT_COMPARABLE  # scored
    # the crosswalk's code for a restated population or area on an earlier territory is an observation's code; the
    # restatement caveats' variants are the indicator step's only
    assert crosswalk.EARLIER_TERRITORY_CODE in flags.OBSERVATION_CHANGE
    assert set(flags.EARLIER_TERRITORY.values()) - {crosswalk.EARLIER_TERRITORY_CODE} <= set(flags.CHANGE_ONLY)
    assert flags.NOT_COMPARABLE <= set(flags.TERRITORIAL_CHANGE)
    assert {compute.excluded_reason(c) for c in written} - {None} <= set(flags.EXCLUDED_REASON)
    assert crosswalk.REJECTED <= set(flags.PLAUSIBILITY)
    assert {"official", "ok", "unchecked"} <= set(flags.PLAUSIBILITY)


def test_notes_are_rendered_from_the_typed_columns_in_both_languages():
    assert flags.render_value_note(None, False, "gemeinde", None) is None
    assert flags.render_value_note("merger_weighted", False, "gemeindeverband", 2013.0) == (
        "base year 2013; value of the Gemeindeverband (shared by its member Gemeinden); restated to the current "
        "territory: the predecessors' shares, rates or averages weighted by population (approximate weight)")
    assert flags.render_value_note("area_change", True, "gemeinde", float("nan"), lang="de") == (
        "Gebietsänderung: Fläche um mehr als 2 % verändert; die Werte sind nicht auf einen gemeinsamen "
        "Gebietsstand umgerechnet; Methodenwechsel: die "
        "Erhebungsmethode des Herausgebers hat sich seit dem Vorwert geändert")
    assert flags.render_omitted("local_work_infrastructure", {"local_work_infrastructure": ["osm_coworking"]}) == \
        "local_work_infrastructure not scored: no data from osm_coworking for this period"
    assert flags.render_omitted(None) is None


def test_unknown_codes_and_languages_fail_loudly():
    with pytest.raises(KeyError):
        flags.label("territorial change: area 1 -> 2 km2")
    with pytest.raises(ValueError):
        flags.label("merger", lang="fr")


def test_the_sql_notes_are_the_python_ones_for_every_code():
    """The German exports render the notes in SQL as rows stream: the same text as render_value_note, in both
    languages, for every combination of codes (and none)."""
    import itertools

    import duckdb

    combos = list(itertools.product([None, "impossible_value", "territorial_change"], [None, 2013],
                                    [None, "", *flags.SOURCE_LEVEL], [None, "", *flags.TERRITORIAL_CHANGE],
                                    [None, False, True]))
    con = duckdb.connect()
    con.execute("CREATE TABLE v (excluded_reason VARCHAR, base_period INTEGER, source_level VARCHAR, "
                "territorial_change VARCHAR, method_break BOOLEAN)")
    con.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?)", combos)
    for lang in ("de", "en"):
        got = con.execute(f"SELECT {flags.value_note_sql(lang)} FROM v").fetchall()
        expected = [flags.render_value_note(t, m, s, b, lang=lang, excluded_reason=e) for e, b, s, t, m in combos]
        assert [row[0] for row in got] == expected


def test_the_sql_index_notes_and_imputation_are_the_python_ones():
    import duckdb

    names = {"digital_infrastructure": "Digitale Infrastruktur", "local_work_infrastructure": "Lokale Arbeitsinfrastruktur"}
    sources = {"local_work_infrastructure": ["OpenStreetMap", "eigene Angaben"]}
    rows = [(None, None), ("local_work_infrastructure", None), (None, "local_work_infrastructure"),
            ("digital_infrastructure, local_work_infrastructure", "digital_infrastructure"), ("", ""),
            ("new_pillar", "other_pillar"), (" , ", None)]  # ids the catalogue does not name: by their id
    con = duckdb.connect()
    con.execute("CREATE TABLE r (omitted_pillars VARCHAR, uncompared_pillars VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?)", rows)
    got = [row[0] for row in con.execute(f"SELECT {flags.omitted_sql('de', sources, names)} FROM r").fetchall()]
    assert got == [flags.render_omitted(o, sources, "de", names, u) for o, u in rows]
    assert got[5].startswith("new_pillar nicht bewertet: keine Daten (Quellen: ?)")
    assert got[1] == "Lokale Arbeitsinfrastruktur nicht bewertet: keine Daten (Quellen: OpenStreetMap, eigene Angaben) " \
                     "für diesen Zeitraum"
    carried = con.execute(f"SELECT {flags.imputation_sql('de')} FROM (VALUES (TRUE, DATE '2019-06-30'), "
                          "(FALSE, DATE '2021-12-31')) t(imputed, reference_date)").fetchall()
    assert carried == [("fortgeschrieben aus 2019",), (None,)]


def test_an_excluded_value_says_so_once():
    """implausible_step is a territorial code and an exclusion with one sentence: it was printed twice."""
    note = flags.render_value_note(territorial_change="implausible_step", excluded_reason="implausible_step", lang="de")
    assert note.count("nicht bewertet") == 1
    note = flags.render_value_note(territorial_change="partial_transfer", excluded_reason="territorial_change")
    assert note.startswith("not scored: a territorial change lies within the value's period") and note.count(";") == 1
