"""Benchmark (issue 15 acceptance): two refreshes started at once from the CLI and the UI, N trials.

Run on demand from the repository root (a benchmark, not a test; it takes a few minutes per trial)::

    .venv/bin/python benchmarks/parallel_refreshes.py              # 10 trials on the embedded snapshot
    .venv/bin/python benchmarks/parallel_refreshes.py --trials 3 --keep /tmp/parallel

One `dg dev` (webserver + daemon, the project's dagster.yaml with its run queue) runs on a free
127.0.0.1 port with its own DAGSTER_HOME and warehouse in a temporary folder. Each trial starts
`readiness demo` and, at the same moment, launches `refresh_warehouse` through the UI's GraphQL API
(``launchRun``, as the UI's "Materialize all" sends it), then waits for both to end. Per trial it
records the two runs' end states, whether any failure was a lock error ("Conflicting lock", "Could not
set lock", WarehouseBusy) or showed a stack trace in the CLI's output, which run went first and whether
the second started before the first ended ("overlap": it was launched and then waited for the writer
lock, warehouse/lock.py; the writing itself never overlaps), and then checks the published warehouse: it opens read-only, every table and
view can be counted, the row counts equal those after the first trial, and publish_log gained exactly
one row per successful run. Printed: one line per trial and the totals. Exit status 1 when any run
failed or a warehouse check failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import duckdb  # noqa: E402
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus  # noqa: E402

from tests.integration.test_queue import launch_from_graphql, refresh_env  # noqa: E402
from tests.integration.test_ui import DG, free_port, graphql, location_loaded, stop_group, wait_until  # noqa: E402
from warehouse.publish import row_counts  # noqa: E402

LOCK_ERRORS = ("Conflicting lock", "Could not set lock", "WarehouseBusy", "being written by")
END = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
RUN_TIMEOUT = 1800  # seconds per run; the machine is shared


def instance_for(tmp: Path) -> DagsterInstance:
    """The benchmark's Dagster instance (the one `dg dev` and `readiness demo` use)."""
    os.environ["DAGSTER_HOME"] = str(tmp / "dagster_home")
    return DagsterInstance.get()


def run_records(instance: DagsterInstance) -> dict:
    """run_id -> (status, start time, end time) of every refresh run in the instance.

    Only ``refresh_warehouse`` runs count: the CLI's incremental refresh first starts an
    ``observe_sources`` run, which writes nothing and is not a publish."""
    return {r.dagster_run.run_id: (r.dagster_run.status, r.start_time, r.end_time)
            for r in instance.get_run_records() if r.dagster_run.job_name == "refresh_warehouse"}


def failure_text(instance: DagsterInstance, run_id: str) -> str:
    """The messages of the run's failure events (step and run failures), for the lock-error check."""
    texts = []
    for event in instance.all_logs(run_id):
        if event.dagster_event and event.dagster_event.event_type in (DagsterEventType.STEP_FAILURE,
                                                                      DagsterEventType.RUN_FAILURE):
            texts.append(event.message or "")
            texts.append(str(event.dagster_event.event_specific_data))
    return "\n".join(texts)


def check_warehouse(published: Path, expected: dict | None, publishes: int) -> tuple[bool, str, dict]:
    """(intact, what was found, row counts): the published file opens read-only, every table and view
    counts, the counts equal ``expected`` (the first trial's), publish_log has ``publishes`` rows."""
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            counts = row_counts(con)
    except duckdb.Error as error:
        return False, f"does not open or count: {error}", {}
    problems = []
    if counts.get("publish_log") != publishes:
        problems.append(f"publish_log has {counts.get('publish_log')} rows, expected {publishes}")
    if expected is not None:
        differ = {name: (expected.get(name), n) for name, n in counts.items()
                  if name != "publish_log" and expected.get(name) != n}
        if differ:
            problems.append(f"row counts differ from trial 1: {differ}")
    return not problems, "; ".join(problems) or f"{len(counts)} tables/views, {sum(counts.values()):,} rows", counts


