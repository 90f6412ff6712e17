"""What a town page puts beside its headline score: the indicator values of that period (an older value that no
longer counts or a provisional year's apart), carried-forward marks in the change table, and a rank outside its
own band said in words. Found by an audit of the pilot pages (3 December 2026)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from reports.context import _carried_de, indicator_sections, rank_outside_band
from staging.crosswalk import KREIS_MOVE_COLUMNS


def row(indicator_id: str, period: int) -> dict:
    return {"indicator_id": indicator_id, "period": period}


def test_the_indicator_table_holds_the_headline_periods_values_and_lists_the_others_apart():
    rows = [row("population_change_10y", 2021), row("population_change_5y", 2018),  # no value since 2018
            row("gigabit_coverage", 2021), row("fibre_coverage", 2023)]  # only a provisional year's
    sections = indicator_sections(rows, {"period": 2021})
    assert sections["indicators_period"] == 2021
    assert [r["indicator_id"] for r in sections["indicators"]] == ["population_change_10y", "gigabit_coverage"]
    assert [r["indicator_id"] for r in sections["indicators_elsewhere"]] == ["population_change_5y", "fibre_coverage"]


def test_without_a_headline_every_value_is_shown():
    rows = [row("gigabit_coverage", 2021), row("population_change_5y", 2018)]
    assert indicator_sections(rows, None) == {"indicators_period": None, "indicators": rows, "indicators_elsewhere": []}


def test_a_carried_forward_value_of_a_change_names_its_year():
    assert _carried_de(True, pd.Timestamp("2013-12-31")) == "fortgeschrieben aus 2013"
    assert _carried_de(False, pd.Timestamp("2018-12-31")) == ""
    assert _carried_de(None, None) == ""  # no value in that period (a new or dropped indicator)


def test_a_rank_outside_its_own_band_is_flagged():
    assert rank_outside_band({"rank": 38, "rank_p05": 40.0, "rank_p95": 493.0})
    assert rank_outside_band({"rank": 53, "rank_p05": 7.0, "rank_p95": 51.0})
    assert not rank_outside_band({"rank": 7, "rank_p05": 7.0, "rank_p95": 19.0})
    assert not rank_outside_band({"rank": None, "rank_p05": 34.0, "rank_p95": 78.0})
    assert not rank_outside_band({"rank": 7, "rank_p05": float("nan"), "rank_p95": float("nan")})


def test_a_population_change_across_a_census_names_it():
    """Plön 2009 -> 2013: 12,856 -> 8,647 inhabitants on the same area is the Zensus 2011's recount."""
    from indicators.publisher_notes import census_note

    gv = "destatis_gemeindeverzeichnis"
    assert census_note(gv, 2009, pd.Timestamp("2013-12-31")) == \
        "enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011"
    assert census_note(gv, 2002, pd.Timestamp("2023-12-31")) == \
        "enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011"
    assert census_note(gv, 2013, pd.Timestamp("2021-12-31")) == ""  # both on the Zensus 2011's count
    # the Gemeindeverzeichnis' counts of 31.12.2023 still rest on the Zensus 2011 (its Q4/2024 file says so)
    assert census_note(gv, 2013, pd.Timestamp("2023-12-31")) == ""
    assert census_note("regionalstatistik", 2013, pd.Timestamp("2022-12-31")).endswith("Zensus 2022")
    assert census_note("breitbandatlas", 2009, pd.Timestamp("2013-12-31")) == ""  # not a population source
    assert census_note(gv, None, pd.Timestamp("2013-12-31")) == ""  # a level, not a change


def test_a_population_change_across_2016_says_the_publisher_calls_it_only_partly_comparable():
    """Destatis' footnote to its counts since 2016 ("nur bedingt mit den Vorjahreswerten vergleichbar"): the published
    2021 index's 10-year change (base 2013) spans it and was shown with "Basisjahr 2013" alone."""
    from reports.context import quality_de
    from indicators.publisher_notes import change_notes, comparability_note

    gv = "destatis_gemeindeverzeichnis"
    partly = "Einwohnerzahlen ab 2016 nur bedingt mit den Vorjahren vergleichbar (methodische Änderungen der Bevölkerungsfortschreibung)"
    assert comparability_note(gv, 2013, pd.Timestamp("2021-12-31")) == partly
    assert comparability_note(gv, 2016, pd.Timestamp("2021-12-31")) == ""  # both counts of the changed method
    assert comparability_note(gv, 2009, pd.Timestamp("2013-12-31")) == ""  # before it
    assert comparability_note("breitbandatlas", 2013, pd.Timestamp("2021-12-31")) == ""
    assert change_notes(gv, 2009, pd.Timestamp("2021-12-31")) == (
        f"enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011; {partly}")
    row = {"source_id": gv, "base_period": 2013, "reference_date": pd.Timestamp("2021-12-31")}
    assert quality_de(row).endswith(partly)  # the note the town page and the profile show beside the value


def test_the_change_tables_marks_join_carried_forward_and_census():
    """The drivers' values are noted as the indicator table notes them (``quality_de``): carried forward, base year,
    restated onto today's territory or a Gemeindeverband's value, census and break. Dippoldiswalde's population
    changes, restated after its mergers, and Langelsheim's Verband values stood in the drivers without a word
    (audit of 7 December 2026)."""
    from reports.context import _value_marks

    row = {"imputed_from": True, "date_from": pd.Timestamp("2013-12-31"), "source_from": "destatis_gemeindeverzeichnis",
           "base_from": 2002, "imputed_to": False, "date_to": pd.Timestamp("2021-12-31"),
           "source_to": "destatis_gemeindeverzeichnis", "base_to": 2013, "territorial_change_to": "merger"}
    assert _value_marks(row, "from") == ("fortgeschrieben aus 2013; Basisjahr 2002; enthält die Neuberechnung der "
                                         "Einwohnerzahl nach dem Zensus 2011")
    restated = _value_marks(row, "to")
    assert restated.startswith("Basisjahr 2013; auf den heutigen Gebietsstand umgerechnet")
    assert restated.endswith("Einwohnerzahlen ab 2016 nur bedingt mit den Vorjahren vergleichbar (methodische "
                             "Änderungen der Bevölkerungsfortschreibung)")  # 2013 -> 2021 spans Destatis' 2016 break
    verband = {"imputed_to": True, "date_to": pd.Timestamp("2019-06-30"), "source_to": "inkar",
               "source_level_to": "gemeindeverband"}
    assert _value_marks(verband, "to").startswith("fortgeschrieben aus 2019; Wert des Gemeindeverbands")


def test_a_pillar_the_town_cannot_act_on_is_no_field_for_action():
    """Mölln 2021: commuting potential 13.9 points below the similar towns is where people work, not a deficit."""
    from reports.context import summary

    pillars = [{"pillar": "commuting_potential", "label": "Pendelpotenzial", "value": 50.0},
               {"pillar": "accessibility", "label": "Erreichbarkeit", "value": 74.5}]
    peers = [{"period": 2021, "gaps": [{"pillar": "commuting_potential", "value": 13.9},
                                       {"pillar": "accessibility", "value": 5.3}]}]
    result = summary(pillars, peers, 2021)
    assert [i["label"] for i in result["actions"]] == ["Erreichbarkeit"]
    assert [i["label"] for i in result["location"]] == ["Pendelpotenzial"]
    assert "Nachfrage nach Arbeitsplätzen vor Ort" in result["location"][0]["why_de"]


def test_growth_is_context_not_a_field_for_action():
    """Wittenberge 2021: "Demografische Dynamik: 38,7 Punkte … 7,1 Punkte unter den ähnlichen Städten – dort lässt
    sich lernen", while the methodology calls growth context a town does not change quickly (section 1.1)."""
    from reports.context import summary

    pillars = [{"pillar": "demographic_dynamics", "label": "Demografische Dynamik", "value": 38.7}]
    peers = [{"period": 2021, "gaps": [{"pillar": "demographic_dynamics", "value": 7.1}]}]
    result = summary(pillars, peers, 2021)
    assert result["actions"] == [] and [i["label"] for i in result["location"]] == ["Demografische Dynamik"]
    assert "wächst oder schrumpft" in result["location"][0]["why_de"]


def test_the_history_marks_a_rank_outside_its_band():
    from reports.context import DataDates, history_section

    base = {"score": 50.0, "score_p05": 45.0, "score_p95": 55.0, "compared_towns": 3175, "imputed_share": 0.25,
            "provisional": False}
    history = [{**base, "period": 2018, "rank": 38, "rank_p05": 40.0, "rank_p95": 493.0},
               {**base, "period": 2021, "rank": 7, "rank_p05": 7.0, "rank_p95": 19.0}]
    section = history_section(history, DataDates([]), "01053090")
    assert [r["outside_band"] for r in section["rows"]] == [True, False] and section["any_outside_band"]


def test_inkars_zero_minutes_to_the_station_says_the_station_is_in_the_town():
    """Wittenberge, INKAR 2020 (x336): 0.0 car minutes to the next IC/ICE station, INKAR's mark for a station in
    the Gemeindeverband; the page said '0,0 Minuten mit dem Pkw' as if it were a measured time."""
    from reports.context import indicator_rows

    def value_row(indicator_id, value):
        return {"indicator_id": indicator_id, "value": value, "pillar": "accessibility", "label": indicator_id,
                "unit": "minutes by car", "source_id": "inkar", "vintage": "2022-12", "attribution": "",
                "period": 2021, "reference_date": pd.Timestamp("2020-12-31"), "imputed": False}

    rows = indicator_rows([value_row("ic_ice_station_car_minutes", 0.0), value_row("oberzentrum_car_minutes", 70.69),
                           value_row("ic_ice_station_car_minutes", 12.5)])
    assert [r["zero_de"] for r in rows] == ["IC/ICE-Halt in der Gemeinde", "", ""]
    # Freyung, INKAR 2018 (x346): 0 % within 1 km of a frequent stop, a Kreisstadt; 133 of INKAR's 147 Verbände with
    # exactly 0 are Bavarian, likely timetables missing from INKAR's data: the page says so beside the 0
    transit = indicator_rows([{**value_row("transit_stop_within_1km_share", 0.0), "unit": "% of residents"}])
    assert "Fahrplandaten" in transit[0]["zero_de"]


def test_a_peer_is_something_to_learn_from_only_where_the_summary_says_so():
    """Mölln 2021: Ratzeburg was listed under "Von ihr lernen bei" for Pendelpotenzial (a pillar the town cannot act
    on) and Erreichbarkeit (+0.7 points), while the summary counts a gap from 5 points and never counts commuting.
    Nor growth: Wittenberge was to learn Demografische Dynamik from its peers (review of 6 December 2026)."""
    from reports.context import SUMMARY_GAP, peer_rows

    row = {"gap_digital_infrastructure": SUMMARY_GAP, "gap_commuting_potential": 13.9,
           "gap_demographic_dynamics": 8.0, "gap_local_work_infrastructure": None, "gap_accessibility": 0.7}
    [result] = peer_rows([dict(row)])
    assert result["ahead_in"] == ["Digitale Infrastruktur"]
    [behind] = peer_rows([{**row, "gap_digital_infrastructure": -20.0, "gap_accessibility": 4.94}])
    assert behind["ahead_in"] == []
    [shown] = peer_rows([{**row, "gap_digital_infrastructure": -20.0, "gap_accessibility": 4.96}])
    assert shown["ahead_in"] == ["Erreichbarkeit"]  # shown as +5,0 beside it, so it counts


