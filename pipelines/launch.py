"""Run the refresh job as Dagster launches it: reconstructable, so the multiprocess executor can run steps in
their own processes (``execute_in_process`` always runs one process). The incremental refresh
(pipelines/incremental.py) launches its multiprocess runs here; benchmarks/full_germany.py uses ``launch_refresh``."""

from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

from dagster import AssetKey, DagsterInstance, EnvVar, execute_job

from pipelines.executors import executor_config
from pipelines.resources import ENV_TEXT

REFRESH_JOB = "refresh_warehouse"


def refresh_job():
    """The refresh job as a pointer into this code location (pipelines.definitions:defs) that step
    processes load again (the forkserver has imported it once: pipelines/step_worker.py)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from warehouse.paths import PROJECT_ROOT

    repository = ReconstructableRepository.for_module("pipelines.definitions", "defs",
                                                      working_directory=str(PROJECT_ROOT))
    return repository.get_reconstructable_job(REFRESH_JOB)


def launch_refresh(instance: DagsterInstance, settings: dict, executor: str, max_concurrent: int | None = None,
                   raise_on_error: bool = False):
    """Execute refresh_warehouse with the settings resource's config and the chosen executor (in_process or
    multiprocess); returns the run's result (use it as a context manager). The instance must be persistent
    (DagsterInstance.local_temp) for multiprocess: step processes report through it."""
    return execute_job(refresh_job(), instance=instance, run_config=run_config(settings, executor, max_concurrent),
                       raise_on_error=raise_on_error)


def run_config(settings: dict, executor: str, max_concurrent: int | None = None) -> dict:
    """The refresh's run config: the settings resource's ``settings`` and the executor's config."""
    return {"resources": {"settings": {"config": settings}},
            "execution": {"config": executor_config(executor, max_concurrent)}}


def launch_selection(instance: DagsterInstance, selection: set[AssetKey], settings, raise_on_error: bool = True,
                     max_concurrent: int | None = None, tags: dict[str, str] | None = None):
    """Run ``selection`` of refresh_warehouse (with the assets' checks) with the multiprocess executor: each step
    in a process of its own, at most ``max_concurrent`` at a time (pipelines/executors.py), the run tagged with
    ``tags``. The instance must be persistent (``DagsterInstance.local_temp`` or a DAGSTER_HOME): the step
    processes report through it. ``raise_on_error``: a failed step raises here, as in ``execute_in_process`` (a
    step process's failure only fails the run). Returns the run's result (its events).

    This process holds the warehouse's writer lock for the whole run, in the run's name (the run is created first,
    then executed): its step processes share it (warehouse/lock.py), and no other writer can take it between two
    steps, when no step process holds it."""
    from dagster._core.execution.api import execute_run

    from warehouse.lock import writer_lock

    job = refresh_job()
    definition = job.get_definition()
    run = instance.create_run_for_job(job_def=definition,
                                      run_config=run_config(settings_config(settings), "multiprocess", max_concurrent),
                                      tags={**definition.run_tags, **(tags or {})},
                                      job_code_origin=job.get_python_origin(), asset_selection=frozenset(selection))
    with writer_lock(settings.published, run_id=run.run_id, by="refresh in step processes"), _forkserver_runs:
        result = execute_run(job, run, instance, raise_on_error=raise_on_error)
    if raise_on_error and not result.success:
        failed = sorted({e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"})
        raise RuntimeError(f"run {result.run_id} of {REFRESH_JOB} failed in step(s) {', '.join(failed) or '?'}")
    return result


class _ForkserverRuns:
    """Counts this process's multiprocess runs in flight; when the last one ends, the forkserver the step
    processes came from (it holds the preloaded pipeline, ~250 MiB) is ended and waited for: its CPU seconds and
    those of the step processes it reaped then count as this process's children's (``getrusage``, ``wait4``), as
    they do for a run in one process, and no idle server outlives the run. The next run starts a new one. ``_stop`` is
    the standard library's (multiprocessing.forkserver, Python 3.11; private, hence looked up with a default)."""

    def __init__(self):
        self._lock, self._running = threading.Lock(), 0

    def __enter__(self):
        with self._lock:
            self._running += 1

    def __exit__(self, *exc):
        from multiprocessing import forkserver

        with self._lock:
            self._running -= 1
            stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
            if self._running == 0 and stop is not None:
                try:
                    stop()
                except OSError:  # ChildProcessError included: the server was already gone and reaped
                    server = forkserver._forkserver  # forget it, so that the next run starts a new one
                    server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None


_forkserver_runs = _ForkserverRuns()

# text settings that may carry an account: the run config is stored in the instance and shown in the UI
CREDENTIAL_FIELDS = {"live_origin": "READINESS_LIVE_ORIGIN", "lake_catalog": "READINESS_LAKE_CATALOG"}


def settings_config(settings) -> dict:
    """The settings resource as run config, field by field: what each step process builds its settings from.

    A field whose value is its environment variable's (``ReadinessSettings``' defaults read the environment; an
    EnvVar of ``from_environment``) is given as that variable, so the stored run config names it, not its value.
    An account in a field given otherwise (a user in the live origin's URL, a password in the lake's connection
    string) is refused: Dagster stores the run config in its instance and shows it in the UI."""
    config = {}
    for name in type(settings).model_fields:
        value, variable = getattr(settings, name), ENV_TEXT.get(name)
        if isinstance(value, EnvVar):
            config[name] = {"env": value.env_var_name}
        elif variable and value and value == os.environ.get(variable):
            config[name] = {"env": variable}
        else:
            if name in CREDENTIAL_FIELDS and value and _carries_account(str(value)):
                raise ValueError(f"settings.{name} carries an account, which the run's config would store: set "
                                 f"{CREDENTIAL_FIELDS[name]} in the environment instead")
            config[name] = value
    return config


def _carries_account(value: str) -> bool:
    """A user (and password) in a URL, or a password in a libpq connection string."""
    return bool(urlsplit(value).username) or "password" in value.lower()
