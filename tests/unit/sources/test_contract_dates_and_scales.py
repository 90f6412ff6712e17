"""Two contract rules of the bad-input review of 5 December: a release holds no figures dated after itself, and a
percentage is not read as shares 0-1 in part of a file. Constructed tables in the parsers' output layout."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sources import contracts

CONTRACT = contracts._table("observations", {
    "columns": {"ags": "text", "level": "text", "reference_date": "date", "measure": "text", "value": "number"},
    "levels": {"gemeindeverband": r"\d{9}", "gemeinde": r"\d{8}"},
    "measures": {"out_commuter_share": {"min": 0, "max": 100}, "commuters": {"min": 0, "max": 1e6}}})


def table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ags", "level", "reference_date", "measure", "value"])


def shares(kreis: str, values: list[float], year: int = 2019, measure: str = "out_commuter_share") -> list[tuple]:
    """Rows of one Kreis's Gemeinden (keys kreis + 001, 002, ...) for one date."""
    return [(f"{kreis}{i:03d}", "gemeinde", dt.date(year, 12, 31), measure, v) for i, v in enumerate(values, 1)]


def problems(frame: pd.DataFrame, vintage: str = "2022-12") -> list[str]:
    return [v.problem for v in contracts.check_table(CONTRACT, frame, None, vintage)]


NORMAL = [58.9, 61.2, 70.4, 44.1, 66.0, 52.3]


def test_rows_dated_after_their_release_are_refused():
    """INKAR rows with zeitbezug 2031 in the release 2022-12 became index periods up to 2031."""
    good = table(shares("01053", NORMAL) + shares("01054", NORMAL, 2022))
    assert problems(good) == []
    [problem] = problems(table(shares("01053", NORMAL) + shares("01054", NORMAL, 2031)))
    assert problem.startswith("reference date 2031-12-31 after the release 2022-12 (its figures can be at most as "
                              "new as 2022-12-31): rows of a later period in this release (6 rows)")
    violation = contracts.check_table(CONTRACT, table(shares("01053", NORMAL) + shares("01054", NORMAL, 2031)),
                                      None, "2022-12")[0]
    assert (violation.row, violation.column, violation.key) == (7, "reference_date", "01054001")
    # a half-year id: figures of June are as new as it can be, those of December are not
    assert problems(table(shares("01053", NORMAL, 2021)), "2021-mitte")[0].startswith(
        "reference date 2021-12-31 after the release 2021-mitte")
    assert problems(table(shares("01053", NORMAL, 2020)), "2021-mitte") == []
    assert problems(table(shares("01053", NORMAL, 2031)), "ohne-datum") == []  # an id without a date: no bound


def test_one_kreis_of_a_percentage_in_shares_0_1_is_refused():
    """The Ämter of one Kreis divided by 100: Mölln's 58.95 % was published as 0.59 % (the whole-measure test
    needs every value at most 1)."""
    good = shares("01053", NORMAL) + shares("01054", NORMAL) + shares("01055", NORMAL)
    assert problems(table(good)) == []
    switched = shares("01053", [v / 100 for v in NORMAL]) + shares("01054", NORMAL) + shares("01055", NORMAL)
    [problem] = problems(table(switched))
    assert problem.startswith("out_commuter_share: all 6 values of Kreis 01053 of 2019-12-31 lie between 0 and 1 "
                              "(largest 0.704) while the measure's other values have the median 60.05")
    assert "shares 0-1 where percent (0-100) is declared, in part of the file (1 Kreis and date groups)" in problem
    # the switched Kreis may be most of a small file (the snapshot's five Kreise): the others decide
    [problem] = problems(table(shares("01053", [v / 100 for v in NORMAL * 3]) + shares("01054", NORMAL * 2)))
    assert "all 18 values of Kreis 01053" in problem


def test_small_real_shares_of_one_kreis_are_not_a_scale_switch():
    """A Kreis where a technology reaches a sliver of a few Gemeinden (0.3 %, 0 elsewhere), a Kreis of fewer than
    five values, a measure that is small everywhere (fibre in 2018) and a count are read as they are."""
    sliver = shares("01053", [0.3, 0, 0, 0, 0.8, 0]) + shares("01054", NORMAL) + shares("01055", NORMAL)
    few = shares("01053", [0.5, 0.6, 0.7, 0.9]) + shares("01054", NORMAL) + shares("01055", NORMAL)
    small = shares("01053", [0.5, 0.6, 0.7, 0.9, 0.2]) + shares("01054", [1.5, 2, 0, 3, 0.4])
    counts = shares("01053", [0.5] * 6, measure="commuters") + shares("01054", [500] * 6, measure="commuters")
    for rows in (sliver, few, small, counts):
        assert problems(table(rows)) == []