def test_a_kreis_whose_name_says_kreis_is_not_called_kreis_twice():
    from reports.labels import in_kreis

    assert in_kreis("Prignitz") == "im Kreis Prignitz"
    assert in_kreis("Rheingau-Taunus-Kreis") == "im Rheingau-Taunus-Kreis"
    assert in_kreis("Oberbergischer Kreis") == "im Oberbergischen Kreis"
    assert in_kreis("Eifelkreis Bitburg-Prüm") == "im Eifelkreis Bitburg-Prüm"
    assert in_kreis(None, "06439") == "im Kreis 06439"
    # the forms of municipalities.kreis_name for the kreisfreie Städte and the Regionen
    assert in_kreis("Heidelberg, Stadtkreis") == "im Stadtkreis Heidelberg"
    assert in_kreis("Pirmasens, kreisfreie Stadt") == "in der kreisfreien Stadt Pirmasens"
    assert in_kreis("Frankfurt (Oder), Stadt") == "in der kreisfreien Stadt Frankfurt (Oder)"
    assert in_kreis("Region Hannover") == "in der Region Hannover"
    assert in_kreis("Städteregion Aachen") == "in der Städteregion Aachen"
    assert in_kreis("Regionalverband Saarbrücken") == "im Regionalverband Saarbrücken"
    assert in_kreis("Landkreis Rostock") == "im Landkreis Rostock"
    # a kreisfreie Stadt whose register name does not say so (Bavaria, Schwerin, Rostock): kreise.designation
    assert in_kreis("Schweinfurt", "09662", "Kreisfreie Stadt") == "in der kreisfreien Stadt Schweinfurt"
    assert in_kreis("Schweinfurt", "09678", "Landkreis") == "im Landkreis Schweinfurt"
    assert in_kreis("Prignitz", "12070", "Landkreis") == "im Landkreis Prignitz"
    assert in_kreis("Herzogtum Lauenburg", "01053", "Kreis") == "im Kreis Herzogtum Lauenburg"
    assert in_kreis("Heidelberg, Stadtkreis", "08221", "Stadtkreis") == "im Stadtkreis Heidelberg"


def test_the_kreis_as_a_noun_is_the_phrase_without_its_preposition():
    """``kreis_de`` (readiness profil's header) says the Kreis as ``in_kreis`` does on the pages, in the nominative."""
    from reports.labels import in_kreis, kreis_de

    cases = {("Prignitz", "12070", "Landkreis"): "Landkreis Prignitz",
             ("Herzogtum Lauenburg", "01053", "Kreis"): "Kreis Herzogtum Lauenburg",
             ("Oberbergischer Kreis", None, None): "Oberbergischer Kreis",
             ("Schweinfurt", "09662", "Kreisfreie Stadt"): "kreisfreie Stadt Schweinfurt",
             ("Heidelberg, Stadtkreis", None, None): "Stadtkreis Heidelberg",
             ("Region Hannover", None, None): "Region Hannover",
             ("Regionalverband Saarbrücken", None, None): "Regionalverband Saarbrücken",
             (None, "06439", None): "Kreis 06439"}
    for args, noun in cases.items():
        assert kreis_de(*args) == noun
        phrase = in_kreis(*args)
        assert phrase.split(" ", 2 if phrase.startswith("in der") else 1)[-1].replace(
            "kreisfreien", "kreisfreie").replace("Oberbergischen", "Oberbergischer") == noun


def test_a_german_list_ends_with_und():
    from reports.labels import de_list

    assert [de_list([]), de_list(["A"]), de_list([2019, 2020]), de_list(["A", "B", "C"])] == [
        "", "A", "2019 und 2020", "A, B und C"]


def test_the_summary_averages_the_gaps_the_peer_table_shows():
    """Mölln 2021: the peer table shows +8,0 +2,2 +23,2 +24,0 +12,4 for Pendelpotenzial (mean 13,96, so 14,0); the
    summary said 13,9, the mean of the unrounded gaps."""
    from reports.context import summary

    pillars = [{"pillar": "commuting_potential", "label": "Pendelpotenzial", "value": 50.0}]
    peers = [{"period": 2021, "gaps": [{"pillar": "commuting_potential", "value": v}]}
             for v in (7.96, 2.24, 23.15, 23.96, 12.35)]
    assert summary(pillars, peers, 2021)["location"][0]["gap"] == 14.0


def test_a_pillar_whose_values_are_not_scored_says_so_not_that_data_are_missing():
    """Nieste 2023: its 10-year change exists (1,39 % a year) but spans a 2 % area change; the page said "Es fehlen
    Daten für Demografische Dynamik" beside the value (analytics review, 4 December)."""
    from reports.context import excluded_pillars, overview, pillar_rows
    from reports.labels import PILLARS

    rows = [{"period": 2023, "pillar": "demographic_dynamics", "excluded_reason": "territorial_change"},
            {"period": 2023, "pillar": "accessibility", "excluded_reason": None},
            {"period": 2023, "pillar": "accessibility", "excluded_reason": "impossible_value"},
            {"period": 2021, "pillar": "commuting_potential", "excluded_reason": "territorial_change"},
            {"period": 2023, "pillar": "context", "excluded_reason": "context_indicator"}]
    excluded = excluded_pillars(rows, 2023)
    reason = ("nicht bewertet: eine Gebietsänderung fällt in den Zeitraum des Werts, er beschreibt nicht die Gemeinde "
              "in ihrem Gebiet")
    assert excluded == {"demographic_dynamics": reason}  # accessibility has a scored value; 2021 is another period
    latest = {"period": 2023, "score": None, "missing_pillars": "demographic_dynamics, commuting_potential",
              "omitted_pillars": None, "uncompared_pillars": None, **{p: None for p in PILLARS}}
    shown = overview(latest, [latest], [], excluded)  # no input dates
    assert shown["missing"] == ["Pendelpotenzial"]
    assert shown["unscorable"] == [{"label": "Demografische Dynamik", "reason": reason}]
    reasons = {r["pillar"]: r["reason"] for r in pillar_rows(latest, None, excluded)}
    assert reasons["demographic_dynamics"] == f"{reason}; ohne diese Säule gibt es keinen Gesamtwert"
    assert reasons["commuting_potential"] == "keine Daten für diesen Zeitraum; ohne diese Säule gibt es keinen Gesamtwert"
    # a pillar the town has no value of in any year (INKAR lists no Tangstedt, Stormarn): said so, with its sources
    reasons = {r["pillar"]: r["reason"] for r in pillar_rows(latest, None, excluded, {"demographic_dynamics"})}
    assert reasons["commuting_potential"] == (
        "in keinem Jahr Daten für diese Gemeinde (Quellen: Pendlerstatistik der BA, INKAR (BBSR), Pendleratlas "
        "(Statistische Ämter)); ohne diese Säule gibt es keinen Gesamtwert")
    assert reasons["demographic_dynamics"] == f"{reason}; ohne diese Säule gibt es keinen Gesamtwert"
    # an optional pillar left out of the period's score (omitted_pillars) says it alike when the town never had it
    omitted = {**latest, "omitted_pillars": "local_work_infrastructure"}
    assert [r["reason"] for r in pillar_rows(omitted, None, excluded, {"demographic_dynamics"})
            if r["pillar"] == "local_work_infrastructure"] == [
        "in keinem Jahr Daten für diese Gemeinde (Quellen: eigene Angaben der Stadt, Coworking-Spaces (OpenStreetMap))"]
    assert [r["reason"] for r in pillar_rows(omitted, None, excluded, {"local_work_infrastructure"})
            if r["pillar"] == "local_work_infrastructure"] == [
        "keine Daten (Quellen: eigene Angaben der Stadt, Coworking-Spaces (OpenStreetMap)) für diesen Zeitraum"]


def test_a_pillar_excluded_for_two_reasons_names_them_in_one_order():
    """The rows come in the query's order, which varies between builds: the page's wording must not."""
    from reports.context import excluded_pillars

    rows = [{"period": 2023, "pillar": "accessibility", "excluded_reason": "territorial_change"},
            {"period": 2023, "pillar": "accessibility", "excluded_reason": "impossible_value"},
            {"period": 2023, "pillar": "accessibility", "excluded_reason": "impossible_value"}]
    forward, backward = excluded_pillars(rows, 2023), excluded_pillars(rows[::-1], 2023)
    assert forward == backward
    assert forward["accessibility"].count("; ") == 1  # two reasons, each once

def history_context(history: list[dict]) -> dict:
    """The context of a town page with only its history filled: what reports.tables.town_tables reads."""
    from reports.context import DataDates, history_section

    return {"town": {"ags": "14729040", "name": "Böhlen"},
            "history": history_section(history, DataDates([]), "14729040"),
            "pillars": [], "drivers": [], "indicators": [], "indicators_elsewhere": [], "indicators_period": None,
            "peers": [], "commuting": {"rows": []}, "coworking": {"rows": []}, "mobile": {"rows": []}}


def indexverlauf(context: dict) -> list[dict]:
    from reports.downloads import Table
    from reports.tables import town_tables

    tables = town_tables(context, [], Table("datenstand", "Datenstand", []))
    return next(t for t in tables if t.key == "indexverlauf").rows


def test_the_indexverlauf_download_says_which_rank_lies_outside_its_band():
    """The page flags a rank outside its own 5-95 % band ("Rang außerhalb"); the download had no such column
    (review of 5 December 2026: 90 ranks of 2018 Germany-wide)."""
    base = {"score": 50.0, "score_p05": 45.0, "score_p95": 55.0, "compared_towns": 3175, "imputed_share": 0.25,
            "provisional": False, "missing_pillars": None}
    history = [{**base, "period": 2018, "rank": 38, "rank_p05": 40.0, "rank_p95": 493.0},
               {**base, "period": 2021, "rank": 7, "rank_p05": 7.0, "rank_p95": 19.0},
               {**base, "period": 2023, "score": None, "rank": None, "rank_p05": None, "rank_p95": None}]
    rows = indexverlauf(history_context(history))
    assert [r["Rang außerhalb des Rangbands"] for r in rows] == ["ja", "nein", None]


# Freiburg (Elbe) 03359018 (review of 5 December 2026): 2018 has no car times (they start in 2020) but the 5-year
# population change (which ends after 2018); its 60.4 stood beside 2021's 51.2 as one series.
DIGITAL = "broadband_100_coverage,fibre_coverage,gigabit_coverage"
COMMUTING = "long_distance_commuter_share,out_commuter_share"
TRANSIT = "transit_stop_distance,transit_stop_within_1km_share"
SCORED_2018 = f"{DIGITAL},{COMMUTING},population_change_10y,population_change_5y,{TRANSIT}"
SCORED_2021 = (f"{DIGITAL},ic_ice_station_car_minutes,{COMMUTING},oberzentrum_car_minutes,population_change_10y,"
               f"{TRANSIT}")


def freiburg_history() -> tuple[list[dict], list[dict]]:
    base = {"score_p05": 45.0, "score_p95": 55.0, "compared_towns": 3226, "imputed_share": 0.25, "provisional": False,
            "missing_pillars": None, "omitted_pillars": "local_work_infrastructure", "rank": 357, "rank_p05": 178.0,
            "rank_p95": 1303.7}
    history = [{**base, "period": 2018, "score": 60.4}, {**base, "period": 2020, "score": 55.0},
               {**base, "period": 2021, "score": 51.2}, {**base, "period": 2022, "score": 51.2, "provisional": True}]
    scored = [{"period": 2018, "indicators": SCORED_2018},
              {"period": 2020, "indicators": SCORED_2021.replace("population_change_10y,", "")},
              {"period": 2021, "indicators": SCORED_2021}, {"period": 2022, "indicators": SCORED_2021}]
    return history, scored


