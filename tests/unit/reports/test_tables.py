"""reports/tables.py: the indicator values of a page's downloads at the decimals their unit is published with."""

from __future__ import annotations

import pandas as pd

from reports.downloads import Table, csv_bytes
from reports.labels import PILLARS
from reports.tables import comparison_tables, town_tables

# Süderbrarup (01059083), merged: its 2021 broadband share restated onto today's territory, the predecessors' shares
# weighted by population, as the warehouse keeps it (review of 5 December: "83,6367521547" in its indikatoren.csv)
RESTATED = 83.63675215468
INDICATOR = {"indicator_id": "broadband_100_coverage", "label": "Haushalte mit ≥ 100 Mbit/s (alle Technologien)",
             "pillar_label": "Digitale Infrastruktur", "unit_de": "% der Haushalte", "period": 2021,
             "source_de": "Breitbandatlas", "vintage_de": "06/2021", "reference_date": None, "imputed": False,
             "imputation_de": "", "quality_de": "", "ref_group": 88.27}


def context(indicators: list[dict], drivers: list[dict]) -> dict:
    return {"town": {"ags": "01059083", "name": "Süderbrarup"}, "history": {"rows": []}, "summary": {"period": 2021},
            "pillars": [], "drivers": [{"period_from": 2018, "period_to": 2021, "rows": drivers}],
            "indicators": indicators, "indicators_elsewhere": [], "indicators_period": 2021, "peers": [],
            "commuting": {"kreis_ags": "01059", "rows": []}, "coworking": {"rows": []},
            "mobile": {"kreis_ags": "01059", "rows": []}}


def table(tables: list[Table], key: str) -> Table:
    return next(t for t in tables if t.key == key)


def test_a_restated_value_is_downloaded_with_its_publishers_decimals_a_published_one_unchanged():
    """indikatoren and treiber: the restated share with the Breitbandatlas' 2 decimals; a published INKAR share
    (58.949999999999996 as stored: 58,95) and a computed population change (4 decimals) keep theirs; the drivers'
    composition row (no indicator) is left as it is. The reference group's median of two values has a decimal more
    (161,62195 where the unit has four, 9,707 rows of the Germany-wide pages): at the unit's published decimals, as
    the town's value in the row, and so are the Kreis, Land and Bund values (the publisher's 35 for 35,00 %)."""
    rows = [{**INDICATOR, "value": RESTATED, "ref_group": 88.275, "ref_kreis": 35.0, "ref_land": 80.351,
             "ref_bund": None},
            {**INDICATOR, "indicator_id": "out_commuter_share", "value": 58.949999999999996},
            {**INDICATOR, "indicator_id": "population_change_10y", "value": -0.5408}]
    drivers = [{"indicator_id": "broadband_100_coverage", "label": "x", "pillar_label": "y", "value_from": 75.2036998108,
                "value_to": RESTATED, "contribution": 2.1, "marks_from_de": "", "marks_to_de": ""},
               {"indicator_id": "composition", "label": "Zusammensetzung", "pillar_label": "z", "value_from": None,
                "value_to": None, "contribution": -4.74182291667, "marks_from_de": "", "marks_to_de": ""}]
    tables = town_tables(context(rows, drivers), [], Table("datenstand", "Datenstand", []))
    indikatoren = table(tables, "indikatoren")
    assert [r["Wert"] for r in indikatoren.rows] == [83.64, 58.95, -0.5408]
    first = indikatoren.rows[0]
    assert [first[k] for k in ("Median Vergleichsgruppe", "Kreis", "Land", "Bund")] == [88.28, 35.0, 80.35, None]
    assert indikatoren.rows[1]["Median Vergleichsgruppe"] == 88.27
    assert "83,64;% der Haushalte;2021;35,00;80,35;;;88,28;" in csv_bytes(indikatoren).decode("utf-8-sig")
    treiber = table(tables, "treiber").rows
    assert (treiber[0]["Wert von"], treiber[0]["Wert bis"]) == (75.2, 83.64)
    assert (treiber[1]["Wert von"], treiber[1]["Beitrag (Punkte)"]) == (None, -4.74182291667)


