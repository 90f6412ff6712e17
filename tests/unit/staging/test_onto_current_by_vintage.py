"""``onto_current`` works one vintage at a time and assembles its result column by column (to bound the
Breitbandatlas step's memory): it must give exactly the frame the whole-frame computation gave, values,
dtypes and row order (a reordering would change downstream float sums). The whole-frame code is kept here
as the reference, as it was before (it uses the public bring_forward and flag_transfers)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from staging import crosswalk
from warehouse import workdb


def whole_frame_reference(observations, register, walk, steps, weights, key_vintage=None):
    """onto_current as it was before it worked per vintage (commit 93ac513)."""
    if observations.empty:
        return observations
    frame = observations if "source_level" in observations else observations.assign(
        source_level=np.where(observations["level"] == "gemeinde", "gemeinde", None))
    gemeinden = frame[frame["level"] == "gemeinde"]
    others = frame[frame["level"] != "gemeinde"].assign(territorial_change=None, published_ags=None)
    if gemeinden.empty:
        return others
    if "key_vintage" not in gemeinden or gemeinden["key_vintage"].isna().all():
        gemeinden = gemeinden.assign(key_vintage=key_vintage if key_vintage else crosswalk.key_vintages(gemeinden, register))
    else:
        held = set(zip(register["vintage"], register["ags"]))
        missing = [(v, a) not in held for v, a in zip(gemeinden["key_vintage"], gemeinden["ags"])]
        if any(missing):
            gemeinden = gemeinden.copy()
            gemeinden.loc[missing, "key_vintage"] = crosswalk.key_vintages(gemeinden[missing], register).to_numpy()
    current = crosswalk.flag_transfers(crosswalk.bring_forward(gemeinden, walk, weights), steps, register, walk,
                                       rejected=False)
    current = current.drop(columns=["key_vintage"], errors="ignore")
    return current if others.empty else pd.concat([others.drop(columns=["key_vintage"], errors="ignore"), current],
                                                  ignore_index=True)


REGISTER = pd.DataFrame(
    [("2013", a) for a in ("01001001", "01001002", "01001003", "01001004", "01001005", "01001006")]
    + [("2021", a) for a in ("01001009", "01001003", "01001004", "01001005", "01001006")],
    columns=["vintage", "ags"]).assign(territorial_date=lambda f: f["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
# 2013 -> 2021: 01001001 recoded to 01001009; 01001002 merged into 01001003; 01001005 gives territory to 01001006
STEPS = pd.DataFrame([("2013", "2021", "01001001", "01001009", "recode", "same name", "name_and_area", np.nan, np.nan),
                      ("2013", "2021", "01001002", "01001003", "merger", "area", "area_sum", np.nan, np.nan),
                      ("2013", "2021", "01001005", "01001006", "partial_transfer", "Destatis list", "change_list", 900.0, 3.0)],
                     columns=[*crosswalk.STEP_COLUMNS, *crosswalk.MOVED_COLUMNS])
WEIGHTS = pd.DataFrame([("01001002", "2013", 1000), ("01001003", "2013", 3000)],
                       columns=["ags", "vintage", "population"])


def observations(vintages=("2018", "2019", "2020"), notes=None) -> pd.DataFrame:
    """Per vintage: Gemeinde rows (recode, merger of a count and a share, a transfer, an unknown key, a
    missing value) interleaved with Kreis rows; 2020 only Kreis rows."""
    rows = []
    for vintage in vintages:
        date = dt.date(int(vintage), 6, 30)
        values = [] if vintage == "2020" else [
            ("01001001", "gemeinde", "hh_%", 80.0, "%"), ("01001", "kreis", "hh_%", 70.0, "%"),
            ("01001002", "gemeinde", "hh_%", 90.0, "%"), ("01001003", "gemeinde", "hh_%", 50.0, "%"),
            ("01001002", "gemeinde", "hh", 3.0, "count"), ("01001003", "gemeinde", "hh", 2.0, "count"),
            ("01001005", "gemeinde", "hh_%", 40.0, "%"), ("01001006", "gemeinde", "hh_%", None, "%"),
            ("09999999", "gemeinde", "hh_%", 10.0, "%"), ("01001004", "gemeinde", "hh", 7.0, "count")]
        values += [("01001", "kreis", "hh", 12.0, "count")]
        rows += [(a, level, date, measure, value, unit, vintage) for a, level, measure, value, unit in values]
    frame = pd.DataFrame(rows, columns=["ags", "level", "reference_date", "measure", "value", "unit", "vintage"])
    frame.insert(6, "note", notes if notes is not None else None)
    return frame.assign(source_id="bba")


def walk():
    return crosswalk.crosswalk(REGISTER, STEPS)


@pytest.mark.parametrize("steps", [STEPS, STEPS[STEPS["kind"] != "partial_transfer"]], ids=["flags", "no flags"])
@pytest.mark.parametrize("notes", [None, "a note"], ids=["notes None", "notes"])
def test_per_vintage_result_equals_the_whole_frame(steps, notes):
    frame = observations(notes=notes)
    got = crosswalk.onto_current(frame, REGISTER, walk(), steps, WEIGHTS)
    expected = whole_frame_reference(frame, REGISTER, walk(), steps, WEIGHTS)
    pd.testing.assert_frame_equal(got, expected)
    # the cases the comparison is about are really there
    assert {"recode", "merger", "merger_weighted"} <= set(got["territorial_change"].dropna())
    assert ("partial_transfer" in set(got["territorial_change"].dropna())) == (len(steps) == 3)
    assert got["level"].tolist()[:5] == ["kreis"] * 5  # the kept levels first, as before


def test_vintages_in_two_runs_and_only_gemeinde_rows_and_given_key_vintages():
    """BA-like input (a vintage in two runs) is computed whole; no kept levels; per-row key registers."""
    frame = observations()
    twice = pd.concat([frame, frame.assign(measure=frame["measure"] + "_derived")], ignore_index=True)
    pd.testing.assert_frame_equal(crosswalk.onto_current(twice, REGISTER, walk(), STEPS, WEIGHTS),
                                  whole_frame_reference(twice, REGISTER, walk(), STEPS, WEIGHTS))
    gemeinden = frame[frame["level"] == "gemeinde"].reset_index(drop=True)
    pd.testing.assert_frame_equal(crosswalk.onto_current(gemeinden, REGISTER, walk(), STEPS, WEIGHTS),
                                  whole_frame_reference(gemeinden, REGISTER, walk(), STEPS, WEIGHTS))
    keyed = gemeinden.assign(key_vintage=np.where(gemeinden["vintage"] == "2018", "2013", None),
                             source_level=np.where(gemeinden["ags"] == "01001004", "gemeindeverband", "gemeinde"))
    pd.testing.assert_frame_equal(crosswalk.onto_current(keyed, REGISTER, walk(), STEPS, WEIGHTS),
                                  whole_frame_reference(keyed, REGISTER, walk(), STEPS, WEIGHTS))


def test_a_walk_with_a_repeated_key_still_gives_the_whole_frame_result():
    repeated = pd.concat([walk(), walk().tail(1)], ignore_index=True)
    frame = observations()
    pd.testing.assert_frame_equal(crosswalk.onto_current(frame, REGISTER, repeated, STEPS, WEIGHTS),
                                  whole_frame_reference(frame, REGISTER, repeated, STEPS, WEIGHTS))


def test_labels_are_one_object_not_one_per_row():
    """Why: np.where made a new str per row (about 150 MiB on the 2.18 M Breitbandatlas rows)."""
    frame = observations()
    got = crosswalk.onto_current(frame, REGISTER, walk(), STEPS, WEIGHTS)
    labels = got.loc[got["source_level"] == "gemeinde", "source_level"]
    assert len(labels) > 10 and len({id(x) for x in labels}) == 1
    missing = got.loc[got["published_ags"].isna() & (got["level"] == "gemeinde"), "published_ags"]
    assert len(missing) > 10 and len({id(x) for x in missing}) <= 2  # NaN (one part) and None (merged)


def test_replace_rows_in_slices_keeps_the_order_and_replaces(monkeypatch, tmp_path):
    monkeypatch.setattr(workdb, "INSERT_SLICE_ROWS", 3)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = pd.DataFrame({"source_id": "s", "n": np.arange(10)[::-1], "v": np.linspace(0, 1, 10)})
    workdb.replace_rows(con, "t", frame, source_id="s")
    workdb.replace_rows(con, "t", frame.iloc[2:], source_id="s")  # a rerun replaces, never duplicates
    got = con.execute("SELECT n, v FROM t").df()
    assert got["n"].tolist() == list(range(7, -1, -1))
    assert got["v"].tolist() == frame["v"].iloc[2:].tolist()
    workdb.replace_rows(con, "t", frame.iloc[:0], source_id="s")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0


@pytest.mark.parametrize("slice_rows", [workdb.INSERT_SLICE_ROWS, 3])
def test_replace_rows_of_parts_stores_what_the_stacked_frame_stores(monkeypatch, tmp_path, slice_rows):
    """Parts (the indicator step's observed and carried rows) are stored as their stacked frame would be: the same
    rows in the same order, in one INSERT or in slices, an empty part and a part whose text column is all None
    (no type of its own) included; a rerun replaces them."""
    monkeypatch.setattr(workdb, "INSERT_SLICE_ROWS", slice_rows)
    first = pd.DataFrame({"source_id": "s", "n": np.arange(7)[::-1], "v": np.linspace(0, 1, 7),
                          "note": np.full(7, None, dtype=object)})
    second = pd.DataFrame({"source_id": "s", "n": np.arange(7, 12), "v": np.linspace(2, 3, 5),
                           "note": np.array(["a", None, "b", "c", None], dtype=object)})
    parts = [first, first.iloc[:0], second]
    stacked = pd.concat(parts, ignore_index=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    workdb.replace_rows(con, "reference", stacked, source_id="s")
    assert workdb.replace_rows(con, "t", parts, source_id="s") == 12
    assert workdb.replace_rows(con, "t", parts, source_id="s") == 12  # a rerun replaces, never duplicates
    reference = con.execute("SELECT * FROM reference").df()
    pd.testing.assert_frame_equal(con.execute("SELECT * FROM t").df(), reference)
    assert reference["n"].tolist() == [6, 5, 4, 3, 2, 1, 0, 7, 8, 9, 10, 11]
    assert con.execute("SELECT typeof(note) FROM t LIMIT 1").fetchone()[0] == "VARCHAR"
    with pytest.raises(ValueError, match="no frame to store into t"):
        workdb.replace_rows(con, "t", [], source_id="s")
    # a part that fails leaves the table as it was: the delete and the parts before it are rolled back
    real_insert = workdb._insert

    def failing(con, table, frame):
        if len(frame) and frame["n"].iloc[0] == 7:
            raise RuntimeError("disk full")
        real_insert(con, table, frame)

    monkeypatch.setattr(workdb, "_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        workdb.replace_rows(con, "t", parts, source_id="s")
    pd.testing.assert_frame_equal(con.execute("SELECT * FROM t").df(), reference)


def test_store_of_parts_checks_each_part_against_the_registry():
    """A list of frames goes through the registry's checks part by part: an undeclared column in a later part fails
    as in a single frame, and a declared column a part lacks is added empty."""
    from indicators.compute import VALUE_COLUMNS

    con = duckdb.connect()
    observed = pd.DataFrame({"ags": ["01053090"], "indicator_id": ["x"], "period": [2021], "value": [1.5],
                             "imputed": [False]})
    carried = observed.assign(period=2022, imputed=True, imputation="carried forward from 2021")
    assert workdb.store(con, "indicator_values", "indicator_values", [observed, carried]) == 2
    stored = con.execute("SELECT period, imputed, imputation, quality_note FROM indicator_values").df()
    assert stored["period"].tolist() == [2021, 2022] and stored["imputed"].tolist() == [False, True]
    assert stored["imputation"].tolist() == [None, "carried forward from 2021"] and stored["quality_note"].isna().all()
    assert set(VALUE_COLUMNS) <= {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() "
                                                            "WHERE table_name = 'indicator_values'").fetchall()}
    with pytest.raises(ValueError, match=r"indicator_values: columns \['bogus'\] of 'indicator_values' are not declared"):
        workdb.store(con, "indicator_values", "indicator_values", [observed, carried.assign(bogus=1)])
    assert con.execute("SELECT count(*) FROM indicator_values").fetchone()[0] == 2  # nothing half-written
