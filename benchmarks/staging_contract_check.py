"""Benchmark: one staged contract check, the pandas path (DuckDB's ``df()`` + ``check_table`` per vintage, what
pipelines/checks.py ran before) or the SQL path (``contracts.check_staged``), on a kept build's staging file.

Run on demand from the repository root, each path in its own process (max RSS is the process's)::

    .venv/bin/python benchmarks/staging_contract_check.py BUILD broadband_coverage breitbandatlas pandas
    .venv/bin/python benchmarks/staging_contract_check.py BUILD commuting inkar sql

``BUILD`` is a folder kept by ``benchmarks/run_all.py --keep``; its staging file is opened read-only.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    import duckdb
    import pandas as pd

    from sources import contracts

    pd.set_option("mode.copy_on_write", True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("step", help="staging file, e.g. broadband_coverage")
    parser.add_argument("source", help="source id, e.g. breitbandatlas")
    parser.add_argument("path", choices=["pandas", "sql"])
    args = parser.parse_args(argv)
    con = duckdb.connect(str(args.build / "warehouse" / "readiness.staging" / f"{args.step}.duckdb"), read_only=True)
    table, contract = f"stg_{args.source}__observations", contracts.CONTRACTS[args.source]["observations"]
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    checked = ", ".join(f'"{c}"' for c in columns if c in contracts.columns_checked(contract))
    started, cpu, rows, problems = time.perf_counter(), time.process_time(), 0, []
    for (vintage,) in con.execute(f"SELECT DISTINCT vintage FROM {table} WHERE source_id = ?", [args.source]).fetchall():
        where, params = "source_id = ? AND vintage = ?", [args.source, vintage]
        if args.path == "pandas":
            frame = con.execute(f"SELECT {checked} FROM {table} WHERE {where}", params).df()
            rows, problems = rows + len(frame), problems + contracts.check_table(contract, frame, None, vintage)
        else:
            count, found = contracts.check_staged(con, contract, table, where, params)
            rows, problems = rows + count, problems + found
    print(f"{args.path} {args.source}: {rows} rows, {len(problems)} violations, {time.perf_counter() - started:.2f} s "
          f"wall, {time.process_time() - cpu:.2f} CPU s, max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