def test_the_indicator_download_names_the_parts_of_the_town_a_kreis_value_leaves_out():
    """The page's note on a Kreis value of a day when parts of the town lay in another Kreis (reports.context
    ``kreis_value_moved_de``) is a column of ``indikatoren``, as the page's provenance cell; none without such a row."""
    moved = ("ohne Lichte (16073049) und Piesau (16073066), die am 30.06.2018 noch im Landkreis Saalfeld-Rudolstadt "
             "(16073) lagen und heute zur Gemeinde gehören")
    row = {**INDICATOR, "value": 87.92, "ref_kreis": 35.0, "ref_land": 80.35}
    rows = [{**row, "ref_kreis_moved": moved}, {**row, "indicator_id": "out_commuter_share"}]
    indikatoren = table(town_tables(context(rows, []), [], Table("datenstand", "Datenstand", [])), "indikatoren")
    assert [r["Kreiswert: Teile der Gemeinde"] for r in indikatoren.rows] == [moved, None]
    assert f";35,00;{moved};80,35;" in csv_bytes(indikatoren).decode("utf-8-sig")  # beside the Kreis value it explains
    plain = table(town_tables(context([row], []), [], Table("datenstand", "Datenstand", [])), "indikatoren")
    assert "Kreiswert: Teile der Gemeinde" not in plain.rows[0]


def test_the_comparison_page_downloads_a_restated_value_with_its_publishers_decimals():
    town = {"town": {"ags": "01059083", "name": "Süderbrarup", "kreis_name": "K", "kreis_cell": "K", "land": "L",
                     "population": 4000},
            "latest": None, "data_dates": None,
            "indicators": {"broadband_100_coverage": {"value": RESTATED, "reference_date": None, "imputed": False,
                                                      "ref_kreis": 35.0, "ref_kreis_date": None}}}
    [vergleich] = comparison_tables([town], [("broadband_100_coverage", INDICATOR["label"])],
                                    medians={"broadband_100_coverage": 88.275})
    row = next(r for r in vergleich.rows if r["Merkmal"].startswith(INDICATOR["label"]))
    assert (row["Süderbrarup"], row["Median der Vergleichsgruppe"]) == (83.64, 88.28)
    # the Kreis value and the median with the unit's published decimals too, as the town's value
    text = csv_bytes(vergleich).decode("utf-8-sig")
    assert f"\n{INDICATOR['label']};83,64;88,28\n" in text
    assert f"{INDICATOR['label']}: Kreis;35,00;" in text


def test_the_comparison_says_whose_a_kreis_value_is_and_tells_kreise_of_one_name_apart():
    """``readiness vergleich 16063105 16063015`` showed the Wartburgkreis without Eisenach and the former Kreis Eisenach
    as "Kreis" values without a word, Aschaffenburg for the Landkreis and the kreisfreie Stadt alike (CLI sweep of 7
    December 2026): the download says whose each Kreis value is, and names the Kreis as the table cells do."""
    day = pd.Timestamp("2021-06-30")

    def town(ags, name, cell, **refs):
        value = {"value": 1.0, "reference_date": day, "imputed": False, "ref_kreis": 2.0, "ref_kreis_date": day, **refs}
        return {"town": {"ags": ags, "name": name, "kreis_name": "Aschaffenburg", "kreis_cell": cell, "land": "Bayern",
                         "population": 1}, "latest": None, "data_dates": None, "indicators": {"fibre_coverage": value}}

    towns = [town("16063105", "Eisenach, Stadt", "Wartburgkreis", ref_kreis_former="Eisenach (16056)"),
             town("16063015", "Dermbach", "Wartburgkreis", ref_kreis_without="Eisenach (16056)"),
             town("09671111", "Alzenau", "Aschaffenburg (Landkreis)")]
    [vergleich] = comparison_tables(towns, [("fibre_coverage", "Glasfaser")])
    rows = {r["Merkmal"]: r for r in vergleich.rows}
    assert [rows["Glasfaser: Kreiswert für"][t] for t in ("Eisenach, Stadt", "Dermbach", "Alzenau")] == [
        "früherer Kreis Eisenach (16056)", "Kreis ohne Eisenach (16056)", None]
    assert rows["Kreis"]["Alzenau"] == "Aschaffenburg (Landkreis)"
    towns[0]["indicators"]["fibre_coverage"].pop("ref_kreis_former")
    towns[1]["indicators"]["fibre_coverage"].pop("ref_kreis_without")
    assert "Glasfaser: Kreiswert für" not in {r["Merkmal"] for r in comparison_tables(towns, [("fibre_coverage",
                                                                                                "Glasfaser")])[0].rows}


