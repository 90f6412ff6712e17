"""The history merge of this code against another revision's, on a full build: same rows, CPU seconds of each.

Run on demand on a folder a full refresh left (``benchmarks/run_all.py --keep DIR``, or a copy of it)::

    .venv/bin/python benchmarks/history_merge.py DIR [--against main]

``DIR/warehouse`` must hold the working files and the published file; they are copied into a temporary
folder and only read there. The working copy's ``indicator_values``, ``readiness_index`` and ``releases``
are then changed (values revised, rows dropped, notes set and cleared, a method version renamed, releases
withdrawn), so that merging them onto the published file closes, keeps and opens versions. Three cases,
each merged by both revisions into fresh candidate files with the same publish time: a first publish (no
previous file), the changed data on top of the published file, and the unchanged data on top of that
result (every change reverted). Prints the merge counts and CPU seconds (``time.process_time``) of each
revision and, per history table, the rows only one of them wrote (EXCEPT ALL both ways): all 0 when
the two merges are the same. ``--against`` names the git revision whose ``warehouse/history.py`` is compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHANGES = [  # what a later release might do to the working tables (hash-picked rows: the same on every run)
    "UPDATE indicator_values SET value = value * 1.01 WHERE hash(ags, indicator_id, period) % 997 = 0",
    "DELETE FROM indicator_values WHERE hash(ags, indicator_id, period) % 991 = 1",
    "UPDATE indicator_values SET quality_note = NULL WHERE quality_note IS NOT NULL AND hash(ags) % 50 = 2",
    "UPDATE indicator_values SET quality_note = 'neu' WHERE quality_note IS NULL AND hash(ags) % 60 = 3",
    "UPDATE readiness_index SET score = score + 0.5 WHERE hash(ags) % 101 = 0",
    "UPDATE readiness_index SET method_version = 'x' WHERE hash(ags) % 103 = 5",
    "DELETE FROM releases WHERE hash(source_id, vintage) % 7 = 0",
]


def other_revision(revision: str, folder: Path):
    """``warehouse/history.py`` of ``revision`` as a module of its own (it imports the rest from this tree)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:warehouse/history.py"],
                            check=True, capture_output=True, text=True).stdout
    path = folder / "history_other.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("history_other", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merge(module, work_db: Path, previous: Path | None, out: Path, now: dt.datetime) -> tuple[dict, float]:
    """Merge every history table as build_candidate does; (counts per table, CPU seconds of the merges)."""
    import duckdb

    from warehouse.paths import SCHEMA_SQL, duckdb_config
    from warehouse.publish import STORAGE_VERSION
    from warehouse.workdb import attach_working

    out.unlink(missing_ok=True)
    with duckdb.connect(str(out), config={"storage_compatibility_version": STORAGE_VERSION,
                                          **duckdb_config()}) as con:
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        attach_working(con, work_db, default=None, views=False)
        if previous is not None:
            con.execute(f"ATTACH '{previous}' AS previous (READ_ONLY)")
        counts, cpu = {}, 0.0
        for table in module.HISTORY_TABLES:
            start = time.process_time()
            counts[table] = module.merge_history(con, table, now, "previous" if previous else None)
            cpu += time.process_time() - start
    return counts, cpu


def differing_rows(first: Path, second: Path, tables) -> dict[str, tuple[int, int]]:
    """Per table: (rows only in ``first``, rows only in ``second``), as multisets."""
    import duckdb

    with duckdb.connect() as con:
        con.execute(f"ATTACH '{first}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{second}' AS b (READ_ONLY)")
        return {t: tuple(con.execute(f"SELECT count(*) FROM (SELECT * FROM {x}.{t} EXCEPT ALL SELECT * FROM {y}.{t})")
                         .fetchone()[0] for x, y in (("a", "b"), ("b", "a"))) for t in tables}


def main(argv: list[str] | None = None) -> int:
    import duckdb

    from warehouse import history

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder a full refresh left (DIR/warehouse/...)")
    parser.add_argument("--against", default="main", help="git revision to compare with (default: main)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="history_merge."))
    other = other_revision(args.against, tmp)
    original, changed = tmp / "original", tmp / "changed"
    for target in (original, changed):
        shutil.copytree(args.folder / "warehouse", target, ignore=shutil.ignore_patterns("*.lock", "*.tmp", "*.candidate*"))
    with duckdb.connect(str(changed / "readiness.work.duckdb")) as con:
        for sql in CHANGES:
            con.execute(sql)
    published = original / "readiness.duckdb"
    cases = [("first publish", changed, None, dt.datetime(2030, 1, 1), "first"),
             ("changed data on the published file", changed, published, dt.datetime(2030, 2, 1), "changed"),
             ("unchanged data on that result", original, "changed", dt.datetime(2030, 3, 1), "reverted")]
    same = True
    for label, work, previous, now, name in cases:
        for tag, module in ((args.against, other), ("this tree", history)):
            base = None if previous is None else (previous if isinstance(previous, Path)
                                                  else tmp / f"{previous}.{id(module)}.duckdb")
            counts, cpu = merge(module, work / "readiness.work.duckdb", base, tmp / f"{name}.{id(module)}.duckdb", now)
            print(f"{label}, {tag}: CPU {cpu:.2f} s; " + "; ".join(
                f"{t}: previous/closed/opened/current {c['previous_versions']}/{c['closed']}/{c['opened']}/"
                f"{c['current']}" for t, c in counts.items()))
        rows = differing_rows(tmp / f"{name}.{id(other)}.duckdb", tmp / f"{name}.{id(history)}.duckdb",
                              history.HISTORY_TABLES)
        same &= not any(a or b for a, b in rows.values())
        print("  rows only in one of them: " + ", ".join(f"{t} {a}/{b}" for t, (a, b) in rows.items()))
    shutil.rmtree(tmp)
    print("same rows in every case" if same else "THE MERGES DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
