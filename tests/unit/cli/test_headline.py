"""The period a town's page, its indicator table and `readiness profil` lead with: reports.context.headline_row (the
page and the CLI, which had a copy of the rule that drifted) and its SQL twin reports.data.HEADLINE_PERIODS, which
picks the indicator values shown under the headline. The same period in both, also for a town never scored."""

from __future__ import annotations

import duckdb
import pytest

from reports.context import headline_row
from reports.data import HEADLINE_PERIODS

PROVISIONAL = {2022, 2023}  # the published period is 2021: later ones rest mostly on carried-forward data
CASES = [
    ({2018: 60.0, 2021: 55.0, 2023: 56.0}, 2021),   # the published period, scored
    ({2018: 47.1, 2021: None, 2023: None}, 2021),   # Böhlen: not scored in 2021, led with 2018's score and rank
    ({2018: 50.0, 2021: None, 2023: 52.0}, 2021),   # the provisional 2023 score is shown apart, not as the headline
    ({2018: None, 2021: None, 2023: None}, 2021),   # Tangstedt, never scored: led with 2023, a provisional period
    ({2018: 50.0, 2023: 52.0}, 2023),               # no row of the published period: the newest scored
    ({2022: None, 2023: None}, 2023),               # no period but provisional ones: the newest
]


def rows(scores: dict[int, float | None]) -> list[dict]:
    return [{"period": period, "score": score, "period_provisional": period in PROVISIONAL}
            for period, score in scores.items()]


@pytest.mark.parametrize("scores, expected", CASES)
def test_the_page_and_the_cli_lead_with_the_published_period_where_they_can(scores, expected):
    assert headline_row(rows(scores), 2021)["period"] == expected


def test_the_indicator_values_are_chosen_for_the_same_period():
    """HEADLINE_PERIODS on a readiness_index holding every case as one town, with the published period 2021 (the
    warehouse's view published_period: another town is scored in 2021)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE readiness_index (ags VARCHAR, period INTEGER, score DOUBLE, method_version VARCHAR)")
    for number, (scores, _) in enumerate(CASES):
        con.executemany("INSERT INTO readiness_index VALUES (?, ?, ?, '1')",
                        [(f"town{number}", period, score) for period, score in scores.items()])
    con.execute("CREATE VIEW published_period AS SELECT 2021 AS period")
    chosen = dict(con.execute(HEADLINE_PERIODS, {"mv": "1"}).fetchall())
    assert chosen == {f"town{number}": headline_row(rows(scores), 2021)["period"]
                      for number, (scores, _) in enumerate(CASES)}
    assert chosen["town3"] == 2021  # the never-scored town: 2023 before


def test_the_cli_says_why_a_rank_band_has_decimals_as_the_page_does():
    """'Rang 103–420,1' puzzled on the page, which then explains it; `readiness profil` printed it bare."""
    from cli.profile import headline_text
    from reports.context import RANK_BAND_DECIMALS_DE

    row = {"period": 2021, "score": 61.2, "rank": 250, "compared_towns": 2282, "tied_towns": 1, "rank_p05": 103.0,
           "rank_p95": 420.1, "score_p05": 55.0, "score_p95": 66.0, "imputed_share": None, "missing_pillars": None,
           "omitted_pillars": None, "uncompared_pillars": None, "method_version": "0.3.3"}
    text = headline_text(row)
    assert "Rang 103–420,1" in text and f"Rangband: {RANK_BAND_DECIMALS_DE}" in text
    assert "Rangband:" not in headline_text({**row, "rank_p95": 420.0})


def test_a_year_without_a_score_has_no_carried_forward_share_in_the_cli_either():
    """The page drops the share of a year without a score (Mölln 2019 showed 33 %); the CLI printed it under a
    headline without a score, and in its history table."""
    import pandas as pd

    from cli.profile import headline_text, history_table

    row = {"period": 2021, "score": None, "rank": None, "compared_towns": None, "tied_towns": 0, "rank_p05": None,
           "rank_p95": None, "score_p05": None, "score_p95": None, "imputed_share": 0.33, "in_reference_group": True,
           "missing_pillars": "accessibility", "omitted_pillars": None, "uncompared_pillars": None,
           "method_version": "0.3.3"}
    assert "fortgeschrieben" not in headline_text(row)
    assert "fortgeschrieben: 33 %" in headline_text({**row, "score": 50.0})
    table = history_table(pd.DataFrame([{**row, "provisional": False}, {**row, "period": 2023, "score": 50.0,
                                                                         "provisional": True}]))
    assert list(table.columns[5].cells) == ["–", "33 %"]


def test_the_cli_names_the_last_scored_year_of_a_town_unscored_in_the_published_one():
    """Böhlen 2021: the CLI said "Es fehlen Daten für Demografische Dynamik" where its value is there but not scored
    (a territorial change), and not which year was scored last, as the page does (read of the change, 5 December)."""
    from cli.profile import headline_text

    row = {"period": 2021, "score": None, "rank": None, "compared_towns": None, "tied_towns": 0, "rank_p05": None,
           "rank_p95": None, "score_p05": None, "score_p95": None, "imputed_share": 0.67, "in_reference_group": True,
           "missing_pillars": "demographic_dynamics", "omitted_pillars": None, "uncompared_pillars": None,
           "method_version": "0.3.3"}
    text = headline_text(row, "", {"period": 2018, "score": 47.12974702380953})
    assert "Kein Gesamtwert für 2021: kein bewertbarer Wert für Demografische Dynamik" in text
    assert "Letzter bewerteter Stand: 2018 mit 47,1 Punkten." in text
    assert "Letzter" not in headline_text({**row, "score": 50.0}, "", {"period": 2018, "score": 47.1})


def test_a_missing_pillar_without_any_value_points_to_no_table():
    """Tangstedt 2021 Germany-wide: INKAR lists it without values, so its indicator table has no commuting or
    accessibility row, yet the CLI said "(fehlend oder nicht bewertet, siehe Indikatoren)" (CLI audit of 7 December
    2026). Böhlen's value is there but not scored: that one the table shows."""
    from cli.profile import headline_text

    row = {"period": 2021, "score": None, "rank": None, "compared_towns": None, "tied_towns": 0, "rank_p05": None,
           "rank_p95": None, "score_p05": None, "score_p95": None, "imputed_share": 0.5, "in_reference_group": True,
           "missing_pillars": "commuting_potential, accessibility", "omitted_pillars": None,
           "uncompared_pillars": None, "method_version": "0.3.5"}
    tangstedt = headline_text(row, "", None, {"digital_infrastructure", "demographic_dynamics"})
    assert ("kein bewertbarer Wert für Pendelpotenzial und Erreichbarkeit (für diese Säulen hat die Gemeinde keine "
            "Werte).") in tangstedt and "siehe Indikatoren" not in tangstedt
    boehlen = headline_text({**row, "missing_pillars": "demographic_dynamics"}, "", None, {"demographic_dynamics"})
    assert "(fehlend oder nicht bewertet, siehe Indikatoren)." in boehlen


