"""Time and peak memory of the planner exports (warehouse/exports.py) on a published warehouse.

Two modes, each best run in its own process (peak RSS is per process):

``--view indicator_history [--copies N]``
    One view, phase by phase: German CSV (DuckDB COPY), .xlsx (Arrow batches into XlsxWriter) and
    Parquet. ``--copies N`` replicates the view N times into an in-memory table first (the AGS differs
    per copy), so a small warehouse (e.g. the snapshot's 24,036 history rows × 42 ≈ 1 M rows) stands in
    for the full data; the .xlsx phase writes the whole table (continuing on further sheets), not the
    latest-period workbook the export writes for a view above one sheet.

``--export``
    The whole export as the ``planner_exports`` asset runs it (every planner view in every format and
    the GeoPackage), twice into the same folder: the second run finds every view unchanged and
    hard-links the files of the first (no-change refresh).

::

    .venv/bin/python benchmarks/planner_exports.py /tmp/x/readiness.duckdb --export
    .venv/bin/python benchmarks/planner_exports.py /tmp/x/readiness.duckdb --view indicator_history

Prints seconds, rows, file sizes, the process's peak RSS and the load average. Writes only into a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from warehouse import exports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="a published warehouse (e.g. from `readiness demo`)")
    parser.add_argument("--export", action="store_true", help="the whole export, twice (cold, then unchanged)")
    parser.add_argument("--view", default="indicator_history")
    parser.add_argument("--copies", type=int, default=1, help="copies of the view (42 × the snapshot ≈ 1 M rows)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.export:
        export_twice(args.published)
    else:
        one_view(args.published, args.view, args.copies)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def export_twice(published: Path) -> None:
    """The asset's export, cold and then with nothing changed; seconds, peak RSS, rows per file."""
    with tempfile.TemporaryDirectory() as tmp:
        for run in ("cold", "unchanged"):
            start = time.perf_counter()
            counts = exports.export_planner_views(published, Path(tmp))
            seconds = time.perf_counter() - start
            latest = (Path(tmp) / exports.LATEST).resolve()
            sizes = sum(p.stat().st_size for p in latest.iterdir())
            print(f"{run}: {seconds:.1f}s peak_rss={_peak_mib():.0f}MiB files={len(counts)} "
                  f"size={sizes / 2**20:.1f}MiB")
        print(" ".join(f"{name}={rows:,}" for name, rows in sorted(counts.items())))


def one_view(published: Path, view: str, copies: int) -> None:
    """CSV, .xlsx and Parquet of one (replicated) view, with the peak RSS after each phase."""
    con = duckdb.connect()
    quoted = str(published).replace("'", "''")  # ATTACH takes no parameter
    con.execute(f"ATTACH '{quoted}' AS pub (READ_ONLY)")
    # the copies keep the view's columns and types; the AGS differs per copy so keys stay distinct text
    con.execute(f"CREATE TABLE big AS SELECT h.* REPLACE (printf('%02d', c::INT) || h.ags[3:] AS ags) "
                f"FROM pub.{view} h, range(?) AS r(c)", [copies])
    with duckdb.connect(str(published), read_only=True) as published_con:
        sources = exports.sources_rows(published_con)
    timings, peaks = {}, {"start": _peak_mib()}
    with tempfile.TemporaryDirectory() as tmp:
        phases = {
            "csv": lambda: exports.write_german_csv(con, "SELECT * FROM big", Path(tmp) / "big.csv"),
            "xlsx": lambda: exports.write_xlsx_query(con, "SELECT * FROM big", Path(tmp) / "big.xlsx",
                                                     "benchmark", sources),
            "parquet": lambda: con.execute("COPY big TO ? (FORMAT parquet)",
                                           [str(Path(tmp) / "big.parquet")]).fetchone()[0],
        }
        for phase, run in phases.items():
            start = time.perf_counter()
            rows = run()
            timings[phase] = time.perf_counter() - start
            peaks[phase] = _peak_mib()
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
    columns = len(con.execute("DESCRIBE big").fetchall())
    print(f"rows={rows:,} columns={columns} " +
          " ".join(f"{phase}={seconds:.1f}s" for phase, seconds in timings.items()) +
          f" total={sum(timings.values()):.1f}s peak_rss_after " +
          " ".join(f"{phase}={mib:.0f}MiB" for phase, mib in peaks.items()) + " " +
          " ".join(f"{name}={size / 2**20:.1f}MiB" for name, size in sorted(sizes.items())))


def _peak_mib() -> float:
    """The process's peak RSS so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
