"""Tool: the year-on-year findings of a kept build per source and release, with their keys, before the allow-list.

Run on demand from the repository root (reads the build only)::

    .venv/bin/python benchmarks/allowlist_keys.py BUILD [--source destatis_gemeindeverzeichnis]

``BUILD`` is a folder kept by ``benchmarks/run_all.py --keep`` (its ``warehouse/``) or a snapshot refresh's warehouse
folder (``readiness.duckdb`` and ``readiness.staging/`` in it). What an ``allowlist.yaml`` entry with ``ags: [...]``
lists: the keys whose findings were reviewed, not a whole release (a whole release allowed lets any figure of it
pass unchecked).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    import duckdb

    from sources import contracts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("--source", action="append", help="source ids (default: every source with bounds)")
    args = parser.parse_args(argv)
    folder = args.build / "warehouse" if (args.build / "warehouse").is_dir() else args.build
    con = duckdb.connect()
    con.execute(f"ATTACH '{folder / 'readiness.duckdb'}' AS p (READ_ONLY)")
    con.execute(f"ATTACH '{folder / 'readiness.staging' / 'population_area.duckdb'}' AS s (READ_ONLY)")
    con.execute("CREATE VIEW observations AS SELECT * FROM p.observations")
    con.execute("CREATE VIEW municipality_register AS SELECT * FROM s.municipality_register")
    con.execute("CREATE VIEW territorial_changes AS SELECT * FROM p.territorial_changes")
    findings = contracts.year_on_year(con, args.source)
    for (source, release), group in findings.groupby(["source_id", "vintage"]):
        print(f"{source} {release}: {len(group)} findings, measures {sorted(group['measure'].unique())}")
        print(f"  ags: {sorted(group['ags'].unique())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