def test_the_cli_history_says_why_a_year_has_no_score_as_the_page_does():
    """`readiness profil` showed 2019 and 2020 as rows of dashes with no word why (audit of 7 December 2026); the town
    page says "Kein Gesamtwert für 2019 und 2020: kein bewertbarer Wert für Demografische Dynamik." The table's caption
    now says it in the page's words, years missing the same pillars together."""
    import pandas as pd

    from cli.profile import history_table

    base = {"score": None, "rank": None, "compared_towns": None, "rank_p05": None, "rank_p95": None,
            "imputed_share": None, "provisional": False}
    history = pd.DataFrame([{**base, "period": 2018, "score": 60.0, "imputed_share": 0.25, "missing_pillars": None},
                            {**base, "period": 2019, "missing_pillars": "demographic_dynamics"},
                            {**base, "period": 2020, "missing_pillars": "demographic_dynamics"},
                            {**base, "period": 2021, "missing_pillars": "commuting_potential, accessibility"}])
    assert history_table(history).caption == (
        "Kein Gesamtwert für 2019 und 2020: kein bewertbarer Wert für Demografische Dynamik. "
        "Kein Gesamtwert für 2021: kein bewertbarer Wert für Pendelpotenzial und Erreichbarkeit.")
    assert history_table(history.iloc[:1]).caption is None  # every year scored: no caption


