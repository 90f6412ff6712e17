"""The refresh with the multiprocess executor (issue 15 item 2; the default of the Germany-wide modes,
pipelines/executors.py): staging assets write their own files, so steps run in separate processes side by side,
and the published planner views equal the in-process run's."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from pipelines.run_guard import PID_TAG
from tests.conftest import run_incremental
from warehouse.lock import holder
from warehouse.paths import stage_path, work_path_for
from warehouse.publish import PLANNER_VIEWS
from warehouse.registry import registry

ROOT = Path(__file__).resolve().parents[2]


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


def watch_lock(published: Path, holders: list, done: threading.Event) -> None:
    """Append the run id the warehouse's writer lock names (None when free) every 20 ms until ``done``."""
    while not done.is_set():
        info = holder(published)
        holders.append(info.get("run_id") if info else None)
        time.sleep(0.02)


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
    holders, done = [], threading.Event()
    watcher = threading.Thread(target=watch_lock, args=(tmp_path / "readiness.duckdb", holders, done))
    watcher.start()
    try:
        plan, result = run_incremental(tmp_path)  # a fresh folder and instance (in RAM where there is a tmpfs)
    finally:
        done.set()
        watcher.join()
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
        tags = instance.get_run_by_id(result.run_id).tags
    assert len(step_pids) > 2  # one process per step
    # the run is this process's (the dead-run reaper reads the tag); no step process, which ends with its step,
    # put its own pid there (pipelines/run_guard.py hold_warehouse, executors.in_step_process)
    assert tags[PID_TAG] == str(os.getpid()) and os.getpid() not in step_pids
    # the writer lock names the run from its first step to its last, also between two steps (no step process
    # holds it then): this process held it for the run (pipelines/launch.py launch_selection)
    # (the observation run before it holds the lock for itself)
    named = [i for i, run_id in enumerate(holders) if run_id == result.run_id]
    assert len(named) > 10, holders
    assert set(holders[named[0]:named[-1] + 1]) == {result.run_id}, "the lock was free between two of its steps"
    staging = set(registry().own_files())
    side_by_side = [(a, b) for a, b in overlapping(stats) if a in staging and b in staging]
    assert side_by_side, "no two staging assets ran at the same time"
    for own in registry().own_files():  # each staging asset wrote its own file
        assert stage_path(work_path_for(tmp_path / "readiness.duckdb"), own).is_file(), own
    published = content(tmp_path / "readiness.duckdb")
    assert published == content(snapshot_warehouse)
    assert all(rows > 0 for rows, _ in published.values())
    assert (tmp_path / "reports" / "index.html").is_file() and (tmp_path / "exports" / "latest").is_dir()


@pytest.mark.parametrize("mode, executor", [("directory", "multiprocess"), ("snapshot", "in_process")])
def test_scheduled_and_ui_runs_take_the_executor_of_the_code_locations_source_mode(mode, executor):
    """A run the daemon (the monthly schedule's sensor) or the UI launches gives no execution config: the job's
    default applies, read from the code location's environment as its settings are."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "READINESS_EXECUTOR"}
    env.update(READINESS_SOURCE_MODE=mode, READINESS_SOURCE_DIR=str(ROOT))
    code = ("from pipelines.definitions import defs; job = defs.resolve_job_def('refresh_warehouse'); "
            "print(*job.executor_def.config_schema.as_field().default_value)")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == [executor]


def test_the_run_config_names_the_environment_and_refuses_an_account(monkeypatch, tmp_path):
    """settings_config: what the stored run config of a multiprocess run holds (Dagster shows it in the UI)."""
    from dagster import EnvVar

    from pipelines.launch import settings_config
    from pipelines.resources import ReadinessSettings

    monkeypatch.setenv("READINESS_LIVE_ORIGIN", "https://user:secret@mirror.example")
    monkeypatch.setenv("READINESS_LAKE_CATALOG", "postgres:host=db password=secret")
    config = settings_config(ReadinessSettings(live_origin="https://user:secret@mirror.example",
                                               lake_catalog=EnvVar("READINESS_LAKE_CATALOG"),
                                               warehouse_path=str(tmp_path / "readiness.duckdb")))
    assert config["live_origin"] == {"env": "READINESS_LIVE_ORIGIN"}  # its variable's value: named, not copied
    assert config["lake_catalog"] == {"env": "READINESS_LAKE_CATALOG"}
    assert config["warehouse_path"] == str(tmp_path / "readiness.duckdb") and "secret" not in repr(config)
    for field, value in [("live_origin", "https://user:pw@other.example"), ("lake_catalog", "postgres:password=pw")]:
        with pytest.raises(ValueError, match=f"settings.{field} carries an account"):
            settings_config(ReadinessSettings(**{field: value}))
    assert settings_config(ReadinessSettings(live_origin="http://127.0.0.1:8080"))["live_origin"] == \
        "http://127.0.0.1:8080"
