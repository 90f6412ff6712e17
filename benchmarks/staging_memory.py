"""Benchmark: peak memory of one staging step, function by function, and its tables compared row by row.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/staging_memory.py BUILD --step broadband_coverage
    .venv/bin/python benchmarks/staging_memory.py BUILD --step commuting --keep DIR

``BUILD`` is a folder kept by a full-Germany run (``benchmarks/run_all.py --keep BUILD``); it is only
read: its ``warehouse/`` is copied into a temporary folder and the step runs there alone, in this
process, as ``benchmarks/staging_steps.py`` runs it (a one-asset subset of ``refresh_warehouse`` with
its checks). Around the staging functions that hold the big frames (parse, stack, the crosswalk,
store) the process's RSS is read before and after and its peak during (``VmHWM``, reset before
each call through ``/proc/self/clear_refs``); nested calls print indented.

Afterwards every table of every staging file is compared with the build's **including row order**:
each side numbered in scan order (``row_number() OVER ()``) and ``EXCEPT ALL`` both ways, so a change
that only reorders the stored rows (and with it downstream float sums) is found too.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# module attribute -> function wrapped (module path, attribute); patched at module level, so calls through
# the module's globals (crosswalk.onto_current calling bring_forward) are seen too
WATCHED = [("pipelines.assets.staging", "parse_all"), ("pipelines.assets.staging", "stack"),
           ("pipelines.assets.staging", "onto_current_territory"), ("pipelines.assets.staging", "store"),
           ("pipelines.assets.staging", "_stage_inkar"), ("pipelines.assets.staging", "concat"),
           ("pipelines.assets.staging", "observation_metadata"), ("staging.crosswalk", "key_vintages"),
           ("staging.crosswalk", "bring_forward"), ("staging.crosswalk", "flag_transfers"),
           ("staging.crosswalk", "_combine"), ("staging.crosswalk", "onto_current"),
           # territorial_crosswalk's own work (its CPU seconds: what build_steps and the restatement cost)
           ("staging.crosswalk", "build_steps"), ("staging.crosswalk", "transitions"),
           ("staging.crosswalk", "check_plausibility"), ("staging.crosswalk", "polygon_mergers"),
           ("staging.crosswalk", "geographic_mergers"), ("staging.crosswalk", "moved_share"),
           ("staging.crosswalk", "crosswalk"), ("staging.crosswalk", "restate"),
           ("staging.crosswalk", "register_vintage_at"), ("pipelines.assets.staging", "gv_population")]


def status() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak() -> None:
    """Let VmHWM start again from the current RSS (Linux: writing 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


class Tracer:
    """Wraps functions; prints RSS before/after and the peak during each call, nested by depth.

    Every call resets VmHWM, so the peak seen so far is first carried into all enclosing calls
    (``self.peaks``, one entry per open call): each printed peak covers its whole call."""

    def __init__(self):
        self.peaks: list[float] = []
        self.highest = 0.0

    def _carry(self) -> float:
        """Fold the current VmHWM into every open call's peak; return the current RSS."""
        rss, high = status()
        self.peaks = [max(p, high) for p in self.peaks]
        self.highest = max(self.highest, high)
        return rss

    def wrap(self, name, function):
        @functools.wraps(function)
        def traced(*args, **kwargs):
            before = self._carry()
            self.peaks.append(before)
            reset_peak()
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                after = self._carry()
                peak = self.peaks.pop()
                print(f"{'  ' * len(self.peaks)}{name}: RSS {before:.0f} -> {after:.0f} MiB, peak {peak:.0f} MiB "
                      f"(+{peak - before:.0f}), {time.process_time() - started:.1f} CPU s", flush=True)
        return traced

    def install(self):
        import importlib

        for module_name, attribute in WATCHED:
            module = importlib.import_module(module_name)
            setattr(module, attribute, self.wrap(attribute, getattr(module, attribute)))


def profiled(output: Path | None, function, *args):
    """``function(*args)``, under cProfile timed in process CPU seconds when ``output`` is given (other
    engineers' processes share the cores: wall-clock profiles would follow their load); prints the top 25."""
    if output is None:
        return function(*args)
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)
    try:
        return profile.runcall(function, *args)
    finally:
        profile.dump_stats(output)
        pstats.Stats(str(output)).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.staging_steps import STEPS, asset_key_of, compare_staging, copied_build, run_step

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="folder of a full-Germany build (warehouse/, raw/)")
    parser.add_argument("--step", required=True, choices=STEPS)
    parser.add_argument("--keep", type=Path, help="copy into this folder instead of a temporary one, keep it")
    parser.add_argument("--no-trace", action="store_true", help="only the step's peak, no per-function lines")
    parser.add_argument("--profile", type=Path, help="also run the step under cProfile (process CPU time) and "
                                                     "write the stats to this file (pstats format)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="staging-memory-") as tmp:
        folder = args.keep or Path(tmp)
        settings = copied_build(args.build, folder)
        tracer = Tracer()
        if not args.no_trace:
            tracer.install()
        import pipelines.definitions  # noqa: F401  (imported before the baseline: not the step's memory)

        print(f"load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        baseline, _ = status()
        reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        times = profiled(args.profile, run_step, settings, asset_key_of(args.step))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = max(status()[1], tracer.highest)
        print(f"{args.step}: {wall:.1f} s wall, {cpu:.1f} s CPU (load {os.getloadavg()[0]:.2f}); "
              f"RSS before {baseline:.0f} MiB, peak {peak:.0f} MiB (+{peak - baseline:.0f})")
        for key, seconds in times:
            print(f"  {seconds:7.2f}  {key}")
        differing = 0
        for file, table, count, only_b, only_r in compare_staging(folder / "warehouse" / "readiness.staging",
                                                                  args.build / "warehouse" / "readiness.staging",
                                                                  ordered=True):
            differing += only_b + only_r
            if only_b or only_r or file == args.step:
                print(f"  {file}.{table}: {count} rows, {only_b} only in this run, {only_r} only in the build "
                      "(row order included)")
        print(f"staging tables: {differing} rows differ (row order included)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