def test_the_comparison_of_a_town_unscored_in_the_published_year_says_so():
    """Böhlen (14729040) has no demographic value the index scores in 2021: its column showed 2018's score and rank
    above its 2021 values, the population change of 0,24 % without the reason it is not scored, and Tangstedt's
    0 % carried forward without a score (review of 5 December). Now the published year's row leads (no score, no
    share) and an excluded value says why, as on the town page."""
    latest = {"period": 2021, "score": None, "rank": None, "compared_towns": None, "tied_towns": 0, "rank_p05": None,
              "rank_p95": None, "imputed_share": 0.667, **{p: None for p in PILLARS}}
    reason = "nicht bewertet: Gebietsänderung im Zeitraum"
    town = {"town": {"ags": "14729040", "name": "Böhlen", "kreis_name": "Leipzig", "kreis_cell": "Leipzig", "land": "Sachsen",
                     "population": 6500}, "latest": latest, "data_dates": "Breitband 06/2021",
            "indicators": {"population_change_10y": {"value": 0.24, "reference_date": None, "imputed": False,
                                                     "excluded_reason": "territorial_change", "quality_de": reason}}}
    scored = {**town, "town": {**town["town"], "ags": "14729050", "name": "Scored"},
              "latest": {**latest, "score": 50.0, "rank": 10},
              "indicators": {"population_change_10y": {"value": -0.5, "reference_date": None, "imputed": False,
                                                       "excluded_reason": None, "quality_de": ""}}}
    [vergleich] = comparison_tables([town, scored], [("population_change_10y", "Bevölkerungsentwicklung")])
    rows = {r["Merkmal"]: r for r in vergleich.rows}
    assert rows["Jahr"]["Böhlen"] == 2021 and rows["Indexwert"]["Böhlen"] is None
    assert rows["Gewichtsanteil fortgeschriebener Werte (%)"]["Böhlen"] is None
    assert rows["Gewichtsanteil fortgeschriebener Werte (%)"]["Scored"] == 66.7
    why = rows["Bevölkerungsentwicklung: Hinweis"]
    assert (why["Böhlen"], why["Scored"]) == (reason, None)
    # no such row where every value is scored
    [alone] = comparison_tables([scored], [("population_change_10y", "Bevölkerungsentwicklung")])
    assert not any(r["Merkmal"].endswith(": Hinweis") for r in alone.rows)


def test_pillar_scores_are_downloaded_as_the_page_shows_them():
    """Wittenberge's saeulen.csv wrote "42,4133333333" and the comparison's download "42,4133333333" beside the page's
    42,4 and the planner exports' one decimal (planner walkthrough of 7 December 2026): a pillar score and its median
    have the score's published decimal in both."""
    pillars = [{"label": "Digitale Infrastruktur", "value": 42.41333333333, "median": 42.33666666667, "reason": None},
               {"label": "Lokale Arbeitsinfrastruktur", "value": None, "median": None, "reason": "nicht bewertet"}]
    tables = town_tables({**context([], []), "pillars": pillars}, [], Table("datenstand", "Datenstand", []))
    saeulen = table(tables, "saeulen")
    assert [(r["Wert (0–100)"], r["Median Vergleichsgruppe"]) for r in saeulen.rows] == [(42.4, 42.3), (None, None)]
    assert "2021;Digitale Infrastruktur;42,4;42,3;" in csv_bytes(saeulen).decode("utf-8-sig")
    latest = {"period": 2021, "score": 48.1, "rank": 10, "compared_towns": 100, "tied_towns": 1, "rank_p05": 5,
              "rank_p95": 20, "imputed_share": 0.5, **{p: 42.41333333333 for p in PILLARS}}
    town = {"town": {"ags": "12070424", "name": "Wittenberge", "kreis_name": "Prignitz", "kreis_cell": "Prignitz",
                     "land": "Brandenburg", "population": 16982}, "latest": latest, "data_dates": None, "indicators": {}}
    [vergleich] = comparison_tables([town], [], medians={p: 42.33666666667 for p in PILLARS})
    rows = {r["Merkmal"]: r for r in vergleich.rows}
    assert rows["Digitale Infrastruktur"]["Wittenberge"] == 42.4
    assert rows["Digitale Infrastruktur"]["Median der Vergleichsgruppe"] == 42.3


