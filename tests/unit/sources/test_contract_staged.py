"""The staged contract check in SQL (``contracts.check_staged``) reaches the verdicts of the pandas
``check_table`` it replaced in pipelines/checks.py: on random frames with every kind of problem, stored in
DuckDB, for every declared contract, the same rules fail for the same measures, columns and levels."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from sources import contracts
from sources.contracts import CONTRACTS


def signature(violation: contracts.Violation) -> tuple:
    """What a violation says without its example (the first row in pandas, the sorted/extreme one in SQL)."""
    problem = violation.problem
    problem = re.sub(r"^(\S+): \S+ (is not a|below|above)", r"\1: <v> \2", problem)
    problem = re.sub(r"unit '.*?'", "unit <u>", problem)
    problem = re.sub(r"key .* (does not match|occurs more than once)", r"key <k> \1", problem)
    problem = re.sub(r"level .* not allowed", "level <l> not allowed", problem)
    return problem, violation.column


def random_frame(rng, contract, n: int = 3000) -> pd.DataFrame:
    """Rows of the contract's columns with bad keys, levels, duplicates, units and values mixed in."""
    keys = ["01001000", "0100100", "01001", "01", "DG", "17001000", None]
    measures = ["households_all_16", "households_all_1000", "population_total", "area_km2", "out_commuters",
                "share_out_commuters", "employees_residence"]
    frame = pd.DataFrame({"ags": rng.choice(keys, n), "level": rng.choice([*contract.levels, "ortsteil", None], n),
                          "measure": rng.choice(measures, n),
                          "value": rng.choice([1.0, 2.5, 99.0, 100.5, 101.5, -1.0, np.nan, np.inf, -np.inf, 3.0], n),
                          "unit": rng.choice(["% of households", "persons", "km2", "%", None], n)})
    for column, kind in contract.columns.items():
        if column in frame:
            continue
        if kind == "date":
            frame[column] = pd.to_datetime(rng.choice(["2020-12-31", "2021-06-30"], n))
        elif kind in ("number", "integer"):
            frame[column] = rng.choice([1, 2, 7, -4], n).astype("int64" if kind == "integer" else "float64")
        else:
            frame[column] = rng.choice(keys, n)
    for column in [c for c, _ in contract.keys] + [c for c in contract.unique if c not in frame]:
        frame[column] = rng.choice(keys, n)
    for column in contract.values:
        frame[column] = rng.choice([1, 2.5, np.nan, -3, 1e9], n)
    return frame


def both(contract, frame: pd.DataFrame) -> tuple[list, list]:
    """(pandas check_table on the frame as the staged check read it, check_staged on the stored table)."""
    con = duckdb.connect()
    con.register("incoming", frame)
    con.execute("CREATE TABLE staged AS SELECT * FROM incoming")
    # the frame as DuckDB gives it back (what the old check read)
    stored = con.execute("SELECT * FROM staged").df()
    old = contracts.check_table(contract, stored, None, "2021-1")
    rows, new = contracts.check_staged(con, contract, "staged")
    assert rows == len(frame)
    return old, new


@pytest.mark.parametrize("source_table", [(s, t) for s, tables in CONTRACTS.items() for t in tables])
def test_staged_check_fails_the_rules_check_table_fails(source_table):
    contract = CONTRACTS[source_table[0]][source_table[1]]
    rng = np.random.default_rng(len(source_table[0]) * 17 + len(source_table[1]))
    frame = random_frame(rng, contract)
    if contract.measures:  # undeclared measures hide every value finding: also a frame of declared ones only
        declared = frame[frame["measure"].map(lambda m: contract.rule_for(m) is not None)].reset_index(drop=True)
        frames = [frame, declared, declared.drop_duplicates(list(contract.unique) or None)]
    else:
        frames = [frame, frame.drop_duplicates(list(contract.unique) or None)]
    for number, case in enumerate(frames):
        old, new = both(contract, case)
        assert {signature(v) for v in new} == {signature(v) for v in old}
        assert old or number > 0  # the mixed frame always breaks its contract: the comparison is not empty


def test_breitbandatlas_findings_are_real_and_a_good_table_passes():
    contract = CONTRACTS["breitbandatlas"]["observations"]
    good = pd.DataFrame({"ags": ["01001000", "01001", "DG"], "level": ["gemeinde", "kreis", "bund"],
                         "reference_date": [dt.date(2021, 6, 30)] * 3, "measure": ["households_all_1000"] * 3,
                         "value": [55.0, 60.5, 100.4], "unit": ["% of households"] * 3})
    assert both(contract, good) == ([], [])
    bad = pd.concat([good, good.iloc[[0]].assign(value=140.0)], ignore_index=True)
    old, new = both(contract, bad)
    # a duplicated key and a value above 100 + the tolerance, in both; the date printed as DuckDB gives it
    assert [v.problem for v in new][1:] == [v.problem for v in old][1:] == [
        "households_all_1000: 140 above the maximum 100 + rounding tolerance 0.5 (1 values)"]
    key = "key ags=01001000, level=gemeinde, measure=households_all_1000, reference_date=2021-06-30"
    assert new[0].problem == key + " occurs more than once" and old[0].problem.startswith(key)


