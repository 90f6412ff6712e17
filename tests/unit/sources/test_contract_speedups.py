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


def reference_keys(contract, frame: pd.DataFrame) -> list[Violation]:
    """``_keys`` before: masks and string copies per level (the level/key rules only)."""
    violations = []
    levels = contracts._level_of(contract, frame)
    unknown = ~levels.isin(list(contract.levels))
    for i in unknown[unknown].index[:contracts.MAX_EXAMPLES]:
        violations.append(Violation(contract.table, f"level {levels[i]!r} not allowed (allowed: "
                                    f"{sorted(contract.levels)})", i + 1, "level", frame.at[i, contract.key]))
    for level, pattern in contract.levels.items():
        keys = frame.loc[levels == level, contract.key].astype(str)
        bad = keys.isin(_mismatching(keys, pattern))
        for i in bad[bad].index[:contracts.MAX_EXAMPLES]:
            key = frame.at[i, contract.key]
            violations.append(Violation(contract.table, f"{level} key {key!r} does not match {pattern}",
                                        i + 1, contract.key, str(key)))
    return violations


@pytest.mark.parametrize("source_table", [(s, t) for s, tables in CONTRACTS.items() for t in tables
                                          if CONTRACTS[s][t].levels])
def test_key_rules_equal_the_per_level_reference(source_table):
    contract = CONTRACTS[source_table[0]][source_table[1]]
    rng = np.random.default_rng(len(source_table[0]) * 7 + len(source_table[1]))
    n = 4000
    frame = pd.DataFrame({contract.key: rng.choice(["01001000", "0100100", "01001", "01", "DG", "17001", None], n),
                          "level": rng.choice([*contract.levels, "ortsteil", None], n)})
    for case in (frame, frame[frame["level"].isin(list(contract.levels))].reset_index(drop=True)):
        found = [v for v in contracts._keys(contract, case) if v.column in ("level", contract.key)]
        assert found == reference_keys(contract, case)
        assert found  # the frames do break the key rules


def reference_dates(frame: pd.DataFrame, vintage, contract, missing) -> list:
    """The date groups of ``_registered`` before: every cell converted, then grouped by the dates."""
    import datetime as dt

    dates = contracts._dates(frame, vintage).fillna(missing)
    if contract.territory_of_vintage and vintage:
        dates = pd.Series(dt.date.fromisoformat(contracts.vintage_start(vintage)), index=frame.index)
    return [(date, list(rows)) for date, rows in dates.groupby(dates).groups.items()]


@pytest.mark.parametrize("source_table", [(s, t) for s, tables in CONTRACTS.items() for t in tables])
def test_date_groups_equal_the_per_row_reference(source_table):
    import datetime as dt

    contract = CONTRACTS[source_table[0]][source_table[1]]
    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame({"ags": ["01001000"] * n})
    column = "territorial_date" if source_table[1] == "register" else "reference_date"
    frame[column] = rng.choice(np.array([dt.date(2020, 12, 31), pd.Timestamp("2021-06-30"), None,
                                         dt.date(2019, 12, 31)], dtype=object), n)
    for case, vintage in ((frame, "2021-1"), (frame[["ags"]], "2022-12-31"), (frame[["ags"]], "2021-1")):
        new = [(date, list(rows)) for date, rows in contracts._date_groups(case, vintage, contract, dt.date(2023, 1, 1))]
        assert new == reference_dates(case, vintage, contract, dt.date(2023, 1, 1))


def test_duplicated_from_shared_codes_equals_pandas():
    """``_duplicated`` from the table's shared codes marks the rows ``DataFrame.duplicated`` marks: missing values
    (None, NaN, NaT) all equal, mixed types, dates; one column, no rows and a missing column as pandas does."""
    import datetime as dt

    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({"ags": rng.choice(np.array(["01001000", "01001", None, np.nan, 1001], dtype=object), n),
                          "level": rng.choice(np.array(["gemeinde", "kreis", None], dtype=object), n),
                          "measure": rng.choice(np.array(["a", "b", "c", np.nan], dtype=object), n),
                          "reference_date": rng.choice(np.array([dt.date(2021, 6, 30), pd.NaT, None,
                                                                 dt.date(2022, 6, 30)], dtype=object), n),
                          "value": rng.choice([1.0, np.nan, -0.0, 0.0], n)})
    for columns in (["ags", "level", "measure", "reference_date"], ["ags", "value"], ["measure", "level"], ["ags"]):
        for case in (frame.iloc[:0], frame.iloc[:7], frame):
            expected = case.duplicated(columns, keep="first")
            found = contracts._duplicated(case, columns, contracts.Factorized(case))
            pd.testing.assert_series_equal(found, expected)
        assert found.any() and not found.all()  # the whole frame has both
    with pytest.raises(KeyError):
        contracts._duplicated(frame, ["ags", "no_such_column"], contracts.Factorized(frame))


@pytest.mark.parametrize("source_table", [(s, t) for s, tables in CONTRACTS.items() for t in tables
                                          if CONTRACTS[s][t].required_levels])
def test_levels_present_from_shared_codes_equal_the_pandas_reference(source_table):
    """The levels found from the shared codes are the level column's distinct values without missing ones."""
    contract = CONTRACTS[source_table[0]][source_table[1]]
    frame = pd.DataFrame({contract.key: ["01001000"] * 4, "level": ["kreis", None, np.nan, "ortsteil"]})
    found = contracts._levels_present(contract, frame, contracts.Factorized(frame))
    expected = contracts._missing_levels(contract, set(contracts._level_of(contract, frame).dropna().unique()))
    assert found == expected
