"""Benchmarks of issue 13 in one command, each figure with its ratio to the parse floor.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/run_all.py                       # ../shared/data, Germany-wide
    .venv/bin/python benchmarks/run_all.py --source-dir DIR --keep /tmp/somewhere

Phases, each in its own child process (so wall time and peak RSS are its own, via os.wait4):

  parse floor      every parser of sources.yaml on every release found in the source directory, once
                   (the work no refresh can avoid: reading and parsing the publisher files); measured
                   before and again right after the cold refresh, and the ratios use the mean of the two
                   (on 4 December one floor alone took 7.1 and 12.3 s within 22 minutes: the machine's
                   speed changes between minutes, so a floor from other minutes than the refresh's skews
                   every ratio)
  cold refresh     the incremental refresh (pipelines/incremental.py; directory mode, default report
                   scope: reference group and pilot towns) into an empty temporary folder, so everything; also the time until the published
                   warehouse is written (run start to the end of the published_warehouse step). Its executor is the
                   directory mode's default, step processes (pipelines/executors.py; READINESS_EXECUTOR=in_process
                   for one process); their CPU and peak RSS count, as the forkserver is waited for after the run
  no-change        the same incremental refresh again on the same files into the same folder and the same
                   Dagster instance: the sources are observed, nothing is stale, so no run is started
  reports          every page of the report scope rendered in memory (per-page time, data loaded once),
                   then build_reports cold in one process and with the default page workers (same
                   minutes; the two folders must be byte-identical), and again with nothing changed
  republish        a publish onto the kept warehouse from its working files revised as history_merge.py revises
                   them (benchmarks/republish.py, in a copy): what every refresh after the first builds, with the
                   history merge the cold one does not do
  planner queries  every ```sql statement of docs/planner-guide.md, 20 runs each on the published
                   file (read-only), p95 per query

Everything is written into one temporary folder (deleted at the end unless --keep), never into the
repository's data/ or warehouse/. Timings on a shared machine vary with its load: say so when quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_SOURCE_DIR = REPO_ROOT.parent / "shared" / "data"
PLANNER_GUIDE = REPO_ROOT / "docs" / "planner-guide.md"
QUERY_RUNS = 20
RESULT = "RESULT "   # the child's last line: RESULT {json}
TARGETS = {  # issue 13, full-Germany files, this 2-core machine
    "cold refresh (s)": 60, "no-change refresh (s)": 10, "report page (ms)": 10, "all pages (s)": 20,
    "peak RSS (MiB)": 1024, "planner query p95, worst (ms)": 50,
}


# --- children ---------------------------------------------------------------------------------------

def child_parse(source_dir: str) -> dict:
    """Every parser on every release present, once: the parse floor."""
    import importlib

    from sources.registry import discover_releases, load_sources

    files = releases = 0
    seconds = {}
    for source_id, spec in load_sources().items():
        found = discover_releases(spec, Path(source_dir))
        if not found or not spec.parser:
            continue
        module, name = spec.parser.split(":")
        parse = getattr(importlib.import_module(module), name)
        start = time.perf_counter()
        for release in found:
            parse(release)
        seconds[source_id] = time.perf_counter() - start
        releases += len(found)
        files += sum(len(r.files) for r in found)
    return {"seconds": sum(seconds.values()), "files": files, "releases": releases, "by_source": seconds}


def child_refresh(tmp: str, source_dir: str) -> dict:
    """One incremental refresh into ``tmp`` (pipelines/incremental.py: observe the sources, run only what is
    stale) on a Dagster instance kept in ``tmp/dagster_home``; times from Dagster's step stats."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.executors import executor_choice
    from pipelines.incremental import refresh
    from pipelines.resources import ReadinessSettings

    tmp_path = Path(tmp)
    settings = ReadinessSettings(source_mode="directory", source_dir=source_dir,
                                 warehouse_path=str(tmp_path / "warehouse" / "readiness.duckdb"),
                                 raw_dir=str(tmp_path / "raw"), exports_dir=str(tmp_path / "exports"),
                                 reports_dir=str(tmp_path / "reports"), report_scope="reference_group")
    (tmp_path / "warehouse").mkdir(exist_ok=True)
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    start = time.time()
    with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        plan, result = refresh(instance, defs, settings, raise_on_error=False)
        stats = instance.get_run_step_stats(result.run_id) if result is not None else []
        upstream = step_upstream(instance, result.run_id) if result is not None else {}
    steps = {s.step_key: (s.start_time - start, s.end_time - start) for s in stats if s.start_time and s.end_time}
    published = steps.get("published_warehouse", (None, None))[1]
    slowest = sorted(((key, end - begin) for key, (begin, end) in steps.items()), key=lambda s: -s[1])[:6]
    path_seconds, path = critical_path({key: end - begin for key, (begin, end) in steps.items()}, upstream)
    return {"success": result is None or result.success, "seconds": time.time() - start, "published_s": published,
            "executor": executor_choice(settings.source_mode),
            "steps_s": sum(end - begin for begin, end in steps.values()), "steps": len(steps),
            "critical_path_s": path_seconds,
            "critical_path": [f"{key} {steps[key][1] - steps[key][0]:.1f}" if key in steps else key for key in path],
            # assets run, not the per-period materializations readiness_index reports for int/pilot_scores
            "materialised": len({e.asset_key for e in result.get_asset_materialization_events() if e.partition is None})
                            if result is not None else 0,
            "plan": plan.describe() if plan is not None else "observation failed",
            "slowest": [f"{key} {sec:.1f} s" for key, sec in slowest]}


