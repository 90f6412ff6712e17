"""Step times of the publish half of a refresh: the candidate, its checks, the swap, the exports and their checks.

Run on demand on a folder a full refresh left (``benchmarks/run_all.py --keep DIR``, or a copy of it)::

    .venv/bin/python benchmarks/publish_steps.py DIR [--out OUT]

``DIR/warehouse`` must hold the working files (``readiness.work.duckdb``, ``readiness.staging/``) and the
published file. They are copied into ``OUT`` (default: a new temporary folder), never written in place;
then ``warehouse_candidate``, ``published_warehouse`` and ``planner_exports`` run with their asset checks
as one in-process Dagster run, and every step's seconds are printed with the load average. The new
published file stays in ``OUT/warehouse/readiness.duckdb`` (compare it: benchmarks/compare_views.py).

``--cpu`` runs the three assets (each with its checks) as three in-process runs one after another and
prints each run's CPU seconds (``time.process_time``: this process with DuckDB's threads) beside its wall
seconds: with other work on the machine, CPU seconds are the figure to compare before against after.
``--first-publish`` leaves the published file out of the copy, so the candidate is a first publish (the
cold refresh's case: no history to carry over).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# their keys in the UI (pipelines/names.py shortens them: out/candidate, out/warehouse, out/planner_exports)
KEYS = ("out/candidate", "out/warehouse", "out/planner_exports")


def prepare(source: Path, out: Path, published: bool = True) -> Path:
    """Copy the working and (with ``published``) the published files of ``source`` into ``out``; returns the
    published path there."""
    target = out / "warehouse"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("readiness.duckdb", "readiness.work.duckdb")[0 if published else 1:]:
        shutil.copy2(source / "warehouse" / name, target / name)
    shutil.copytree(source / "warehouse" / "readiness.staging", target / "readiness.staging", dirs_exist_ok=True)
    return target / "readiness.duckdb"


def run(out: Path, separately: bool = False) -> list[tuple[str, float]]:
    """The three publish steps and their checks in one in-process run (``separately``: one run per asset,
    each followed by a line with its CPU and wall seconds); (step, seconds) in run order."""
    os.environ["READINESS_WAREHOUSE"] = str(out / "warehouse" / "readiness.duckdb")  # read when settings import
    os.environ["READINESS_EXPORTS_DIR"] = str(out / "exports")
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    keys = [key for key in defs.resolve_asset_graph().get_all_asset_keys() if key.to_user_string() in KEYS]
    if len(keys) != len(KEYS):
        raise SystemExit(f"asset keys {KEYS} not all found: {keys}")
    keys.sort(key=lambda key: KEYS.index(key.to_user_string()))
    job = defs.get_job_def("refresh_warehouse")
    (out / "dagster_home").mkdir(exist_ok=True)
    steps = []
    with DagsterInstance.local_temp(str(out / "dagster_home")) as instance:
        for selection in ([[key] for key in keys] if separately else [keys]):
            cpu, wall = time.process_time(), time.perf_counter()
            result = job.execute_in_process(instance=instance, asset_selection=selection, raise_on_error=False)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if not result.success:
                raise SystemExit(f"run {result.run_id} failed: see {out / 'dagster_home'}")
            if separately:
                print(f"  {selection[0].to_user_string()} with its checks: CPU {cpu:.2f} s, wall {wall:.2f} s")
            stats = instance.get_run_step_stats(result.run_id)
            done = sorted((s for s in stats if s.start_time and s.end_time), key=lambda s: s.start_time)
            steps += [(s.step_key, s.end_time - s.start_time) for s in done]
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder a full refresh left (DIR/warehouse/...)")
    parser.add_argument("--out", type=Path, help="where the copy goes (default: a new temporary folder)")
    parser.add_argument("--cpu", action="store_true", help="one run per asset, with its CPU seconds")
    parser.add_argument("--first-publish", action="store_true", help="without the published file (a cold publish)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="publish_steps."))
    prepare(args.folder, out, published=not args.first_publish)
    print(f"copied into {out}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = time.perf_counter()
    steps = run(out, separately=args.cpu)
    for key, seconds in steps:
        print(f"  {seconds:7.2f}  {key}")
    print(f"total {time.perf_counter() - start:.1f} s; steps {sum(s for _, s in steps):.1f} s; "
          f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
