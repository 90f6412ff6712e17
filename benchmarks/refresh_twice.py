"""Benchmark: the monthly refresh twice on the Germany-wide files, into the same temporary warehouse.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/refresh_twice.py
    .venv/bin/python benchmarks/refresh_twice.py --source-dir /path/to/publisher/files

Each run is an incremental refresh (pipelines/incremental.py: observe the sources, then run only the
stale assets of `refresh_warehouse`; directory mode) in its own subprocess, on one Dagster instance, so its wall
time and peak RSS (os.wait4) are its own. The second run reads the same sources into the same
warehouse: it must leave the same planner views (equal checksums; with nothing changed it starts no run). Printed per
run: wall time, peak RSS, size of the published file, rows and checksum of every planner view,
and at the end whether the checksums are identical. Nothing outside a temporary directory is
written (warehouse, raw landing, exports, reports; ``--keep DIR`` keeps them in DIR). Exit status 1 when
a run fails or the views differ.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.full_germany import DEFAULT_SOURCE_DIR, check_results, failures, step_durations  # noqa: E402


def run_job(published: str, raw_dir: str, source_dir: str) -> int:
    """In the child: one incremental refresh (observe, run only what is stale) on a Dagster instance kept
    next to the warehouse, so the second run sees what the first did; 0 on success."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.incremental import refresh
    from pipelines.resources import ReadinessSettings

    settings = ReadinessSettings(source_mode="directory", source_dir=source_dir, warehouse_path=published,
                                 raw_dir=raw_dir)
    home = Path(published).parent / "dagster_home"
    home.mkdir(exist_ok=True)
    with DagsterInstance.local_temp(str(home)) as instance:
        plan, result = refresh(instance, defs, settings, raise_on_error=False)
        print(f"PLAN {plan.describe() if plan is not None else 'observing the sources failed'}")
        if result is None:
            return 0 if plan is not None else 1
        steps = sorted((s for s in step_durations(instance, result.run_id) if s[2] is not None), key=lambda s: -s[2])
    print("SLOWEST " + ", ".join(f"{key} {seconds:.1f} s" for key, _, seconds in steps[:5]))
    # the last lines of the child's log say why a run failed (the parent prints them)
    for line in check_results(result) + failures(result):
        print(f"NOT PASSED {line}")
    return 0 if result.success else 1


def timed_run(published: Path, raw_dir: Path, source_dir: Path, log: Path) -> tuple[int, float, float]:
    """Run the job in a child process: (exit status, wall seconds, peak RSS MiB of that child)."""
    env = dict(os.environ, READINESS_EXPORTS_DIR=str(published.parent / "exports"),
               READINESS_REPORTS_DIR=str(published.parent / "reports"))
    command = [sys.executable, __file__, "--child", str(published), str(raw_dir), str(source_dir)]
    start = time.perf_counter()
    with open(log, "wb") as output:
        child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return child.returncode, seconds, peak


def describe(published: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Rows and checksum of every planner view of the published file."""
    import duckdb

    from warehouse.publish import PLANNER_VIEWS, view_checksums

    with duckdb.connect(str(published), read_only=True) as con:
        rows = {view: con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] for view in PLANNER_VIEWS}
        return rows, view_checksums(con)


def report(number: int, status: int, seconds: float, peak: float, published: Path, log: Path):
    """Print one run; return its (rows, checksums) or None when it did not publish."""
    print(f"run {number}: {'SUCCESS' if status == 0 else f'FAILURE (exit {status}), log {log}'}")
    print(f"  wall time        {seconds:8.1f} s")
    print(f"  peak RSS         {peak:8.0f} MiB")
    if status != 0 or not published.exists():
        lines = log.read_text(errors="replace").splitlines()
        print("  " + "\n  ".join([line for line in lines if line.startswith("NOT PASSED")] or lines[-15:]))
        return None
    print(f"  published file   {published.stat().st_size / 2**20:8.1f} MiB")
    print("  plan             " + next((line[len("PLAN "):] for line in log.read_text(errors="replace").splitlines()
                                          if line.startswith("PLAN ")), "?")[:200])
    print("  slowest steps    " + next((line[len("SLOWEST "):] for line in log.read_text(errors="replace").splitlines()
                                          if line.startswith("SLOWEST ")), "?"))
    rows, sums = describe(published)
    width = max(map(len, rows))
    for view in rows:
        print(f"  {view:<{width}} {rows[view]:>10,} rows  md5 {sums[view]}")
    return rows, sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR,
                        help=f"folder of publisher files (default: {DEFAULT_SOURCE_DIR})")
    parser.add_argument("--keep", type=Path, help="write into this (new) directory and keep it, to inspect the files")
    args = parser.parse_args(argv)
    source_dir = args.source_dir.expanduser().resolve()
    if not source_dir.is_dir():
        print(f"source directory {source_dir} does not exist", file=sys.stderr)
        return 2
    print(f"Refresh twice: incremental refresh (observe, then the stale part of refresh_warehouse), "
          f"directory mode, {source_dir}")
    results = []
    if args.keep:
        args.keep.mkdir(parents=True)
    with (nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="readiness-twice-")) as tmp:
        published = Path(tmp) / "warehouse" / "readiness.duckdb"
        published.parent.mkdir()
        for number in (1, 2):
            log = Path(tmp) / f"run{number}.log"
            status, seconds, peak = timed_run(published, Path(tmp) / "raw", source_dir, log)
            results.append(report(number, status, seconds, peak, published, log))
            if results[-1] is None:
                return 1
            if args.keep:  # both published files stay, to compare what differs
                shutil.copyfile(published, published.with_name(f"readiness.run{number}.duckdb"))
    (_, first), (_, second) = results
    differing = sorted(view for view in first if first[view] != second.get(view))
    print("planner views identical after both runs (idempotent)" if not differing
          else f"planner views differ after the second run: {', '.join(differing)}")
    print(f"peak RSS of this script {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0 if not differing else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(run_job(*sys.argv[2:5]))
    sys.exit(main())
