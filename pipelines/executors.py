"""Which executor runs the refresh's steps: one process, or each step in its own process from a forkserver.

    executor_choice("directory")        # 'multiprocess' (READINESS_EXECUTOR overrides)
    executor_config("multiprocess")     # the run config's ``execution.config``

The default follows the size of the data, told by the source mode: the Germany-wide files (directory or live
mode) run faster with two step processes, since independent steps (the Breitbandatlas beside the commuting data,
the analyses, the pages beside the exports) share the two cores (a cold refresh 77.6 against 87.0 s in one
process; three step processes were slower than two). The committed snapshot runs faster in one process: its steps
are short, and each step process costs ~0.27 s to start. Measurements and the timeline of such a run:
docs/performance.md, "Where a cold refresh spends its time".
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


# The register chain: one step after another, on which every other step of the refresh waits. With step processes
# its steps, their checks and the landings of their sources go first (Dagster starts the ready step of highest
# ``dagster/priority``; among equals, in plan order): in Dagster's own order the twelve landings and
# mobile_coverage went before them, and population_area started 2.6 s into the run (ra153, 8 December 2026); with
# the priority 1.0 s in, and the publish ended 2.0 s sooner (ra156). tests/integration/test_asset_graph.py keeps
# CHAIN_SOURCES equal to the chain's raw inputs.
REGISTER_CHAIN = ("population_area", "municipality_geometries", "territorial_crosswalk")
CHAIN_SOURCES = ("destatis_gemeindeverzeichnis", "destatis_gebietsaenderungen", "regionalstatistik", "bkg_vg")
FIRST_STEPS = frozenset([*REGISTER_CHAIN, *(f"{name}_checks" for name in REGISTER_CHAIN),
                         *(f"raw_{source}" for source in CHAIN_SOURCES)])


def step_priority(step: str) -> dict[str, str] | None:
    """The op tags of a step (an asset's name, ``raw_<source>``, ``<asset>_checks``): a priority for the steps of
    FIRST_STEPS, none for the others."""
    return {"dagster/priority": "1"} if step in FIRST_STEPS else None


_step_process = False  # set in the forkserver (mark_step_processes), inherited by every step process it forks


def mark_step_processes() -> None:
    """Called by pipelines/step_worker.py, which only the multiprocess executor's forkserver imports: the processes
    forked from it are step processes."""
    global _step_process
    _step_process = True


def in_step_process() -> bool:
    """Whether this process is a step process of the multiprocess executor, which ends with its step while the run
    goes on (the run's process is the one that executes the run: an ``execute_in_process``, or a run worker that
    Dagster's code server started, also with multiprocessing). Told by the process's origin, not by the run's
    config: a run without an ``execution`` config may run either way. (A process that imports
    pipelines/step_worker.py itself is marked too: only the forkserver should.)"""
    return _step_process
