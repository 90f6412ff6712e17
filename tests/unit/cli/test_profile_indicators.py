"""`readiness profil`'s table of the newest indicator values says which of them the published index rests on."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from cli.profile import indicator_table


def row(indicator_id: str, period: int, provisional, in_score: bool, excluded: str | None = None) -> dict:
    return {"pillar": "digital_infrastructure", "label": indicator_id, "indicator_id": indicator_id, "period": period,
            "period_provisional": provisional, "ranking_period": 2021, "in_published_score": in_score, "value": 50.0,
            "unit": "% of households", "source_id": "breitbandatlas", "vintage": "2021-mitte",
            "reference_date": pd.Timestamp("2021-06-30"), "imputed": period != 2021, "territorial_change": None,
            "method_break": False, "source_level": "gemeinde", "base_period": None, "excluded_reason": excluded}


def rendered(rows: list[dict]) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(indicator_table(pd.DataFrame(rows)))
    return out.getvalue().splitlines()


def test_values_of_a_provisional_or_older_year_are_marked_as_not_in_the_published_index():
    """Mölln's profile listed 2023 (provisional) and 2018 values under "Index 2021" unmarked (review of
    5 December): the year says 'vorl.', a column says whether the 2021 score rests on the value."""
    lines = rendered([row("gigabit_coverage", 2023, True, False), row("fibre_coverage", 2021, False, True),
                      row("population_change_5y", 2018, False, False)])
    header = next(line for line in lines if line.startswith("┃"))
    assert "im Index 2021" in header
    cells = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:]] for line in lines
             if line.startswith("│") and line.split("│")[1].strip()}
    assert cells["gigabit_coverage"][0] == "2023 vorl." and cells["gigabit_coverage"][6] == "nein"
    assert cells["fibre_coverage"][0] == "2021" and cells["fibre_coverage"][6] == "ja"
    assert cells["population_change_5y"][0] == "2018" and cells["population_change_5y"][6] == "nein"
    assert any("vorläufiges Jahr" in line for line in lines)  # the caption explains both marks


def test_the_profile_shows_what_the_published_score_rests_on_and_other_years_apart():
    """Wittenberge's profile read "im Index 2021: nein" in every row: the rows were the 2023 copies of the values the
    2021 score rests on (review of 6 December 2026). Now the table holds the headline period's rows; another year's
    row is listed apart: an old value of an indicator without one in the period (as the page's indicators_elsewhere),
    and a newer one only where it is another observation, not the same value carried forward."""
    from cli.profile import split_by_period

    scored = pd.DataFrame([row("gigabit_coverage", 2021, False, True), row("fibre_coverage", 2021, False, True)])
    carried = row("gigabit_coverage", 2023, True, False)  # the same observation, carried into 2023
    new = {**row("fibre_coverage", 2023, True, False), "value": 61.0, "vintage": "2023-12",
           "reference_date": pd.Timestamp("2023-12-31"), "imputed": False}
    old = row("population_change_5y", 2018, False, False)  # no value in 2021: apart, with its own year
    shown, elsewhere = split_by_period(scored, pd.DataFrame([carried, new, old]), 2021)
    assert list(zip(shown["indicator_id"], shown["period"])) == [("gigabit_coverage", 2021), ("fibre_coverage", 2021)]
    assert list(zip(elsewhere["indicator_id"], elsewhere["period"])) == [("fibre_coverage", 2023),
                                                                         ("population_change_5y", 2018)]
    lines = rendered(shown.to_dict("records"))
    assert sum("│ ja " in line for line in lines) == 2 and not any("│ nein " in line for line in lines)


def test_a_value_is_in_the_index_only_where_its_pillar_is_counted_and_the_year_scored():
    """PERIOD_INDICATORS_SQL with the warehouse's view score_inputs: a pillar shown beside the score but not counted
    (uncompared_pillars), a context indicator and a headline year without a score (a pillar missing) mark no value
    as the score's input. The rule was written apart in the CLI, the latest values and pandas; the latest values'
    copy left out the score (review of 6 December 2026)."""
    import duckdb

    from cli.profile import PERIOD_INDICATORS_SQL
    from warehouse.paths import view_statements

    con = duckdb.connect()
    con.execute("""CREATE TABLE indicator_catalogue AS SELECT * FROM (VALUES
        ('gigabit_coverage', 'digital_infrastructure', 'Gigabit'), ('coworking_within_10km', 'local_work_infrastructure',
         'Coworking'), ('population_density', 'context', 'Dichte')) t(indicator_id, pillar, label)""")
    con.execute("""CREATE TABLE indicator_values AS SELECT *, 50.0 AS value, '%' AS unit, 's' AS source_id,
        'v' AS vintage, DATE '2021-06-30' AS reference_date, false AS imputed, NULL AS territorial_change,
        false AS method_break, 'gemeinde' AS source_level, NULL::INTEGER AS base_period FROM (VALUES
        ('01053090', 'gigabit_coverage', 2021, NULL), ('01053090', 'coworking_within_10km', 2021, NULL),
        ('01053090', 'population_density', 2021, 'context_indicator')) t(ags, indicator_id, period, excluded_reason)""")
    con.execute("""CREATE TABLE publish_log AS SELECT * FROM (VALUES ('0.3.2', TIMESTAMP '2026-11-01'),
        ('0.3.3', TIMESTAMP '2026-12-01')) t(method_version, published_at)""")
    con.execute("CREATE TABLE readiness_index (ags VARCHAR, period INTEGER, method_version VARCHAR, score DOUBLE, "
                "uncompared_pillars VARCHAR)")
    statements = view_statements()  # as the publish creates them
    for view in ("current_method", "index_inputs", "score_inputs"):
        con.execute(statements[view])

    def marked(uncompared, score=70.2):
        con.execute("DELETE FROM readiness_index")
        con.execute("INSERT INTO readiness_index VALUES ('01053090', 2021, '0.3.2', 60.0, NULL), "
                    "('01053090', 2021, '0.3.3', ?, ?)", [score, uncompared])
        return dict(con.execute(f"SELECT indicator_id, in_published_score FROM ({PERIOD_INDICATORS_SQL})",
                                {"ags": "01053090", "period": 2021, "provisional": False}).fetchall())
    assert marked(None) == {"gigabit_coverage": True, "coworking_within_10km": True, "population_density": False}
    assert marked("local_work_infrastructure")["coworking_within_10km"] is False
    assert marked("digital_infrastructure, local_work_infrastructure") == {
        "gigabit_coverage": False, "coworking_within_10km": False, "population_density": False}
    assert not any(marked(None, score=None).values())  # the current method has no score; an older one's does not count


def test_a_long_label_or_note_is_wrapped_never_cut_off():
    """At 160 columns (the width of a pipe or file) the table cut "Bevölkerungsentwicklung, ca. 10 Jahre" to
    "Bevölkerungsentwickl…" and Mölln's note on Destatis' 2016 break before its end (session of 7 December 2026): a
    word wider than its column now continues on the next line."""
    label = "Bevölkerungsentwicklung, ca. 10 Jahre (% pro Jahr)"
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(
        indicator_table(pd.DataFrame([{**row("population_change_10y", 2021, False, True), "label": label,
                                       "method_break": True}])))
    text = out.getvalue()
    assert "…" not in text
    first_cells = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))
    assert first_cells.replace(" ", "") == label.replace(" ", "")  # every character of the label, in order
