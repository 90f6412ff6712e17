"""Run the refresh job as Dagster launches it: reconstructable, so the multiprocess executor can run steps in
their own processes (``execute_in_process`` always runs one process). Used by benchmarks and tests."""

from __future__ import annotations

from dagster import DagsterInstance, execute_job

from pipelines.executors import executor_config
from pipelines.incremental import refresh_job


def launch_refresh(instance: DagsterInstance, settings: dict, executor: str, max_concurrent: int | None = None,
                   raise_on_error: bool = False):
    """Execute refresh_warehouse with the settings resource's config and the chosen executor (in_process or
    multiprocess); returns the run's result (use it as a context manager). The instance must be persistent
    (DagsterInstance.local_temp) for multiprocess: step processes report through it."""
    run_config = {"resources": {"settings": {"config": settings}},
                  "execution": {"config": executor_config(executor, max_concurrent)}}
    return execute_job(refresh_job(), instance=instance, run_config=run_config, raise_on_error=raise_on_error)
