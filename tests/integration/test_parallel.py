"""The refresh with the multiprocess executor (issue 15 item 2; the default of the Germany-wide modes,
pipelines/executors.py): staging assets write their own files, so steps run in separate processes side by side,
and the published planner views equal the in-process run's."""

from __future__ import annotations

import duckdb
import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from tests.conftest import run_incremental
from warehouse.paths import stage_path, work_path_for
from warehouse.publish import PLANNER_VIEWS
from warehouse.registry import registry


def content(published) -> dict[str, tuple[int, str]]:
    """Rows and md5 per planner view, without its timestamp columns (landing and publish times differ by run)."""
    result = {}
    with duckdb.connect(str(published), read_only=True) as con:
        for view in PLANNER_VIEWS:
            stamps = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                                "AND data_type LIKE 'TIMESTAMP%'", [view]).fetchall()]
            exclude = f" EXCLUDE ({', '.join(stamps)})" if stamps else ""
            result[view] = con.execute(f"""SELECT count(*), md5(coalesce(string_agg(h, ',' ORDER BY h), '')) FROM
                (SELECT md5(CAST(v AS VARCHAR)) AS h FROM (SELECT *{exclude} FROM {view}) v)""").fetchone()
    return result


def overlapping(stats) -> list[tuple[str, str]]:
    """Pairs of steps whose run times overlapped."""
    spans = sorted((s.start_time, s.end_time, s.step_key) for s in stats if s.start_time and s.end_time)
    return [(a[2], b[2]) for i, a in enumerate(spans) for b in spans[i + 1:] if b[0] < a[1]]


@pytest.mark.slow
def test_the_refresh_in_step_processes_publishes_what_one_process_publishes(tmp_path, snapshot_warehouse, monkeypatch):
    """The incremental refresh (pipelines/incremental.py) as the Germany-wide modes run it, each step in a process
    of its own (pipelines/executors.py; chosen here for the snapshot): every asset and every asset check of the job
    runs, staging steps side by side, and the planner views equal those of the session's in-process run."""
    from pipelines.definitions import defs

    monkeypatch.setenv("READINESS_EXECUTOR", "multiprocess")
    plan, result = run_incremental(tmp_path)  # a fresh folder and instance (in RAM where there is a tmpfs)
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert result.success, f"failed steps: {failed}"
    graph = defs.resolve_asset_graph()
    assert plan.selection == set(graph.materializable_asset_keys)
    # every asset (not the per-period reports of int/pilot_scores by readiness_index)
    assert {e.asset_key for e in result.get_asset_materialization_events() if e.partition is None} == \
        set(graph.materializable_asset_keys)
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {c.asset_check_key for c in checks} == set(graph.asset_check_keys)  # the checks run with their assets
    # as in one process: only warnings fail (the snapshot's releases are older than newest_release_age allows)
    assert {c.asset_check_key.name for c in checks if not c.passed and c.severity != AssetCheckSeverity.WARN} == set()
    with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        stats = instance.get_run_step_stats(result.run_id)
        step_pids = {e.dagster_event.pid for e in instance.all_logs(result.run_id) if e.dagster_event
                     and e.dagster_event.event_type_value == "STEP_START"}
    assert len(step_pids) > 2  # one process per step
    staging = set(registry().own_files())
    side_by_side = [(a, b) for a, b in overlapping(stats) if a in staging and b in staging]
    assert side_by_side, "no two staging assets ran at the same time"
    for own in registry().own_files():  # each staging asset wrote its own file
        assert stage_path(work_path_for(tmp_path / "readiness.duckdb"), own).is_file(), own
    published = content(tmp_path / "readiness.duckdb")
    assert published == content(snapshot_warehouse)
    assert all(rows > 0 for rows, _ in published.values())
    assert (tmp_path / "reports" / "index.html").is_file() and (tmp_path / "exports" / "latest").is_dir()
