"""Runs that write the warehouse: hold its writer lock for the whole run, and fail runs whose process died.

A run killed with SIGKILL (or a crashed machine) never writes its end event, so the instance shows
it STARTED for ever and the queue (dagster.yaml: one run at a time) launches nothing more. Dagster's
run monitoring cannot see that for the default run launcher (it has no worker health check), so
every run records its pid and host as tags, and every entry point (the CLI, the scripts, and the
`dead_run_reaper` sensor the daemon evaluates for the UI and the schedule) calls
``fail_dead_runs`` first: a run whose process is gone is marked FAILURE with a message saying so.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

from dagster import (DagsterEventType, DagsterInstance, DagsterRunStatus, DefaultSensorStatus, RunsFilter,
                     SensorEvaluationContext, SkipReason, sensor)

from pipelines.executors import in_step_process
from warehouse.lock import describe, writer_lock

PID_TAG = "readiness/pid"
HOST_TAG = "readiness/host"
ALIVE_STATUSES = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def process_tags() -> dict[str, str]:
    """Tags naming this process, given to a run at creation (CLI) or at resource start (launched runs)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


@contextmanager
def hold_warehouse(published: Path, context) -> None:
    """For a run's resource: tag the run with this process, then hold the writer lock until the run ends.

    ``context`` is Dagster's InitResourceContext; a second writer is logged while this run waits.
    """
    run = getattr(context, "run", None)
    run_id = run.run_id if run is not None else None
    instance = getattr(context, "instance", None)
    # a step process of the multiprocess executor ends with its step, the run goes on: not the run's process
    # (the run is tagged by whoever launched it, or the executor's start event names the run's pid, which
    # _run_process reads when there is no tag)
    if run_id and instance is not None and not in_step_process() and instance.get_run_by_id(run_id) is not None:
        instance.add_run_tags(run_id, process_tags())

    def report(holder: dict | None) -> None:
        if context is not None and getattr(context, "log", None) is not None:
            context.log.info(f"waiting for the warehouse {published}: it is being written by {describe(holder)}")

    with writer_lock(published, run_id=run_id, by="dagster run", on_wait=report):
        yield


def fail_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark FAILURE every in-progress run whose process on this host no longer exists; returns their ids.

    Only runs that can be proven dead are touched: a run on another host, or one whose process is
    unknown, is left to Dagster's run monitoring (start timeout in dagster.yaml, the jobs' dagster/max_runtime tag).
    """
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=ALIVE_STATUSES)):
        run = record.dagster_run
        pid, host = _run_process(instance, run)
        if pid is None or host != socket.gethostname() or _alive(pid):
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in ALIVE_STATUSES:  # finished meanwhile
            continue
        instance.report_run_failed(current, message=(
            f"Run {run.run_id} marked failed: its process (pid {pid} on {host}) no longer exists, so it was "
            "killed or crashed before it could end. The published warehouse is the last one that was "
            "swapped in completely; start the refresh again."))
        failed.append(run.run_id)
    return failed


def _run_process(instance: DagsterInstance, run) -> tuple[int | None, str | None]:
    """The pid and host of a run: from its tags, else from the in-process executor's start event (this host)."""
    if PID_TAG in run.tags:
        return int(run.tags[PID_TAG]), run.tags.get(HOST_TAG)
    # killed before its resource started: the executor logged its pid ("Executing steps in process")
    if type(instance.run_launcher).__name__ != "DefaultRunLauncher":
        return None, None
    records = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50).records
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        metadata = getattr(data, "metadata", None) or {}
        if "pid" in metadata:
            return int(metadata["pid"].value), socket.gethostname()
    return None, None


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as dead: it will never end the run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def in_progress_runs(instance: DagsterInstance) -> list:
    """Runs the instance shows as starting or running (after dead ones were failed)."""
    return [r.dagster_run for r in instance.get_run_records(filters=RunsFilter(statuses=ALIVE_STATUSES))]


def reaper_interval() -> int:
    """Seconds between the daemon's evaluations of ``dead_run_reaper``: 30, or READINESS_REAPER_SECONDS.

    Why an override: a test that kills a run under `dg dev` waits for the sensor's next tick (up to 30 s plus
    the daemon's 5-s loop) for nothing but the interval; it sets 1 in the environment of its own `dg dev`.
    Production keeps 30 s (a dead run only blocks the queue; evaluating every second would cost the daemon)."""
    text = os.environ.get("READINESS_REAPER_SECONDS", "30")
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"READINESS_REAPER_SECONDS must be a whole number of seconds >= 1, got {text!r}")
    return int(text)


REAPER_SECONDS = reaper_interval()


@sensor(name="dead_run_reaper", minimum_interval_seconds=REAPER_SECONDS, default_status=DefaultSensorStatus.RUNNING,
        description=f"Every {REAPER_SECONDS} s: marks failed the runs whose process died (killed, crashed), so that "
                    "the run queue keeps launching the schedule's and the UI's runs (pipelines/run_guard.py).")
def dead_run_reaper(context: SensorEvaluationContext):
    """The daemon's entry point of ``fail_dead_runs``: covers the UI and the schedule."""
    failed = fail_dead_runs(context.instance)
    return SkipReason(f"marked failed (process gone): {', '.join(failed)}" if failed else "no dead run")
