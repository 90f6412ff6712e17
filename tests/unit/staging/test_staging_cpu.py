"""The cheaper staging helpers give exactly what the code they replaced gives (kept here as the reference):
column concatenation with numpy, the given-register test per distinct pair, base names per distinct name,
and the polygon area sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from staging import crosswalk


def concat_reference(pieces: list[pd.Series], column: str) -> pd.Series:
    """What _assembled did before: pd.concat of one-column frames."""
    return pd.concat([piece.to_frame(column) for piece in pieces], ignore_index=True)[column]


def na_kinds(series: pd.Series) -> list[str]:
    """The type of every value: None and NaN are both missing, but pandas' concat chooses between them."""
    return [type(value).__name__ for value in series.to_numpy()]


@pytest.mark.parametrize("pieces", [
    [["a", "b"], [None, None], ["c"]],                 # an all-None piece among text: stays None
    [["a"], [np.nan, np.nan], ["b", None]],            # an all-NaN piece: stays NaN
    [["a"], [None, np.nan], [np.nan, None]],           # mixed missing pieces: filled by their first value's kind
    [[None, None], [None]],                            # every piece missing
    [["a", "b"], [], ["c"]],                           # an empty piece
    [["a", 1.5], [np.nan], ["x"]],                     # mixed objects
    [["a"], ["b"], ["c", "d"]],                        # nothing missing
])
def test_text_columns_concatenate_as_pandas_did(pieces):
    series = [pd.Series(values, dtype=object) for values in pieces]
    got, expected = crosswalk._concat_column(series, "note"), concat_reference(series, "note")
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert na_kinds(got) == na_kinds(expected)


@pytest.mark.filterwarnings("ignore:The behavior of DataFrame concatenation:FutureWarning")
def test_other_dtypes_still_follow_pandas_casting():
    series = [pd.Series([1.0, 2.0]), pd.Series([None, None], dtype=object), pd.Series([3.0])]
    got, expected = crosswalk._concat_column(series, "value"), concat_reference(series, "value")
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert got.dtype == expected.dtype


def keyed_reference(gemeinden: pd.DataFrame, register: pd.DataFrame, held: dict) -> pd.DataFrame:
    """_keyed with given registers as it was: the held test row by row."""
    missing = [v not in held.get(a, ()) for v, a in zip(gemeinden["key_vintage"], gemeinden["ags"])]
    if any(missing):
        gemeinden = gemeinden.copy()
        gemeinden.loc[missing, "key_vintage"] = crosswalk.key_vintages(gemeinden[missing], register, held).to_numpy()
    return gemeinden


def test_given_registers_are_tested_per_distinct_pair_as_per_row():
    rng = np.random.default_rng(7)
    register = pd.DataFrame({"ags": ["01001001", "01001002", "01001001", "01001003", "01001004"],
                             "vintage": ["2011", "2011", "2021", "2021", "2011"],
                             "territorial_date": pd.to_datetime(["2011-12-31"] * 2 + ["2021-12-31"] * 2
                                                                + ["2011-12-31"])})
    held = crosswalk.held_vintages(register)
    n = 400
    gemeinden = pd.DataFrame({
        "ags": rng.choice(["01001001", "01001002", "01001003", "01001004", "01009999"], n),
        "key_vintage": rng.choice(np.array(["2011", "2021", None], dtype=object), n),
        "reference_date": rng.choice(pd.to_datetime(["2015-06-30", "2022-06-30"]), n),
        "value": rng.random(n)}, index=rng.permutation(n) + 1000)
    got = crosswalk._keyed(gemeinden, register, None, True, held)
    expected = keyed_reference(gemeinden, register, held)
    pd.testing.assert_frame_equal(got, expected)
    assert (got["key_vintage"] != gemeinden["key_vintage"]).any()  # some keys were re-registered


def test_base_names_per_distinct_name_equal_the_row_wise_strings():
    names = pd.Series(["Aue, Stadt", "Bad Schlema", "Aue, Stadt", np.nan, "  Malter ,M", "Aue, Stadt"],
                      index=[5, 3, 9, 1, 2, 4])
    expected = names.astype(str).str.split(",").str[0].str.strip().str.lower()
    pd.testing.assert_series_equal(crosswalk._base(names), expected)
    assert crosswalk._base(pd.Series([], dtype=object)).empty


def test_polygon_area_sum_equals_the_series_sum_bit_for_bit():
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 8, 9, 40, 200):
        values = rng.random(size) * 100
        values[rng.random(size) < 0.2] = np.nan
        assert crosswalk._nansum(list(values)) == pd.Series(values).sum()


def test_sorted_parts_equal_the_per_group_sort():
    rng = np.random.default_rng(5)
    n = 300
    rows = pd.DataFrame({"current_ags": rng.choice(["01001001", "01001002", "01001003"], n),
                         "reference_date": rng.choice(pd.to_datetime(["2011-12-31", "2021-12-31"]), n),
                         "measure": rng.choice(["population_total", "area_km2"], n),
                         "vintage": rng.choice(np.array(["2011", "2021", None], dtype=object), n),
                         "source_id": "destatis_gemeindeverzeichnis",
                         "ags": rng.choice([f"0100{i:04d}" for i in range(40)], n)})
    keys = ["current_ags", "reference_date", "measure", "vintage", "source_id"]
    expected = rows.groupby(keys, dropna=False)["ags"].agg(lambda a: sorted(a))
    got = crosswalk._sorted_parts(rows, keys)
    pd.testing.assert_series_equal(got, expected)
    assert got.isna().sum() == 0 and got.index.get_level_values("vintage").isna().any()



def test_one_thread_insert_keeps_rows_order_and_the_connection_setting(tmp_path, monkeypatch):
    """replace_rows inserts on one DuckDB thread (cheaper for object columns) and gives the connection its
    thread count back; the rows arrive in the frame's order, in one INSERT and in slices."""
    import duckdb

    from warehouse import workdb

    rng = np.random.default_rng(4)
    n = 5000
    frame = pd.DataFrame({"ags": [f"{i:08d}" for i in rng.permutation(n)], "value": rng.random(n),
                          "note": rng.choice(np.array(["a", None, "b"], dtype=object), n), "source_id": "s"})
    for slice_rows in (workdb.INSERT_SLICE_ROWS, 700):
        monkeypatch.setattr(workdb, "INSERT_SLICE_ROWS", slice_rows)
        con = duckdb.connect(str(tmp_path / f"t{slice_rows}.duckdb"), config={"threads": "2"})
        workdb.replace_rows(con, "t", frame, source_id="s")
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
        stored = con.execute("SELECT ags, value, note FROM t").df()
        con.close()
        pd.testing.assert_frame_equal(stored, frame[["ags", "value", "note"]], check_dtype=False)