def test_a_year_whose_score_rests_on_other_indicators_is_marked_not_comparable():
    from reports.context import DataDates, history_section

    history, scored = freiburg_history()
    section = history_section(history, DataDates([]), "03359018", scored, 2021)
    notes = {r["period"]: r["composition_de"] for r in section["rows"]}
    assert notes == {
        2018: "nicht vergleichbar mit 2021: Demografische Dynamik zusätzlich mit Bevölkerungsentwicklung, ca. 5 Jahre; "
              "Erreichbarkeit ohne Pkw-Fahrzeit zum nächsten IC/ICE-Bahnhof und Pkw-Fahrzeit zum nächsten Oberzentrum",
        2020: "nicht vergleichbar mit 2021: Demografische Dynamik ohne Bevölkerungsentwicklung, ca. 10 Jahre",
        2021: "", 2022: ""}
    assert [r["period"] for r in section["not_comparable"]] == [2018, 2020]
    assert section["reference_period"] == 2021
    # the download says it too
    context = history_context(history)
    context["history"] = section
    assert [r["Vergleichbarkeit"] for r in indexverlauf(context)] == [notes[2018], notes[2020], None, None]


def test_the_history_chart_does_not_join_years_of_different_indicators():
    from reports.context import DataDates, history_section

    history, scored = freiburg_history()
    joined = history_section(history, DataDates([]), "03359018")["chart"]
    apart = history_section(history, DataDates([]), "03359018", scored, 2021)["chart"]
    segments = re.compile(r'<line [^>]*stroke-width="1.8"')  # the score line's segments (legend ones included)
    assert len(segments.findall(joined)) - len(segments.findall(apart)) == 2  # 2018-2020 and 2020-2021
    assert "andere Indikatoren" in apart and "andere Indikatoren" not in joined


def test_a_change_across_other_indicators_gives_the_composition_effect():
    from reports.context import drivers

    common = {"ags": "03359018", "period_from": 2018, "period_to": 2021, "score_from": 60.414286,
              "score_to": 51.227976, "pillar": "accessibility"}
    rows = [{**common, "indicator_id": "composition", "label": None, "pillar": None, "contribution": -15.376406,
             "value_from": None, "value_to": None},
            {**common, "indicator_id": "gigabit_coverage", "label": "Gigabit", "contribution": 4.410833,
             "value_from": 4.0, "value_to": 56.93},
            {**common, "indicator_id": "ic_ice_station_car_minutes", "label": "IC", "contribution": None,
             "value_from": None, "value_to": 65.27},
            {**common, "indicator_id": "population_change_5y", "label": "Bevölkerungsentwicklung, ca. 5 Jahre (% pro Jahr)",
             "contribution": None, "value_from": 1.0832, "value_to": None}]
    change = drivers(rows)[0]
    assert change["composition"] == -15.376406
    assert change["entered"] == ["Pkw-Fahrzeit zum nächsten IC/ICE-Bahnhof"]
    assert change["left"] == ["Bevölkerungsentwicklung, ca. 5 Jahre"]
    same = drivers([{**rows[1], "period_from": 2021, "period_to": 2022}])[0]
    assert (same["composition"], same["entered"], same["left"]) == (None, [], [])


def test_a_year_without_a_score_shows_no_carried_forward_share():
    """Mölln 2019 and 2020 have no score, yet the history showed 33 % and 50 % carried forward (review of
    5 December 2026): a share of the inputs of a score that does not exist."""
    base = {"score_p05": None, "score_p95": None, "compared_towns": 0, "provisional": False, "rank": None,
            "rank_p05": None, "rank_p95": None}
    history = [{**base, "period": 2019, "score": None, "imputed_share": 1 / 3, "missing_pillars": "demographic_dynamics"},
               {**base, "period": 2021, "score": 70.2, "imputed_share": 0.5, "missing_pillars": None}]
    context = history_context(history)
    assert [r["imputed_share"] for r in context["history"]["rows"]] == [None, 0.5]
    assert [r["Gewichtsanteil fortgeschriebener Werte (%)"] for r in indexverlauf(context)] == [None, 50.0]


def test_a_year_without_a_rank_compared_no_towns_in_the_download():
    """The page shows "–" for an unscored year's compared towns; the download wrote 0 (review of 5 December)."""
    base = {"score": 50.0, "score_p05": 45.0, "score_p95": 55.0, "compared_towns": 3175, "imputed_share": 0.25,
            "provisional": False, "missing_pillars": None, "rank": 7, "rank_p05": 7.0, "rank_p95": 19.0}
    history = [{**base, "period": 2021},
               {**base, "period": 2023, "score": None, "rank": None, "rank_p05": None, "rank_p95": None,
                "compared_towns": 0}]
    assert [r["verglichene Städte"] for r in indexverlauf(history_context(history))] == [3175, None]


def test_peer_gaps_in_the_download_have_a_scores_decimals_and_their_sign():
    """Two equal pillar scores gave a gap of -7.1e-15 in the page's Vergleichsstädte download (review of 5
    December); the header now says which way the gap runs."""
    from reports.labels import PILLARS, pillar_label
    from reports.tables import town_tables

    peer = {"period": 2021, "rank": 1, "peer_name": "Dollnstein", "peer_ags": "09176121", "peer_kreis": "Eichstätt",
            "similarity": 0.9, "peer_score": 52.34, "score": 50.0, "ahead_in": [],
            **{f"gap_{p}": 1.26 for p in PILLARS}, "gap_commuting_potential": -7.105427357601002e-15}
    context = {"town": {"ags": "09473147", "name": "Stadtsteinach"}, "history": {"rows": []}, "summary": {"period": 2021},
               "pillars": [], "drivers": [], "indicators": [], "indicators_elsewhere": [], "indicators_period": 2021,
               "peers": [peer], "commuting": {"kreis_ags": "09477", "rows": []}, "coworking": {"rows": []},
               "mobile": {"kreis_ags": "09477", "rows": []}}
    row = next(t for t in town_tables(context, []) if t.key == "vergleichsstaedte").rows[0]
    label = pillar_label("commuting_potential")
    assert row[f"Abstand {label} (Vergleichsstadt − Gemeinde)"] == 0.0
    assert str(row[f"Abstand {label} (Vergleichsstadt − Gemeinde)"]) == "0.0"  # not -0.0
    assert row[f"Abstand {pillar_label('accessibility')} (Vergleichsstadt − Gemeinde)"] == 1.3
    assert row["Abstand (Vergleichsstadt − Gemeinde)"] == 2.3


def test_the_pilot_network_chart_does_not_join_years_of_different_indicators():
    """The town chart broke the line where the indicators change; the network page's chart still joined the pilots'
    2018 scores (no car times) to 2021 (review of 5 December)."""
    from reports.charts import BREAK_LABEL, network_chart

    old, new = frozenset({"a", "b"}), frozenset({"a", "b", "c"})
    town = {"period": [2018, 2020, 2021], "score": [60.4, 55.0, 51.2], "provisional": [False] * 3}
    segments = re.compile(r'<line [^>]*stroke-width="1.8"/>')  # the score lines' segments and the legend's
    joined = network_chart({"Freiburg (Elbe)": pd.DataFrame(town)}, "n")
    apart = network_chart({"Freiburg (Elbe)": pd.DataFrame({**town, "basis": [old, new, new]})}, "n")
    assert len(segments.findall(joined)) - len(segments.findall(apart)) == 1  # 2018-2020 is not drawn
    assert BREAK_LABEL in apart and BREAK_LABEL not in joined


def test_a_count_has_no_unit_word_after_its_number_in_a_sentence():
    """'Coworking-Spaces im Umkreis von 10 km (zuletzt 6 Anzahl, …)': a count's unit label is a column header."""
    from reports.context import indicator_rows

    rows = indicator_rows([{"indicator_id": i, "value": 6.0, "pillar": "local_work_infrastructure", "label": i,
                            "unit": unit, "source_id": "osm_coworking", "vintage": "2023-11-20", "attribution": "",
                            "period": 2023, "reference_date": pd.Timestamp("2023-11-20"), "imputed": False}
                           for i, unit in [("coworking_within_10km", "count"), ("gigabit_coverage", "% of households")]])
    assert [(r["unit_de"], r["unit_after_de"]) for r in rows] == [("Anzahl", ""), ("% der Haushalte", "% der Haushalte")]


def test_a_band_shown_with_a_decimal_is_explained_as_percentiles():
    """Mölln's band '103–420,1': '420,1' read as a rank puzzled the second data review; a band end with a decimal
    (as shown, rank_shown) makes the page say that the ends are interpolated percentiles."""
    from reports.context import rank_band_fractional

    assert rank_band_fractional({"rank_p05": 103.0, "rank_p95": 420.1})
    assert rank_band_fractional({"rank_p05": 439.94, "rank_p95": 801.0})  # shown as 439,9
    assert not rank_band_fractional({"rank_p05": 61.0, "rank_p95": 2.0499999999999545 + 246})  # shown as 248
    assert not rank_band_fractional({"rank_p05": None, "rank_p95": None})


def test_a_value_listed_apart_that_was_never_scored_says_why():
    """The sentence of values without one in the headline period printed an excluded value like any other
    ('zuletzt 29,00 % pro Jahr' for Bismark (Altmark), a merger measured as growth; 26 reference-group pages,
    demographic review of 5 December 2026); the page's table and the CSV said 'nicht bewertet', the sentence not."""
    from reports.build import page_environment
    from reports.context import indicator_rows, indicator_sections

    base = {"pillar": "demographic_dynamics", "label": "Bevölkerungsentwicklung", "unit": "% per year",
            "source_id": "destatis_gemeindeverzeichnis", "vintage": "2013-12-31", "attribution": "", "period": 2018,
            "reference_date": pd.Timestamp("2013-12-31"), "imputed": False, "base_period": 2009}
    rows = indicator_rows([{**base, "indicator_id": "population_change_5y", "value": 29.0,
                            "excluded_reason": "territorial_change", "territorial_change": "area_change"},
                           {**base, "indicator_id": "population_change_10y", "value": 0.04, "excluded_reason": None,
                            "territorial_change": None}])
    rows = indicator_sections(rows, {"period": 2021})["indicators_elsewhere"]
    macro = page_environment().get_template("sections.html.j2").module.elsewhere
    sentence = str(macro(rows, 2021))
    excluded, scored = sentence.split("(zuletzt ")[1:]
    assert excluded.startswith("29,00 % pro Jahr, Jahr 2018, Stichtag 31.12.2013; nicht bewertet: ")
    assert "nicht bewertet" not in scored and scored.startswith("0,04 % pro Jahr, Jahr 2018, Stichtag 31.12.2013)")
    assert str(macro([], 2021)).strip() == ""


def test_a_value_inkar_gives_by_year_shows_its_year_not_an_invented_day():
    """INKAR gives the accessibility indicators' years only; the parser dates them 31.12. The page said "Stichtag
    31.12.2020" beside a car time, a day no publisher named (dates review F9): it now says "Bezugsjahr 2020", in the
    table, the sentence of values listed apart and the download, while a commuting share keeps the BA's 30.06."""
    from reports.build import page_environment
    from reports.context import indicator_rows, indicator_sections

    base = {"pillar": "accessibility", "label": "Pkw-Fahrzeit", "unit": "minutes by car", "source_id": "inkar",
            "vintage": "2022-12", "attribution": "", "period": 2021, "imputed": True, "base_period": None,
            "excluded_reason": None, "territorial_change": None, "value": 24.2}
    rows = indicator_rows([{**base, "indicator_id": "ic_ice_station_car_minutes",
                            "reference_date": pd.Timestamp("2020-12-31")},
                           {**base, "pillar": "commuting_potential", "indicator_id": "out_commuter_share",
                            "unit": "% of employees at residence", "reference_date": pd.Timestamp("2019-06-30")}])
    by_id = {r["indicator_id"]: r for r in rows}
    assert by_id["ic_ice_station_car_minutes"]["dated_de"] == "Bezugsjahr 2020"
    assert by_id["out_commuter_share"]["dated_de"] == "Stichtag 30.06.2019"
    elsewhere = indicator_sections([dict(r) for r in rows], {"period": 2023})["indicators_elsewhere"]
    sentence = str(page_environment().get_template("sections.html.j2").module.elsewhere(elsewhere, 2023))
    assert "Bezugsjahr 2020" in sentence and "31.12.2020" not in sentence and "Stichtag 30.06.2019" in sentence
    # a download cell under "Stichtag" says which it is (a bare "2020" stood beside "30.06.2021")
    from reports.tables import town_tables

    context = {"town": {"ags": "01053090", "name": "Mölln"}, "history": {"rows": []}, "summary": {"period": 2021},
               "pillars": [], "drivers": [], "indicators": rows, "indicators_elsewhere": [], "indicators_period": 2021,
               "peers": [], "commuting": {"kreis_ags": "01053", "rows": []}, "coworking": {"rows": []},
               "mobile": {"kreis_ags": "01053", "rows": []}}
    indikatoren = next(t for t in town_tables(context, [], []) if t.key == "indikatoren")
    assert [r["Stichtag"] for r in indikatoren.rows] == ["30.06.2019", "Bezugsjahr 2020"]


