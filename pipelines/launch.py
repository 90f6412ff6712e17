"""Run the refresh job as Dagster launches it: reconstructable, so the multiprocess executor can run steps in
their own processes (``execute_in_process`` always runs one process). Used by benchmarks and tests."""

from __future__ import annotations

from dagster import DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

from pipelines.definitions import executor_config
from pipelines.incremental import REFRESH_JOB
from warehouse.paths import PROJECT_ROOT


def refresh_job():
    """The refresh job as a pointer into this code location (pipelines.definitions:defs) that step
    processes load again (the forkserver has imported it once)."""
    repository = ReconstructableRepository.for_module("pipelines.definitions", "defs",
                                                      working_directory=str(PROJECT_ROOT))
    return repository.get_reconstructable_job(REFRESH_JOB)


def launch_refresh(instance: DagsterInstance, settings: dict, executor: str, max_concurrent: int | None = None,
                   raise_on_error: bool = False):
    """Execute refresh_warehouse with the settings resource's config and the chosen executor (in_process or
    multiprocess); returns the run's result (use it as a context manager). The instance must be persistent
    (DagsterInstance.local_temp) for multiprocess: step processes report through it."""
    run_config = {"resources": {"settings": {"config": settings}},
                  "execution": {"config": executor_config(executor, max_concurrent)}}
    return execute_job(refresh_job(), instance=instance, run_config=run_config, raise_on_error=raise_on_error)
