"""sources/frames.py: the helpers that keep big object columns small (one object per distinct value)."""

import duckdb
import numpy as np
import pandas as pd

from sources.frames import shared_strings, with_columns


def test_shared_strings_on_duckdb_frames_keeps_values_and_types_and_shares_equal_strings():
    # strings made one per cell, as DuckDB's df() makes them
    frame = duckdb.connect().execute(
        "SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'ags' || (i % 4)::VARCHAR END AS ags, i::DOUBLE AS value, "
        "'2021-mitte' AS vintage FROM range(12) t(i)").df()
    assert len({id(v) for v in frame["vintage"]}) > 1
    shared = shared_strings(frame.copy())
    pd.testing.assert_frame_equal(shared, frame, check_exact=True)
    assert len({id(v) for v in shared["vintage"]}) == 1
    assert len({id(v) for v in shared["ags"] if v is not None}) == shared["ags"].nunique()
    assert shared["ags"].isna().sum() == 4


def test_shared_strings_keep_values_types_and_row_hashes():
    from reports.pages import row_hashes

    nan = float("nan")
    original = pd.DataFrame({
        "ags": ["".join(["0100000", str(i % 3)]) for i in range(9)],  # built per cell: nine distinct objects
        "label": ["Breitband " + "a" * (i % 2) for i in range(8)] + [None],
        "note": pd.Series([None, nan, "x" + "y", "xy", None, nan, "xy", "z", "z"], dtype=object),
        "mixed": pd.Series([1, "1", 1.0, True, None, "a", "a", 2, 3], dtype=object),  # not only text: untouched
        "value": np.arange(9, dtype=float),
        "wkb": [bytes([i % 2]) for i in range(9)],
    })
    expected = original.copy(deep=True)
    shared = shared_strings(original.copy(deep=True))
    pd.testing.assert_frame_equal(shared, expected)
    assert (row_hashes(shared) == row_hashes(expected)).all()
    assert shared["ags"].map(id).nunique() == 3 and expected["ags"].map(id).nunique() == 9
    assert shared["label"].iloc[:8].map(id).nunique() == 2 and shared["label"].iloc[8] is None
    # missing values stay what they were (None is not turned into NaN or back)
    assert [v is None for v in shared["note"]] == [v is None for v in expected["note"]]
    assert [type(v) for v in shared["mixed"]] == [type(v) for v in expected["mixed"]]
    assert list(shared["mixed"]) == list(expected["mixed"])


def test_with_columns_is_assign_without_copying_the_other_columns():
    # every kind of column the staging frames carry, extension dtypes too, on an index that is not 0..n-1
    frame = pd.DataFrame({
        "ags": ["01001000", None, "01002000"],
        "reference_date": pd.to_datetime(["2019-06-30"] * 3).astype("datetime64[us]"),
        "value": [1.5, np.nan, 2.0],
        "count": pd.array([1, None, 3], dtype="Int64"),
        "level": pd.Categorical(["gemeinde", "kreis", "gemeinde"]),
        "at": pd.to_datetime(["2020-01-01"] * 3).tz_localize("UTC"),
        "key_vintage": ["2021-mitte", "2019-mitte", None],
    }, index=[7, 3, 5])
    new = np.array(["2020-mitte", None, "2021-mitte"], dtype=object)
    pd.testing.assert_frame_equal(with_columns(frame, key_vintage=new), frame.assign(key_vintage=new))
    pd.testing.assert_frame_equal(with_columns(frame, index=pd.RangeIndex(3), _current=new),
                                  frame.reset_index(drop=True).assign(_current=new))
    shared = with_columns(frame, key_vintage=new)
    assert np.shares_memory(shared["value"].to_numpy(), frame["value"].to_numpy())  # not copied
    shared["value"] = 0.0  # a column replaced whole leaves the frame it came from as it was
    assert frame["value"].iloc[0] == 1.5


def test_with_columns_keeps_two_columns_of_one_name_as_assign_does():
    """A dict of the columns kept one of two equal names (review of 5 December); such a frame goes to assign."""
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"])
    assert list(with_columns(frame, c=np.array([9])).columns) == list(frame.assign(c=[9]).columns) == ["a", "a", "b", "c"]
    moved = with_columns(frame.set_axis([5]), index=pd.RangeIndex(1), c=np.array([9]))
    assert moved.equals(frame.assign(c=[9]))