def test_the_indicators_a_score_rests_on_leave_out_a_pillar_shown_but_not_counted():
    """scored_indicators compares the sets of two years' scores (the history's "nicht vergleichbar"): a pillar the row
    shows beside its score without counting it (uncompared_pillars) is not part of the set, as the warehouse's view
    index_inputs leaves it out (read of the change, 6 December 2026), nor is one the row omits."""
    from reports.context import scored_indicators

    scored = [{"period": 2021, "indicators": "coworking_within_10km,gigabit_coverage"},
              {"period": 2023, "indicators": "coworking_within_10km,gigabit_coverage"}]
    history = [{"period": 2021, "score": 70.2, "omitted_pillars": "local_work_infrastructure",
                "uncompared_pillars": None},
               {"period": 2023, "score": 70.3, "omitted_pillars": None, "uncompared_pillars": "local_work_infrastructure"}]
    sets = scored_indicators(scored, history)
    assert sets == {2021: frozenset({"gigabit_coverage"}), 2023: frozenset({"gigabit_coverage"})}


def test_a_later_year_is_called_provisional_only_where_the_index_flags_it():
    """The values listed apart said "vorläufig" for any year after the headline's, by comparing years; a later year
    is provisional only where the index says so (``period_provisional``), not where it merely has no score."""
    import numpy as np

    from reports.build import page_environment
    from reports.context import indicator_rows, indicator_sections
    from reports.tables import _elsewhere_de

    base = {"pillar": "digital_infrastructure", "label": "Gigabit", "unit": "% of households", "value": 80.0,
            "source_id": "breitbandatlas", "vintage": "2023-ende", "attribution": "", "imputed": False,
            "base_period": None, "excluded_reason": None, "territorial_change": None,
            "reference_date": pd.Timestamp("2023-12-31")}
    rows = indicator_rows([{**base, "indicator_id": "gigabit_coverage", "period": 2023},
                           {**base, "indicator_id": "fttb_coverage", "label": "Glasfaser", "period": 2024}])
    history = [{"period": 2021, "period_provisional": False}, {"period": 2023, "period_provisional": np.True_},
               {"period": 2024, "period_provisional": None}]  # a numpy bool as a frame's column may give
    elsewhere = indicator_sections(rows, {"period": 2021}, history)["indicators_elsewhere"]
    assert {r["period"]: r["provisional_year"] for r in elsewhere} == {2023: True, 2024: False}
    sentence = str(page_environment().get_template("sections.html.j2").module.elsewhere(elsewhere, 2021))
    assert "Jahr 2023, vorläufig" in sentence and "Jahr 2024, vorläufig" not in sentence
    context = {"indicators_period": 2021}
    assert [_elsewhere_de(r, context) for r in elsewhere] == [
        "kein Wert für 2021, nicht im Indexwert 2021, vorläufig", "kein Wert für 2021, nicht im Indexwert 2021"]


def test_the_map_says_its_boundaries_date_and_a_change_of_territory_since():
    """The towns' maps drew the boundary of 1 January 2021 without its date, Dingelstädt in its 2021 bounds though
    it has twice the area since 2023 (audit of 6 December 2026); the GeoPackage's rule decides the second sentence."""
    import datetime as dt

    import shapely

    from reports.context import boundary_de, map_section
    from reports.maps import TownGeometries

    square = lambda x: shapely.to_wkb(shapely.box(10 + x, 50, 10.05 + x, 50.05))  # noqa: E731
    frame = pd.DataFrame({"ags": ["16061118", "16061119"], "vintage": "vg5000-2021-01-01", "name": ["D", "N"],
                          "geometry_wkb": [square(0), square(0.05)],
                          "territorial_date": [dt.date(2021, 1, 1)] * 2,
                          "territory_changed_since_geometry": [True, False]})
    geoms = TownGeometries(frame)
    assert geoms.boundary("16061118") == (dt.date(2021, 1, 1), True)
    assert boundary_de("Dingelstädt, Stadt", dt.date(2021, 1, 1), True) == (
        "Gemeindegrenzen: Stand 01.01.2021; das Gebiet von Dingelstädt, Stadt hat sich danach geändert (Fusion, "
        "Aufteilung einer Nachbargemeinde oder abgegebene bzw. übernommene Gebietsteile), die Karte zeigt es vor der "
        "Änderung")
    assert boundary_de("N", dt.date(2021, 1, 1), False) == "Gemeindegrenzen: Stand 01.01.2021"
    assert boundary_de("N", None, False) is None
    data = type("Data", (), {"latest_score_of": {}, "latest_period": 2021, "name_of": {"16061118": "D", "16061119": "N"},
                             "memo": {}})()
    section = map_section(data, geoms, "16061119", "N")
    assert section["neighbours"] == ["D"] and section["boundary_de"] == "Gemeindegrenzen: Stand 01.01.2021"
    # a neighbour of the boundaries that is no Gemeinde today (merged since: Bromskirchen into Allendorf (Eder)) by its
    # name in the boundaries, said to have changed since (merged, or a new key: Eisenach); it was a bare AGS
    data.name_of = {"16061119": "N"}
    assert map_section(data, geoms, "16061119", "N")["neighbours"] == ["D (Stand der Grenzen, seither geändert)"]
    # and where its land went, where the crosswalk says (Anrode, split in 2023), named without the designation
    split = TownGeometries(frame.assign(now_in=[("16061119",), ()]))
    data.name_of = {"16061119": "N, Stadt"}
    assert map_section(data, split, "16061119", "N")["neighbours"] == ["D (Stand der Grenzen; heute Teil von N)"]
    data.name_of = {"16061119": "N"}
    # drawn from outlines of other keys (staging.boundaries): Gemeinden merged since, or the town under its former key
    assert boundary_de("Berga-Wünschendorf, Stadt", dt.date(2021, 1, 1), False,
                       [("16076004", "Berga/Elster"), ("16076084", "Wünschendorf/Elster")]) == (
        "Gemeindegrenzen: Stand 01.01.2021; Berga-Wünschendorf ist aus den Umrissen der damaligen Gemeinden "
        "Berga/Elster und Wünschendorf/Elster gezeichnet, die seither zu dieser Gemeinde gehören")
    assert boundary_de("Eisenach, Stadt", dt.date(2021, 1, 1), False, [("16056000", "Eisenach")]) == (
        "Gemeindegrenzen: Stand 01.01.2021; gezeichnet ist der Umriss von Eisenach unter dem damaligen AGS 16056000")
    assembled = TownGeometries(frame.assign(assembled_from=[(), ("16061101", "16061119")],
                                            assembled_names=[(), ("Alt", "N")]))
    data.name_of = {"16061118": "D", "16061119": "N"}
    assert map_section(data, assembled, "16061119", "N")["boundary_de"] == (
        "Gemeindegrenzen: Stand 01.01.2021; N ist aus den Umrissen der damaligen Gemeinden Alt und N gezeichnet, die "
        "seither zu dieser Gemeinde gehören")
    assert map_section(data, assembled, "16061118", "D")["boundary_de"].startswith("Gemeindegrenzen: Stand 01.01.2021; das")
    data.memo = {}
    data.name_of = {"16061118": "Alt, Stadt", "16061119": "N"}  # a Gemeinde of today named like the joined one
    assert "Gemeinden Alt (16061101) und N gezeichnet" in map_section(data, assembled, "16061119", "N")["boundary_de"]
    # joined, and changed otherwise too (Unstruttal: also received parts of a split Gemeinde)
    assert boundary_de("Unstruttal", dt.date(2021, 1, 1), True, [("16064071", "Unstruttal"), ("16064072", "B")]
                       ).endswith("; außerdem hat sich das Gebiet von Unstruttal danach geändert (Fusion, "
                                            "Aufteilung einer Nachbargemeinde oder abgegebene bzw. übernommene "
                                            "Gebietsteile), die Karte zeigt es vor dieser Änderung")


def test_the_kreis_totals_above_the_flows_are_of_the_flows_stichtag():
    """"X von Y Beschäftigten ... (Stichtag of the flows)": the totals of the flows' date, also where newer ones
    exist; none where the Kreis has none of that date (the newest totals stood under the flows' date)."""
    from types import SimpleNamespace

    import pandas as pd

    from reports.context import commuting

    def data(*totals_days: str):
        flows = pd.DataFrame({"home_kreis": "12070", "work_kreis": ["12068", "11000"], "commuters": [900.0, 500.0],
                              "reference_date": pd.Timestamp("2016-06-30"), "listing": "top_10", "marker": None})
        totals = pd.concat([pd.DataFrame({
            "kreis_ags": "12070", "reference_date": pd.Timestamp(day), "measure": ["out_commuters", "employees_residence"],
            "value": [7000.0 + 100 * n, 25000.0 + 100 * n]}) for n, day in enumerate(totals_days)], ignore_index=True)
        names = pd.Series({"12070": "Prignitz", "12068": "Ostprignitz-Ruppin", "11000": "Berlin"})
        return SimpleNamespace(flows_by_kreis={"12070": flows}, kreis_cells=names, kreis_names=names, memo={},
                               kreis_commuting=totals, towns=pd.DataFrame({"kreis_ags": []}),
                               former_kreise=pd.DataFrame(columns=["ags", "kreis_ags", "kreis_name"]))

    same = commuting(data("2016-06-30"), "12070")
    assert (same["out_commuters"], same["employees"]) == (7000.0, 25000.0)
    assert same["reference_date"] == pd.Timestamp("2016-06-30") and len(same["rows"]) == 2
    both = commuting(data("2016-06-30", "2019-06-30"), "12070")  # newer totals beside: the flows' date's are shown
    assert (both["out_commuters"], both["employees"]) == (7000.0, 25000.0)
    newer = commuting(data("2019-06-30"), "12070")  # none of the flows' date
    assert newer["out_commuters"] is None and newer["employees"] is None and len(newer["rows"]) == 2


def test_a_destination_tied_with_the_tenth_is_shown_too():
    """The BA lists the Märkischer Kreis' 10th and 11th destinations with 553 out-commuters each (Münster,
    Siegen-Wittgenstein): the table showed the first by key only. Tied ones are shown; a 12th below is not."""
    from reports.context import top_with_ties

    flows = pd.DataFrame({"work_kreis": [f"05{k:03d}" for k in range(12)],
                          "commuters": [9000.0 - 500 * k for k in range(9)] + [553.0, 553.0, 400.0]})
    assert top_with_ties(flows, 10)["work_kreis"].tolist() == [f"05{k:03d}" for k in range(11)]
    assert len(top_with_ties(flows.assign(commuters=flows["commuters"].where(flows.index != 10, 552.0)), 10)) == 10
    assert len(top_with_ties(flows.head(8), 10)) == 8
    unknown = flows.assign(commuters=[*flows["commuters"][:9], None, None, None])  # a suppressed 10th: no tie
    assert len(top_with_ties(unknown, 10)) == 10


