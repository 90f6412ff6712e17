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


def test_the_profile_shows_what_the_published_score_rests_on_and_newer_values_apart():
    """Wittenberge's profile read "im Index 2021: nein" in every row: the rows were the 2023 copies of the values the
    2021 score rests on (review of 6 December 2026). Now the table holds the headline period's rows; a newer row is
    listed apart only where it is another observation, not the same value carried forward."""
    from cli.profile import split_by_period

    scored = pd.DataFrame([row("gigabit_coverage", 2021, False, True), row("fibre_coverage", 2021, False, True)])
    carried = row("gigabit_coverage", 2023, True, False)  # the same observation, carried into 2023
    new = {**row("fibre_coverage", 2023, True, False), "value": 61.0, "vintage": "2023-12",
           "reference_date": pd.Timestamp("2023-12-31"), "imputed": False}
    old = row("population_change_5y", 2018, False, False)  # no value in 2021: shown with its own year
    shown, newer = split_by_period(scored, pd.DataFrame([carried, new, old]), 2021)
    assert list(zip(shown["indicator_id"], shown["period"])) == [
        ("fibre_coverage", 2021), ("gigabit_coverage", 2021), ("population_change_5y", 2018)]
    assert list(zip(newer["indicator_id"], newer["value"])) == [("fibre_coverage", 61.0)]
    lines = rendered(shown.to_dict("records"))
    assert sum("│ ja " in line for line in lines) == 2 and sum("│ nein " in line for line in lines) == 1