def step_upstream(instance, run_id: str) -> dict[str, set[str]]:
    """Step key -> the step keys it waits for, from the run's execution plan (assets and their checks)."""
    run = instance.get_run_by_id(run_id)
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return {step.key: {key for item in step.inputs for key in item.upstream_step_keys} for step in plan.steps}


def critical_path(seconds: dict[str, float], upstream: dict[str, set[str]]) -> tuple[float, list[str]]:
    """The longest chain of steps by their dependencies: (its seconds, its step keys in run order).

    No executor can finish the job sooner than this chain with these step times, however many steps it runs
    side by side (it is the bound for running the independent steps in parallel; steps run beside each other
    on 2 cores take longer, so the real bound is higher). A step without a time (not run) counts 0 s."""
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for step in _in_dependency_order(seconds.keys() | upstream.keys(), upstream):
        waits = [key for key in upstream.get(step, ()) if key in finish]
        before[step] = max(waits, key=finish.get, default=None)
        finish[step] = seconds.get(step, 0.0) + (finish[before[step]] if before[step] else 0.0)
    if not finish:
        return 0.0, []
    step = max(finish, key=finish.get)
    path = []
    while step is not None:
        path.append(step)
        step = before[step]
    return finish[path[0]], path[::-1]


def _in_dependency_order(steps, upstream: dict[str, set[str]]) -> list[str]:
    """``steps`` with every step after the steps it waits for (graphlib: a cycle raises CycleError)."""
    from graphlib import TopologicalSorter

    return list(TopologicalSorter({step: upstream.get(step, set()) for step in steps}).static_order())


def child_reports(tmp: str) -> dict:
    """Per-page render time in memory; then build_reports cold in one process (workers=1) and with the
    default (page workers in a child interpreter), back to back, each with its wall and CPU seconds and
    the peak RSS/PSS of the process tree; the two folders compared file by file (the clock stopped by
    SOURCE_DATE_EPOCH, so they must be identical); then the default build again with nothing changed."""
    import gc

    import duckdb

    from benchmarks.report_pages import cpu_seconds
    from pipelines.memory import RssSampler
    from reports.build import Renderer, build_reports
    from reports.data import load

    os.environ.setdefault("SOURCE_DATE_EPOCH", str(int(time.time())))  # both builds: the same "erstellt" line
    published = Path(tmp) / "warehouse" / "readiness.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        towns = [a for (a,) in con.execute(
            "SELECT ags FROM municipalities WHERE in_reference_group OR is_pilot ORDER BY ags").fetchall()]
    start = time.perf_counter()
    data = load(published)
    loaded = time.perf_counter() - start
    gc.freeze()
    renderer = Renderer(data)
    start = time.perf_counter()
    for ags in towns:
        renderer.town(ags)
    rendered = time.perf_counter() - start
    del renderer, data
    gc.unfreeze()
    result = {"pages": len(towns), "load_s": loaded, "page_ms": 1000 * rendered / len(towns)}
    for label, options in (("one", {"workers": 1}), ("default", {})):
        summary = {}
        before, start = cpu_seconds(), time.perf_counter()
        with RssSampler() as sampler:
            build_reports(published, Path(tmp) / f"reports-{label}", towns=towns, summary=summary, **options)
        result[f"{label}_s"] = time.perf_counter() - start
        result[f"{label}_cpu_s"], result[f"{label}_kernel_s"] = (now - then for now, then in zip(cpu_seconds(), before))
        result[f"{label}_written"] = summary["written"]
        result[f"{label}_processes"] = summary.get("processes", 1)
        result[f"{label}_rss_mib"] = sampler.peak_total()
        result[f"{label}_pss_mib"] = sampler.peak_pss_total()
    result["files_differing"] = _differing_files(Path(tmp) / "reports-one", Path(tmp) / "reports-default")
    summary = {}
    start = time.perf_counter()
    build_reports(published, Path(tmp) / "reports-default", towns=towns, summary=summary)
    result.update(nochange_s=time.perf_counter() - start, nochange_written=summary["written"])
    return result


