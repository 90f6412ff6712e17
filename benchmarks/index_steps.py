"""Wall time of each indicator -> index step on a copy of a full-Germany working database, and its tables
compared with the copy's originals.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/index_steps.py /tmp/full_final/warehouse
    .venv/bin/python benchmarks/index_steps.py /tmp/full_final/warehouse --steps index_uncertainty

The folder must hold a built ``readiness.work.duckdb`` (and ``readiness.staging/``), e.g. the
``warehouse`` folder of ``benchmarks/run_all.py --keep DIR``. It is copied into a temporary folder and never
written. The steps run one after another in one process as Dagster ops of the refresh job (a subset job on an
ephemeral instance, the way ``pipelines/incremental.py`` runs one), so each time includes what the step pays
inside a real refresh: opening the working database, reading, computing, storing. Each step's peak RSS is
this process's peak during its job (the peak is reset before each job), next to the RSS before it.
Afterwards every table the steps wrote is compared with the original copy: rows that differ beyond a relative
float tolerance (default 1e-12; ``--tolerance 0`` for exact) are counted per table; 0 everywhere means the
steps reproduce the reference build. ``--ordered`` also compares the row order: each side's rows numbered in
scan order, exact ``EXCEPT ALL`` both ways (the same rows in another order differ too). ``--keep DIR`` builds
in ``DIR/warehouse`` and leaves it there, so the publish steps can run on the rebuilt tables
(``benchmarks/publish_steps.py DIR --first-publish``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Registry names of the steps in refresh order, and the working tables each writes.
STEPS = {
    "indicator_values": ["indicator_values", "indicator_catalogue"],
    "readiness_index": ["readiness_index"],
    "index_coherence": ["index_coherence"],
    "index_uncertainty": ["index_bands", "index_sensitivity"],
    "peer_towns": ["peer_towns"],
    "score_contributions": ["score_contributions"],
}


def copy_warehouse(folder: Path, tmp: Path) -> Path:
    """Copy the working files (not the published one) into ``tmp``; returns the published path to use."""
    shutil.copy2(folder / "readiness.work.duckdb", tmp / "readiness.work.duckdb")
    shutil.copytree(folder / "readiness.staging", tmp / "readiness.staging")
    return tmp / "readiness.duckdb"


def _mib(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak RSS) of this process in MiB, from /proc/self/status (Linux)."""
    with open("/proc/self/status") as status:
        return int(re.search(rf"{field}:\s+(\d+)", status.read()).group(1)) / 1024


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (``5`` into /proc/self/clear_refs, Linux >= 4.0), so
    the peak read after a step is that step's own; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def run_steps(published: Path, steps: list[str]) -> list[tuple[str, float, float, float, float, float]]:
    """Run ``steps`` one subset job each (in order); returns (step, op seconds as Dagster timed it, seconds of
    the whole subset job, CPU seconds of this process over the job: all threads, less sensitive to load,
    RSS before the job in MiB, peak RSS during the job in MiB: NaN where the peak cannot be reset)."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.names import short_key
    from pipelines.resources import ReadinessSettings

    settings = ReadinessSettings(warehouse_path=str(published), raw_dir=str(published.parent / "raw"),
                                 exports_dir=str(published.parent / "exports"),
                                 reports_dir=str(published.parent / "reports"))
    job = defs.resolve_job_def("refresh_warehouse")
    graph = defs.resolve_asset_graph()
    keys = {key.path[-1]: key for key in graph.get_all_asset_keys()}
    times = []
    for step in steps:
        key = keys.get(step) or keys[short_key(step, "index").path[-1]]
        with DagsterInstance.ephemeral() as instance:
            rss_before = _mib("VmRSS")
            resettable = _reset_peak()
            cpu = time.process_time()
            started = time.perf_counter()
            result = job.get_subset(asset_selection={key}).execute_in_process(
                resources={"settings": settings}, instance=instance)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu
            peak = _mib("VmHWM") if resettable else float("nan")
            stats = [s for s in instance.get_run_step_stats(result.run_id) if s.step_key == step]
        op = stats[0].end_time - stats[0].start_time if stats else float("nan")
        times.append((step, op, wall, cpu, rss_before, peak))
    return times


def differing_rows(con, table: str, tolerance: float) -> tuple[int, int, int]:
    """(rows here, rows in ref, rows of either side without an equal partner) for ``table``.

    Equal: same values in every non-float column, floats equal or within ``tolerance`` relative
    (NaN/NULL equal to NaN/NULL). Rows are matched on the non-float columns, floats compared after.
    """
    columns = con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'new' "
                          f"AND table_name = '{table}' ORDER BY column_index").fetchall()
    floats = [c for c, t in columns if t in ("DOUBLE", "FLOAT")]
    others = [c for c, t in columns if c not in floats]
    rows_new = con.execute(f"SELECT count(*) FROM new.{table}").fetchone()[0]
    rows_ref = con.execute(f"SELECT count(*) FROM ref.{table}").fetchone()[0]
    key = ", ".join(f'"{c}"' for c in others)
    # exact on everything first (fast path), then the float tolerance for the rows that differ
    exact = con.execute(f"SELECT count(*) FROM (SELECT * FROM new.{table} EXCEPT ALL SELECT * FROM ref.{table})"
                        ).fetchone()[0] + con.execute(
        f"SELECT count(*) FROM (SELECT * FROM ref.{table} EXCEPT ALL SELECT * FROM new.{table})").fetchone()[0]
    if exact == 0 or not floats:
        return rows_new, rows_ref, exact
    close = " AND ".join(
        f'((a."{c}" IS NULL OR isnan(a."{c}")) AND (b."{c}" IS NULL OR isnan(b."{c}")) OR '
        f'abs(a."{c}" - b."{c}") <= {tolerance} * greatest(abs(a."{c}"), abs(b."{c}")))' for c in floats)
    on = " AND ".join(f'a."{c}" IS NOT DISTINCT FROM b."{c}"' for c in others) or "TRUE"
    matched = con.execute(f"SELECT count(*) FROM new.{table} a JOIN ref.{table} b ON {on} WHERE {close}").fetchone()[0]
    dup = con.execute(f"SELECT count(*) - count(DISTINCT ({key})) FROM new.{table}").fetchone()[0] if key else 0
    return rows_new, rows_ref, (rows_new - matched) + (rows_ref - matched) + dup


def differing_in_order(con, table: str) -> int:
    """Rows of either side without an equal partner at the same position (scan order), exact."""
    numbered = 'SELECT row_number() OVER () AS _row, * FROM {}."{}"'
    return sum(con.execute(f"SELECT count(*) FROM ({numbered.format(one, table)} EXCEPT ALL "
                           f"{numbered.format(other, table)})").fetchone()[0]
               for one, other in (("new", "ref"), ("ref", "new")))


def compare(new_work: Path, ref_work: Path, tables: list[str], tolerance: float, ordered: bool = False) -> list[tuple]:
    """Rows per table of the rebuilt and the reference working file, how many differ, and with ``ordered`` how
    many differ in place (None without)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{new_work}' AS new (READ_ONLY)")
    con.execute(f"ATTACH '{ref_work}' AS ref (READ_ONLY)")
    try:
        return [(table, *differing_rows(con, table, tolerance), differing_in_order(con, table) if ordered else None)
                for table in tables]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="folder with readiness.work.duckdb and readiness.staging/")
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--tolerance", type=float, default=1e-12, help="relative float tolerance")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--ordered", action="store_true", help="also compare the row order (exact)")
    parser.add_argument("--keep", type=Path, help="an empty folder to build in and keep (DIR/warehouse/...): "
                                                  "e.g. for benchmarks/publish_steps.py DIR --first-publish")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="index_steps_") as tmp:
        folder = Path(tmp) if args.keep is None else args.keep / "warehouse"
        folder.mkdir(parents=True, exist_ok=True)
        published = copy_warehouse(args.warehouse, folder)
        load = os.getloadavg()
        times = run_steps(published, args.steps)
        print(f"index steps on a copy of {args.warehouse} ({os.cpu_count()} CPUs, load average before "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f})")
        print(f"  {'step':22} {'op s':>7} {'job s':>7} {'CPU s':>7} {'RSS before MiB':>15} {'peak MiB':>9}")
        for step, op, wall, cpu, rss, peak in times:
            print(f"  {step:22} {op:7.2f} {wall:7.2f} {cpu:7.2f} {rss:15.0f} {peak:9.0f}")
        print(f"  {'total':22} {sum(t[1] for t in times):7.2f} {sum(t[2] for t in times):7.2f} "
              f"{sum(t[3] for t in times):7.2f}")
        if not args.no_compare:
            tables = [t for step in args.steps for t in STEPS[step]]
            print(f"tables against the reference (floats within {args.tolerance:g} relative):")
            for table, rows, ref_rows, differ, in_place in compare(published.parent / "readiness.work.duckdb",
                                                                    args.warehouse / "readiness.work.duckdb", tables,
                                                                    args.tolerance, args.ordered):
                order = "" if in_place is None else f"  differing in row order (exact) {in_place:,}"
                print(f"  {table:22} rows {rows:>9,} (reference {ref_rows:>9,})  differing {differ:,}{order}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
