"""Benchmark: Monte Carlo uncertainty and sensitivity analysis of the index on the full-Germany data.

Run on demand from the repository root (it is a benchmark, not a test)::

    .venv/bin/python benchmarks/index_uncertainty.py
    .venv/bin/python benchmarks/index_uncertainty.py --warehouse /path/to/warehouse/readiness.duckdb
    .venv/bin/python benchmarks/index_uncertainty.py --source-dir /path/to/publisher/files --draws 1000

Without ``--warehouse`` it first builds the published warehouse from the Germany-wide publisher
files (default ``../shared/data``) by running the Dagster job ``refresh_warehouse`` in directory
mode into a temporary directory (as benchmarks/full_germany.py does; takes about a minute and is
deleted afterwards; the repository's own warehouse is never touched). The build runs in a child
process, so the peak RSS printed here belongs to loading the tables and the Monte Carlo run only.
``--warehouse`` uses an existing published readiness.duckdb instead (it must be built from the
full data for the figures to mean "full Germany").

From the published file it loads ``indicator_values``, the reference group
(``municipalities.in_reference_group``) and the index periods (distinct periods of
``readiness_index``), runs :func:`indicators.uncertainty.monte_carlo`, and prints:
  - reference-group towns, periods, draws, seed,
  - wall time of monte_carlo (target: under 30 s on 2 cores) and peak RSS of this process,
  - a consistency check: the published-configuration ranks against the warehouse's readiness_index ranks,
  - the sensitivity table (which choice moves ranks most),
  - the rank and score bands of the five pilot towns.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_SOURCE_DIR = REPO_ROOT.parent / "shared" / "data"
TARGET_SECONDS = 30


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _build(source_dir: str, tmp: str, outcome) -> None:
    """Child process: run refresh_warehouse in directory mode into ``tmp``; put (success, seconds, failures)."""
    from dagster import DagsterInstance

    from benchmarks.full_germany import failures
    from pipelines.definitions import defs

    config = {"source_mode": "directory", "source_dir": source_dir,
              "warehouse_path": str(Path(tmp) / "warehouse" / "readiness.duckdb"), "raw_dir": str(Path(tmp) / "raw")}
    start = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = defs.get_job_def("refresh_warehouse").execute_in_process(
            run_config={"resources": {"settings": {"config": config}}}, instance=instance, raise_on_error=False)
    outcome.put((result.success, time.perf_counter() - start, failures(result)))


def build_warehouse(source_dir: Path, tmp: Path) -> tuple[Path, float]:
    """Build the published warehouse under ``tmp`` in a child process; return its path and the job's wall time."""
    context = multiprocessing.get_context("spawn")
    outcome = context.Queue()
    process = context.Process(target=_build, args=(str(source_dir), str(tmp), outcome))
    process.start()
    success, seconds, failed = outcome.get()
    process.join()
    if not success:
        raise RuntimeError("refresh_warehouse failed:\n  " + "\n  ".join(failed))
    return tmp / "warehouse" / "readiness.duckdb", seconds


def load_inputs(published: Path):
    """indicator_values, reference group, index periods and the published index from a readiness.duckdb."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        values = con.execute("SELECT * FROM indicator_values").df()
        group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
        names = dict(con.execute("SELECT ags, name FROM municipalities").fetchall())
        index = con.execute("SELECT ags, period, score, rank FROM readiness_index").df()
    periods = sorted(int(p) for p in index["period"].unique())
    return values, group, periods, index, names


def report(published: Path, draws: int, seed: int) -> float:
    """Load, run monte_carlo, print the figures; return monte_carlo's wall time."""
    import pandas as pd

    from indicators.catalogue import load_catalogue
    from indicators.uncertainty import monte_carlo

    catalogue = load_catalogue()
    values, group, periods, index, names = load_inputs(published)
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    # the same choices as the pipeline's index_uncertainty asset (catalogue: uncertainty.imputation)
    bands, sensitivity = monte_carlo(values, catalogue, group, periods, draws=draws, seed=seed,
                                     choices={"imputation": catalogue.uncertainty["imputation"]})
    seconds = time.perf_counter() - start

    print("Index uncertainty benchmark: indicators.uncertainty.monte_carlo")
    print(f"warehouse             {published}")
    print(f"reference-group towns {len(group):,}  (with a band: {bands['ags'].nunique():,})")
    print(f"periods               {periods}  (with bands: {sorted(bands['period'].unique().tolist())})")
    print(f"indicator_values rows {len(values):,}")
    print(f"draws                 {draws:,}  (seed {seed})")
    print(f"wall time monte_carlo {seconds:8.1f} s   (target < {TARGET_SECONDS} s on 2 cores)")
    print(f"peak RSS              {peak_rss_mib():8.0f} MiB   (after loading the tables: {rss_before:.0f} MiB)")

    merged = bands.merge(index.dropna(subset=["rank"]), on=["ags", "period"], how="outer")
    mismatched = (merged["rank"].astype("Float64") != merged["rank_published"].astype("Float64")).fillna(True).sum()
    print(f"published-configuration ranks differing from readiness_index: {mismatched} of {len(merged):,}")
    width = bands["rank_p95"] - bands["rank_p05"]
    print(f"rank band width p95-p05: median {width.median():.0f}, mean {width.mean():.0f} "
          f"(compared towns median {bands['compared_towns_median'].median():.0f})")

    print()
    print("sensitivity (mean_abs_rank_shift vs the published rank; first_order = Var(E[rank|choice]) / Var(rank))")
    by_effect = sensitivity.groupby("choice", sort=False)["first_order"].first().sort_values(ascending=False)
    ordered = sensitivity.set_index("choice").loc[by_effect.index].reset_index()
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(ordered.to_string(index=False))

    print()
    print("pilot towns")
    pilots = bands[bands["ags"].isin(catalogue.pilot_towns)].copy()
    pilots.insert(1, "name", pilots["ags"].map(names).fillna(pilots["ags"].map(catalogue.pilot_towns)))
    columns = ["ags", "name", "period", "rank_published", "rank_median", "rank_p05", "rank_p95", "score_published",
               "score_median", "score_p05", "score_p95", "draws_scored", "compared_towns_median"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.1f}".format):
        print(pilots.sort_values(["ags", "period"])[columns].to_string(index=False))
    missing = sorted(set(catalogue.pilot_towns) - set(pilots["ags"]))
    if missing:
        print(f"pilot towns without a band: {', '.join(missing)}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="existing published readiness.duckdb (skips the build)")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR,
                        help=f"folder of publisher files for the build (default: {DEFAULT_SOURCE_DIR})")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="default: indicators.uncertainty.DEFAULT_SEED")
    args = parser.parse_args(argv)
    from indicators.uncertainty import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    script_start = time.perf_counter()
    if args.warehouse:
        published = args.warehouse.expanduser().resolve()
        if not published.is_file():
            print(f"warehouse {published} does not exist", file=sys.stderr)
            return 2
        seconds = report(published, args.draws, seed)
    else:
        source_dir = args.source_dir.expanduser().resolve()
        if not source_dir.is_dir():
            print(f"source directory {source_dir} does not exist", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="readiness-uncertainty-") as tmp:
            published, build_seconds = build_warehouse(source_dir, Path(tmp))
            print(f"warehouse built from {source_dir} in {build_seconds:.1f} s (child process, deleted afterwards)")
            print()
            seconds = report(published, args.draws, seed)
    print()
    print(f"wall time (total)     {time.perf_counter() - script_start:8.1f} s")
    return 0 if seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
