"""The contract's value rules on numpy slices give exactly the violations of the per-measure pandas code
they replaced (kept here as the reference), on random frames with every kind of problem, for every contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sources import contracts
from sources.contracts import CONTRACTS, Violation, _mismatching


def reference_values(contract, frame: pd.DataFrame) -> list[Violation]:
    """``_values`` before: pandas selections per measure."""
    checks = [(column, rule, frame.index) for column, rule in contract.values.items()]
    if contract.measures and "measure" in frame:
        for measure, rows in frame.groupby("measure").groups.items():
            rule = contract.rule_for(measure)
            if rule is None:
                return [Violation(contract.table, f"measure {measure!r} is not declared in the contract",
                                  int(rows[0]) + 1, "measure")]
            checks.append(("value", rule, rows))
    violations = []
    for column, rule, rows in checks:
        values = pd.to_numeric(frame.loc[rows, column], errors="coerce")
        label = frame.at[rows[0], "measure"] if "measure" in frame and column == "value" else column
        problems = []
        if rule.unit is not None and "unit" in frame:
            units = frame.loc[rows, "unit"].astype(str)
            wrong = units[units.isin(_mismatching(units, rule.unit))]
            if len(wrong):
                problems.append((wrong.index[0], f"{label}: unit {wrong.iloc[0]!r}, declared {rule.unit!r}"))
        finite = values.dropna()
        is_finite = pd.Series(np.isfinite(finite.to_numpy(dtype=float)), index=finite.index)
        if (~is_finite).any():
            i = finite[~is_finite].index[0]
            problems.append((i, f"{label}: {finite[i]:g} is not a finite number"))
        if rule.integer:
            fractional = finite[is_finite & (finite % 1 != 0)]
            if len(fractional):
                problems.append((fractional.index[0], f"{label}: {fractional.iloc[0]:g} is not a whole number "
                                                      f"(a count; German thousands like '19.566' read as a decimal?)"))
        if rule.min is not None:
            low = finite[finite < rule.min]
            if len(low):
                problems.append((low.index[0], f"{label}: {low.iloc[0]:g} below the minimum {rule.min:g} ({len(low)} values)"))
        if rule.max is not None:
            high = finite[finite > rule.max + rule.tolerance]
            if len(high):
                allowed = f"{rule.max:g} + rounding tolerance {rule.tolerance:g}" if rule.tolerance else f"{rule.max:g}"
                problems.append((high.index[0], f"{label}: {high.iloc[0]:g} above the maximum {allowed} ({len(high)} values)"))
        violations += [Violation(contract.table, problem, int(i) + 1, column,
                                 str(frame.at[i, contract.key]) if contract.key in frame else None) for i, problem in problems]
    return violations


def random_frame(rng, contract, declared_only: bool) -> pd.DataFrame:
    n = 4000
    measures = [m for m in ["households_all_16", "households_all_1000", "population_total", "area_km2",
                            "out_commuters", "share_out_commuters", "employees_residence", None]]
    frame = pd.DataFrame({"ags": rng.choice(["01001000", "0100100", "01001", "DG"], n),
                          "measure": rng.choice(measures, n),
                          "value": rng.choice([1.0, 2.5, 99.0, 100.5, 101.5, -1.0, np.nan, np.inf, -np.inf, 3.0], n),
                          "unit": rng.choice(["% of households", "persons", "km2", "%", None], n)})
    for column in contract.values:
        frame[column] = rng.choice([1, 2.5, np.nan, -3, 1e9], n)
    if declared_only and contract.measures:
        frame = frame[frame["measure"].map(lambda m: m is not None and contract.rule_for(m) is not None)]
    return frame.reset_index(drop=True)


@pytest.mark.parametrize("source_table", [(s, t) for s, tables in CONTRACTS.items() for t in tables])
def test_value_rules_equal_the_per_measure_reference(source_table):
    contract = CONTRACTS[source_table[0]][source_table[1]]
    rng = np.random.default_rng(len(source_table[0]) * 31 + len(source_table[1]))
    for declared_only in (False, True):
        frame = random_frame(rng, contract, declared_only)
        found = contracts._values(contract, frame)
        assert found == reference_values(contract, frame)
        if source_table == ("breitbandatlas", "observations") and declared_only:
            # the frames do hold problems: ranges, infinities, wrong units
            assert {"finite", "maximum", "minimum", "unit"} <= {w for v in found for w in v.problem.split()
                                                                if w in ("finite", "maximum", "minimum", "unit")}
