"""The report data (reports/data.py ``load``) hold the frames ``df()`` gives, with repeated strings shared
(issue 13: the report child's memory); the page keys hash the same values."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import data as report_data
from reports.data import load
from reports.labels import display_names
from reports.pages import row_hashes


def test_loaded_frames_equal_df_and_share_their_strings(snapshot_warehouse):
    loaded = load(snapshot_warehouse)
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        indicators = con.execute(report_data.INDICATORS, {"mv": loaded.method_version}).df()
        input_dates = con.execute(report_data.INPUT_DATES).df()
        towns = con.execute(report_data.MUNICIPALITIES).df()
    towns["name"] = display_names(towns["name"])  # the pages' names ('Dießen am Ammersee, Markt')
    # two runs of a query without a full ORDER BY may order rows differently: compared in the order of their keys
    date_key = ["ags", "period", "pillar", "source_id"]
    for got, expected, key in [(loaded.by_town["indicators"].frame, indicators, ["ags", "indicator_id"]),
                               (loaded.by_town["input_dates"].frame, input_dates, date_key),
                               (loaded.towns.reset_index(drop=True), towns, ["ags"])]:
        got, expected = (f.sort_values(key, kind="stable").reset_index(drop=True) for f in (got, expected))
        pd.testing.assert_frame_equal(got, expected)  # dtypes and values, None kept as None
        assert (row_hashes(got) == row_hashes(expected)).all()
    frame = loaded.by_town["indicators"].frame
    for column in ("indicator_id", "unit", "source_id", "publisher"):
        present = frame[column].dropna()
        assert present.map(id).nunique() == present.nunique() < len(present)  # one object per distinct text
