"""Reference-group towns without a score in a period, each with its reason from the typed columns.

Run on a built warehouse (e.g. one kept by ``benchmarks/full_germany.py --keep DIR``)::

    .venv/bin/python benchmarks/unscored_towns.py DIR/warehouse/readiness.duckdb [--period 2023]

For every unscored reference-group town it prints the pillars it misses (``readiness_index.
missing_pillars``) and, for the demographic pillar, why its population change is not scored:
the ``territorial_change`` / ``excluded_reason`` of the indicator value, or "no base" when the town
has no population under its current territory in the base year; for a territorial change, the
crosswalk steps into the town (``territorial_changes.plausibility``) that were not usable. Then
the towns grouped by reason. Nothing is decided here: it reads the codes the pipeline wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import pandas as pd

TOWNS = """
    SELECT r.ags, m.name, r.missing_pillars
    FROM readiness_index r JOIN municipalities m USING (ags)
    WHERE r.in_reference_group AND r.period = $period AND r.score IS NULL
    ORDER BY r.missing_pillars, r.ags
"""
# the demographic values of the period the index would use (observed or carried forward)
DEMOGRAPHIC = """
    SELECT ags, indicator_id, territorial_change, excluded_reason, base_period
    FROM indicator_values
    WHERE period = $period AND indicator_id IN ('population_change_5y', 'population_change_10y')
"""
REJECTED_STEPS = """
    SELECT to_ags AS ags, string_agg(DISTINCT plausibility, ', ') AS rejected_steps
    FROM territorial_changes
    WHERE plausibility IN ('population_jump', 'too_far') OR kind IN ('partial_transfer', 'split')
    GROUP BY to_ags
"""


def demographic_reason(values: pd.DataFrame) -> str:
    """Why a town's demographic pillar is empty: the excluding codes of its values, or no value at all."""
    if values.empty:
        return "no base: no population under the current territory in the base year (predecessors not found)"
    codes = sorted({f"{c}" for c in values["territorial_change"].dropna()} or {"excluded"})
    return "excluded: " + ", ".join(codes)


def unscored(con: duckdb.DuckDBPyConnection, period: int) -> pd.DataFrame:
    """One row per unscored reference-group town with its missing pillars and reasons."""
    towns = con.execute(TOWNS, {"period": period}).df()
    demo = con.execute(DEMOGRAPHIC, {"period": period}).df()
    steps = con.execute(REJECTED_STEPS).df().set_index("ags")["rejected_steps"]
    reasons = []
    for row in towns.itertuples():
        parts = []
        if "demographic_dynamics" in (row.missing_pillars or ""):
            reason = demographic_reason(demo[demo["ags"] == row.ags])
            if row.ags in steps.index:
                reason += f" (steps into it: {steps[row.ags]})"
            parts.append(reason)
        others = [p for p in (row.missing_pillars or "").split(", ") if p and p != "demographic_dynamics"]
        if others:
            parts.append("no value from the source of " + ", ".join(others))
        reasons.append("; ".join(parts))
    return towns.assign(reason=reasons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a published readiness.duckdb")
    parser.add_argument("--period", type=int, default=2023)
    args = parser.parse_args(argv)
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        table = unscored(con, args.period)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_rows", 500)
    pd.set_option("display.max_colwidth", 140)
    print(f"reference-group towns without a {args.period} score: {len(table)}")
    print(table.to_string(index=False))
    print()
    print("by missing pillars")
    print(table["missing_pillars"].value_counts().to_string())
    print()
    print("by reason")
    print(table["reason"].str.replace(r" \(steps into it: .*\)", " (+ rejected/flagged steps)", regex=True)
          .value_counts().to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