def child_republish(tmp: str) -> dict:
    """A publish onto the kept warehouse from its revised working files (benchmarks/republish.py), in a copy."""
    from benchmarks.republish import republish

    return republish(Path(tmp))


def _differing_files(one: Path, other: Path) -> int:
    """Files present in only one of the two folders or with different bytes (0: the builds agree)."""
    names = {p.relative_to(one) for p in one.rglob("*") if p.is_file()}
    others = {p.relative_to(other) for p in other.rglob("*") if p.is_file()}
    return len(names ^ others) + sum((one / n).read_bytes() != (other / n).read_bytes() for n in names & others)


# --- parent -----------------------------------------------------------------------------------------

PSS_PEAKS: dict[str, float] = {}  # phase -> peak PSS MiB of the child's process tree (pipelines/memory.py)


def run_child(phase: str, *args: str, log: Path) -> tuple[dict, float, float]:
    """Run one phase in a child: (its RESULT, wall seconds, peak RSS MiB of the child's largest process);
    the peak PSS summed over its process tree (the town_reports step's child and page workers) goes
    into PSS_PEAKS[phase] (the highest of the runs of that phase)."""
    from pipelines.memory import RssSampler

    command = [sys.executable, __file__, "--child", phase, *args]
    start = time.perf_counter()
    with open(log, "wb") as output, RssSampler() as sampler:
        child = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    PSS_PEAKS[phase] = max(PSS_PEAKS.get(phase, 0.0), sampler.peak_pss_children())
    child.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith(RESULT)]
    if child.returncode != 0 or not lines:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"phase {phase} failed (exit {child.returncode}), log {log}:\n{tail}")
    outcome = json.loads(lines[-1][len(RESULT):])
    outcome["child_cpu_s"] = usage.ru_utime + usage.ru_stime  # the child and every descendant it waited for
    outcome["child_kernel_s"] = usage.ru_stime
    return outcome, seconds, usage.ru_maxrss / 1024


