"""The indicator step on the snapshot's working files with a split added to the crosswalk's changes: a value carried
past it is not scored (indicators.compute.across_transfers, wired by pipelines/assets/indicators.py)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.conftest import refresh_settings, run_job

MOELLN = "01053090"


@pytest.fixture
def split_into_moelln(snapshot_warehouse, tmp_path):
    """A copy of the session's snapshot build whose crosswalk says Mölln received half its inhabitants from a
    dissolved neighbour between the registers of 31.12.2021 and 31.12.2023 (invented: the snapshot has no split)."""
    folder = tmp_path / "run"
    shutil.copytree(snapshot_warehouse.parent, folder, ignore=shutil.ignore_patterns("exports", "reports"))
    with duckdb.connect(str(folder / "readiness.staging" / "territorial_crosswalk.duckdb")) as con:
        con.execute("""INSERT INTO territorial_changes (from_vintage, to_vintage, from_date, to_date, from_ags, to_ags,
                       kind, evidence, plausibility, moved_population, moved_area_km2, moved_share)
                       VALUES ('2021-12-31', '2023-12-31', DATE '2021-12-31', DATE '2023-12-31', '01053001', ?,
                               'split', 'test: invented', 'official', 9800, 20.0, 50.0)""", [MOELLN])
    return folder


def test_the_indicator_step_leaves_out_what_mölln_carries_across_the_split(split_into_moelln):
    result = run_job(refresh_settings(split_into_moelln), assets=["int/indicator_values"])
    assert result.success
    with duckdb.connect(str(split_into_moelln / "readiness.work.duckdb"), read_only=True) as con:
        rows = con.execute("""SELECT period, imputed, territorial_change, excluded_reason FROM indicator_values
                              WHERE ags = ? AND indicator_id = 'gigabit_coverage' ORDER BY period""", [MOELLN]).fetchall()
        across = dict(con.execute("""SELECT ags, count(*) FROM indicator_values WHERE indicator_id = 'gigabit_coverage'
                                     AND imputed AND territorial_change = 'split' AND excluded_reason IS NOT NULL
                                     GROUP BY ags""").fetchall())
    by_period = {period: (imputed, change, reason) for period, imputed, change, reason in rows}
    assert by_period[2021] == (False, None, None)  # observed mid-2021, before the split: scored
    assert by_period[2022] == (True, None, None)  # the period ends before the later register
    assert by_period[2023] == (True, "split", "territorial_change")  # carried past the split: not scored
    metadata = next(m for m in result.asset_materializations_for_node("indicator_values")).metadata
    # Mölln's and the giving neighbour's 2023 value, as the step's metadata tells the analyst
    assert across == {MOELLN: 1, "01053001": 1}
    assert metadata["carried_across_territorial_change"].value["gigabit_coverage"] == 2
