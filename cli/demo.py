"""`readiness demo`: refresh the warehouse (default: from the embedded snapshot) with a progress bar, print the summary.

Like scripts/demo.sh, the run is recorded in the persistent Dagster instance (DAGSTER_HOME, default
.dagster_home), so it shows in the UI (scripts/ui.sh) with its logs, metadata and checks.

The refresh is incremental (pipelines/incremental.py): the sources are observed first, then only the
assets Dagster reports stale or missing are materialised, with what is downstream of them. On a fresh
instance that is everything; when nothing changed no run is started and the CLI says since when.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
import uuid
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.store import CliError
from warehouse.paths import PROJECT_ROOT

JOB_NAME = "refresh_warehouse"
POLL_SECONDS = 0.3
# Dagster's console logger would scroll over the progress bar; events still go to the instance.
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def prepare_dagster_home() -> Path:
    """DAGSTER_HOME (default .dagster_home) exists and uses the project's dagster.yaml (run queue)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.is_symlink() and not config.exists():  # a link to a file that moved or is gone
        config.unlink(missing_ok=True)
    if not config.exists():
        try:
            config.symlink_to(PROJECT_ROOT / "dagster.yaml")
        except FileExistsError:  # another `readiness demo` started at the same moment made it
            pass
    return home


def open_instance(home: Path):
    """The Dagster instance of ``home``, opened under a file lock: two CLI runs started at once on a
    fresh DAGSTER_HOME would both create the SQLite tables ("table runs already exists")."""
    from dagster import DagsterInstance

    with open(home / ".instance-setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        instance = DagsterInstance.get()
        instance.get_runs(limit=1)  # creates the run storage now, inside the lock
    return instance


def run_refresh(show_progress: bool = True, full: bool = False):
    """Execute refresh_warehouse in this process on the persistent instance, over only the stale or missing
    assets; returns the run's result, or None when nothing changed (then no run was started).
    ``full``: every asset, whatever changed (the sources are still observed first, so that the next
    refresh compares with what this one read).

    The same rules as for a run the UI or the schedule starts: runs whose process died are marked
    failed first (they would jam the queue), then this waits for a run still in progress and for the
    warehouse's writer lock (warehouse/lock.py), saying whom it waits for; only then is the run created
    (tagged for the queue, with this process's pid) and executed.
    """
    home = prepare_dagster_home()
    # Imported here: loading the code location takes a few seconds that `profile` should not pay.
    import warehouse.paths
    from pipelines.definitions import defs
    from warehouse.lock import WarehouseBusy, describe, writer_lock

    run_id = str(uuid.uuid4())
    published = warehouse.paths.published_path()
    with open_instance(home) as instance:
        wait_for_queue(instance)
        try:
            with writer_lock(published, run_id=run_id, by="readiness demo",
                             on_wait=lambda h: _say(f"waiting: the warehouse {published} is being written by "
                                                    f"{describe(h)}")):
                job = _plan(instance, defs, published, full)
                if job is None:
                    return None
                result = _execute(instance, job, run_id, show_progress)
        except WarehouseBusy as error:
            raise CliError(str(error)) from None
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        raise CliError(f"Run {run_id} of {JOB_NAME} failed in step(s) {', '.join(failed) or '?'}; "
                       "see its logs in the Dagster UI (scripts/ui.sh) under Runs. "
                       "The published warehouse is unchanged.")
    return result


def _plan(instance, defs, published: Path, full: bool = False):
    """Observe the sources and plan; the refresh job reduced to what is stale, or None when nothing changed
    (``full``: the whole refresh job)."""
    from pipelines.incremental import observe_sources, outputs_missing, plan_refresh, selected_job
    from pipelines.run_guard import process_tags

    observed = observe_sources(instance, defs, run_config=QUIET_LOGGING, tags=process_tags(), raise_on_error=False)
    if not observed.success:
        raise CliError(f"Observing the sources failed (run {observed.run_id} of observe_sources); see its logs in "
                       "the Dagster UI (scripts/ui.sh) under Runs. Nothing was refreshed.")
    if full:
        print("readiness: full refresh requested (--alles-neu): every asset is materialised", flush=True)
        return defs.resolve_job_def(JOB_NAME)
    plan = plan_refresh(instance, defs.resolve_asset_graph(), outputs_missing(published))
    print(f"readiness: {plan.describe()}", flush=True)  # stdout: part of what the command reports
    return None if plan.nothing_changed else selected_job(defs, plan)


def wait_for_queue(instance, poll_seconds: float = 2.0) -> None:
    """Fail dead runs, then wait until no run is in progress in the instance (the queue's one slot is free)."""
    from pipelines.run_guard import fail_dead_runs, in_progress_runs

    announced = set()
    while True:
        for run_id in fail_dead_runs(instance):
            _say(f"run {run_id} was marked failed: its process no longer exists (killed or crashed)")
        running = in_progress_runs(instance)
        if not running:
            return
        for run in running:
            if run.run_id not in announced:
                _say(f"waiting for run {run.run_id} ({run.job_name}, {run.status.value}) to finish; "
                     "Ctrl-C to stop waiting")
                announced.add(run.run_id)
        time.sleep(poll_seconds)


def _execute(instance, job, run_id: str, show_progress: bool):
    """execute_in_process with the progress bar fed from the run's event log."""
    from pipelines.run_guard import process_tags

    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(instance, run_id, len(job.graph.node_dict), done,
                                                    show_progress), daemon=True)
    watcher.start()
    try:
        return job.execute_in_process(instance=instance, run_id=run_id, run_config=QUIET_LOGGING,
                                      tags=process_tags(), raise_on_error=False)
    finally:
        done.set()
        watcher.join()


def _say(message: str) -> None:
    print(f"readiness: {message}", file=sys.stderr, flush=True)


def _watch(instance, run_id: str, total: int, done: threading.Event, show: bool) -> None:
    """Advance a progress bar on each finished step, read from the run's event log."""
    from dagster import DagsterEventType

    finished = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}
    kinds = finished | {DagsterEventType.STEP_START}
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, disable=not show, transient=False) as progress:
        task = progress.add_task(f"{JOB_NAME}: starting", total=total)
        cursor = None
        while True:
            last_round = done.is_set()
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds)
            cursor = connection.cursor
            for record in connection.records:
                event = record.event_log_entry.dagster_event
                if event.event_type in finished:
                    progress.advance(task)
                else:
                    progress.update(task, description=f"{JOB_NAME}: {event.step_key}")
            if last_round:
                progress.update(task, description=f"{JOB_NAME}: done")
                return
            done.wait(POLL_SECONDS)