def planner_queries(published: Path) -> dict[str, float]:
    """p95 in ms of every documented planner statement (first line as its name)."""
    import duckdb

    text = PLANNER_GUIDE.read_text(encoding="utf-8")
    statements = [s.query.strip() for block in re.findall(r"^```sql[ \t]*\n(.*?)^```", text, re.M | re.S)
                  for s in duckdb.extract_statements(block)]
    result = {}
    with duckdb.connect(str(published), read_only=True) as con:
        for statement in statements:
            con.execute(statement).fetchall()  # warm-up (first run reads the blocks from disk)
            times = []
            for _ in range(QUERY_RUNS):
                start = time.perf_counter()
                con.execute(statement).fetchall()
                times.append(1000 * (time.perf_counter() - start))
            times.sort()
            name = " ".join(statement.split())[:70]
            result[name] = times[max(0, int(round(0.95 * len(times))) - 1)]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--keep", type=Path, help="write into this new directory and keep it")
    args = parser.parse_args(argv)
    source_dir = str(args.source_dir.expanduser().resolve())
    if not Path(source_dir).is_dir():
        print(f"source directory {source_dir} does not exist", file=sys.stderr)
        return 2
    if args.keep:
        args.keep.mkdir(parents=True)
    print(f"benchmarks/run_all.py on {source_dir}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    with (nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="readiness-bench-")) as tmp:
        tmp_path = Path(tmp)
        parse, parse_wall, parse_rss = run_child("parse", source_dir, log=tmp_path / "parse.log")
        print(f"parse floor: {parse['seconds']:.1f} s ({parse['files']} files, {parse['releases']} releases; "
              f"child {parse_wall:.1f} s, {parse_rss:.0f} MiB)")
        cold, cold_wall, cold_rss = run_child("refresh", tmp, source_dir, log=tmp_path / "refresh1.log")
        again, _, _ = run_child("parse", source_dir, log=tmp_path / "parse2.log")
        floors = (parse["seconds"], again["seconds"])
        floor = sum(floors) / 2  # the minutes around the cold refresh, not only those before it
        print(f"parse floor after the cold refresh: {floors[1]:.1f} s; the ratios use the mean, {floor:.1f} s")
        warm, warm_wall, warm_rss = run_child("refresh", tmp, source_dir, log=tmp_path / "refresh2.log")
        for label, run in (("cold", cold), ("no-change", warm)):
            print(f"{label} refresh: {'success' if run['success'] else 'FAILED'}; {run['materialised']} assets "
                  f"materialised; {run['plan'][:160]}; slowest steps: " + (", ".join(run["slowest"]) or "none"))
        reports, _, reports_rss = run_child("reports", tmp, log=tmp_path / "reports.log")
        # every later refresh publishes onto the previous warehouse and merges history, which the cold one does not
        republished, _, republish_rss = run_child("republish", tmp, log=tmp_path / "republish.log")
        queries = planner_queries(tmp_path / "warehouse" / "readiness.duckdb")
        load_now = os.getloadavg()[0]
    rows = [
        ("parse floor (s)", floor, f"mean of {floors[0]:.1f} s before and {floors[1]:.1f} s right after the cold refresh"),
        ("cold refresh (s)", cold_wall, f"{cold['executor']} executor (pipelines/executors.py)"),
        ("  of which up to the published warehouse (s)", cold["published_s"], None),
        ("  its CPU (s)", cold["child_cpu_s"],
         f"every process of the refresh, {cold['child_kernel_s']:.1f} s of it in the kernel; on {os.cpu_count()} cores "
         f"at least {cold['child_cpu_s'] / os.cpu_count():.1f} s"),
        ("  its steps one after another (s)", cold["steps_s"], f"{cold['steps']} steps (Dagster's step stats)"),
        ("  its critical path (s)", cold["critical_path_s"],
         "the longest chain of dependent steps: no executor runs the job in less (chain below)"),
        ("no-change refresh (s)", warm_wall, None),
        ("report page (ms)", reports["page_ms"], "in memory, data loaded once"),
        ("all pages (s)", reports["default_s"],
         f"build_reports, {reports['pages']} towns, cold, {reports['default_processes']} page processes in a "
         f"child; CPU {reports['default_cpu_s']:.1f} s (kernel {reports['default_kernel_s']:.1f} s); tree peak RSS {reports['default_rss_mib']:.0f} / "
         f"PSS {reports['default_pss_mib']:.0f} MiB"),
        ("all pages, one process (s)", reports["one_s"],
         f"workers=1, same minutes; CPU {reports['one_cpu_s']:.1f} s (kernel {reports['one_kernel_s']:.1f} s); peak RSS {reports['one_rss_mib']:.0f} / "
         f"PSS {reports['one_pss_mib']:.0f} MiB; {reports['files_differing']} files differ from the default's"),
        ("all pages, nothing changed (s)", reports["nochange_s"], f"{reports['nochange_written']} pages rewritten"),
        ("report data load (s)", reports["load_s"], None),
        ("publish onto the previous warehouse (s)", republished["seconds"],
         f"{'success' if republished['success'] else 'FAILED: ' + republished.get('error', '')}; the candidate of a "
         f"refresh with revised data (benchmarks/republish.py); CPU {republished['cpu_s']:.1f} s, "
         f"peak RSS {republish_rss:.0f} MiB"),
        ("peak RSS (MiB)", max(cold_rss, warm_rss),
         f"largest process of the refresh; its process tree's peak PSS {PSS_PEAKS['refresh']:.0f} MiB; "
         f"reports child {reports_rss:.0f}"),
        ("planner query p95, worst (ms)", max(queries.values()), max(queries, key=queries.get)),
    ]
    print(f"\n{'figure':<46} {'value':>9} {'÷ floor':>8} {'target':>7}  note")
    for label, value, note in rows:
        ratio = f"{value / floor:.1f}×" if label.endswith("(s)") and value is not None else ""
        target = TARGETS.get(label.strip())
        shown = "n/a" if value is None else f"{value:.1f}"
        print(f"{label:<46} {shown:>9} {ratio:>8} {target if target is not None else '':>7}  {note or ''}")
    print("\ncritical path of the cold refresh, step seconds:", " → ".join(cold["critical_path"]))
    print("\nplanner queries, p95 ms over", QUERY_RUNS, "runs:")
    for name, p95 in queries.items():
        print(f"  {p95:7.1f}  {name}")
    print(f"load average at the end {load_now:.1f}")
    return 0 if cold["success"] and warm["success"] and republished["success"] else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        phase, rest = sys.argv[2], sys.argv[3:]
        outcome = {"parse": child_parse, "refresh": child_refresh, "reports": child_reports,
                   "republish": child_republish}[phase](*rest)
        print(RESULT + json.dumps(outcome), flush=True)
        sys.exit(0)
    sys.exit(main())
