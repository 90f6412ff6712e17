"""Do two published warehouses show planners the same rows? EXCEPT ALL both ways, per view.

Run on demand, e.g. to check that a speed-up changed no result (docs/performance.md)::

    .venv/bin/python benchmarks/compare_views.py BEFORE.duckdb AFTER.duckdb

Every view of either file (warehouse/views.sql: the planner views and the published tables' views) is
compared with the same view of the other, as multisets of rows (a view on one side only: all its rows differ);
``--tables``: every base table too (``publish_log`` then differs between any two builds: one row per publish, with
its run id; the history tables of a warehouse published more than once keep closed versions). Columns of type TIMESTAMP are left out: they say when a run published or
landed something (``published_at``, ``valid_from``, ``latest_ingested_at``), which differs between any two
runs. Prints the rows only in the first, only in the second, and both counts; exits 1 when any view differs.
Both files are opened read-only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def compare(before: Path, after: Path, ignore: frozenset[str] = frozenset(),
            tables: bool = False) -> list[tuple[str, int, int, int, int]]:
    """(relation, rows before, rows after, only before, only after) for every view of either file (and with
    ``tables`` every base table), over the columns both sides have (a column added or dropped between the builds is
    printed, not compared) but ``ignore``'s. A relation on one side only counts all its rows as only there."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    listing = ("SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal"
               + (" UNION SELECT table_name FROM duckdb_tables() WHERE database_name = ?" if tables else ""))
    names = {side: {r[0] for r in con.execute(listing, [side] * (2 if tables else 1)).fetchall()} for side in "ab"}
    results = []
    for name in sorted(names["a"] | names["b"]):
        count = {side: con.execute(f'SELECT count(*) FROM {side}."{name}"').fetchone()[0] if name in names[side] else 0
                 for side in "ab"}
        if not (name in names["a"] and name in names["b"]):
            print(f"{name}: only {'before' if name in names['a'] else 'after'}")
            results.append((name, count["a"], count["b"], count["a"], count["b"]))
            continue
        described = {side: {column: kind for column, kind, *_ in con.execute(f'DESCRIBE {side}."{name}"').fetchall()}
                     for side in "ab"}
        for side, other in (("a", "b"), ("b", "a")):
            if set(described[side]) - set(described[other]):
                print(f"{name}: only {'before' if side == 'a' else 'after'}: "
                      f"{', '.join(sorted(set(described[side]) - set(described[other])))} (not compared)")
        columns = [column for column, kind in described["a"].items()
                   if column in described["b"] and not kind.startswith("TIMESTAMP") and column not in ignore]
        select = ", ".join(f'"{c}"' for c in columns)
        only = {side: con.execute(f'SELECT count(*) FROM (SELECT {select} FROM {side}."{name}" EXCEPT ALL '
                                  f'SELECT {select} FROM {other}."{name}")').fetchone()[0]
                for side, other in (("a", "b"), ("b", "a"))}
        results.append((name, count["a"], count["b"], only["a"], only["b"]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tables", action="store_true", help="compare every base table too (publish_log always differs: run ids)")
    args = parser.parse_args(argv)
    results = compare(args.before, args.after, tables=args.tables)
    print(f"{'view':<24} {'rows before':>12} {'rows after':>11} {'only before':>12} {'only after':>11}")
    for view, rows_a, rows_b, only_a, only_b in results:
        print(f"{view:<24} {rows_a:>12} {rows_b:>11} {only_a:>12} {only_b:>11}")
    differing = [r for r in results if r[3] or r[4]]
    print(f"{len(results)} {'relations' if args.tables else 'views'}, {len(differing)} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