def test_a_download_writes_a_number_with_the_decimals_the_page_shows(tmp_path):
    """Wittenberge's comparison download wrote "Indexwert;48,1;60;55,5" and saeulen.csv a median of "57", a car time
    of 38,10 minutes as "38,1" (planner walkthrough of 7 December 2026): a score, a pillar score, a gap and an
    indicator value are written with their published decimals; the workbook keeps numbers."""
    import pickle

    import openpyxl

    from reports.downloads import Shown, shown, write_workbook

    car = {**INDICATOR, "indicator_id": "ic_ice_station_car_minutes", "value": 38.1, "unit_de": "Minuten mit dem Pkw"}
    pillars = [{"label": "Pendelpotenzial", "value": 60.0, "median": 57.0, "reason": None}]
    history = {"rows": [{"period": 2021, "score": 60.0, "score_p05": 45.0, "score_p95": 62.0, "rank": 3,
                         "rank_p05": 1.0, "rank_p95": 4.0, "outside_band": False, "compared_towns": 10,
                         "imputed_share": 0.5, "provisional": False, "composition_de": "", "data_dates": "",
                         "missing": []}]}
    tables = town_tables({**context([car], []), "pillars": pillars, "history": history}, [],
                         Table("datenstand", "Datenstand", []))
    text = {t.key: csv_bytes(t).decode("utf-8-sig") for t in tables if t.rows}
    assert "2021;Pendelpotenzial;60,0;57,0;" in text["saeulen"]
    # the share carried forward with one decimal, as the comparison's download writes it (was 50 beside its 50,0)
    assert ";2021;60,0;45,0;62,0;3;1;4;nein;10;50,0;nein;" in text["indexverlauf"]
    assert ";38,10;Minuten mit dem Pkw;" in text["indikatoren"]
    value = table(tables, "indikatoren").rows[0]["Wert"]
    assert value == 38.1 and isinstance(value, float)  # a number to the workbook and to arithmetic
    # the workbook shows them as the CSV writes them: a number cell with the format of its decimals
    write_workbook([t for t in tables if t.rows], tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    cell = book["Indikatoren"]["D2"]
    assert (cell.value, cell.number_format) == (38.1, "#,##0.00")
    assert [(c.value, c.number_format) for c in book["Säulen"][2][2:4]] == [(60, "#,##0.0"), (57, "#,##0.0")]
    assert pickle.loads(pickle.dumps(value)).digits == 2 and type(pickle.loads(pickle.dumps(value))) is Shown
    assert shown(None, 1) is None and shown(1.5, None) == 1.5 and type(shown(1.5, None)) is float


def test_a_table_written_by_pandas_keeps_the_decimals_too(tmp_path):
    """A table with a column only pandas writes (a date) takes the pandas path: its Shown numbers keep their decimals
    there as well (60,0, not 60), and a negative value shown as zero has no sign."""
    import datetime as dt

    from reports.downloads import german_csv, shown

    rows = [{"Tag": dt.date(2021, 6, 30), "Indexwert": shown(60.0, 1), "Wert": shown(-0.0, 4)}]
    german_csv(Table("t", "T", rows), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()[1].endswith(";60,0;0,0000")
