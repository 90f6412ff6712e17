"""The publish gates of warehouse/validation.py on tiny in-memory tables: scores within 0-100 and ranks within
1..compared towns (values_in_range's docstring), and at most MAX_SHRINK = 10 % fewer rows than the last publish
(row_counts_not_collapsing: "lost more than MAX_SHRINK")."""

from __future__ import annotations

import duckdb
import pytest

from warehouse import validation

GOOD = {"score": 55.0, "rank": 1, "compared_towns": 2}


def index_table(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """readiness_index with every score column at 50 (bands 40 <= 50 <= 60) unless a row says otherwise, rank
    bands 1 <= 1 <= 2, and an empty indicator_values."""
    con = duckdb.connect()
    score_columns = ", ".join(f"{c} DOUBLE" for c in validation.SCORE_COLUMNS)
    con.execute(f"CREATE TABLE readiness_index ({score_columns}, rank DOUBLE, compared_towns INTEGER, "
                "rank_p05 DOUBLE, rank_median DOUBLE, rank_p95 DOUBLE)")
    con.execute("CREATE TABLE indicator_values (unit VARCHAR, value DOUBLE)")
    for row in rows:
        values = {c: 50.0 for c in validation.SCORE_COLUMNS} | {"score_p05": 40.0, "score_median": 50.0,
                                                               "score_p95": 60.0}
        values |= {"rank_p05": 1.0, "rank_median": 1.0, "rank_p95": 2.0} | row
        columns = list(values)
        con.execute(f"INSERT INTO readiness_index ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [values[c] for c in columns])
    return con


def test_scores_and_ranks_in_range_pass():
    finding = validation.values_in_range(index_table([GOOD, {**GOOD, "score": 100.0, "rank": 2},
                                                      {**GOOD, "score": 0.0}, {**GOOD, "score": None}]))
    assert finding.passed and finding.problems == []


def test_a_score_of_100_4_fails():
    finding = validation.values_in_range(index_table([GOOD, {**GOOD, "score": 100.4}]))
    assert not finding.passed
    assert finding.figures["scores outside 0-100"] == 1
    assert finding.problems == ["readiness_index: 1 scores outside 0-100"]


@pytest.mark.parametrize("column", [c for c in validation.PILLAR_SCORE_COLUMNS if c != "score"])
def test_a_pillar_score_above_100_fails(column):
    assert not validation.values_in_range(index_table([{**GOOD, column: 100.4}])).passed


def test_a_negative_score_fails():
    assert not validation.values_in_range(index_table([{**GOOD, "score": -0.1}])).passed


@pytest.mark.parametrize("rank", [0, 3])  # compared_towns 2: ranks 1 and 2 only
def test_a_rank_outside_one_to_compared_towns_fails(rank):
    finding = validation.values_in_range(index_table([{**GOOD, "rank": rank}]))
    assert not finding.passed and finding.figures["ranks outside 1..compared_towns"] == 1


def test_losing_ten_percent_of_the_rows_passes_and_eleven_percent_fails():
    assert validation.MAX_SHRINK == 0.10
    kept = validation.row_counts_not_collapsing({"t": 90}, {"t": 100}, allow_shrink=False)
    assert kept.passed and kept.figures["shrunk"] == 0
    lost = validation.row_counts_not_collapsing({"t": 89}, {"t": 100}, allow_shrink=False)
    assert not lost.passed
    assert lost.problems == ["t: 89 rows, was 100 at the last publish"]


def test_a_collapse_is_allowed_only_by_allow_shrink_and_a_new_table_is_no_collapse():
    assert validation.row_counts_not_collapsing({"t": 5}, {"t": 100}, allow_shrink=True).passed
    assert not validation.row_counts_not_collapsing({"t": 5}, {"t": 100}, allow_shrink=False).passed
    assert validation.row_counts_not_collapsing({"t": 5, "new": 1}, {"t": 5}, allow_shrink=False).passed
    assert validation.row_counts_not_collapsing({"t": 5}, {}, allow_shrink=False).passed  # first publish