def kreis_history_data(flows_by_kreis: dict, mobile_by_kreis: dict | None = None):
    """Report data of the two audited cases (7 December 2026): Eisenach (16056), a Kreis of its own until 2021, in the
    Wartburgkreis (16063) since; the Landkreis Göttingen (03159), formed in 2016 from Göttingen (03152) and Osterode
    am Harz (03156), which the Mobilfunk-Monitoring of mid-2021 still lists instead of it."""
    from types import SimpleNamespace

    towns = pd.DataFrame({"ags": ["16063105", "16063015", "03159003", "03159007", "03159999"],
                          "kreis_ags": ["16063", "16063", "03159", "03159", "03159"]}).set_index("ags", drop=False)
    former = pd.DataFrame({"ags": ["03159003", "03159007", "03159999", "03159999", "16063015", "16063105"],
                           "kreis_ags": ["03156", "03152", "03152", "03156", "16015", "16056"],
                           "kreis_name": ["Osterode am Harz", "Göttingen", "Göttingen", "Osterode am Harz",
                                          "Bad Salzungen", "Eisenach, Stadt"]})
    names = pd.Series({"16063": "Wartburgkreis", "16056": "Eisenach", "03159": "Göttingen", "06632": "Hersfeld-Rotenburg"})
    return SimpleNamespace(flows_by_kreis=flows_by_kreis, mobile_by_kreis=mobile_by_kreis or {}, kreis_cells=names,
                           kreis_names=names, memo={}, kreis_commuting=pd.DataFrame(
                               {"kreis_ags": [], "reference_date": [], "measure": [], "value": []}),
                           towns=towns, former_kreise=former, kreis_moves=pd.DataFrame(columns=KREIS_MOVE_COLUMNS),
                           name_of={}, references={}, reference_releases={}, publisher_status={})


def flow_rows(home: str, day: str, work: list[str], commuters: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"home_kreis": home, "work_kreis": work, "commuters": commuters,
                         "reference_date": pd.Timestamp(day), "listing": "top_10", "marker": None})


def test_kreis_figures_of_a_day_when_a_part_was_a_kreis_of_its_own_say_so():
    """The Wartburgkreis's flows of 2016 left out Eisenach, a Kreis of its own then and the largest destination, without
    a word: the section says so, and names where the destination lies today; not where the publisher's Eisenach rows
    are of another day, nor for a Kreis without such a part."""
    from reports.context import commuting

    flows = {"16063": flow_rows("16063", "2016-06-30", ["16056", "06632"], [8188.0, 4422.0]),
             "16056": flow_rows("16056", "2016-06-30", ["16063"], [3207.0])}
    section = commuting(kreis_history_data(flows), "16063")
    assert section["territory_de"] == (
        "Zum Stichtag 30.06.2016 weist der Herausgeber Eisenach (16056) als eigenen Kreis aus; heute gehört es zu "
        "diesem Kreis (16063). Die Werte beschreiben den Kreis ohne dieses Gebiet; wer dorthin pendelte, zählt als "
        "Auspendler")
    assert [(r["work_name"], r["work_today"]) for r in section["rows"]] == [("Eisenach", "Wartburgkreis"),
                                                                          ("Hersfeld-Rotenburg", None)]
    # the download: the shown Kreis, where each destination lies today (a column for every row) and the note
    from reports.tables import commuting_table
    table = commuting_table(section)
    assert [(r["Arbeitsort (Kreis)"], r["Arbeitsort heute (Kreis)"], r["Wohnort (Kreis-AGS)"]) for r in table.rows] == [
        ("Eisenach", "Wartburgkreis", "16063"), ("Hersfeld-Rotenburg", None, "16063")]
    assert all(r["Gebiet"] == section["territory_de"] for r in table.rows)
    assert list(table.rows[1])[:4] == ["Wohnort (Kreis-AGS)", "Arbeitsort (Kreis)", "Arbeitsort (Kreis-AGS)",
                                       "Arbeitsort heute (Kreis)"]
    flows["16056"] = flow_rows("16056", "2013-06-30", ["16063"], [3000.0])  # Eisenach's rows of another day
    assert commuting(kreis_history_data(flows), "16063")["territory_de"] is None
    assert commuting(kreis_history_data(flows), "16056")["territory_de"] is None  # no part of it was a Kreis


def test_a_former_kreis_the_publisher_lists_instead_of_todays_is_shown_for_its_towns():
    """The Mobilfunk-Monitoring of mid-2021 lists Göttingen (03152) and Osterode am Harz (03156), not the Landkreis
    Göttingen formed of them in 2016: each town's page showed "keine Werte"; it shows the former Kreis the town lay
    in, and says so. A town of both former Kreise (or of none listed) keeps the empty section."""
    from reports.context import _kreis_section, mobile_kreis

    def rows(kreis: str, value: float) -> pd.DataFrame:
        return pd.DataFrame({"kreis_ags": kreis, "vintage": "2021-1", "reference_date": pd.Timestamp("2021-06-30"),
                             "measure": ["area_5g_residential"], "value": [value]})

    listed = {"03152": rows("03152", 79.21), "03156": rows("03156", 73.31)}
    data = kreis_history_data({}, listed)
    data.releases = pd.DataFrame({"source_id": [], "vintage": []})
    osterode = _kreis_section(data, "mobile", "03159003", "03159", listed, mobile_kreis)
    assert osterode["shown_kreis"] == "03156" and osterode["kreis_ags"] == "03159"
    assert osterode["rows"] and osterode["rows"][0]["values"] == [73.31]
    assert osterode["territory_de"] == (
        "Gezeigt sind die Werte für Osterode am Harz (03156), einen früheren Kreis, in dem das Gebiet der Gemeinde lag: Der "
        "Herausgeber weist zum Stichtag 30.06.2021 die früheren Kreise aus, für den heutigen Kreis (03159) keine Werte")
    assert _kreis_section(data, "mobile", "03159007", "03159", listed, mobile_kreis)["shown_kreis"] == "03152"
    both = _kreis_section(data, "mobile", "03159999", "03159", listed, mobile_kreis)
    assert both["rows"] == [] and both["shown_kreis"] == "03159" and both["shown_cell"] is None
    # today's Kreis listed: its rows, where the former ones are of another day
    older = {k: frame.assign(reference_date=pd.Timestamp("2018-12-31")) for k, frame in listed.items()}
    listed = {**older, "03159": rows("03159", 77.0)}
    data = kreis_history_data({}, listed)
    data.releases = pd.DataFrame({"source_id": [], "vintage": []})
    today = _kreis_section(data, "mobile", "03159003", "03159", listed, mobile_kreis)
    assert today["shown_kreis"] == "03159" and today["rows"][0]["values"] == [77.0] and today["territory_de"] is None


def test_a_town_that_was_the_part_listed_apart_is_shown_its_own_former_kreis():
    """Eisenach (16063105) was the Kreis Eisenach (16056) the publisher lists apart from the Wartburgkreis in 2016: its
    page showed the Wartburgkreis without Eisenach as its Kreis, and Eisenach as the first destination of the Kreis's
    out-commuters (CLI sweep of 7 December 2026). It shows its own former Kreis, and says why; the other towns of the
    Kreis keep today's Kreis with the note; where the part's rows are of another day, today's Kreis includes it."""
    from reports.context import _kreis_section, commuting

    flows = {"16063": flow_rows("16063", "2016-06-30", ["16056", "06632"], [8188.0, 4422.0]),
             "16056": flow_rows("16056", "2016-06-30", ["16063"], [3207.0])}
    data = kreis_history_data(flows)
    eisenach = _kreis_section(data, "commuting", "16063105", "16063", flows, commuting)
    assert eisenach["shown_kreis"] == "16056" and eisenach["rows"][0]["work_kreis"] == "16063"
    assert eisenach["territory_de"] == (
        "Gezeigt sind die Werte für Eisenach (16056), einen früheren Kreis, in dem das Gebiet der Gemeinde lag: Der "
        "Herausgeber weist zum Stichtag 30.06.2016 diesen Kreis als eigenen aus, die Werte des heutigen Kreises (16063) "
        "ohne ihn")
    other = _kreis_section(data, "commuting", "16063015", "16063", flows, commuting)  # it lay in Bad Salzungen, 16015
    assert other["shown_kreis"] == "16063" and other["territory_de"].startswith("Zum Stichtag 30.06.2016 weist")
    flows["16056"] = flow_rows("16056", "2013-06-30", ["16063"], [3000.0])
    assert _kreis_section(kreis_history_data(flows), "commuting", "16063105", "16063", flows, commuting)[
        "shown_kreis"] == "16063"


def test_the_mobilfunk_section_of_a_kreis_without_values_renders():
    """``readiness report --all`` stopped at 07000999 (Gemeinsames deutsch-luxemburgisches Hoheitsgebiet, in no
    Kreis: its register key 07000 has no Mobilfunk rows): the empty section's dict lacked the keys the heading reads
    (StrictUndefined). The section as the template writes it, rendered from that dict."""
    import re

    from reports.build import TEMPLATES, page_environment
    from reports.context import mobile_kreis

    data = kreis_history_data({})
    section = page_environment().from_string(re.search(
        r'<section id="mobilfunk">.*?</section>', (TEMPLATES / "town.html.j2").read_text(encoding="utf-8"), re.S).group(0))
    town = {"name": "Gemeinsames deutsch-luxemburgisches Hoheitsgebiet", "kreis_designation": None}
    html = section.render(mobile=mobile_kreis(data, "07000"), town=town)
    # 07000 is the Land's key, no Kreis: the page said "im Kreis 07000"
    assert "<h2>Mobilfunk</h2>" in html
    assert "Das Mobilfunk-Monitoring liegt nur für Kreise vor; Gemeinsames deutsch-luxemburgisches Hoheitsgebiet " \
           "liegt in keinem Kreis." in html
    html = section.render(mobile=mobile_kreis(data, "06632"), town={"name": "Bebra", "kreis_designation": "Landkreis"})
    assert "<h2>Mobilfunk im Landkreis Hersfeld-Rotenburg</h2>" in html  # a Kreis the publisher has no rows for
    assert "Für den Kreis 06632 liegen keine Werte des Mobilfunk-Monitorings im Datenbestand vor." in html


