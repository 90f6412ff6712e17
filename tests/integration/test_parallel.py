"""The refresh job with the multiprocess executor (issue 15 item 2): staging assets write their own files, so
steps run in separate processes side by side, and the published planner views equal the in-process run's."""

from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, execute_job

from pipelines.definitions import executor_config
from pipelines.launch import refresh_job
from tests.conftest import instance_home, upstream_of
from warehouse.paths import stage_path, work_path_for
from warehouse.publish import PLANNER_VIEWS
from warehouse.registry import registry


def settings(tmp) -> dict:
    """As tests/conftest.py refresh_settings (the snapshot, pilot pages), as the settings resource's config."""
    return {"source_mode": "snapshot", "warehouse_path": str(tmp / "readiness.duckdb"), "raw_dir": str(tmp / "raw"),
            "exports_dir": str(tmp / "exports"), "reports_dir": str(tmp / "reports"), "report_scope": "pilots"}


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
def test_multiprocess_refresh_publishes_what_the_in_process_run_publishes(tmp_path, snapshot_warehouse):
    instance_home(tmp_path / "home")  # in RAM where there is a tmpfs: every step process writes its events there
    run_config = {"resources": {"settings": {"config": settings(tmp_path)}},
                  "execution": {"config": executor_config("multiprocess", max_concurrent=2)}}
    # up to the publish, as the snapshot warehouse it is compared with (pipelines.launch.launch_refresh without
    # the town pages and exports: two step processes that only read the published file)
    selection = [AssetKey.from_user_string(key) for key in upstream_of("out/warehouse")]
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        with execute_job(refresh_job(), instance, run_config=run_config, asset_selection=selection) as result:
            failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
            assert result.success, f"failed steps: {failed}"
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
