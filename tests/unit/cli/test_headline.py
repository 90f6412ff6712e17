"""The period the town page and `readiness profil` lead with (reports.context.headline_row, cli.profile.headline_row):
the same rule in both, also for a town never scored."""

from __future__ import annotations

import pandas as pd
import pytest

from cli.profile import headline_row as cli_headline
from reports.context import headline_row as page_headline

PROVISIONAL = {2022, 2023}  # the published period is 2021: later ones rest mostly on carried-forward data


def rows(scores: dict[int, float | None]) -> list[dict]:
    return [{"period": period, "score": score, "period_provisional": period in PROVISIONAL}
            for period, score in scores.items()]


@pytest.mark.parametrize("scores, expected", [
    ({2018: 60.0, 2021: 55.0, 2023: 56.0}, 2021),   # the published period, scored
    ({2018: 47.1, 2021: None, 2023: None}, 2018),   # Böhlen: the newest scored period
    ({2018: None, 2021: None, 2023: None}, 2021),   # Tangstedt, never scored: led with 2023, a provisional period
    ({2022: None, 2023: None}, 2023),               # no period but provisional ones: the newest
])
def test_page_and_cli_lead_with_the_same_period(scores, expected):
    history = rows(scores)
    assert page_headline(history, 2021 if 2021 in scores else None)["period"] == expected
    assert cli_headline(pd.DataFrame(history))["period"] == expected
