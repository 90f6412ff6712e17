"""The page context's plain rows (reports/data.py Columns, TownSplit) hold the values the per-town
pandas frames gave (reports.context.records), and the drivers keep their order without pandas."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd

from reports.context import drivers, records
from reports.data import Columns, TownSplit


def mixed_frame() -> pd.DataFrame:
    """Every dtype the report queries return: float with NaN, int, bool, nullable boolean and Int64,
    datetimes with NaT, text with None, and numpy scalars inside an object column."""
    return pd.DataFrame({
        "ags": ["01000002", "01000001", "01000002", "01000001", "01000003"],
        "period": [2020, 2020, 2021, 2021, 2021],
        "score": [50.5, np.nan, 61.0, 40.25, np.nan],
        "flag": [True, False, True, False, True],
        "provisional": pd.array([True, None, False, None, True], dtype="boolean"),
        "rank": pd.array([3, None, 1, 7, None], dtype="Int64"),
        "reference_date": pd.to_datetime(["2020-12-31", None, "2021-06-30", "2021-12-31", "2019-01-01"]),
        "label": ["a", None, "c", "d", "e"],
        "mixed": pd.Series([np.int64(4), np.float64(2.5), "x", None, np.float64("nan")], dtype=object),
    })


def test_rows_equal_records_of_each_towns_frame():
    frame = mixed_frame()
    split = TownSplit(frame, "ags")
    columns = Columns(split.frame, split.positions)
    for ags, group in frame.groupby("ags", sort=False):
        expected = records(group.reset_index(drop=True))
        got = columns.rows(ags)
        assert got == expected
        # the same Python types, not only equal values (a numpy float renders differently in places)
        assert [[type(v) for v in row.values()] for row in got] == [[type(v) for v in row.values()] for row in expected]
        assert list(got[0]) == list(frame.columns)
        pd.testing.assert_frame_equal(split[ags], group.reset_index(drop=True))
    assert columns.rows("09999999") == []
    assert columns.rows("01000002")[0] is not columns.rows("01000002")[0]  # fresh dicts: callers add keys


def test_drivers_order_largest_change_first_ties_by_indicator():
    rows = [{"ags": "1", "period_from": 2020, "period_to": 2022, "indicator_id": i, "label": i, "pillar": "p",
             "contribution": c, "score_from": 50.0, "score_to": 52.0, "value_from": 1.0, "value_to": 2.0}
            for i, c in [("b", 0.0), ("a", 0.0), ("c", -3.0), ("d", None), ("e", 1.5)]]
    rows.append({**rows[0], "period_from": 2021, "indicator_id": "z", "label": "z", "contribution": 0.5})
    changes = drivers(rows)
    assert [c["key"] for c in changes] == ["1-2021", "1-2020"]  # newest start first
    assert [r["indicator_id"] for r in changes[1]["rows"]] == ["c", "e", "a", "b", "d"]  # |size|, then id, missing last
    assert changes[1]["change"] == 2.0


def test_date_columns_share_one_timestamp_per_date():
    frame = pd.DataFrame({"ags": ["1"] * 4, "reference_date": pd.to_datetime(
        ["2021-06-30", None, "2021-06-30", "2020-12-31"])})
    columns = Columns(frame, TownSplit(frame, "ags").positions)
    rows = columns.rows("1")
    assert [r["reference_date"] for r in rows] == [pd.Timestamp("2021-06-30"), None, pd.Timestamp("2021-06-30"),
                                                   pd.Timestamp("2020-12-31")]
    assert rows[0]["reference_date"] is rows[2]["reference_date"]
    assert rows == records(frame)


def test_town_row_is_the_row_loc_to_dict_gives():
    """``reports.context.town_row``: the values and types of ``towns.loc[ags].to_dict()`` (NaN stays NaN,
    numpy scalars boxed, Timestamps and NaT as they are), a new dict per call."""
    from types import SimpleNamespace

    from reports.context import town_row

    frame = mixed_frame().drop_duplicates("ags").set_index("ags", drop=False)
    data = SimpleNamespace(towns=frame, memo={})
    for ags in frame.index:
        expected = frame.loc[ags].to_dict()
        got = town_row(data, ags)
        assert list(got) == list(expected)
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
        assert all(g == e or (g != g and e != e) or (g is pd.NA and e is pd.NA) for g, e in zip(got.values(), expected.values()))
        assert got is not town_row(data, ags)
    with pytest.raises(KeyError):
        town_row(data, "09999999")


def test_object_columns_are_tested_only_where_a_value_can_be_missing():
    """A text column (str and None) is passed on as it is; an object column holding a NaN, NaT or NA or a
    numpy scalar is converted value by value, as ``records`` converts it."""
    from reports.data import _BOXED, _NONE_MISSING, _OBJECT, _object_kind

    def kind(values, boxed=True):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return _object_kind(array, boxed)

    assert kind(["a", None, "b"]) == _NONE_MISSING
    assert kind([pd.Timestamp("2021-01-01"), 3]) == _NONE_MISSING
    assert kind(["a", float("nan")]) == _OBJECT and kind([pd.NaT]) == _OBJECT and kind([pd.NA, True]) == _OBJECT
    assert kind(["a", np.int64(3)]) == _BOXED and kind([np.float64(3)], boxed=False) == _OBJECT
    frame = pd.DataFrame({"ags": ["1", "1"], "text": ["x", None], "obj": [np.float64("nan"), "y"]})
    assert Columns(frame, TownSplit(frame, "ags").positions).rows("1") == records(frame)


def test_an_impossible_value_says_on_the_page_that_it_is_not_scored():
    """An indicator value typed impossible_value (a publisher error, indicators/catalogue.yaml possible_range)
    carries its German note into the page's indicator table; an ordinary value has none."""
    from reports.context import quality_de

    assert quality_de({"excluded_reason": "impossible_value", "source_level": "gemeinde"}) == (
        "nicht bewertet: außerhalb des möglichen Wertebereichs (Fehler in der Quelle)")
    assert quality_de({"excluded_reason": None, "source_level": "gemeinde"}) == ""


