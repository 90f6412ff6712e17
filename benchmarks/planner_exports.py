"""Time and peak memory of the .xlsx and German CSV export of one large planner view.

The full-Germany ``indicator_history`` has about 1 M rows; building that warehouse takes long, so
this replicates the snapshot's ``indicator_history`` (24,036 rows with the real columns and values)
``--copies`` times into an in-memory table and exports it as ``warehouse/exports.py`` does::

    .venv/bin/readiness demo            # with READINESS_WAREHOUSE=/tmp/x/readiness.duckdb, etc.
    .venv/bin/python benchmarks/planner_exports.py /tmp/x/readiness.duckdb --copies 42

Prints the rows, seconds per phase (frame, CSV, .xlsx) and the process's peak RSS. Run each
variant in its own process: peak RSS is per process.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from warehouse import exports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path, help="a published warehouse (e.g. from `readiness demo`)")
    parser.add_argument("--copies", type=int, default=42, help="copies of indicator_history (42 ≈ 1 M rows)")
    parser.add_argument("--view", default="indicator_history")
    args = parser.parse_args()
    con = duckdb.connect()
    quoted = str(args.published).replace("'", "''")  # ATTACH takes no parameter
    con.execute(f"ATTACH '{quoted}' AS pub (READ_ONLY)")
    # the copies keep the view's columns and types; the AGS differs per copy so keys stay distinct text
    con.execute(f"CREATE TABLE big AS SELECT h.* REPLACE (printf('%02d', c::INT) || h.ags[3:] AS ags) "
                f"FROM pub.{args.view} h, range(?) AS r(c)", [args.copies])
    sources = con.execute(exports.SOURCES_SQL.replace("source_attribution", "pub.source_attribution")).fetch_df()
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        start = time.perf_counter()
        frame = exports.typed_frame(con, "big")
        timings["frame"] = time.perf_counter() - start
        peaks = {"frame": _peak_mib()}
        start = time.perf_counter()
        exports.write_german_csv(frame, Path(tmp) / "big.csv")
        timings["csv"] = time.perf_counter() - start
        peaks["csv"] = _peak_mib()
        start = time.perf_counter()
        rows = exports.write_xlsx(frame, Path(tmp) / "big.xlsx", "benchmark", sources)
        timings["xlsx"] = time.perf_counter() - start
        peaks["xlsx"] = _peak_mib()
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
    print(f"rows={rows:,} columns={len(frame.columns)} " +
          " ".join(f"{phase}={seconds:.1f}s" for phase, seconds in timings.items()) +
          f" total={sum(timings.values()):.1f}s peak_rss_after " +
          " ".join(f"{phase}={mib:.0f}MiB" for phase, mib in peaks.items()) + " " +
          " ".join(f"{name}={size / 2**20:.1f}MiB" for name, size in sorted(sizes.items())))


def _peak_mib() -> float:
    """The process's peak RSS so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
