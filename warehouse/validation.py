"""Validation of a candidate warehouse before it replaces the published one.

Each check returns a ``Finding``: whether it passed, the problems (named so an analyst can act),
and figures for the Dagster UI. The blocking asset checks in pipelines/checks.py run them on
the candidate; the swap runs them again, so nothing unchecked is ever published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.registry import registry

# current rows of these views/tables must be unique per key: the primary keys of warehouse/tables.yaml
KEYS = registry().published_keys()
MAX_SHRINK = 0.10  # a table losing more than 10 % of its rows against the last publish blocks the publish


def pillar_score_columns() -> list[str]:
    """The index score and every pillar of indicators/catalogue.yaml (generated, never a hand-kept list)."""
    from indicators.catalogue import load_catalogue

    return ["score", *load_catalogue().pillars]


PILLAR_SCORE_COLUMNS = pillar_score_columns()
SCORE_COLUMNS = [*PILLAR_SCORE_COLUMNS, "score_p05", "score_median", "score_p95"]


@dataclass
class Finding:
    passed: bool
    problems: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)


def no_duplicate_keys(con: duckdb.DuckDBPyConnection) -> Finding:
    """No two current rows share a key."""
    duplicates = {}
    for table, key in KEYS.items():
        columns = ", ".join(key)
        duplicates[table] = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    problems = [f"{table}: {n} keys ({', '.join(KEYS[table])}) occur more than once"
                for table, n in duplicates.items() if n]
    return Finding(not problems, problems, duplicates)


def towns_complete(con: duckdb.DuckDBPyConnection, pilot_towns: list[str]) -> Finding:
    """Every town of the reference group has an index row in every period; the pilot towns a score."""
    missing = con.execute("""
        WITH periods AS (SELECT DISTINCT period FROM readiness_index
                         WHERE method_version = (SELECT method_version FROM current_method)),
             towns AS (SELECT ags FROM municipalities WHERE in_reference_group)
        SELECT t.ags, p.period FROM towns t CROSS JOIN periods p
        ANTI JOIN (SELECT * FROM readiness_index WHERE method_version = (SELECT method_version FROM current_method)) r
          ON r.ags = t.ags AND r.period = p.period
        ORDER BY ALL
    """).fetchall()
    scored = {row[0] for row in con.execute("""
        SELECT ags FROM latest_ranking WHERE score IS NOT NULL""").fetchall()}
    unscored = sorted(set(pilot_towns) - scored)
    problems = ([f"{len(missing)} (town, period) pairs of the reference group have no index row, e.g. {missing[:5]}"]
                if missing else [])
    problems += [f"pilot towns without a score in the latest period: {unscored}"] if unscored else []
    towns = con.execute("SELECT count(*) FROM municipalities WHERE in_reference_group").fetchone()[0]
    return Finding(not problems, problems, {"reference_towns": towns, "missing_rows": len(missing),
                                            "pilots_unscored": len(unscored)})


def values_in_range(con: duckdb.DuckDBPyConnection) -> Finding:
    """Scores within 0-100, ranks within 1..compared towns, bands ordered (p05 <= median <= p95);
    counts percent indicator values outside 0-101 without blocking."""
    out_of_range = " OR ".join(f"NOT coalesce({c} BETWEEN 0 AND 100, TRUE)" for c in SCORE_COLUMNS)
    counts = con.execute(f"""
        SELECT count(*) FILTER ({out_of_range}),
               count(*) FILTER (NOT coalesce(rank BETWEEN 1 AND compared_towns, TRUE)),
               count(*) FILTER (NOT coalesce(rank_p05 <= rank_median AND rank_median <= rank_p95, TRUE)),
               count(*) FILTER (NOT coalesce(score_p05 <= score_median AND score_median <= score_p95, TRUE))
        FROM readiness_index
    """).fetchone()
    percent = con.execute("""SELECT count(*) FROM indicator_values
                             WHERE unit LIKE '\\% of %' ESCAPE '\\' AND NOT value BETWEEN 0 AND 101""").fetchone()[0]
    names = ["scores outside 0-100", "ranks outside 1..compared_towns", "rank bands out of order",
             "score bands out of order"]
    figures = dict(zip(names, counts))
    problems = [f"readiness_index: {n} {name}" for name, n in figures.items() if n]
    # publisher figures above 100 % exist (e.g. INKAR long-distance commuters 110 % in one Gemeinde): the
    # goalposts cap them in the index, so they are reported here but do not block
    figures["percent indicator values outside 0-101 (publisher figures, not blocking)"] = percent
    return Finding(not problems, problems, figures)


def row_counts_not_collapsing(candidate: dict[str, int], previous: dict[str, int], allow_shrink: bool) -> Finding:
    """No table or view lost more than MAX_SHRINK of its rows against the last publish."""
    shrunk = {name: (previous[name], n) for name, n in candidate.items()
              if previous.get(name) and n < (1 - MAX_SHRINK) * previous[name]}
    problems = [f"{name}: {new} rows, was {old} at the last publish" for name, (old, new) in shrunk.items()]
    if problems and allow_shrink:
        return Finding(True, [], {"shrunk (allowed by READINESS_ALLOW_SHRINK)": len(shrunk)})
    figures = {"compared": len(set(candidate) & set(previous)), "shrunk": len(shrunk),
               "previous_publish": bool(previous)}
    return Finding(not problems, problems, figures)


def validate_candidate(candidate: Path, published: Path, pilot_towns: list[str],
                       allow_shrink: bool = False) -> dict[str, Finding]:
    """Every check on the candidate file (read-only), the row counts against the published file."""
    from warehouse.publish import row_counts

    with duckdb.connect(str(candidate), read_only=True) as con:
        findings = {"no_duplicate_keys": no_duplicate_keys(con),
                    "towns_complete": towns_complete(con, pilot_towns),
                    "values_in_range": values_in_range(con)}
        new_counts = row_counts(con)
    previous_counts = {}
    if published.exists():
        with duckdb.connect(str(published), read_only=True) as con:
            previous_counts = row_counts(con)
    findings["row_counts_not_collapsing"] = row_counts_not_collapsing(new_counts, previous_counts, allow_shrink)
    return findings
