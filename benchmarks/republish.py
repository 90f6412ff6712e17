"""A publish onto the previous warehouse, as every monthly refresh after the first builds it: seconds and memory.

Run on demand on a folder a full refresh left (``benchmarks/run_all.py --keep DIR``, or a copy of it)::

    .venv/bin/python benchmarks/republish.py DIR [--unchanged]

``DIR/warehouse`` must hold the working files and the published file; they are copied into a temporary folder and
only read there. The working copy is revised as ``benchmarks/history_merge.py`` revises it (values changed, rows
dropped, notes set and cleared, releases withdrawn; ``--unchanged``: as it is), then
``warehouse.publish.build_candidate`` builds the next warehouse onto the copied published file with the project's
own memory limit (``CANDIDATE_MEMORY``) and its merge in parts (``history.merge_parts``). Prints the wall and CPU seconds, the peak RSS of this
process and the history merge's counts; exits 1 when the build fails.

Why: the cold refresh (run_all.py) publishes onto nothing and merges no history, and history_merge.py merges
without the candidate's memory limit; neither saw that every later publish of the Germany-wide data ran out of
the candidate's 256 MB in the history merge (5 December 2026).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def republish(folder: Path, revise: bool = True) -> dict:
    """Build a candidate onto ``folder``'s published warehouse from its (revised) working files, in a temporary
    copy; wall and CPU seconds, peak RSS MiB of this process, the merge counts or the error."""
    import duckdb

    from benchmarks.history_merge import CHANGES
    from warehouse.publish import build_candidate

    with tempfile.TemporaryDirectory(prefix="republish.") as tmp:
        copy = Path(tmp) / "warehouse"
        shutil.copytree(folder / "warehouse", copy, ignore=shutil.ignore_patterns("*.lock", "*.tmp", "*.candidate*"))
        if revise:
            with duckdb.connect(str(copy / "readiness.work.duckdb")) as con:
                for sql in CHANGES:
                    con.execute(sql)
        run = {"run_id": "republish", "mode": "directory", "method_version": _method(copy / "readiness.duckdb")}
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            changes = build_candidate(copy / "readiness.work.duckdb", copy / "readiness.duckdb",
                                      copy / "readiness.candidate.duckdb", run)
            outcome = {"success": True, "history": changes["history"]}
        except Exception as error:  # noqa: BLE001 - the benchmark reports any failure of the build
            outcome = {"success": False, "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
        return {**outcome, "seconds": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _method(published: Path) -> str:
    """The method version of the published warehouse's latest publish."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute("SELECT method_version FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder a full refresh left (DIR/warehouse/...)")
    parser.add_argument("--unchanged", action="store_true", help="publish the working files as they are")
    args = parser.parse_args(argv)
    result = republish(args.folder, revise=not args.unchanged)
    print(f"publish onto the previous warehouse: {'success' if result['success'] else 'FAILED'} in "
          f"{result['seconds']:.1f} s (CPU {result['cpu_s']:.1f} s), peak RSS {result['peak_rss_mib']:.0f} MiB")
    for table, counts in result.get("history", {}).items():
        print(f"  {table}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if not result["success"]:
        print(f"  {result['error']}")
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
