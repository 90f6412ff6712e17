"""Do two published warehouses show planners the same rows? EXCEPT ALL both ways, per view.

Run on demand, e.g. to check that a speed-up changed no result (docs/performance.md)::

    .venv/bin/python benchmarks/compare_views.py BEFORE.duckdb AFTER.duckdb

Every view of the first file (warehouse/views.sql: the planner views and the published tables'
views) is compared with the same view of the second, as multisets of rows. Columns of type
TIMESTAMP are left out: they say when a run published or landed something (``published_at``,
``valid_from``, ``latest_ingested_at``), which differs between any two runs. Prints the rows only
in the first, only in the second, and both counts; exits 1 when any view differs. Both files are
opened read-only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def compare(before: Path, after: Path, ignore: frozenset[str] = frozenset()) -> list[tuple[str, int, int, int, int]]:
    """(view, rows before, rows after, only before, only after) for every view of ``before``, over the columns both
    sides have (a column added or dropped between the builds is printed, not compared) but ``ignore``'s."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = 'a' "
                                       "AND NOT internal ORDER BY view_name").fetchall()]
    results = []
    for view in views:
        described = {side: {name: kind for name, kind, *_ in con.execute(f'DESCRIBE {side}."{view}"').fetchall()}
                     for side in "ab"}
        for side, other in (("a", "b"), ("b", "a")):
            if set(described[side]) - set(described[other]):
                print(f"{view}: only {'before' if side == 'a' else 'after'}: "
                      f"{', '.join(sorted(set(described[side]) - set(described[other])))} (not compared)")
        columns = [name for name, kind in described["a"].items()
                   if name in described["b"] and not kind.startswith("TIMESTAMP") and name not in ignore]
        select = ", ".join(f'"{c}"' for c in columns)
        count = {side: con.execute(f'SELECT count(*) FROM {side}."{view}"').fetchone()[0] for side in "ab"}
        only = {side: con.execute(f'SELECT count(*) FROM (SELECT {select} FROM {side}."{view}" EXCEPT ALL '
                                  f'SELECT {select} FROM {other}."{view}")').fetchone()[0]
                for side, other in (("a", "b"), ("b", "a"))}
        results.append((view, count["a"], count["b"], only["a"], only["b"]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    results = compare(args.before, args.after)
    print(f"{'view':<24} {'rows before':>12} {'rows after':>11} {'only before':>12} {'only after':>11}")
    for view, rows_a, rows_b, only_a, only_b in results:
        print(f"{view:<24} {rows_a:>12} {rows_b:>11} {only_a:>12} {only_b:>11}")
    differing = [r for r in results if r[3] or r[4]]
    print(f"{len(results)} views, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
