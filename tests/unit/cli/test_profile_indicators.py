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
