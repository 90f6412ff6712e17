"""Benchmark: the whole `refresh_warehouse` job on the Germany-wide publisher files.

Run on demand from the repository root (it is a benchmark, not a test)::

    .venv/bin/python benchmarks/full_germany.py                      # both executors, side by side
    .venv/bin/python benchmarks/full_germany.py --executor in_process  # one of them
    .venv/bin/python benchmarks/full_germany.py --source-dir /path/to/publisher/files

It runs every asset and asset check of the Dagster job `refresh_warehouse` in
directory mode against the source directory (default ``../shared/data`` relative to
the repository root). The working and published DuckDB files and the raw landing are
written into a temporary directory that is deleted afterwards, so the repository's own
warehouse (warehouse/*.duckdb, data/raw) is never touched. The run is launched as Dagster
launches it (pipelines/launch.py) on a temporary instance inside that directory, so nothing is
recorded in .dagster_home either.

Executors (pipelines/executors.py): ``in_process`` runs every step in one process;
``multiprocess`` runs each step in its own process, at most 2 at a time (``--max-concurrent``),
staging assets of independent sources side by side (each writes its own DuckDB file). With
``--executor both`` (the default) the script runs itself once per executor, one after the
other (a cold refresh each, into its own temporary directory), and prints both figures side by
side with the load average before and after each run: on a shared machine the load decides
much of the wall time, so compare runs taken at similar load.

It prints:
  - total wall time of the job and of the whole script,
  - peak RSS memory of the process (resource.getrusage), of the largest step process and of all processes
    together (pipelines/memory.py samples /proc every 0.1 s: the multiprocess executor's step processes are
    grandchildren under Dagster's forkserver, which RUSAGE_CHILDREN never sees),
  - the 15 steps with the highest peak RSS (the step process's own peak, or in one process the highest RSS
    sampled during the step and its rise above the RSS at the step's start),
  - the duration and status of every step (assets and asset checks) from the run's step stats,
  - row counts of the main published tables (municipalities, observations,
    indicator_values, readiness_index), read from the published DuckDB file,
  - the number of Gemeinden with an index score in the latest period,
  - asset checks that did not pass and failed steps, if any.

Target: the whole Germany run completes in about a minute on a 2-core machine.
The script exits with status 1 when the run fails (failed steps are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pipelines.executors import EXECUTORS  # noqa: E402  (in_process, multiprocess; no Dagster import)

DEFAULT_SOURCE_DIR = REPO_ROOT.parent / "shared" / "data"
MAIN_TABLES = ["municipalities", "observations", "indicator_values", "readiness_index"]
TARGET_SECONDS = 60


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB of this process (or the largest waited-for child process, RUSAGE_CHILDREN;
    ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load_average() -> str:
    """The 1-, 5- and 15-minute load average of the machine."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def step_durations(instance, run_id: str) -> list[tuple[str, str, float | None]]:
    """(step key, status, seconds) of every step of the run, in start order."""
    rows = []
    for stats in instance.get_run_step_stats(run_id):
        seconds = (stats.end_time - stats.start_time) if stats.start_time and stats.end_time else None
        status = stats.status.value if stats.status is not None else "?"
        rows.append((stats.start_time or 0.0, stats.step_key, status, seconds))
    return [(key, status, seconds) for _, key, status, seconds in sorted(rows)]


def failures(result) -> list[str]:
    """One line per failed step: step key and the error message (with the innermost cause)."""
    lines = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.event_specific_data.error
        message = error.message.strip() if error else "unknown error"
        cause = error
        while cause is not None and cause.cause is not None:
            cause = cause.cause
        if cause is not None and cause is not error:
            message += f" | caused by: {cause.message.strip()}"
        lines.append(f"{event.step_key}: {message}")
    return lines


def check_results(result) -> list[str]:
    """One line per asset check that did not pass: asset, check, severity and its metadata."""
    lines = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if evaluation.passed:
            continue
        metadata = ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in evaluation.metadata.items())
        lines.append(f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name} "
                     f"[{evaluation.severity.value}{', blocking' if evaluation.blocking else ''}]: {metadata}")
    return lines


