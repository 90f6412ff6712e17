"""Every step's wall time of the latest run kept in a benchmark folder, slowest first.

Run on demand after ``benchmarks/run_all.py --keep DIR`` (or its refresh child) has kept ``DIR``::

    .venv/bin/python benchmarks/step_times.py DIR            # all asset steps, slowest first
    .venv/bin/python benchmarks/step_times.py DIR --all      # asset checks too

``run_all.py`` prints only the six slowest steps; comparing a change step by step needs all of
them, and the time from the run's start until ``published_warehouse`` ends. Reads the Dagster
instance in ``DIR/dagster_home`` only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def step_times(folder: Path) -> tuple[str, float, float | None, list[tuple[str, float]]]:
    """(run id, run seconds, seconds until published_warehouse ended, [(step, seconds)] slowest first)."""
    from dagster import DagsterInstance

    with DagsterInstance.local_temp(str(folder / "dagster_home")) as instance:
        stats, run_id = [], None
        # the latest run that executed most steps: a no-change refresh starts no refresh run, but its
        # observation run has a step too (observing the sources)
        for run in instance.get_runs(limit=20):
            run_stats = instance.get_run_step_stats(run.run_id)
            if len(run_stats) > len(stats):
                stats, run_id = run_stats, run.run_id
        if not stats:
            raise SystemExit(f"no run with steps in {folder / 'dagster_home'}")
    start = min(s.start_time for s in stats if s.start_time)
    end = max(s.end_time for s in stats if s.end_time)
    published = next((s.end_time - start for s in stats if s.step_key == "published_warehouse" and s.end_time), None)
    steps = sorted(((s.step_key, s.end_time - s.start_time) for s in stats if s.start_time and s.end_time),
                   key=lambda step: -step[1])
    return run_id, end - start, published, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--all", action="store_true", help="asset checks too")
    args = parser.parse_args(argv)
    run_id, total, published, steps = step_times(args.folder)
    upto = f", up to published_warehouse {published:.1f} s" if published is not None else ""
    print(f"run {run_id}: steps {total:.1f} s{upto} (load average now {os.getloadavg()[0]:.1f})")
    for key, seconds in steps:
        if args.all or not key.endswith("_checks"):  # asset-check steps are named <asset>_checks (pipelines/checks.py)
            print(f"  {seconds:7.2f}  {key}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