def test_a_column_of_the_wrong_type_fails_both():
    contract = CONTRACTS["breitbandatlas"]["observations"]
    frame = pd.DataFrame({"ags": ["01001000"], "level": ["gemeinde"], "reference_date": ["2021-06-30"],
                          "measure": ["households_all_1000"], "value": [55.0], "unit": ["% of households"]})
    old, new = both(contract, frame)
    assert [v.column for v in old] == [v.column for v in new] == ["reference_date"]
    assert "not of type date" in new[0].problem


def test_a_missing_column_and_too_few_rows():
    contract = CONTRACTS["breitbandatlas"]["observations"]
    con = duckdb.connect()
    con.execute("CREATE TABLE staged AS SELECT '01001000' AS ags")
    rows, found = contracts.check_staged(con, contract, "staged")
    assert found[0].problem.startswith("parser output lacks the columns ['level'")


def test_a_where_with_or_stays_one_condition():
    # the rules append "AND ..." to the caller's condition; "a OR b AND measure IS NOT NULL" would let a row
    # without a measure through and report it as an undeclared measure
    contract = CONTRACTS["breitbandatlas"]["observations"]
    con = duckdb.connect()
    con.execute("""CREATE TABLE staged AS SELECT * FROM (VALUES
        ('x', '01001000', 'gemeinde', DATE '2021-06-30', 'households_all_1000', 55.0, '% of households'),
        ('x', '01002000', 'gemeinde', DATE '2021-06-30', NULL, NULL, '% of households'),
        ('y', '01001', 'kreis', DATE '2021-06-30', 'households_all_1000', 60.5, '% of households'))
        t(source_id, ags, level, reference_date, measure, value, unit)""")
    rows, found = contracts.check_staged(con, contract, "staged", "source_id = ? OR source_id = ?", ["x", "y"])
    assert rows == 3
    assert not [v for v in found if "is not declared" in v.problem]


def test_the_hash_shortcut_of_unique_keys_keeps_the_exact_verdicts():
    # distinct hashes only prove that no key repeats; NULLs count as equal (as pandas' duplicated), a NULL in
    # another column is another key, and a float key takes the exact GROUP BY (-0.0 equals 0.0 there)
    contract = contracts.TableContract("flows", unique=("home", "work"), key="home")
    con = duckdb.connect()
    con.execute("""CREATE TABLE staged AS SELECT * FROM (VALUES ('01', NULL, 1.0), (NULL, '01', 0.0),
                   ('02', '03', -0.0), (NULL, '01', 2.0)) t(home, work, x)""")
    types = {"home": "VARCHAR", "work": "VARCHAR", "x": "DOUBLE"}
    rows, found = contracts.check_staged(con, contract, "staged")
    assert [v.problem for v in found] == ["key home=None, work=01 occurs more than once"]
    assert not contracts._distinct_hashes(con, contract, types, '"home", "work"', "FROM staged WHERE (TRUE)", [])
    assert contracts._distinct_hashes(con, contract, types, '"home", "work"', "FROM staged WHERE (x > 0)", [])
    floats = contracts.TableContract("flows", unique=("x",), key="home")
    assert not contracts._distinct_hashes(con, floats, types, '"x"', "FROM staged WHERE (TRUE)", [])
    assert [v.problem for v in contracts.check_staged(con, floats, "staged")[1]] == ["key x=0.0 occurs more than once"]


@pytest.mark.parametrize("values, flagged", [([0.0, 0.25, 0.9] * 4, True), ([0.0, 0.25, 0.9] * 3, False),
                                             ([0.0, 0.25, 90.0] * 4, False), ([0.0] * 12, False)])
def test_a_percentage_in_shares_0_to_1_fails_both(values, flagged):
    """At least SHARE_EVIDENCE (10) values of a percentage, all between 0 and 1 and not all 0: 55 % read as 0.55."""
    contract = CONTRACTS["breitbandatlas"]["observations"]
    assert contract.rule_for("households_all_16").percent and contracts.SHARE_EVIDENCE == 10
    frame = pd.DataFrame({"ags": [f"0105{i:04d}" for i in range(len(values))], "level": "gemeinde",
                          "measure": "households_all_16", "value": values, "unit": "% of households",
                          "reference_date": pd.Timestamp("2021-06-30")})
    old, new = both(contract, frame)
    expected = [f"households_all_16: all {len(values)} values lie between 0 and 1 (largest 0.9): shares 0-1 where "
                "percent (0-100) is declared; the publisher's scale changed?"] if flagged else []
    assert [v.problem for v in new] == [v.problem for v in old] == expected