def trial(number: int, tmp: Path, base: str, instance: DagsterInstance) -> dict:
    """Start a CLI refresh and a UI (GraphQL) refresh at once; wait for both; report what happened."""
    known = set(run_records(instance))
    log = tmp / f"cli-{number}.log"
    started = time.monotonic()
    # --alles-neu: a full refresh, as the UI's launch is; without it the CLI would find nothing stale after the
    # first trial and start no refresh at all (the incremental refresh), which tests no concurrency
    cli = subprocess.Popen([str(Path(sys.executable).parent / "readiness"), "demo", "--no-progress", "--alles-neu"],
                           cwd=REPO_ROOT, env=refresh_env(tmp), stdout=log.open("w"), stderr=subprocess.STDOUT,
                           start_new_session=True)
    ui_run = launch_from_graphql(base, graphql)
    cli_code = cli.wait(timeout=RUN_TIMEOUT)
    wait_until(lambda: run_records(instance).get(ui_run, (None,))[0] in END, RUN_TIMEOUT, "the UI run to end", 2)
    seconds = time.monotonic() - started
    records = {run_id: rec for run_id, rec in run_records(instance).items() if run_id not in known}
    cli_text = log.read_text(errors="replace")
    runs = []
    for run_id, (status, start, end) in sorted(records.items(), key=lambda item: item[1][1] or 0):
        text = failure_text(instance, run_id) if status != DagsterRunStatus.SUCCESS else ""
        if run_id != ui_run:
            text += cli_text if status != DagsterRunStatus.SUCCESS or cli_code else ""
        runs.append({"run_id": run_id, "from": "ui" if run_id == ui_run else "cli", "status": status.value,
                     "start": start, "end": end, "lock_error": any(e in text for e in LOCK_ERRORS)})
    return {"trial": number, "seconds": seconds, "runs": runs, "cli_exit": cli_code,
            "cli_traceback": "Traceback" in cli_text,
            "cli_lock_message": any(e in cli_text for e in LOCK_ERRORS[:2]),
            "overlap": len(runs) == 2 and None not in (runs[0]["end"], runs[1]["start"])
                       and runs[1]["start"] < runs[0]["end"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="keep the instance, warehouse and logs in this folder")
    args = parser.parse_args()
    holder = nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="parallel-")
    with holder as folder:
        tmp = Path(folder)
        tmp.mkdir(parents=True, exist_ok=True)
        return benchmark(tmp, args.trials)


def benchmark(tmp: Path, trials: int) -> int:
    """Start the UI, run the trials, print a line per trial and the totals; 0 when all passed."""
    env = refresh_env(tmp)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ui_log = tmp / "dagster-dev.log"
    ui = subprocess.Popen([str(DG), "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=REPO_ROOT, env=env,
                          stdout=ui_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    results, expected, intact_all = [], None, True
    try:
        wait_until(lambda: ui.poll() is not None or location_loaded(base), 600, "dg dev to load")
        if ui.poll() is not None:
            raise SystemExit(f"dg dev exited: {ui_log.read_text()[-2000:]}")
        print(f"dg dev on {base}; instance, warehouse and logs in {tmp}", flush=True)
        with instance_for(tmp) as instance:
            successes = 0
            for number in range(1, trials + 1):
                result = trial(number, tmp, base, instance)
                successes += sum(r["status"] == "SUCCESS" for r in result["runs"])
                intact, found, counts = check_warehouse(Path(env["READINESS_WAREHOUSE"]), expected, successes)
                expected = expected or (counts if intact else None)
                intact_all &= intact
                result.update(intact=intact, found=found)
                results.append(result)
                print(line(result), flush=True)
    finally:
        stop_group(ui)
    dagster_dev_lock = any(e in ui_log.read_text(errors="replace") for e in LOCK_ERRORS[:2])
    return summary(results, intact_all, dagster_dev_lock)


def line(result: dict) -> str:
    """One trial in one line: order, end states, lock errors, warehouse check."""
    order = " then ".join(f"{r['from']} {r['status']}" for r in result["runs"])
    return (f"trial {result['trial']:2d}: {result['seconds']:6.1f} s  {order}; overlap {result['overlap']}; "
            f"lock errors {sum(r['lock_error'] for r in result['runs'])}; cli exit {result['cli_exit']}"
            f"{' (traceback)' if result['cli_traceback'] else ''}; warehouse "
            f"{'ok' if result['intact'] else 'CORRUPT/INCONSISTENT'}: {result['found']}")


def summary(results: list[dict], intact_all: bool, dagster_dev_lock: bool) -> int:
    """Totals over the trials; 0 when every run succeeded and every warehouse check passed."""
    runs = [r for result in results for r in result["runs"]]
    succeeded = sum(r["status"] == "SUCCESS" for r in runs)
    failed = len(runs) - succeeded
    lock = sum(r["lock_error"] for r in runs)
    bad = sum(not result["intact"] for result in results)
    traces = sum(result["cli_traceback"] for result in results)
    print(f"\n{len(results)} trials, {len(runs)} runs: {succeeded} succeeded, {failed} failed, "
          f"{lock} failed with a lock error; CLI stack traces: {traces}; lock error in the dg dev log: "
          f"{dagster_dev_lock}; warehouse checks failed: {bad} of {len(results)}; "
          f"runs overlapping in time: {sum(result['overlap'] for result in results)}")
    return 0 if failed == 0 and intact_all and not dagster_dev_lock and len(runs) == 2 * len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
