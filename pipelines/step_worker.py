"""Preloaded by the multiprocess executor's forkserver (pipelines/executors.py): import the code location and
load its repository once, so that each step process, forked from the server, starts with both in memory
instead of importing the pipeline again (seconds per step on a 2-core machine).

It also opens and closes a throwaway local instance: each step process opens the run's instance
(``DagsterInstance.from_ref``), whose SQLite storages import their modules and check their schema against
alembic's migration scripts, 0.20 s per step process when the forkserver had not done it once (0.035 s
after; 47 step processes of a snapshot run up to the publish, 8 December 2026). The throwaway instance leaves
no thread and no open connection behind, so forking after it stays safe.

Only that forkserver imports this module, so the processes forked from it are marked as step processes
(``executors.in_step_process``: they do not tag the run with their pid, pipelines/run_guard.py)."""

import shutil
import tempfile

from dagster import DagsterInstance

from pipelines.executors import mark_step_processes
from pipelines.launch import refresh_job

mark_step_processes()

refresh_job().get_definition()

_home = tempfile.mkdtemp(prefix="readiness-forkserver-")
try:
    with DagsterInstance.local_temp(_home) as _instance:
        _instance.get_runs(limit=1)
finally:
    shutil.rmtree(_home, ignore_errors=True)
