"""Steps and their cost in one cold in-process run of the refresh job on the committed snapshot (issue 13).

What the tests pay per run of the whole job (tests/conftest.py run_refresh builds the same run): how many
steps, the sum of their times, and the process's CPU seconds, with the asset-check steps apart::

    .venv/bin/python benchmarks/step_overhead.py                 # one run, figures only
    .venv/bin/python benchmarks/step_overhead.py --runs 2        # two runs, each figure per run
    .venv/bin/python benchmarks/step_overhead.py --profile OUT   # and a cProfile of the run into OUT
    .venv/bin/python benchmarks/step_overhead.py --keep DIR      # build into the new folder DIR and keep it
    .venv/bin/python benchmarks/step_overhead.py --steps 15      # and the 15 longest steps of each run

Writes only into a temporary folder (removed at the end, unless --keep); the Dagster instance is ephemeral,
as in the tests.
Compare two versions of the code by running it from each checkout back to back (CPU seconds, not wall
seconds, when the machine is shared).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))  # the checkout it is run from, not the installed one


def one_run(profile: Path | None = None, keep: Path | None = None) -> dict:
    """A cold run into a fresh temporary folder (``keep``: into this new folder, kept for comparisons):
    step count, step-time sums and CPU seconds."""
    import pandas as pd
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.resources import ReadinessSettings

    pd.set_option("mode.copy_on_write", True)
    tmp = Path(tempfile.mkdtemp(prefix="step-overhead-")) if keep is None else keep
    if keep is not None:
        keep.mkdir(parents=True)  # a new folder: never write over an earlier build
    try:
        settings = ReadinessSettings(source_mode="snapshot", warehouse_path=str(tmp / "readiness.duckdb"),
                                     raw_dir=str(tmp / "raw"), exports_dir=str(tmp / "exports"),
                                     reports_dir=str(tmp / "reports"), report_scope="pilots")
        job = defs.resolve_job_def("refresh_warehouse")
        instance = DagsterInstance.ephemeral()
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        result = job.execute_in_process(resources={"settings": settings}, instance=instance)
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        checks = {definition.node_def.name for definition in defs.asset_checks}  # the check steps' names
        stats = [s for s in instance.get_run_step_stats(result.run_id) if s.start_time and s.end_time]
        seconds = {s.step_key: s.end_time - s.start_time for s in stats}
        return {"success": result.success, "steps": len(seconds), "check_steps": len(checks & set(seconds)),
                "step_seconds": sum(seconds.values()),
                "check_seconds": sum(v for k, v in seconds.items() if k in checks),
                "short_steps": sum(1 for v in seconds.values() if v < 0.15),
                "short_seconds": sum(v for v in seconds.values() if v < 0.15),
                "cpu": cpu, "wall": wall, "seconds": seconds}
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="cProfile output of the (last) run")
    parser.add_argument("--keep", type=Path, help="a new folder to build into and keep (one run only)")
    parser.add_argument("--steps", type=int, default=0, help="also list this many of the longest steps")
    args = parser.parse_args(argv)
    import pipelines

    print(f"code: {Path(pipelines.__file__).parent}")
    for n in range(args.runs):
        figures = one_run(args.profile if n == args.runs - 1 else None, args.keep if args.runs == 1 else None)
        print(f"run {n + 1}: success {figures['success']}; {figures['steps']} steps ({figures['check_steps']} "
              f"check steps), step times sum {figures['step_seconds']:.2f} s (checks {figures['check_seconds']:.2f} s; "
              f"{figures['short_steps']} steps < 0.15 s: {figures['short_seconds']:.2f} s); "
              f"run CPU {figures['cpu']:.2f} s, wall {figures['wall']:.2f} s; load {os.getloadavg()[0]:.1f}")
        for step, seconds in sorted(figures["seconds"].items(), key=lambda kv: -kv[1])[:args.steps]:
            print(f"  {seconds:6.2f}  {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
