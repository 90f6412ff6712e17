"""stack_frames (pd.concat without its per-cell test of empty object columns) and per_distinct."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from indicators.compute import excluded_reason, stack_frames
from sources.frames import per_distinct


def indicator_frame(rows: int, seed: int, empty_object: bool = True) -> pd.DataFrame:
    """A frame shaped like one indicator's values: text keys, ints, floats with NaN, dates, booleans, and
    object columns that are all None (imputation) or mix None with codes and Python ints (base_period)."""
    rng = np.random.default_rng(seed)
    codes = np.array([None, "merger", "split", "recode"], dtype=object)
    return pd.DataFrame({
        "ags": [f"{n:08d}" for n in rng.integers(1_000_000, 2_000_000, rows)],
        "period": rng.integers(2010, 2024, rows),
        "value": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
        "reference_date": pd.to_datetime("2020-12-31").as_unit("us") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
        "imputed": rng.random(rows) < 0.5,
        "imputation": np.full(rows, None, dtype=object) if empty_object else
        np.array([f"carried forward from {y}" for y in rng.integers(2010, 2020, rows)], dtype=object),
        "territorial_change": codes[rng.integers(0, 4, rows)],
        "base_period": np.array([None if x < 0.5 else int(2000 + x * 10) for x in rng.random(rows)], dtype=object)
        if seed % 2 else np.full(rows, None, dtype=object),
    })


@pytest.mark.parametrize("seed", range(6))
def test_same_frame_as_pd_concat(seed):
    frames = [indicator_frame(n, seed * 10 + i, empty_object=(i != 1)) for i, n in enumerate((500, 0, 1200, 7, 300))]
    expected = pd.concat(frames, ignore_index=True)
    got = stack_frames(frames)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for column in got.columns[got.dtypes == object]:  # the same Python objects' types cell by cell (None stays None)
        assert got[column].map(type).tolist() == expected[column].map(type).tolist(), column


def test_differing_dtypes_and_mixed_missing_fall_back_to_pd_concat():
    a = pd.DataFrame({"x": np.array([1, 2]), "y": np.array([None, None], dtype=object)})
    b = pd.DataFrame({"x": np.array([None, None], dtype=object), "y": np.array([np.nan, None], dtype=object)})
    c = pd.DataFrame({"x": pd.array([1, None], dtype="Int64"), "y": np.array(["a", None], dtype=object)})
    for frames in ([a, b], [b, a], [a, c], [c, a], [a, b.rename(columns={"x": "z"})]):
        pd.testing.assert_frame_equal(stack_frames(frames), pd.concat(frames, ignore_index=True), check_exact=True)


def test_per_distinct_calls_once_per_value_and_keeps_row_results():
    values = pd.Series(["implausible_step", None, "split", "merger", None, "split", "recode"] * 50, dtype=object)
    calls = []

    def reason(code):
        calls.append(code)
        return excluded_reason(code)

    assert per_distinct(values, reason).tolist() == [excluded_reason(v) for v in values]
    assert len(calls) == 5  # four codes and one missing value
    assert per_distinct(pd.Series([], dtype=object), reason).tolist() == []
    missing = pd.Series([None, None], dtype=object)
    assert per_distinct(missing, lambda v: "x" if v is None else "y").tolist() == ["x", "x"]


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (500, 129), (3263, 300)])
def test_rank_matrix_equals_pandas_min_rank(shape):
    """engine.rank_matrix (unstable sort of each column) against pandas' descending 'min' rank per column:
    ties (scores rounded to one decimal), NaN left unranked, -0.0 tied with 0.0, blocks of 128 columns."""
    from indicators.engine import rank_matrix

    rng = np.random.default_rng(shape[0])
    scores = np.round(rng.normal(50, 15, shape), 1)
    scores[rng.random(shape) < 0.05] = np.nan
    scores[: shape[0] // 3, 0] = 0.0
    scores[shape[0] // 3: shape[0] // 2, 0] = -0.0
    expected = pd.DataFrame(scores).rank(ascending=False, method="min").to_numpy()
    got = rank_matrix(scores)
    assert got.flags.c_contiguous and got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(rank_matrix(scores[:, 0]), expected[:, 0])


def reference_method_breaks(values: pd.DataFrame, generations: dict[str, str]) -> pd.DataFrame:
    """The frame version of flag_method_breaks before 2026-12-02 (whole frame sorted and sorted back): the oracle."""
    from indicators import flags

    ordered = values.sort_values(["ags", "period"]).astype({"quality_note": object})
    generation = ordered["source_id"].map(generations).fillna(ordered["source_id"])
    previous = generation.groupby(ordered["ags"]).shift()
    is_break = previous.notna() & (previous != generation)
    note = pd.Series([flags.render_method_break(a, b) for a, b in zip(previous[is_break].astype(str),
                                                                      generation[is_break].astype(str))],
                     index=ordered.index[is_break.to_numpy()], dtype=object)
    existing = ordered["quality_note"].fillna("")
    ordered.loc[is_break, "quality_note"] = (existing + "; ").where(existing != "", "")[is_break] + note
    ordered["method_break"] = is_break
    return ordered.sort_index()


@pytest.mark.parametrize("seed", range(8))
def test_method_breaks_equal_the_frame_version(seed):
    from indicators.compute import flag_method_breaks

    rng = np.random.default_rng(seed)
    towns = [f"0{n:07d}" for n in rng.integers(1_000_000, 1_000_000 + 40, 60)]
    pairs = sorted({(t, int(p)) for t, p in zip(towns, rng.integers(2010, 2024, 60))})
    order = rng.permutation(len(pairs))  # rows in no particular order, as DuckDB returns them
    notes = np.array([None, "Gebietsstand umgerechnet", "", np.nan], dtype=object)
    values = pd.DataFrame({
        "ags": [pairs[i][0] for i in order], "period": [pairs[i][1] for i in order],
        "source_id": rng.choice(["breitbandatlas", "gigabit_grundbuch", "inkar"], len(pairs)),
        "quality_note": notes[rng.integers(0, 4, len(pairs))], "method_break": False})
    generations = {"breitbandatlas": "bba-2", "gigabit_grundbuch": "bba-2"} if seed % 2 else {}
    expected = reference_method_breaks(values, generations)
    got = flag_method_breaks(values, generations)
    assert expected["method_break"].any()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True)
