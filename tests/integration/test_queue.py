"""One writer at a time, and no stuck queue (issues 12.5 and 15.1).

Fast tests: the OS-level writer lock (warehouse/lock.py) between real processes, and the detection of
runs whose process died (pipelines/run_guard.py). Slow test (marked ``slow``): a SIGKILLed run followed by
runs launched from GraphQL and from the CLI, ending with real refreshes started at once from two CLIs.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from pipelines.run_guard import HOST_TAG, PID_TAG, fail_dead_runs
from tests.conftest import instance_home
from warehouse.lock import WarehouseBusy, holder, lock_path_for, writer_lock

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOLD = textwrap.dedent("""
    import sys, time
    from warehouse.lock import writer_lock
    with writer_lock(sys.argv[1], run_id=sys.argv[2], by="test holder"):
        print("held", flush=True)
        time.sleep(600)
""")


@pytest.fixture
def held_lock(tmp_path):
    """A second process holding the writer lock of tmp_path/readiness.duckdb as run 'run-A'."""
    published = tmp_path / "readiness.duckdb"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(published), "run-A"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        yield published, process
    finally:
        process.kill()
        process.wait()


def test_a_second_writer_is_refused_naming_the_run_that_holds_the_warehouse(held_lock):
    published, process = held_lock
    info = holder(published)
    assert info["run_id"] == "run-A" and info["pid"] == process.pid and info["by"] == "test holder"
    waits = []
    started = time.monotonic()
    with pytest.raises(WarehouseBusy, match=r"being written by run run-A \(pid \d+ on .*test holder\)"):
        with writer_lock(published, run_id="run-B", timeout=1.0, on_wait=waits.append):
            pass
    assert time.monotonic() - started >= 1.0
    assert waits and waits[0]["run_id"] == "run-A"  # the waiting writer was told whom it waits for


def test_the_lock_of_a_killed_writer_is_free_at_once(held_lock):
    published, process = held_lock
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert holder(published) is None  # the kernel released the flock with the process
    with writer_lock(published, run_id="run-B", timeout=0) as info:
        assert info["run_id"] == "run-B" and holder(published)["run_id"] == "run-B"
    assert holder(published) is None and lock_path_for(published).read_text() == ""


def test_the_processes_and_steps_of_one_run_share_its_lock(held_lock):
    published, _ = held_lock
    with writer_lock(published, run_id="run-A", timeout=0):  # e.g. a step worker of the same run
        pass
    other = published.with_name("other.duckdb")
    with writer_lock(other, run_id="x", timeout=0):
        with writer_lock(other, run_id="x", timeout=0):  # re-entrant in one process
            assert holder(other)["run_id"] == "x"
        assert holder(other)["run_id"] == "x"
    assert holder(other) is None


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_runs_whose_process_died_are_marked_failed_and_only_those(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        here = socket.gethostname()
        runs = {
            "dead": {PID_TAG: str(_dead_pid()), HOST_TAG: here},
            "alive": {PID_TAG: str(os.getpid()), HOST_TAG: here},
            "elsewhere": {PID_TAG: str(_dead_pid()), HOST_TAG: here + "-other-host"},
            "unknown": {},
        }
        ids = {}
        for name, tags in runs.items():
            run = instance.add_run(DagsterRun(job_name="refresh_warehouse", run_id=str(uuid.uuid4()),
                                              status=DagsterRunStatus.STARTED, tags=tags))
            ids[name] = run.run_id
        assert fail_dead_runs(instance) == [ids["dead"]]
        status = {name: instance.get_run_by_id(run_id).status for name, run_id in ids.items()}
        assert status == {"dead": DagsterRunStatus.FAILURE, "alive": DagsterRunStatus.STARTED,
                          "elsewhere": DagsterRunStatus.STARTED, "unknown": DagsterRunStatus.STARTED}
        failure = instance.all_logs(ids["dead"])[-1]
        assert "no longer exists" in failure.message or "no longer exists" in str(failure.dagster_event)
        assert fail_dead_runs(instance) == []  # idempotent


# ---- slow: real refreshes, real processes -------------------------------------------------------------

DEQUEUE_SECONDS = 1  # the queue daemon's poll; Dagster's default 5 s cost 5-8 s per queued run in this test
# the dead_run_reaper sensor's minimum interval in this test's `dg dev` (pipelines/run_guard.py, default 30 s):
# the daemon then evaluates it on each of its 5-s loops, so a killed run is failed within ~5 s, not up to 35 s.
# What the test proves is that the daemon's sensor fails the dead run, not how long its interval is.
REAPER_SECONDS = 1


def instance_config() -> str:
    """The project's dagster.yaml (run queue: one run at a time, the warehouse tag limit; run monitoring) with
    only the queue daemon's dequeue interval shortened: what the test proves about the queue is the project's
    configuration, the seconds a queued run waits for the daemon's next look are not."""
    import yaml

    config = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = DEQUEUE_SECONDS
    return yaml.safe_dump(config, sort_keys=False)