def published_counts(published: Path) -> tuple[dict[str, int], int | None, int]:
    """Row counts of the main tables, latest index period, and Gemeinden scored in it."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in MAIN_TABLES}
        latest = con.execute("SELECT max(period) FROM readiness_index").fetchone()[0]
        scored = con.execute("""
            SELECT count(DISTINCT ags) FROM readiness_index
            WHERE period = (SELECT max(period) FROM readiness_index) AND score IS NOT NULL
        """).fetchone()[0]
    return counts, latest, scored


def print_memory(memory: list[dict], top: int = 15) -> None:
    """The steps with the highest peak RSS: peak, rise during the step (one process) and duration."""
    print(f"peak RSS per step (the {top} highest; rise = above the process's RSS at the step's start)")
    width = max((len(row["step"]) for row in memory), default=10)
    for row in sorted(memory, key=lambda r: -r["peak_mib"])[:top]:
        rise = "" if row["rise_mib"] is None else f"  rise {row['rise_mib']:7.0f} MiB"
        print(f"  {row['step']:<{width}}  {row['peak_mib']:7.0f} MiB{rise}  {row['seconds']:7.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR,
                        help=f"folder of publisher files (default: {DEFAULT_SOURCE_DIR})")
    parser.add_argument("--keep", type=Path,
                        help="write into this new directory and keep it (to query the built warehouse)")
    parser.add_argument("--executor", choices=[*EXECUTORS, "both"], default="both",
                        help="in_process, multiprocess, or both one after the other, side by side (default)")
    parser.add_argument("--max-concurrent", type=int, default=2,
                        help="multiprocess: step processes at a time (default 2, the cores of the project's machine)")
    parser.add_argument("--report-scope", choices=["reference_group", "pilots", "all"], default="reference_group",
                        help="town reports to write (default reference_group; pilots: 5 pages, to time the steps "
                             "up to the warehouse without the single report step)")
    parser.add_argument("--summary-json", type=Path, help=argparse.SUPPRESS)  # written for --executor both
    args = parser.parse_args(argv)
    source_dir = args.source_dir.expanduser().resolve()
    if not source_dir.is_dir():
        print(f"source directory {source_dir} does not exist", file=sys.stderr)
        return 2
    if args.executor == "both":
        if args.keep:
            print("--keep needs one --executor (in_process or multiprocess)", file=sys.stderr)
            return 2
        return side_by_side(source_dir, args.max_concurrent, args.report_scope)

    script_start = time.perf_counter()
    from dagster import DagsterInstance

    from pipelines.launch import launch_refresh
    from pipelines.memory import RssSampler, step_peaks

    import_seconds = time.perf_counter() - script_start
    load_before = load_average()

    if args.keep:
        # A new directory only: never write over a warehouse someone else is querying.
        args.keep.mkdir(parents=True)
    with (nullcontext(str(args.keep)) if args.keep
          else tempfile.TemporaryDirectory(prefix="readiness-bench-")) as tmp:
        tmp_path = Path(tmp)
        published = tmp_path / "warehouse" / "readiness.duckdb"
        settings_config = {
            "source_mode": "directory",
            "source_dir": str(source_dir),
            "warehouse_path": str(published),
            "raw_dir": str(tmp_path / "raw"),
            "exports_dir": str(tmp_path / "exports"),  # never the repository's data/
            "reports_dir": str(tmp_path / "reports"),
            "report_scope": args.report_scope,
        }
        (tmp_path / "dagster_home").mkdir()
        with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
            run_start = time.perf_counter()
            with RssSampler() as sampler, \
                    launch_refresh(instance, settings_config, args.executor, args.max_concurrent) as result:
                run_seconds = time.perf_counter() - run_start
                steps = step_durations(instance, result.run_id)
                memory = step_peaks(sampler, instance, result.run_id)
                failed = failures(result)
                not_passed = check_results(result)
        load_after = load_average()

        print(f"Full-Germany benchmark: job refresh_warehouse (directory mode), executor {args.executor}")
        print(f"source dir            {source_dir}")
        print(f"run status            {'SUCCESS' if result.success else 'FAILURE'}")
        print(f"wall time (job)       {run_seconds:8.1f} s   (target ~{TARGET_SECONDS} s on 2 cores)")
        print(f"wall time (imports)   {import_seconds:8.1f} s")
        print(f"peak RSS              {peak_rss_mib():8.0f} MiB (this process), "
              f"{sampler.peak_children():.0f} MiB (largest step process, sampled from /proc), "
              f"{sampler.peak_total():.0f} MiB (all processes together, sampled every 0.1 s)")
        print(f"load average          {load_before} before, {load_after} after (1, 5, 15 min)")
        summary = {"executor": args.executor, "success": result.success, "job_seconds": run_seconds,
                   "steps": len(steps), "step_seconds": sum(s for _, _, s in steps if s is not None),
                   "peak_rss_mib": peak_rss_mib(), "peak_child_rss_mib": sampler.peak_children(),
                   "peak_total_rss_mib": sampler.peak_total(), "step_memory": memory,
                   "load_before": load_before, "load_after": load_after}
        print()
        print("step durations")
        width = max((len(key) for key, _, _ in steps), default=10)
        for key, status, seconds in steps:
            shown = f"{seconds:8.2f} s" if seconds is not None else "       - s"
            print(f"  {key:<{width}}  {shown}  {status}")
        slowest = sorted((s for s in steps if s[2] is not None), key=lambda s: -s[2])[:3]
        if slowest:
            print("  slowest: " + ", ".join(f"{k} ({s:.1f} s)" for k, _, s in slowest))

        print()
        print_memory(memory)

        if not_passed:
            print()
            print("asset checks that did not pass")
            for line in not_passed:
                print(f"  {line}")

        if failed:
            print()
            print("failed steps")
            for line in failed:
                print(f"  {line}")

        print()
        if published.exists():
            counts, latest, scored = published_counts(published)
            print("published tables (rows)")
            for table in MAIN_TABLES:
                print(f"  {table:<18} {counts[table]:>10,}")
            print(f"Gemeinden with an index score in the latest period ({latest}): {scored:,}")
        else:
            print("no published warehouse (the run did not reach or pass publishing)")

    print(f"wall time (total)     {time.perf_counter() - script_start:8.1f} s")
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary), encoding="utf-8")
    return 0 if result.success else 1


def side_by_side(source_dir: Path, max_concurrent: int, report_scope: str) -> int:
    """A cold refresh with each executor, one after the other in a fresh process each; both figures side by side."""
    summaries = []
    with tempfile.TemporaryDirectory(prefix="readiness-bench-summary-") as tmp:
        for executor in EXECUTORS:
            out = Path(tmp) / f"{executor}.json"
            code = subprocess.call([sys.executable, __file__, "--source-dir", str(source_dir), "--executor", executor,
                                    "--max-concurrent", str(max_concurrent), "--report-scope", report_scope,
                                    "--summary-json", str(out)])
            summaries.append(json.loads(out.read_text(encoding="utf-8")) if out.exists()
                             else {"executor": executor, "success": False})
            print(f"[{executor}: exit status {code}]", flush=True)
    print()
    print(f"Cold full-Germany refresh, side by side ({os.cpu_count()} cores; multiprocess: at most "
          f"{max_concurrent} step processes; reports: {report_scope})")
    rows = [("run status", lambda s: "SUCCESS" if s.get("success") else "FAILURE"),
            ("wall time (job)", lambda s: f"{s['job_seconds']:.1f} s"),
            ("steps", lambda s: str(s["steps"])),
            ("sum of step times", lambda s: f"{s['step_seconds']:.1f} s"),
            ("peak RSS (largest process)", lambda s: f"{max(s['peak_rss_mib'], s['peak_child_rss_mib']):.0f} MiB"),
            ("peak RSS (all processes)", lambda s: f"{s['peak_total_rss_mib']:.0f} MiB"),
            ("load average before", lambda s: s["load_before"]),
            ("load average after", lambda s: s["load_after"])]
    print(f"  {'':<28}" + "".join(f"{s['executor']:>22}" for s in summaries))
    for label, value in rows:
        cells = []
        for summary in summaries:
            try:
                cells.append(value(summary))
            except KeyError:
                cells.append("-")
        print(f"  {label:<28}" + "".join(f"{c:>22}" for c in cells))
    return 0 if all(s.get("success") for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
