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
(``municipalities.in_reference_group``) and the index periods (periods of
``readiness_index`` with a score, as the pipeline's index_uncertainty asset), runs :func:`indicators.uncertainty.monte_carlo`, and prints:
  - reference-group towns, periods, draws, seed,
  - wall time of monte_carlo (target: under 30 s on 2 cores) and peak RSS of this process,
  - a consistency check: the published-configuration ranks against the warehouse's readiness_index ranks,
  - the sensitivity table (which choice moves ranks most),
  - band widths (rank_p95 - rank_p05): median and 90th percentile, as ranks and as a share of the
    compared towns, per period, and the planner statements (indicators.bands) of the latest period,
  - a one-at-a-time decomposition: the same band widths when only one choice varies (the others at
    the published configuration), without the z-score normalisation, with weights within +-50 %
    instead of +-25 %, and under the earlier design (Dirichlet weights, min-max and
    rank-percentile normalisation, geometric aggregation at both levels) for comparison,
  - the rank and score bands of the five pilot towns with their statements.

Every run samples what the catalogue's ``uncertainty`` section says (indicators.uncertainty.catalogue_settings),
the same as the pipeline's index_uncertainty asset.
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
    # the scored periods, as the index_uncertainty asset uses them
    periods = sorted(int(p) for p in index.loc[index["score"].notna(), "period"].unique())
    return values, group, periods, index, names


def report(published: Path, draws: int, seed: int) -> float:
    """Load, run monte_carlo, print the figures; return monte_carlo's wall time."""
    import pandas as pd

    from indicators.bands import band_categories
    from indicators.catalogue import load_catalogue
    from indicators.uncertainty import catalogue_settings, monte_carlo

    catalogue = load_catalogue()
    values, group, periods, index, names = load_inputs(published)
    rss_before = peak_rss_mib()
    settings = {**catalogue_settings(catalogue), "draws": draws, "seed": seed}
    start = time.perf_counter()
    bands, sensitivity = monte_carlo(values, catalogue, group, periods, **settings)
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
    published_rank, mc_rank = merged["rank"].astype("Float64"), merged["rank_published"].astype("Float64")
    both_missing = published_rank.isna() & mc_rank.isna()  # scored only in some draws: no published rank either way
    mismatched = ((published_rank != mc_rank).fillna(True) & ~both_missing).sum()
    print(f"published-configuration ranks differing from readiness_index: {mismatched} of {len(merged):,}")
    print(f"sampled: {settings['choices']}, weights "
          + (f"uniform +-{settings['weight_spread']:.0%}" if settings["weight_spread"] is not None
             else f"Dirichlet concentration {settings['concentration']}"))
    print()
    print("band widths (rank_p95 - rank_p05) of ranked reference-group towns, all defended choices varying")
    print(width_table(bands).to_string(index=False))
    latest = bands[bands["period"] == max(bands["period"])]
    statements = band_categories(latest.assign(compared_towns=latest["compared_towns_median"]))
    print()
    print(f"planner statements (indicators.bands), period {int(latest['period'].max())}:")
    counts = statements["band_code"].value_counts()
    print("  " + ", ".join(f"{code} {n} ({n / len(statements):.0%})" for code, n in counts.items()))

    print()
    print("one at a time: band widths when only this choice varies (others at the published configuration)")
    rows = []
    published = {"normalisation": ("goalposts",), "imputation": ("carry-forward",),
                 "aggregation": (catalogue.aggregation,)}
    variants = {"weights only": {**published}}
    for choice, options in settings["choices"].items():
        if len(options) > 1:
            variants[f"{choice} only"] = {**published, choice: options}
    for name, choices in variants.items():
        spread = settings["weight_spread"] if name == "weights only" else None
        concentration = settings["concentration"] if name == "weights only" else None
        part, _ = monte_carlo(values, catalogue, group, periods, draws=draws, seed=seed, choices=choices,
                              concentration=concentration, weight_spread=spread)
        rows.append(width_table(part, ends_only=True).assign(varying=name))
    rows.append(width_table(bands, ends_only=True).assign(varying="all defended choices"))
    if "z-score" in settings["choices"].get("normalisation", ()):
        # the same design without the z-score normalisation added in the review of issue 11
        without_z = {**settings["choices"],
                     "normalisation": tuple(n for n in settings["choices"]["normalisation"] if n != "z-score")}
        part, _ = monte_carlo(values, catalogue, group, periods, **{**settings, "choices": without_z})
        rows.append(width_table(part, ends_only=True).assign(varying="defended choices without z-score"))
    if settings["weight_spread"] is not None:
        # what the weight spread costs: the same design with weights within +-50 % instead
        part, _ = monte_carlo(values, catalogue, group, periods, **{**settings, "weight_spread": 0.5})
        rows.append(width_table(part, ends_only=True).assign(varying="defended choices, weights +-50 %"))
    earlier, _ = monte_carlo(values, catalogue, group, periods, draws=draws, seed=seed,
                             choices={"imputation": settings["choices"].get("imputation", ("carry-forward",)),
                                      "normalisation": ("goalposts", "min-max", "rank-percentile"),
                                      "aggregation": ("arithmetic", "geometric")})
    rows.append(width_table(earlier, ends_only=True).assign(varying="earlier design (Dirichlet 10, 3 norm., geometric)"))
    table = pd.concat(rows, ignore_index=True)
    print(table[["varying", *[c for c in table.columns if c != "varying"]]].to_string(index=False))

    print()
    print("sensitivity (mean_abs_rank_shift vs the published rank; first_order = Var(E[rank|choice]) / Var(rank))")
    by_effect = sensitivity.groupby("choice", sort=False)["first_order"].first().sort_values(ascending=False)
    ordered = sensitivity.set_index("choice").loc[by_effect.index].reset_index()
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(ordered.to_string(index=False))

    print()
    print("pilot towns")
    pilots = bands[bands["ags"].isin(catalogue.pilot_towns)].copy()
    pilots["statement"] = band_categories(pilots.assign(compared_towns=pilots["compared_towns_median"]))["band_de"]
    pilots.insert(1, "name", pilots["ags"].map(names).fillna(pilots["ags"].map(catalogue.pilot_towns)))
    columns = ["ags", "name", "period", "rank_published", "rank_median", "rank_p05", "rank_p95", "score_published",
               "score_median", "score_p05", "score_p95", "draws_scored", "compared_towns_median", "statement"]
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.float_format", "{:.1f}".format):
        print(pilots.sort_values(["ags", "period"])[columns].to_string(index=False))
    missing = sorted(set(catalogue.pilot_towns) - set(pilots["ags"]))
    if missing:
        print(f"pilot towns without a band: {', '.join(missing)}")
    return seconds


def width_table(bands, ends_only: bool = False):
    """Median and 90th percentile of the band width per period: in ranks and as a share of the compared towns.

    ``ends_only``: the first and the latest period only."""
    import pandas as pd

    frame = bands.dropna(subset=["rank_p05", "rank_p95"])
    if ends_only:
        frame = frame[frame["period"].isin([frame["period"].min(), frame["period"].max()])]
    frame = frame.assign(width=frame["rank_p95"] - frame["rank_p05"],
                         share=(frame["rank_p95"] - frame["rank_p05"]) / frame["compared_towns_median"])
    out = frame.groupby("period").agg(towns=("width", "size"), compared=("compared_towns_median", "median"),
                                      median_width=("width", "median"),
                                      p90_width=("width", lambda w: w.quantile(0.9)),
                                      median_share=("share", "median"), p90_share=("share", lambda s: s.quantile(0.9)),
                                      over_half=("share", lambda s: (s > 0.5).mean()))
    out = out.reset_index()
    for column in ["median_width", "p90_width", "compared"]:
        out[column] = out[column].round(1)
    for column in ["median_share", "p90_share", "over_half"]:
        out[column] = (out[column] * 100).round(1).astype(str) + " %"
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="existing published readiness.duckdb (skips the build)")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR,
                        help=f"folder of publisher files for the build (default: {DEFAULT_SOURCE_DIR})")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="default: the catalogue's uncertainty.seed")
    args = parser.parse_args(argv)
    from indicators.catalogue import load_catalogue
    from indicators.uncertainty import catalogue_settings

    seed = catalogue_settings(load_catalogue())["seed"] if args.seed is None else args.seed
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