def refresh_env(tmp: Path) -> dict[str, str]:
    """Environment of an entry point writing into ``tmp``: its own instance (the project's dagster.yaml, but
    for the dequeue interval: ``instance_config``; `readiness demo` keeps an existing file)."""
    home = instance_home(tmp / "dagster_home")  # in RAM where there is a tmpfs (SQLite's fdatasync per event)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(instance_config(), encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home), "READINESS_WAREHOUSE": str(tmp / "readiness.duckdb"),
           "READINESS_RAW_DIR": str(tmp / "raw"), "READINESS_EXPORTS_DIR": str(tmp / "exports"),
           "READINESS_REPORTS_DIR": str(tmp / "reports"), "READINESS_REPORT_SCOPE": "pilots",
           "READINESS_REAPER_SECONDS": str(REAPER_SECONDS)}
    env.pop("READINESS_SOURCE_MODE", None)
    return env


def start_cli(tmp: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp / f"{name}.log"
    # --alles-neu: every CLI refresh writes the warehouse, even when an earlier one left nothing stale
    process = subprocess.Popen([str(BIN / "readiness"), "demo", "--no-progress", "--alles-neu"], cwd=ROOT,
                               env=refresh_env(tmp),
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    return process, log


def test_the_reaper_interval_is_30_s_unless_the_environment_sets_another(monkeypatch):
    from pipelines.run_guard import reaper_interval

    monkeypatch.delenv("READINESS_REAPER_SECONDS", raising=False)
    assert reaper_interval() == 30
    monkeypatch.setenv("READINESS_REAPER_SECONDS", str(REAPER_SECONDS))
    assert reaper_interval() == REAPER_SECONDS
    for bad in ("0", "-5", "2.5", "soon"):
        monkeypatch.setenv("READINESS_REAPER_SECONDS", bad)
        with pytest.raises(ValueError, match=f"READINESS_REAPER_SECONDS .* got '{re.escape(bad)}'"):
            reaper_interval()


@pytest.fixture
def instance(tmp_path):
    """The test's own handle on the instance its CLIs and `dg dev` use (``refresh_env``), opened once and
    polled throughout: opening it for each poll cost 56 CPU ms against 4 ms for a query on an open one
    (2026-12-02 23:18 UTC, load 2.6), a few hundred polls while the refreshes it waits for needed the CPU.
    Opened before any CLI starts, so it creates the SQLite tables alone (cli/demo.py open_instance)."""
    with DagsterInstance.from_config(refresh_env(tmp_path)["DAGSTER_HOME"]) as opened:
        opened.get_runs(limit=1)  # creates the run storage now
        yield opened


def instance_runs(instance: DagsterInstance) -> list[DagsterRun]:
    """The refresh runs of the test's instance, oldest first (not the CLI's short runs observing the sources)."""
    return [r for r in reversed(instance.get_runs()) if r.job_name == "refresh_warehouse"]


def wait_for_tagged_run(instance: DagsterInstance, known: set[str], timeout: float = 300) -> DagsterRun:
    """A new run that has started writing (it carries its process's pid tag)."""
    from tests.integration.test_ui import wait_until

    return wait_until(lambda: next((r for r in instance_runs(instance) if r.run_id not in known
                                    and PID_TAG in r.tags and r.status == DagsterRunStatus.STARTED), None),
                      timeout, "a run to start writing", 0.5)


def steps_started(instance: DagsterInstance, run_id: str) -> int:
    """How many steps of the run have started (its STEP_START events in the test's instance)."""
    from dagster import DagsterEventType

    return len(instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records)


def wait_until_writing(instance: DagsterInstance, run_id: str) -> None:
    """Until the run executes its steps (a step has started: raw landing and working files are being written),
    the moment the test kills it. Was a fixed 3 s sleep after the pid tag, which neither guaranteed that on a
    loaded machine nor was needed on an idle one."""
    from tests.integration.test_ui import wait_until

    wait_until(lambda: steps_started(instance, run_id), 300, f"a step of run {run_id} to start", 0.2)


def assert_no_lock_errors(*texts: str) -> None:
    for text in texts:
        assert "Conflicting lock" not in text and "Could not set lock" not in text
        assert "Traceback" not in text


@pytest.mark.slow
def test_a_killed_run_does_not_jam_the_queue_for_the_ui_or_the_cli(tmp_path, instance):
    from tests.integration.test_ui import DG, free_port, graphql, location_loaded, stop_group, wait_until

    # 1. a CLI run killed while it writes stays STARTED in the instance: the queue would launch nothing
    cli, _ = start_cli(tmp_path, "killed-cli")
    killed = wait_for_tagged_run(instance, set())
    wait_until_writing(instance, killed.run_id)
    os.killpg(cli.pid, signal.SIGKILL)
    cli.wait()
    assert instance_runs(instance)[-1].status == DagsterRunStatus.STARTED

    # 2. the UI's daemon starts: its sensor fails the dead run, so the queue launches again (step 3)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ui_log = tmp_path / "dagster-dev.log"
    ui = subprocess.Popen([str(DG), "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                          env=refresh_env(tmp_path), stdout=ui_log.open("w"), stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        wait_until(lambda: ui.poll() is not None or location_loaded(base), 300, "dg dev to load")
        # nothing but the daemon runs now (no CLI, no run launched): the dead run is failed by its sensor
        wait_until(lambda: _ended(instance, killed.run_id), 120, "the daemon's sensor to fail the dead run", 1)
        assert _ended(instance, killed.run_id) == DagsterRunStatus.FAILURE, ui_log.read_text()[-3000:]

        # 3. a CLI refresh and a UI refresh (launched from the UI's GraphQL API, queued, launched by the daemon)
        # started at once on the unjammed queue: both succeed, one after the other
        known = {r.run_id for r in instance_runs(instance)}
        cli, cli_log = start_cli(tmp_path, "cli-with-ui")
        from_ui = launch_from_graphql(base, graphql)
        assert cli.wait(timeout=900) == 0, cli_log.read_text()[-3000:]
        status = wait_until(lambda: _ended(instance, from_ui), 900, "the UI run to end", 1)
        assert status == DagsterRunStatus.SUCCESS, ui_log.read_text()[-3000:]
        assert_no_lock_errors(cli_log.read_text())
        new = [r for r in instance_runs(instance) if r.run_id not in known]
        assert len(new) == 2 and all(r.status == DagsterRunStatus.SUCCESS for r in new)
        by_id = {r.run_id: r for r in instance_runs(instance)}

        # 4. the worker of a UI-launched run is killed: the daemon's sensor marks that run failed too
        second = launch_from_graphql(base, graphql)
        worker = wait_for_tagged_run(instance, set(by_id))
        assert worker.run_id == second
        wait_until_writing(instance, second)
        os.kill(int(worker.tags[PID_TAG]), signal.SIGKILL)
        assert wait_until(lambda: _ended(instance, second), 120, "the sensor to fail the killed run", 1) \
            == DagsterRunStatus.FAILURE
    finally:
        stop_group(ui)

    # 5. without the UI (no sensor), a killed CLI run is failed by the next CLI run, which succeeds; two CLI
    # refreshes started at once then both succeed, one after the other (the later one says whom it waits for)
    cli, _ = start_cli(tmp_path, "killed-cli-2")
    third = wait_for_tagged_run(instance, {r.run_id for r in instance_runs(instance)})
    wait_until_writing(instance, third.run_id)
    os.killpg(cli.pid, signal.SIGKILL)
    cli.wait()
    with duckdb.connect(str(tmp_path / "readiness.duckdb"), read_only=True) as con:
        publishes = con.execute("SELECT count(*) FROM publish_log").fetchone()[0]
    first, first_log = start_cli(tmp_path, "cli-after-kill")
    second, second_log = start_cli(tmp_path, "cli-after-kill-2")
    assert first.wait(timeout=900) == 0 and second.wait(timeout=900) == 0, \
        first_log.read_text()[-2000:] + second_log.read_text()[-2000:]
    logs = first_log.read_text(), second_log.read_text()
    assert any(f"run {third.run_id} was marked failed" in text for text in logs)  # by whichever came first
    assert_no_lock_errors(*logs)
    assert any("waiting" in text for text in logs)  # the later one said whom it waited for
    statuses = [r.status for r in instance_runs(instance)]
    assert statuses == [DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS, DagsterRunStatus.SUCCESS,
                        DagsterRunStatus.FAILURE, DagsterRunStatus.FAILURE,
                        DagsterRunStatus.SUCCESS, DagsterRunStatus.SUCCESS]
    with duckdb.connect(str(tmp_path / "readiness.duckdb"), read_only=True) as con:
        # both published, each its own run (the two CLI refreshes did not write one publish together)
        assert con.execute("SELECT count(*) FROM publish_log").fetchone()[0] == publishes + 2
        assert con.execute("SELECT count(DISTINCT run_id) FROM publish_log").fetchone()[0] == publishes + 2


def launch_from_graphql(base: str, graphql) -> str:
    """launchRun as the UI's 'Materialize all' sends it; returns the run id (the run is queued)."""
    data = graphql(base, """mutation { launchRun(executionParams: {
        selector: {repositoryLocationName: "kleinstadt_readiness", repositoryName: "__repository__",
                   jobName: "refresh_warehouse"}, runConfigData: {}}) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""")
    assert data["launchRun"]["__typename"] == "LaunchRunSuccess", data
    return data["launchRun"]["run"]["runId"]


def _ended(instance: DagsterInstance, run_id: str) -> DagsterRunStatus | None:
    status = {r.run_id: r.status for r in instance_runs(instance)}.get(run_id)
    return status if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE,
                                DagsterRunStatus.CANCELED) else None