def test_a_kreis_that_is_the_town_is_not_called_another_area():
    """München's page said "Kreiswert, nicht der Wert von München" and "Wohnort in der kreisfreien Stadt München (nicht
    nur in München)" (107 pages of kreisfreie Städte and Stadtkreise, and Eisenach's former Kreis; audit of 7 December
    2026): a Kreis that is one Gemeinde of today is that town, and the sections say so."""
    import re

    from reports.build import TEMPLATES, page_environment
    from reports.context import whole_kreis

    data = kreis_history_data({})
    data.towns = pd.concat([data.towns, pd.DataFrame({"ags": ["09162000", "07000999"], "kreis_ags": ["09162", "07000"]}
                                                     ).set_index("ags", drop=False)])
    assert whole_kreis(data, "09162") and not whole_kreis(data, "16063")  # München; the Wartburgkreis has two here
    assert whole_kreis(data, "16063", "16056") and not whole_kreis(data, "03159", "03152")  # Eisenach; Göttingen
    assert not whole_kreis(data, "07000")  # alone under its Land's key, which is no Kreis
    from reports.context import commuting
    flows = {"09162": flow_rows("09162", "2016-06-30", ["09184"], [90000.0]),
             "16063": flow_rows("16063", "2016-06-30", ["06632"], [4422.0])}
    data.flows_by_kreis = flows
    assert commuting(data, "09162")["whole"] and not commuting(data, "16063")["whole"]
    assert commuting(data, "16063", "16056")["whole"]  # Eisenach's former Kreis
    hint = page_environment().from_string(re.search(r'<p class="hint">Die Pendlerströme.*?</p>', (
        TEMPLATES / "town.html.j2").read_text(encoding="utf-8"), re.S).group(0))
    munich = {"name": "München, Landeshauptstadt", "kreis_designation": "Kreisfreie Stadt"}
    text = " ".join(hint.render(commuting={**commuting(data, "09162"), "kreis_name": "München"}, town=munich).split())
    assert text.endswith("Wohnort in der kreisfreien Stadt München zur Arbeit pendeln.</p>")
    text = " ".join(hint.render(commuting=commuting(data, "16063"), town={"name": "Dermbach",
                                                                         "kreis_designation": "Landkreis"}).split())
    assert text.endswith("Wohnort im Wartburgkreis (nicht nur in Dermbach) zur Arbeit pendeln.</p>")
    header = page_environment().from_string(re.search(r"<header>.*?</header>", (
        TEMPLATES / "town.html.j2").read_text(encoding="utf-8"), re.S).group(0))
    place = {"ags": "09162000", "kind": "Kreisfreie Stadt", "kreis_name": "München", "kreis_ags": "09162",
             "land": "Bayern", "population": 1, "population_date": None, **munich}
    assert "<p>Kreisfreie Stadt, Bayern ·" in header.render(town={**place, "kreis_whole": True})
    assert "<p>Kreisfreie Stadt in der kreisfreien Stadt München, Bayern ·" in header.render(
        town={**place, "kreis_whole": False})

    template = (TEMPLATES / "town.html.j2").read_text(encoding="utf-8")
    mobile = {"rows": [{"area": "Wohnbaufläche", "values": [99.0]}], "technologies": ["LTE10"], "no_kreis": False,
              "shown_cell": None, "kreis_name": "München", "kreis_ags": "09162", "territory_de": None,
              "moved_de": None,
              "reference_date": pd.Timestamp("2021-06-30"), "vintage_de": "06/2021", "publisher": "BNetzA",
              "attribution": "©", "licence": None, "licence_url": None}
    town = {"name": "München, Landeshauptstadt", "kreis_designation": "Kreisfreie Stadt"}
    render = {"downloads": {}, "town": town}
    macros = '{% from "sections.html.j2" import download_links, licence %}'
    section = page_environment().from_string(macros + re.search(r'<section id="mobilfunk">.*?</section>', template,
                                                                re.S).group(0))
    whole = " ".join(section.render(mobile={**mobile, "whole": True}, **render).split())
    assert "Kreiswert, hier zugleich der Wert von München, Landeshauptstadt: Der Kreis umfasst nur das Gebiet dieser " \
           "Gemeinde." in whole and "nicht der Wert von" not in whole
    former = " ".join(section.render(mobile={**mobile, "whole": True, "shown_cell": "Eisenach (16056)"}, **render).split())
    assert "Kreiswert des früheren Kreises: Er umfasste nur Gebiet dieser Gemeinde." in former  # no claim it is all
    assert "nicht der Wert von München" in section.render(mobile={**mobile, "whole": False}, **render)


def test_an_island_without_neighbours_is_not_shown_with_zero_of_them():
    """Wangerooge's map note read "und die 0 angrenzenden oder bis 2 km entfernten Gemeinden ... Nachbarn: ." (10 island
    pages, audit of 7 December 2026)."""
    import re

    from reports.build import TEMPLATES, page_environment

    section = page_environment().from_string(re.search(
        r'<section id="karte">.*?</section>', (TEMPLATES / "town.html.j2").read_text(encoding="utf-8"), re.S).group(0))
    town = {"name": "Wangerooge, Nordseebad"}
    alone = " ".join(section.render(map={"svg": "<svg/>", "neighbours": [], "boundary_de": None}, town=town,
                                    latest_period=2021).split())
    assert ("Wangerooge, Nordseebad (schwarz umrandet), eingefärbt nach dem Indexwert 2021 (grau: nicht bewertet); keine "
            "andere Gemeinde grenzt an oder liegt bis 2 km entfernt.") in alone and "Nachbarn" not in alone
    assert "die 1 angrenzenden" in section.render(map={"svg": "<svg/>", "neighbours": ["Spiekeroog"], "boundary_de": None},
                                                  town=town, latest_period=2021)


def test_an_area_in_no_kreis_is_not_placed_in_its_lands_key():
    """The register files the two gemeindefreie Gebiete outside any Kreis under their Land's key (07000, 13000); the
    pages and ``readiness profil`` read "im Kreis 07000". Berlin and Hamburg are Kreise with such a key and a name."""
    from reports.context import commuting
    from reports.labels import in_kreis, kreis_de, no_kreis

    assert no_kreis(None, "07000") and no_kreis(None, "13000")
    assert (in_kreis(None, "07000"), kreis_de(None, "13000")) == ("in keinem Kreis", "kein Kreis")
    assert not no_kreis("Berlin", "11000")
    assert in_kreis("Berlin", "11000", "Kreisfreie Stadt") == "in der kreisfreien Stadt Berlin"
    assert not no_kreis(None, "06632") and in_kreis(None, "06632") == "im Kreis 06632"  # a Kreis without a name
    assert commuting(kreis_history_data({}), "07000")["no_kreis"]
    assert not commuting(kreis_history_data({}), "06632")["no_kreis"]


def test_a_pillar_gap_is_rounded_alike_on_the_page_and_in_the_downloads():
    """Neutraubling's gap to Burghausen in digital infrastructure, -5.449999999999989, read −5,5 on the page and -5,4
    in its download and peer_comparison (596 cells of 546 pages; audit of 7 December 2026): one rule for all, the
    scores' (``published_score``)."""
    from reports.context import peer_rows
    from reports.labels import PILLARS, de_signed, gap_shown

    gap = -5.449999999999989
    row = {"gap_" + p: (gap if p == "digital_infrastructure" else None) for p in PILLARS}
    shown = peer_rows([row])[0]["gaps"]
    assert [g["value"] for g in shown if g["pillar"] == "digital_infrastructure"] == [gap_shown(gap)] == [-5.4]
    assert de_signed(shown[0]["value"]) == "−5,4"
    assert gap_shown(-1e-15) == 0.0 and str(gap_shown(-1e-15)) == "0.0"  # no "-0,0"


def test_an_indicator_value_is_shown_as_a_reader_rounds_its_download():
    """Berga-Wünschendorf's car minutes, restated onto today's territory at full precision (22.148), read 22,1 on the
    page and 22,15 in the download (value_decimals 2), which a reader rounds to 22,2 (audit of 7 December 2026)."""
    from reports.context import indicator_rows
    from reports.labels import de_number

    row = {"indicator_id": "oberzentrum_car_minutes", "pillar": "accessibility", "unit": "minutes by car", "value": 22.148,
           "source_id": "inkar", "vintage": "2022-12", "reference_date": pd.Timestamp("2020-12-31"), "label": "Pkw",
           "attribution": None}
    [shown] = indicator_rows([row])
    assert shown["value"] == 22.15 and de_number(shown["value"], shown["decimals"]) == "22,2"


def test_parts_listed_apart_are_named_together_and_a_split_one_as_partly_here():
    from reports.labels import separate_kreise_de

    day = pd.Timestamp("2016-06-30")
    assert separate_kreise_de(["A (12011)", "B (12012)"], "12060", day) == (
        "Zum Stichtag 30.06.2016 weist der Herausgeber A (12011) und B (12012) als eigene Kreise aus; heute gehören sie "
        "zu diesem Kreis (12060). Die Werte beschreiben den Kreis ohne diese Gebiete")
    assert "heute gehört es ganz oder zum Teil zu diesem Kreis (12060)" in separate_kreise_de(
        ["B (12012)"], "12060", day, whole=False)


def test_the_kreis_value_beside_a_towns_is_its_former_kreises_where_the_publisher_lists_that():
    """The Breitbandatlas of mid-2021 gives Kreis values for Göttingen (03152) and Osterode am Harz (03156), not the
    Landkreis Göttingen: the indicator table's Kreis column read "–" on its 15 pages; it shows the former Kreis's value
    and names it. A town whose Kreis of today has a value keeps that, said to leave out a part given apart that day."""
    from reports.context import reference_values

    data = kreis_history_data({})
    day = pd.Timestamp("2021-06-30")
    data.references = {("fibre_coverage", "kreis", "03156"): ([day], [0.31]),
                       ("fibre_coverage", "kreis", "03152"): ([day], [2.5]),
                       ("fibre_coverage", "kreis", "16063"): ([day], [7.0])}
    data.reference_releases = {key: [("breitbandatlas", "2021-mitte")] for key in data.references}
    data.group_median = lambda indicator, period: None
    row = {"indicator_id": "fibre_coverage", "reference_date": day, "period": 2021}
    osterode = reference_values(data, {"ags": "03159003", "kreis_ags": "03159"}, row)
    assert (osterode["ref_kreis"], osterode["ref_kreis_former"]) == (0.31, "Osterode am Harz (03156)")
    both = reference_values(data, {"ags": "03159999", "kreis_ags": "03159"}, row)  # of both former Kreise: none
    assert (both["ref_kreis"], both["ref_kreis_former"]) == (None, None)
    today = reference_values(data, {"ags": "16063015", "kreis_ags": "16063"}, row)
    assert (today["ref_kreis"], today["ref_kreis_former"], today["ref_kreis_without"]) == (7.0, None, None)
    # Eisenach (16056) given apart on the Kreis value's day: the Wartburgkreis's value is without it, and says so
    data.references[("fibre_coverage", "kreis", "16056")] = ([day], [30.0])
    data.memo.clear()
    today = reference_values(data, {"ags": "16063015", "kreis_ags": "16063"}, row)
    assert (today["ref_kreis"], today["ref_kreis_without"]) == (7.0, "Eisenach (16056)")
    # ... but Eisenach itself, which was that Kreis, gets its value, not the Kreis's without it (CLI sweep, 7 December)
    eisenach = reference_values(data, {"ags": "16063105", "kreis_ags": "16063"}, row)
    assert (eisenach["ref_kreis"], eisenach["ref_kreis_former"], eisenach["ref_kreis_without"]) == (
        30.0, "Eisenach (16056)", None) and eisenach["ref_kreis_apart"] and not today["ref_kreis_apart"]
    data.references[("fibre_coverage", "kreis", "16056")] = ([pd.Timestamp("2019-12-31")], [30.0])  # another day
    assert reference_values(data, {"ags": "16063015", "kreis_ags": "16063"}, row)["ref_kreis_without"] is None
    eisenach = reference_values(data, {"ags": "16063105", "kreis_ags": "16063"}, row)
    assert (eisenach["ref_kreis"], eisenach["ref_kreis_former"]) == (7.0, None)


def test_the_change_table_says_what_its_rounded_rows_add_up_to():
    """Mölln 2018 -> 2021 Germany-wide (ra117, method 0.3.4): the six indicators' contributions add up to +8,3159
    ("+8,32"), while their rows as shown (3,00; 2,79; 2,20; 0,41; −0,04; −0,05) add up to +8,31. The page named
    only the exact sum beside rows that did not add up to it (page audit of 7 December 2026)."""
    from reports.context import _change, shown_sum

    contributions = {"gigabit_coverage": 3.0025, "fibre_coverage": 2.793333333333,
                     "population_change_10y": 2.20265625, "broadband_100_coverage": 0.413333333333,
                     "out_commuter_share": -0.042857142857, "long_distance_commuter_share": -0.053125,
                     "composition": -4.612447916667, "oberzentrum_car_minutes": None}
    rows = [{"ags": "01053090", "indicator_id": indicator, "contribution": value, "period_from": 2018,
             "period_to": 2021, "score_from": 66.477589285714, "score_to": 70.180982142857, "label": None,
             "pillar": None, "value_from": None, "value_to": None} for indicator, value in contributions.items()]
    change = _change(rows, "01053090-2018")
    assert change["shown_indicators"] == 8.31 and round(change["exact_change"] - change["composition"], 2) == 8.32
    assert change["shown_total"] == 3.70 == round(change["exact_change"], 2)  # here the rounded rows agree
    assert shown_sum([0.005, -0.005, 0.004, None]) == 0.0  # halves away from zero, as de_signed shows them
    assert shown_sum([0.125, 0.125]) == 0.26