def test_the_cli_history_marks_a_year_resting_on_other_indicators_and_explains_decimal_rank_bands():
    """`readiness profil 12070424` showed 2018 40,8 -> 2021 48,1 unmarked while the page says 2018 rests on other
    indicators and is no time comparison; and the rank band's decimals (2.108,9–2.965,3) went unexplained when the
    headline's band had none (planner walkthrough of 7 December 2026)."""
    import pandas as pd

    from cli.profile import history_table

    base = {"rank": 10, "compared_towns": 100, "imputed_share": 0.25, "provisional": False, "missing_pillars": None}
    history = pd.DataFrame([{**base, "period": 2018, "score": 40.8, "rank_p05": 2108.9, "rank_p95": 2965.3},
                            {**base, "period": 2021, "score": 48.1, "rank_p05": 2180.0, "rank_p95": 2645.0}])
    text = "nicht vergleichbar mit 2021: Erreichbarkeit ohne Pkw-Fahrzeit zum nächsten Oberzentrum"
    table = history_table(history, {2018: text}, 2021, band_noted=False)
    assert list(table.columns[0].cells) == ["2018 nicht vergleichbar", "2021"]
    assert f"2018 {text}." in table.caption and "kein Zeitvergleich" in table.caption
    assert "zwischen zwei Rängen interpoliert" in table.caption
    # said once: not again below the table when the headline said it, nor without decimals
    assert "interpoliert" not in (history_table(history, band_noted=True).caption or "")
    assert history_table(history.iloc[1:], band_noted=False).caption is None


def test_a_year_no_town_has_a_pillar_in_is_not_called_the_towns_gap():
    """2019 and 2020 have no score anywhere: no loaded Gemeindeverzeichnis release gives a population for them. "kein
    bewertbarer Wert für Demografische Dynamik" read like Wittenberge's own gap (planner walkthrough of 7 December
    2026); where no town has the pillar that year the sentence says so, on the page and in the CLI alike."""
    import pandas as pd

    from cli.profile import history_table
    from reports.context import missing_everywhere

    usual = {2018: {"demographic_dynamics": 3}, 2023: {"demographic_dynamics": 2}}  # 2019, 2021: no town has it
    assert missing_everywhere(["demographic_dynamics"], 2019, usual)
    assert not missing_everywhere(["demographic_dynamics"], 2023, usual)
    assert not missing_everywhere(["demographic_dynamics"], 2019, None)  # not known: not said
    base = {"score": None, "rank": None, "compared_towns": None, "rank_p05": None, "rank_p95": None,
            "imputed_share": None, "provisional": False, "missing_pillars": "demographic_dynamics"}
    history = pd.DataFrame([{**base, "period": p} for p in (2019, 2021, 2023)])
    assert history_table(history, usual=usual).caption == (
        "Kein Gesamtwert für 2019 und 2021: kein bewertbarer Wert für Demografische Dynamik, in diesen Jahren für keine "
        "Gemeinde (die geladenen Ausgaben der Quellen decken diese Jahre nicht ab). "
        "Kein Gesamtwert für 2023: kein bewertbarer Wert für Demografische Dynamik.")


def test_a_year_whose_values_the_index_cannot_score_says_why():
    """Unstruttal (16064071), split in 2023: "Kein Gesamtwert für 2023: kein bewertbarer Wert für Digitale
    Infrastruktur, …" without the split, which only the values' notes named (session of 7 December 2026). The sentence
    now gives the reason of the values the town has; a pillar without values keeps the plain words."""
    import pandas as pd

    from cli.profile import history_table

    base = {"score": None, "rank": None, "compared_towns": None, "rank_p05": None, "rank_p95": None,
            "imputed_share": None, "provisional": False, "period": 2023}
    indicators = [{"pillar": "digital_infrastructure", "period": 2023, "excluded_reason": "territorial_change"},
                  {"pillar": "digital_infrastructure", "period": 2023, "excluded_reason": "territorial_change"},
                  {"pillar": "accessibility", "period": 2023, "excluded_reason": "territorial_change"},
                  {"pillar": "accessibility", "period": 2021, "excluded_reason": None}]
    split = "nicht bewertet: eine Gebietsänderung fällt in den Zeitraum des Werts, er beschreibt nicht die Gemeinde in " \
            "ihrem Gebiet"
    both = pd.DataFrame([{**base, "missing_pillars": "digital_infrastructure, accessibility"}])
    assert history_table(both, indicators=indicators).caption == (
        f"Kein Gesamtwert für 2023: kein bewertbarer Wert für Digitale Infrastruktur und Erreichbarkeit (ihre Werte "
        f"sind {split}).")
    partly = pd.DataFrame([{**base, "missing_pillars": "digital_infrastructure, commuting_potential"}])
    assert history_table(partly, indicators=indicators).caption == (
        f"Kein Gesamtwert für 2023: kein bewertbarer Wert für Digitale Infrastruktur und Pendelpotenzial (die Werte für "
        f"Digitale Infrastruktur sind {split}).")
    assert history_table(partly).caption == (  # the values not known: the plain words
        "Kein Gesamtwert für 2023: kein bewertbarer Wert für Digitale Infrastruktur und Pendelpotenzial.")
