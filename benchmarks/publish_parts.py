"""CPU and wall seconds of each part of the candidate build (first publish) and of the planner export, outside Dagster.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/publish_parts.py DIR

``DIR/warehouse`` must hold the working files (``readiness.work.duckdb``, ``readiness.staging/``) and a published
``readiness.duckdb``, e.g. a folder of ``benchmarks/run_all.py --keep DIR``. The working files are copied into a
temporary folder, never written in place. Part 1 runs the statements of ``warehouse.publish.build_candidate`` one
by one as a first publish (the cold refresh's case: no history to merge) and times each: the copy of every current
table, each history table, the views, the deferred primary keys, the checkpoint. Part 2 opens the published file
read-only and writes each planner view's fingerprint, Parquet, CSV and .xlsx one after another in one thread, then
the GeoPackage and the files' digests, into a temporary folder. ``benchmarks/publish_steps.py`` times the same
work as Dagster steps; this says where inside them the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


class Clock:
    """Prints the CPU (this process, DuckDB's threads included) and wall seconds since the last tick."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def tick(self, label: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        print(f"  {label:44} CPU {cpu - self.cpu:6.2f}  wall {wall - self.wall:6.2f}", flush=True)
        self.cpu, self.wall = cpu, wall


def candidate_parts(work: Path, candidate: Path) -> None:
    """``build_candidate``'s statements for a first publish, timed one by one (same order and settings)."""
    import duckdb

    from warehouse import publish
    from warehouse.history import HISTORY_TABLES, merge_history
    from warehouse.registry import published_ddl
    from warehouse.sql import literal
    from warehouse.workdb import attach_working

    clock = Clock()
    con = duckdb.connect(str(candidate), config={"storage_compatibility_version": publish.STORAGE_VERSION,
                                                 **publish.duckdb_config()})
    con.execute(published_ddl(defer_composite_keys=True))
    relations = attach_working(con, work, default=None, views=False)
    con.execute(f"SET memory_limit = {literal(publish.candidate_memory_limit())}")
    clock.tick("schema, attach")
    for table in publish.CURRENT_TABLES:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {relations[table]}")
        clock.tick(f"copy {table}")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for table in HISTORY_TABLES:
        merge_history(con, table, now, None)
        clock.tick(f"history {table} (first publish)")
    con.execute(publish.VIEWS_SQL.read_text(encoding="utf-8"))
    clock.tick("views")
    publish._add_keys(con, publish.DEFERRED_KEYS)
    clock.tick("primary keys added after the rows")
    publish._log_publish(con, None, now, {"run_id": "benchmark", "mode": "benchmark", "method_version": "-"})
    publish.row_counts(con)
    publish.changed_sources(con, now)
    clock.tick("publish_log, row counts, changed sources")
    for schema in sorted({r.split(".")[0] for r in relations.values() if not r.startswith("(")}):
        con.execute(f"DETACH {schema}")
    con.execute("CHECKPOINT")
    con.close()
    clock.tick("checkpoint, close")
    print(f"  candidate file {os.path.getsize(candidate) / 2**20:.0f} MiB")


def export_parts(published: Path, out: Path) -> None:
    """Each planner view's fingerprint and files, the GeoPackage and the digests, timed one by one (one thread)."""
    import duckdb

    from warehouse import exports

    clock = Clock()
    con = duckdb.connect(str(published), read_only=True, config=exports.export_config())
    con.execute("SET enable_progress_bar = false")
    sources = exports.sources_rows(con)
    common = exports.common_fingerprint(con, sources)
    clock.tick("open, sources")
    for view in exports.PLANNER_VIEWS:
        exports.view_fingerprint(con, view, common)
        clock.tick(f"{view} fingerprint")
        for fmt, writer in exports.WRITERS.items():
            rows = writer(con, view, out / f"{view}.{fmt}", sources)
            clock.tick(f"{view}.{fmt} ({rows:,} rows)")
    exports.write_geopackage(con, out / exports.GEOPACKAGE, exports.latest_publish(con)[0])
    con.close()
    clock.tick(exports.GEOPACKAGE)
    for path in sorted(out.iterdir()):
        exports.file_digest(path)
    clock.tick("size and SHA-256 of every file")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder a full refresh left (DIR/warehouse/...)")
    args = parser.parse_args(argv)
    source = args.folder / "warehouse"
    with tempfile.TemporaryDirectory(prefix="publish_parts_") as tmp:
        tmp = Path(tmp)
        shutil.copy2(source / "readiness.work.duckdb", tmp / "readiness.work.duckdb")
        shutil.copytree(source / "readiness.staging", tmp / "readiness.staging")
        print(f"publish parts of {args.folder} ({os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        print("candidate, first publish:")
        candidate_parts(tmp / "readiness.work.duckdb", tmp / "candidate.duckdb")
        (tmp / "candidate.duckdb").unlink()
        print("planner export, one thread:")
        (tmp / "exports").mkdir()
        export_parts(source / "readiness.duckdb", tmp / "exports")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
