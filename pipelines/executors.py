"""Which executor runs the refresh's steps: one process, or each step in its own process from a forkserver.

    executor_choice("directory")        # 'multiprocess' (READINESS_EXECUTOR overrides)
    executor_config("multiprocess")     # the run config's ``execution.config``

The default follows the size of the data, told by the source mode. The Germany-wide files (directory or live
mode) run faster with two step processes: independent steps (the Breitbandatlas beside the commuting data, the
analyses after the index, the pages beside the exports) share the two cores. The cold refresh of the
Germany-wide files took 70.9 and 72.5 s with two step processes against 81.2 and 77.5 s in one process (two
alternating pairs, `benchmarks/full_germany.py`, 8 December 2026 02:38-02:45 UTC). The committed snapshot runs
faster in one process: its steps are short, and each step process costs ~0.27 s to start (up to the publish 9.5
s in one process, 18.0 s in step processes). Before the forkserver opened an instance once
(pipelines/step_worker.py), step processes cost 0.2 s more each and the two executors tied (84.4 s).
"""

from __future__ import annotations

import os

EXECUTOR_ENV = "READINESS_EXECUTOR"  # in_process | multiprocess; unset: by the source mode (executor_choice)
MAX_CONCURRENT_ENV = "READINESS_MAX_CONCURRENT"
EXECUTORS = ("in_process", "multiprocess")
# source modes whose data are the Germany-wide files (sources.yaml): their refresh runs steps side by side
LARGE_MODES = ("directory", "live")
# the step processes come from a forkserver that imported the pipeline once (spawn would import it per step)
FORKSERVER = {"forkserver": {"preload_modules": ["pipelines.step_worker"]}}


def executor_choice(source_mode: str | None = None) -> str:
    """READINESS_EXECUTOR when set, else ``multiprocess`` for a source mode of LARGE_MODES and ``in_process`` for the
    snapshot (``source_mode``: the run's; by default READINESS_SOURCE_MODE, as the settings read it)."""
    choice = os.environ.get(EXECUTOR_ENV)
    if choice:
        if choice not in EXECUTORS:
            raise ValueError(f"{EXECUTOR_ENV}={choice!r} must be one of {EXECUTORS}")
        return choice
    mode = source_mode or os.environ.get("READINESS_SOURCE_MODE") or "snapshot"
    return "multiprocess" if mode in LARGE_MODES else "in_process"


def executor_config(choice: str | None = None, max_concurrent: int | None = None) -> dict:
    """Run config of the refresh executor: ``in_process`` or ``multiprocess`` (at most ``max_concurrent`` steps,
    default READINESS_MAX_CONCURRENT or 2, the cores of the project's machine); ``choice`` None: ``executor_choice``.

    multiprocess: staging assets of independent sources write their own files and run side by side. It needs a
    persistent instance (dagster dev, the daemon, the incremental refresh's instance); ``execute_in_process``
    (`readiness demo`, the tests' job runs) always runs one process, whatever is configured here."""
    choice = choice or executor_choice()
    if choice == "in_process":
        return {"in_process": {}}
    if choice != "multiprocess":
        raise ValueError(f"{EXECUTOR_ENV}={choice!r} must be one of {EXECUTORS}")
    return {"multiprocess": {"max_concurrent": max_concurrent or int(os.environ.get(MAX_CONCURRENT_ENV) or 2),
                             "start_method": FORKSERVER}}


def multiprocess_run(run) -> bool:
    """Whether the run's steps run in processes of their own (the multiprocess executor): its run config's
    ``execution`` names it, or, when the run gives none, the default (``executor_choice``) does."""
    execution = ((getattr(run, "run_config", None) or {}).get("execution") or {}).get("config") or {}
    if execution:
        return "multiprocess" in execution
    return executor_choice() == "multiprocess"