def test_a_pillar_on_fewer_indicators_than_usual_says_so():
    """Wiesbaden 2021 Germany-wide (method 0.3.5): its fibre and gigabit values are implausible_fall, so its digital
    pillar rests on the ≥ 100 Mbit/s share alone, 94,4 beside a median of 42,3, and neither the page nor `readiness
    profil` said so (CLI audit of 7 December 2026). The period's usual composition is what any town is scored on:
    in 2021 three digital, two commuting, one demographic (no 5-year change then), four accessibility indicators."""
    from reports.context import pillar_rows
    from reports.labels import pillar_coverage

    usual = {"digital_infrastructure": 3, "commuting_potential": 2, "demographic_dynamics": 1, "accessibility": 4}
    wiesbaden = ["broadband_100_coverage", "out_commuter_share", "long_distance_commuter_share",
                 "population_change_10y", "ic_ice_station_car_minutes", "oberzentrum_car_minutes",
                 "transit_stop_distance", "transit_stop_within_1km_share"]
    notes = pillar_coverage(wiesbaden, usual)
    assert notes == {"digital_infrastructure": "beruht auf 1 von 3 Indikatoren dieser Säule, für die übrigen gibt es "
                                               "keinen bewertbaren Wert"}
    assert pillar_coverage([*wiesbaden, "gigabit_coverage", "fibre_coverage"], usual) == {}
    assert set(pillar_coverage(wiesbaden[:2], usual)) == {"digital_infrastructure", "demographic_dynamics",
                                                          "accessibility", "commuting_potential"}
    latest = {"period": 2021, "omitted_pillars": None, "uncompared_pillars": None, "missing_pillars": None,
              "digital_infrastructure": 94.41, "commuting_potential": 28.9, "demographic_dynamics": 55.8,
              "local_work_infrastructure": None, "accessibility": 98.0}
    reasons = {r["pillar"]: r["reason"] for r in pillar_rows(latest, None, {}, None, notes)}
    assert reasons["digital_infrastructure"].startswith("beruht auf 1 von 3 Indikatoren")
    assert reasons["commuting_potential"] is None


def test_parts_of_a_town_that_lay_in_another_kreis_of_today_on_the_stichtag_are_named():
    """Kaltennordheim (16066095) holds since 01.01.2019 the town of that name from the Wartburgkreis, 3,342 of its 5,748
    inhabitants: its page showed the Landkreis Schmalkalden-Meiningen's flows of 30.06.2016 without a word (read of 7
    December 2026). The section and its download name the part, the Kreis it lay in, the town's Kreis and since when
    the part lies there, with the frame's types as loaded (Timestamps, NaT); parts moved on other days or from other
    Kreise get a sentence each (a part of one Kreis that moved earlier was dated by another's move, second review of 7
    December 2026); a part of a split Gemeinde is named as such; a day after the move, or before the registers place
    the part in that Kreis, needs none; a day between the two registers around a move without a known day is said to
    be uncertain; another town of the Kreis gets none; a whole Gemeinde moved under a new key is named once."""
    from reports.context import _kreis_section, commuting
    from reports.tables import commuting_table

    flows = {"16066": flow_rows("16066", "2016-06-30", ["16054", "16063"], [3707.0, 2742.0])}
    data = kreis_history_data(flows)
    data.towns = pd.DataFrame({"ags": ["16066095", "16066001"], "kreis_ags": "16066"}).set_index("ags", drop=False)
    data.name_of = {"16066095": "Kaltennordheim, Stadt", "16066001": "Andere"}
    data.kreis_cells = data.kreis_names = pd.Series({"16063": "Wartburgkreis", "16066": "Schmalkalden-Meiningen",
                                                     "16070": "Ilm-Kreis"})
    data.kreise = pd.DataFrame({"ags": ["16063", "16066", "16070"], "name": ["Wartburgkreis", "Schmalkalden-Meiningen",
                                                                             "Ilm-Kreis"], "designation": "Landkreis"})
    data.kreis_designations = data.kreise.set_index("ags")["designation"]
    stamp = pd.Timestamp

    def moves(*rows) -> pd.DataFrame:
        return pd.DataFrame([dict(zip(KREIS_MOVE_COLUMNS, r)) for r in rows], columns=KREIS_MOVE_COLUMNS)

    def moved_de(ags: str = "16066095", flows_now: dict | None = None) -> str | None:
        data.memo = {}
        return _kreis_section(data, "commuting", ags, "16066", flows_now or flows, commuting)["moved_de"]

    kaltennordheim = ("16066095", "16063102", "Kaltennordheim, Stadt", "merger", "16063", "Wartburgkreis",
                      stamp("1994-12-31"), stamp("2013-12-31"), stamp("2021-12-31"), stamp("2019-01-01"), "bkg_wsk",
                      3342.0)
    data.kreis_moves = moves(kaltennordheim)
    section = _kreis_section(data, "commuting", "16066095", "16066", flows, commuting)
    assert section["moved_de"] == (
        "Kaltennordheim, Stadt (16063102; 3.342 Einwohner am 31.12.2013) – heute Teil von Kaltennordheim, Stadt "
        "(16066095) – lag am 30.06.2016 noch im Wartburgkreis (16063); laut BKG liegt es seit dem 01.01.2019 im Landkreis "
        "Schmalkalden-Meiningen. Die Werte dieses Stichtags zählen es dort mit, nicht im Landkreis Schmalkalden-Meiningen; "
        "wer in diesem Teil wohnte, zählt nicht zu den Beschäftigten mit Wohnort im Landkreis Schmalkalden-Meiningen, und "
        "wer aus dem übrigen Kreis dorthin pendelte, als Auspendler")
    assert all(r["Teile der Gemeinde"] == section["moved_de"] for r in commuting_table(section).rows)
    other = _kreis_section(data, "commuting", "16066001", "16066", flows, commuting)
    assert other["moved_de"] is None and "Teile der Gemeinde" not in commuting_table(other).rows[0]
    assert section["rows"] is other["rows"]  # the Kreis's section is built once, the town's sentence added to a copy
    # a part from a second Kreis, moved by the change list's day: a sentence of its own, stated as the move's day
    gehlberg = ("16066095", "16070001", "Gehlberg", "merger", "16070", "Ilm-Kreis", stamp("1994-12-31"),
                stamp("2013-12-31"), stamp("2021-12-31"), stamp("2017-01-01"), "change_list", None)
    data.kreis_moves = moves(kaltennordheim, gehlberg)
    assert moved_de().startswith(section["moved_de"] + ". Gehlberg (16070001) – heute Teil von Kaltennordheim, Stadt "
                                 "(16066095) – lag am 30.06.2016 noch im Ilm-Kreis (16070); seit dem 01.01.2017 liegt "
                                 "es im Landkreis Schmalkalden-Meiningen.")
    # two parts of one Kreis moved on different days, one a part of a split Gemeinde: two sentences, each its own day
    split = ("16066095", "16063050", "Anrode", "split", "16063", "Wartburgkreis", None, stamp("2009-12-31"),
             stamp("2013-12-31"), stamp("2011-01-01"), "change_list", 1699.0)
    data.kreis_moves = moves(kaltennordheim, split)
    early = {"16066": flow_rows("16066", "2010-06-30", ["16054"], [3800.0])}
    data.flows_by_kreis = early
    text = moved_de(flows_now=early)
    assert text.startswith("Ein Teil von Anrode (16063050; 1.699 Einwohner) – heute Teil von Kaltennordheim, Stadt "
                           "(16066095) – lag am 30.06.2010 noch im Wartburgkreis (16063); seit dem 01.01.2011 liegt es "
                           "im Landkreis Schmalkalden-Meiningen.")
    assert ". Kaltennordheim, Stadt (16063102; 3.342 Einwohner am 31.12.2013) – heute Teil von Kaltennordheim, Stadt " \
           "(16066095) – lag am 30.06.2010 noch im Wartburgkreis (16063); laut BKG liegt es seit dem 01.01.2019" in text
    # flows of a day after the move, or before the registers place the part there: nothing to say
    data.kreis_moves = moves(kaltennordheim)
    for day in ("2019-06-30", "1990-06-30"):
        later = {"16066": flow_rows("16066", day, ["16054"], [3800.0])}
        data.flows_by_kreis = later
        assert moved_de(flows_now=later) is None, day
    # no day of the move known and the Stichtag between the two registers
    later = {"16066": flow_rows("16066", "2019-06-30", ["16054"], [3800.0])}
    data.flows_by_kreis, data.kreis_moves = later, moves(kaltennordheim[:9] + (pd.NaT, None, 3342.0))
    assert moved_de(flows_now=later) == (
        "Ob Kaltennordheim, Stadt (16063102; 3.342 Einwohner am 31.12.2013) – heute Teil von Kaltennordheim, Stadt "
        "(16066095) – am 30.06.2019 noch im Wartburgkreis (16063) lag, sagen die Gemeindeverzeichnisse nicht: es kam "
        "zwischen dem 31.12.2013 und dem 31.12.2021 in den heutigen Kreis. Die Werte dieses Stichtags zählen es "
        "vielleicht noch dort mit (dann zählt, wer in diesem Teil wohnte, nicht zu den Beschäftigten mit Wohnort im "
        "Landkreis Schmalkalden-Meiningen)")
    # the whole Gemeinde under its old key (Lahr, from Cochem-Zell in 2014): named once
    data.flows_by_kreis = flows
    data.kreis_moves = moves(("16066095", "16063102", "Kaltennordheim, Stadt", "recode", *kaltennordheim[4:]))
    assert moved_de().startswith("Kaltennordheim, Stadt (16063102; 3.342 Einwohner am 31.12.2013) lag am 30.06.2016 "
                                 "noch im Wartburgkreis (16063);")


