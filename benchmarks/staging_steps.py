"""Benchmark: each slow staging step of a cold full-Germany refresh, alone, and its staged tables compared.

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/staging_steps.py BUILD            # time the steps, compare the tables
    .venv/bin/python benchmarks/staging_steps.py BUILD --steps commuting broadband_coverage

``BUILD`` is a folder kept by a full-Germany run (``benchmarks/run_all.py --keep BUILD``): its
``warehouse/`` (published, working and staging files) and its raw landing. The build is only read:
its ``warehouse/`` is copied into a temporary folder, each step runs there as a one-asset subset of
the ``refresh_warehouse`` job (with the asset checks on it) in process on an ephemeral instance, and
the raw files are read where the build landed them. Afterwards every table of every file in
``readiness.staging/`` is compared with the build's (``EXCEPT ALL`` both ways): a speed-up must not
change one row. The upstream tables a step reads come from the build, so steps can run alone.

Prints each step's and each check's seconds (Dagster's step stats) with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

STEPS = ["population_area", "territorial_crosswalk", "commuting", "broadband_coverage"]


def run_step(settings, asset: str) -> list[tuple[str, float]]:
    """Run one asset (and its checks) in process; (step key, seconds) of every step, in run order."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh_warehouse").get_subset(asset_selection={AssetKey.from_user_string(asset)})
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(resources={"settings": settings}, instance=instance)
    stats = sorted(instance.get_run_step_stats(result.run_id), key=lambda s: s.start_time or 0)
    times = [(s.step_key, s.end_time - s.start_time) for s in stats if s.start_time and s.end_time]
    return times


def asset_key_of(name: str) -> str:
    """The UI's key of a staging asset (pipelines/names.py: ``stg/<short name>``)."""
    from pipelines.names import SHORT_NAMES

    return f"stg/{SHORT_NAMES.get(name, name)}"


def compare_staging(built: Path, reference: Path, ordered: bool = False) -> list[tuple[str, str, int, int, int]]:
    """(file, table, rows, rows only in built, rows only in reference) for every table of every staging file of the
    reference (the kept build); ``ordered``: each row numbered in scan order first, so the same rows in another order
    differ too. A table whose columns differ (a column the change adds or drops) is compared on the columns both have;
    those columns, and tables only one side has, are printed ("this run": built, "the build": reference)."""
    import duckdb

    select = ('SELECT row_number() OVER () AS _row, {columns} FROM {}."{}"' if ordered
              else 'SELECT {columns} FROM {}."{}"')
    rows = []
    for file in sorted(reference.glob("*.duckdb")):
        con = duckdb.connect()
        con.execute(f"ATTACH '{built / file.name}' AS b (READ_ONLY)")
        con.execute(f"ATTACH '{file}' AS r (READ_ONLY)")
        tables = {db: {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                                                 [db]).fetchall()} for db in ("b", "r")}
        for table, side in sorted([(t, "this run") for t in tables["b"] - tables["r"]]
                                  + [(t, "the build") for t in tables["r"] - tables["b"]]):
            print(f"  {file.stem}.{table}: only in {side}")
        for table in sorted(tables["r"] & tables["b"]):
            count = con.execute(f'SELECT count(*) FROM r."{table}"').fetchone()[0]
            names = {db: [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
                "ORDER BY column_index", [db, table]).fetchall()] for db in ("b", "r")}
            common = [c for c in names["r"] if c in names["b"]]
            if common != names["r"] or len(common) != len(names["b"]):
                print(f"  {file.stem}.{table}: columns only in this run {sorted(set(names['b']) - set(common))}, "
                      f"only in the build {sorted(set(names['r']) - set(common))}: rows compared on the other "
                      f"{len(common)}")
            columns = ", ".join(f'"{c}"' for c in common)
            only_b, only_r = (con.execute(f"SELECT count(*) FROM ({select.format(one, table, columns=columns)} "
                                          f"EXCEPT ALL {select.format(other, table, columns=columns)})").fetchone()[0]
                              for one, other in (("b", "r"), ("r", "b")))
            rows.append((file.stem, table, count, only_b, only_r))
        con.close()
    return rows


def copied_build(build: Path, folder: Path):
    """Settings of a refresh on a copy of ``build``'s warehouse folder in ``folder``; the raw landing is read
    from the build itself (read-only), so a step runs on the build's files without writing into it."""
    from pipelines.resources import ReadinessSettings

    shutil.copytree(build / "warehouse", folder / "warehouse", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.lock", "*.wal"))
    return ReadinessSettings(source_mode="directory", source_dir=str(folder),
                             warehouse_path=str(folder / "warehouse" / "readiness.duckdb"),
                             raw_dir=str(build / "raw"), exports_dir=str(folder / "exports"),
                             reports_dir=str(folder / "reports"), report_scope="pilots")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="folder of a full-Germany build (warehouse/, raw/)")
    parser.add_argument("--steps", nargs="+", default=STEPS, choices=STEPS)
    parser.add_argument("--keep", type=Path, help="copy into this folder instead of a temporary one, keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="staging-steps-") as tmp:
        folder = args.keep or Path(tmp)
        settings = copied_build(args.build, folder)
        print(f"load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for step in args.steps:
            started, cpu = time.perf_counter(), time.process_time()
            times = run_step(settings, asset_key_of(step))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            # CPU seconds of this process as well: on a shared machine the wall time follows the load
            print(f"{step}: run {wall:.1f} s wall, {cpu:.1f} s CPU (load {os.getloadavg()[0]:.2f})")
            for key, seconds in times:
                print(f"  {seconds:7.2f}  {key}")
        print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        differing = 0
        for file, table, count, only_b, only_r in compare_staging(folder / "warehouse" / "readiness.staging",
                                                                  args.build / "warehouse" / "readiness.staging"):
            differing += only_b + only_r
            print(f"  {file}.{table}: {count} rows, {only_b} only in this run, {only_r} only in the build")
        print(f"staging tables: {differing} rows differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