def test_the_pages_show_the_method_of_the_latest_publish_not_the_largest_text():
    """'0.9.0' > '0.10.0' as text: after a method bump the pages kept the old rows, which stay in the table."""
    import duckdb

    from reports.data import current_method

    con = duckdb.connect()
    con.execute("CREATE TABLE readiness_index AS SELECT * FROM (VALUES ('01053090', '0.9.0'), ('01053090', '0.10.0')) "
                "t(ags, method_version)")
    con.execute("CREATE TABLE publish_log AS SELECT * FROM (VALUES (TIMESTAMP '2026-01-01', '0.9.0'), "
                "(TIMESTAMP '2026-02-01', '0.10.0')) t(published_at, method_version)")
    con.execute("CREATE VIEW current_method AS SELECT method_version FROM publish_log ORDER BY published_at DESC LIMIT 1")
    assert current_method(con, "w") == "0.10.0"
    con.execute("INSERT INTO publish_log VALUES (TIMESTAMP '2026-03-01', '0.11.0')")  # published, but no rows
    with pytest.raises(ValueError, match="no rows of the current method 0.11.0"):
        current_method(con, "w")


def test_the_summary_compares_only_gaps_of_the_pillars_year():
    """A town whose latest score is of 2018 beside peers of 2021: no strengths or fields for action from gaps of
    another year (it told Mölln 'Erreichbarkeit 96,2 ... 5,3 Punkte unter den ähnlichen Städten' across years)."""
    from reports.context import summary

    pillars = [{"pillar": "accessibility", "label": "Erreichbarkeit", "value": 96.2}]
    peers = [{"period": 2021, "gaps": [{"pillar": "accessibility", "value": 5.3}]}]
    same = summary(pillars, peers, 2021)
    assert [i["label"] for i in same["actions"]] == ["Erreichbarkeit"] and same["compared"] == 1
    other = summary(pillars, peers, 2018)
    assert other["actions"] == [] and other["compared"] == 0 and (other["period"], other["peer_period"]) == (2018, 2021)
    assert summary(pillars, [], 2021)["has_peers"] is False