def test_a_kreis_value_on_a_territory_without_parts_of_the_town_names_them():
    """Dingelstädt's and Südeichsfeld's every Kreis value is of a Kreis that then did not hold part of the town (read of
    7 December 2026): the indicator table's provenance and the comparison say which parts and where they lay, with the
    frame's types as loaded (the page download's column: tests/unit/reports/test_tables.py). The territory is the
    value's day's, or for INKAR, which restates every year on a territorial status of its own, that status's (the
    release's first day where the warehouse does not know it): its 2018 value for the Landkreis Sonneberg counts Lichte
    and Piesau, which came on 01.01.2019 (second review of 7 December 2026).
    A day on or after the move and another town of the Kreis get none; parts moved on other days share the phrase; a
    split's part, one such part, the whole Gemeinde under its old key and an open day have their own grammar."""
    from reports.context import kreis_value_moved_de, reference_values
    from reports.tables import kreis_value_of

    stamp = pd.Timestamp
    data = kreis_history_data({})
    data.kreis_cells = data.kreis_names = pd.Series({"16072": "Sonneberg", "16073": "Saalfeld-Rudolstadt"})
    data.kreise = pd.DataFrame({"ags": ["16072", "16073"], "name": ["Sonneberg", "Saalfeld-Rudolstadt"],
                                "designation": "Landkreis"})
    data.kreis_designations = data.kreise.set_index("ags")["designation"]
    data.towns = pd.DataFrame({"ags": ["16072013", "16072001"], "kreis_ags": "16072"}).set_index("ags", drop=False)

    def moves(*rows) -> pd.DataFrame:
        return pd.DataFrame([dict(zip(KREIS_MOVE_COLUMNS, r)) for r in rows], columns=KREIS_MOVE_COLUMNS)

    def part(ags, name, kind="merger", moved_on=stamp("2019-01-01")):
        return ("16072013", ags, name, kind, "16073", "Saalfeld-Rudolstadt", stamp("1994-12-31"), stamp("2013-12-31"),
                stamp("2021-12-31"), moved_on, "bkg_wsk" if moved_on is not pd.NaT else None, 1568.0)

    data.kreis_moves = moves(part("16073049", "Lichte"), part("16073066", "Piesau"))
    fibre, transit = ("fibre_coverage", "kreis", "16072"), ("transit_stop_distance", "kreis", "16072")
    data.references = {fibre: ([stamp("2018-06-30"), stamp("2019-01-01"), stamp("2021-06-30")], [1.0, 2.0, 3.0]),
                       transit: ([stamp("2018-12-31")], [1000.0])}
    data.reference_releases = {fibre: [("breitbandatlas", "2018-mitte"), ("breitbandatlas", "2019-01-01"),
                                       ("breitbandatlas", "2021-mitte")], transit: [("inkar", "2022-12")]}
    data.group_median = lambda indicator, period: None
    town = {"ags": "16072013", "kreis_ags": "16072"}

    def row_of(indicator: str, day: str, ags: str = "16072013") -> dict:
        data.memo = {}
        row = {"indicator_id": indicator, "reference_date": stamp(day), "period": stamp(day).year}
        return {**row, **reference_values(data, {**town, "ags": ags}, row)}

    before = row_of("fibre_coverage", "2018-06-30")
    assert (before["ref_kreis"], before["ref_kreis_moved"]) == (1.0, (
        "ohne Lichte (16073049) und Piesau (16073066), die am 30.06.2018 noch im Landkreis Saalfeld-Rudolstadt (16073) "
        "lagen und heute zur Gemeinde gehören"))
    assert kreis_value_of(before) == "Kreis " + before["ref_kreis_moved"]  # the comparison's "Kreiswert für"
    assert kreis_value_of(before, short=True) == "Kreis ohne Teile der Gemeinde"  # its page's cell
    assert kreis_value_of({**before, "ref_kreis_without": "Eisenach (16056)"}) == (
        "Kreis ohne Eisenach (16056); " + before["ref_kreis_moved"])
    assert row_of("fibre_coverage", "2019-01-01")["ref_kreis_moved"] is None  # the day of the move
    assert row_of("fibre_coverage", "2021-06-30")["ref_kreis_moved"] is None  # after it
    assert row_of("fibre_coverage", "2018-06-30", "16072001")["ref_kreis_moved"] is None  # another town of the Kreis
    # INKAR's value of 2018 on its release's territory (12/2022): with the parts; of a release before the move: without
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] is None
    data.reference_releases[transit] = [("inkar", "2018-12")]
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] == (
        "ohne Lichte (16073049) und Piesau (16073066), die auf dem Gebietsstand von INKAR (BBSR) 12/2018 noch im "
        "Landkreis Saalfeld-Rudolstadt (16073) lagen und heute zur Gemeinde gehören")
    # INKAR's own status where the warehouse knows it (publisher_territorial_status), not the release's first day:
    # 12/2022 on the territory of 31.12.2018 leaves the parts out; known only within bounds, it perhaps does
    data.reference_releases[transit] = [("inkar", "2022-12")]
    data.publisher_status = {("inkar", "2022-12"): (stamp("2018-12-31"), stamp("2019-01-01"))}
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] == (
        "ohne Lichte (16073049) und Piesau (16073066), die auf dem Gebietsstand vom 31.12.2018 (INKAR (BBSR) 12/2022) "
        "noch im Landkreis Saalfeld-Rudolstadt (16073) lagen und heute zur Gemeinde gehören")
    data.publisher_status = {("inkar", "2022-12"): (stamp("2018-07-01"), stamp("2020-01-01"))}
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"].startswith(
        "vielleicht ohne Lichte (16073049) und Piesau (16073066), die heute zur Gemeinde gehören: ob sie auf dem "
        "Gebietsstand von INKAR (BBSR) 12/2022 (zwischen dem 01.07.2018 und dem 31.12.2019) noch im Landkreis")
    data.publisher_status = {("inkar", "2022-12"): (stamp("2019-12-31"), stamp("2020-01-01"))}  # after the move
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] is None
    # only a lower bound: the status lies before the release, so a move after the bound is uncertain
    data.publisher_status = {("inkar", "2022-12"): (stamp("2018-07-01"), None)}
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"].startswith(
        "vielleicht ohne Lichte (16073049) und Piesau (16073066), die heute zur Gemeinde gehören: ob sie auf dem "
        "Gebietsstand von INKAR (BBSR) 12/2022 (zwischen dem 01.07.2018 und dem 30.11.2022) noch im")
    # only an upper bound: on the day before it, without the parts that moved by then (untold: it may count them)
    data.publisher_status = {("inkar", "2022-12"): (None, stamp("2019-01-02"))}
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] is None
    data.publisher_status = {("inkar", "2022-12"): (None, stamp("2019-01-01"))}
    assert row_of("transit_stop_distance", "2018-12-31")["ref_kreis_moved"] == (
        "ohne Lichte (16073049) und Piesau (16073066), die auf dem Gebietsstand von INKAR (BBSR) 12/2022 (vor dem "
        "01.01.2019) noch im Landkreis Saalfeld-Rudolstadt (16073) lagen und heute zur Gemeinde gehören")
    data.publisher_status = {}
    when, day = "am 30.06.2018", stamp("2018-06-30")
    # parts of one Kreis moved on different days: one phrase, which names no move's day (Dingelstädt's three)
    data.memo, data.kreis_moves = {}, moves(part("16073049", "Lichte"), part("16073066", "Piesau",
                                                                            moved_on=stamp("2020-01-01")))
    assert kreis_value_moved_de(data, "16072013", day, when) == before["ref_kreis_moved"]
    # a whole Gemeinde and a split's part; then that part alone
    data.memo, data.kreis_moves = {}, moves(part("16073049", "Lichte"), part("16073050", "Anrode", "split"))
    assert kreis_value_moved_de(data, "16072013", day, when) == (
        "ohne Lichte (16073049) und einen Teil von Anrode (16073050), die am 30.06.2018 noch im Landkreis "
        "Saalfeld-Rudolstadt (16073) lagen und heute zur Gemeinde gehören")
    data.memo, data.kreis_moves = {}, moves(part("16073050", "Anrode", "split"))
    assert kreis_value_moved_de(data, "16072013", day, when) == (
        "ohne einen Teil von Anrode (16073050), der am 30.06.2018 noch im Landkreis Saalfeld-Rudolstadt (16073) lag und "
        "heute zur Gemeinde gehört")
    # the whole town under its old key (Lahr, from Cochem-Zell in 2014)
    data.memo, data.kreis_moves = {}, moves(("16072013", "16073013", "Neuhaus", "recode", *part("", "")[4:]))
    assert kreis_value_moved_de(data, "16072013", day, when) == (
        "ohne die Gemeinde, die am 30.06.2018 als Neuhaus (16073013) noch im Landkreis Saalfeld-Rudolstadt (16073) lag")
    # no day of the move known: a day between the two registers is open, one after the later register is not
    open_day = stamp("2018-06-30")
    data.memo, data.kreis_moves = {}, moves(part("16073050", "Anrode", "split", moved_on=pd.NaT))
    assert kreis_value_moved_de(data, "16072013", open_day, when) == (
        "vielleicht ohne einen Teil von Anrode (16073050), der heute zur Gemeinde gehört: ob er am 30.06.2018 noch im "
        "Landkreis Saalfeld-Rudolstadt (16073) lag, sagen die Gemeindeverzeichnisse nicht")
    data.memo, data.kreis_moves = {}, moves(part("16073049", "Lichte", moved_on=pd.NaT))
    assert kreis_value_moved_de(data, "16072013", open_day, when).startswith(
        "vielleicht ohne Lichte (16073049), das heute zur Gemeinde gehört: ob es am 30.06.2018 noch im")
    assert kreis_value_moved_de(data, "16072013", stamp("2022-06-30"), "am 30.06.2022") is None


def test_the_indicator_table_shows_the_kreis_values_note_escaped():
    """The note on the parts a Kreis value leaves out stands in the row's provenance cell after the publisher's notes,
    escaped as every text from a source file (a part's name is the register's)."""
    from reports.build import TEMPLATES, page_environment

    template = (TEMPLATES / "town.html.j2").read_text(encoding="utf-8")
    loop = re.search(r"{% for r in indicators %}.*?{% endfor %}", template, re.S).group(0)
    macros = '{% from "sections.html.j2" import licence %}'
    row = {"indicator_id": "fibre_coverage", "label": "Glasfaser", "pillar_label": "Digitale Infrastruktur",
           "value": 1.17, "decimals": 2, "unit_de": "%", "ref_kreis": 4.5, "source_de": "Breitbandatlas",
           "vintage_de": "06/2021", "period": 2021, "dated_de": "Stichtag 30.06.2021", "imputed": False,
           **dict.fromkeys(["zero_de", "ref_land", "ref_bund", "ref_group", "quality_de", "reference_dates_de",
                            "ref_kreis_former", "ref_kreis_without", "attribution", "licence"]),
           "ref_kreis_moved": "ohne A <b> & B (16064014), das am 30.06.2021 noch im Unstrut-Hainich-Kreis (16064) lag "
                              "und heute zur Gemeinde gehört"}
    html = page_environment().from_string(macros + loop).render(indicators=[row])
    assert ("; Kreiswert ohne A &lt;b&gt; &amp; B (16064014), das am 30.06.2021 noch im Unstrut-Hainich-Kreis (16064) "
            "lag und heute zur Gemeinde gehört") in html
    assert "Kreiswert" not in page_environment().from_string(macros + loop).render(
        indicators=[{**row, "ref_kreis_moved": None}])


def test_the_town_page_shows_the_parts_sentence_in_both_kreis_sections():
    """The sentence stands in the Mobilfunk section under its own id, escaped as every text from a source file (a
    part's name is the register's); and in the Pendlerströme section likewise."""
    from reports.build import TEMPLATES, page_environment

    template = (TEMPLATES / "town.html.j2").read_text(encoding="utf-8")
    mobile = {"rows": [{"area": "Wohnbaufläche", "values": [99.0]}], "technologies": ["LTE10"], "no_kreis": False,
              "shown_cell": None, "kreis_name": "Schmalkalden-Meiningen", "kreis_ags": "16066", "territory_de": None,
              "moved_de": "A <b> & B lag am 30.06.2016 noch im Wartburgkreis (16063)", "whole": False,
              "reference_date": pd.Timestamp("2016-06-30"), "vintage_de": "06/2016", "publisher": "BNetzA",
              "attribution": "©", "licence": None, "licence_url": None}
    macros = '{% from "sections.html.j2" import download_links, licence %}'
    section = page_environment().from_string(macros + re.search(r'<section id="mobilfunk">.*?</section>', template,
                                                                re.S).group(0))
    html = section.render(mobile=mobile, downloads={}, town={"name": "Kaltennordheim, Stadt",
                                                             "kreis_designation": "Landkreis"})
    assert ('<p class="hint" id="mobilfunk-teile">A &lt;b&gt; &amp; B lag am 30.06.2016 noch im Wartburgkreis '
            '(16063).</p>') in html
    assert "mobilfunk-teile" not in section.render(mobile={**mobile, "moved_de": None}, downloads={},
                                                   town={"name": "X", "kreis_designation": "Landkreis"})
    flows = re.search(r'<section id="pendlerstroeme">.*?</section>', template, re.S).group(0)
    commuting = {"no_kreis": False, "shown_cell": None, "kreis_name": "Schmalkalden-Meiningen", "kreis_ags": "16066",
                 "whole": False, "territory_de": None, "moved_de": "A <b> lag am 30.06.2016 noch im Wartburgkreis",
                 "rows": [], "reference_date": pd.Timestamp("2016-06-30"), "out_commuters": None, "employees": None,
                 "notes": []}
    html = page_environment().from_string(macros + flows).render(commuting=commuting, downloads={}, town={
        "name": "Kaltennordheim, Stadt", "kreis_designation": "Landkreis"})
    assert '<p class="hint" id="pendler-teile">A &lt;b&gt; lag am 30.06.2016 noch im Wartburgkreis.</p>' in html
