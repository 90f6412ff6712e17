"""Benchmark: a new release arrives, on the Germany-wide files. Does the monthly refresh redo only what it must,
and publish what a cold build of the same files publishes?

Run on demand from the repository root (a benchmark, not a test)::

    .venv/bin/python benchmarks/new_release.py                    # the Breitbandatlas' 2021 releases arrive
    .venv/bin/python benchmarks/new_release.py --hold-back 'destatis-gemeindeverzeichnis/Gebietsaenderungen_2025*' \
        --keep /tmp/x                                             # a change list arrives

Three incremental refreshes (pipelines/incremental.py, directory mode, the reference group's pages; each in a
child process, as benchmarks/run_all.py runs them):

  before    a folder of symbolic links to the source files but the held-back ones, into an empty folder: the
            state before the release
  arrival   links to the held-back files added to that folder, then into the same warehouse folder and Dagster
            instance: the release arrives, as on a monthly refresh. Printed: what it re-ran, its wall and CPU
            seconds, its peak RSS, and how many town pages and export files it rewrote
  cold      the same folder into an empty one

Then the arrival's published file is compared with the cold one's, every view and table (benchmarks/compare_views.py,
timestamps left out), and its town pages with the cold build's, file by file: a refresh that only redoes what
changed must publish what a cold one does. Only the history tables (the registry's; the versions the before-run
published stay, closed) and ``publish_log`` (one row per publish) may differ; their current rows are what the views
show, which must not. Both page builds stop the clock (SOURCE_DATE_EPOCH) and the times a release was landed are
left out, so equal pages are equal bytes. The exports are the views written out (tests/integration/test_exports.py)
and carry publishing times: not compared. A before-run that fails (a source every build needs held back, an
allow-list of reviewed keys that the remaining releases do not match) or an arrival that runs nothing (files of no
source) ends the benchmark. Everything is written into a temporary folder (``--keep DIR`` keeps it). Exit status 1
when a run fails or runs nothing, or a relation or a page differs.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import re
import sys
import tempfile
import time
import zipfile
from contextlib import nullcontext
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.compare_views import compare  # noqa: E402
from benchmarks.run_all import DEFAULT_SOURCE_DIR, run_child  # noqa: E402

DEFAULT_HOLD_BACK = ("breitbandatlas/*privat_2021_*",)  # the Gemeinde release of mid-2021 and its Kreis/Land files
# when a run landed a release ("geladen am" on the pages): differs between any two runs, as the views' timestamps do
LANDED = re.compile(rb"\d\d\.\d\d\.\d{4} \d\d:\d\d Uhr")
PAGE_STATE = ".pages.json"  # the page build's record of what it drew from (its hashes include the landing times)


def split_files(source_dir: Path, patterns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The relative paths of the files of ``source_dir``: (those matching none of ``patterns``, those matching)."""
    files = sorted(p.relative_to(source_dir).as_posix() for p in source_dir.rglob("*") if p.is_file())
    held = [name for name in files if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    return [name for name in files if name not in held], held


def link(source_dir: Path, target: Path, names: list[str]) -> None:
    """Symbolic links in ``target`` to these files of ``source_dir``. Every run reads the one folder ``target``:
    a folder's path is part of each source's data version (pipelines/assets/raw.py ``settings_fingerprint``)."""
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).symlink_to(source_dir / name)


def fingerprints(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, modification time in ns) of every file under ``folder``: what a rewrite changes."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}


def page_digests(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every page file under ``folder`` with its landing times left out (a workbook:
    of its members' names and contents)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(page_content(p)).hexdigest()
            for p in folder.rglob("*") if p.is_file() and p.name != PAGE_STATE}


def page_content(path: Path) -> bytes:
    """The bytes of a page file without the times its releases were landed; a workbook's zip members in order."""
    if path.suffix != ".xlsx":
        return LANDED.sub(b"", path.read_bytes())
    with zipfile.ZipFile(path) as book:
        return b"".join(name.encode() + LANDED.sub(b"", book.read(name)) for name in sorted(book.namelist()))


def rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    """Files new, removed or rewritten between two ``fingerprints``."""
    return len(before.keys() ^ after.keys()) + sum(before[name] != after[name] for name in before.keys() & after.keys())


def refresh(tmp: Path, source_dir: Path, label: str) -> tuple[dict, float]:
    """One incremental refresh in a child (run_all.py's ``refresh`` phase); prints and returns (result, wall s)."""
    outcome, wall, rss = run_child("refresh", str(tmp), str(source_dir), log=tmp / f"{label}.log")
    print(f"{label:<8} {'success' if outcome['success'] else 'FAILED'}: {wall:6.1f} s wall, CPU "
          f"{outcome['child_cpu_s']:6.1f} s, peak RSS {rss:5.0f} MiB, {outcome['materialised']} assets "
          f"materialised, steps {outcome['steps_s']:.1f} s")
    print(f"         plan: {outcome['plan'][:300]}")
    print("         slowest steps: " + (", ".join(outcome["slowest"]) or "none"))
    if not outcome["success"]:
        print("         why: " + "\n              ".join(failure_lines(tmp / f"{label}.log")))
    return outcome, wall


def failure_lines(log: Path, most: int = 3) -> list[str]:
    """The first lines of a run's log that say why a step failed (its exception's message), shortened."""
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if re.match(r"\w+(\.\w+)*(Error|Exception): ", line) and "DagsterExecutionStepExecutionError" not in line]
    return [line[:400] for line in dict.fromkeys(lines)][:most] or [f"see {log}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--hold-back", action="append", metavar="GLOB",
                        help="files (path relative to the source folder, shell pattern) that arrive in the second "
                             f"refresh; repeatable (default: {', '.join(DEFAULT_HOLD_BACK)})")
    parser.add_argument("--keep", type=Path, help="write into this new directory and keep it")
    args = parser.parse_args(argv)
    source_dir = args.source_dir.expanduser().resolve()
    patterns = tuple(args.hold_back or DEFAULT_HOLD_BACK)
    if args.keep:
        args.keep.mkdir(parents=True)
    # the pages' "erstellt" line from one clock, so equal pages are equal bytes (set before the children start)
    os.environ.setdefault("SOURCE_DATE_EPOCH", str(int(time.time())))
    print(f"benchmarks/new_release.py on {source_dir}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    with (nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="readiness-new-")) as tmp:
        root = Path(tmp)
        sources, incremental = root / "sources", root / "incremental"
        sources.mkdir()
        incremental.mkdir()
        present, held = split_files(source_dir, patterns)
        if not held:
            print(f"no file of {source_dir} matches {', '.join(patterns)}", file=sys.stderr)
            return 2
        link(source_dir, sources, present)
        before, _ = refresh(incremental, sources, "before")
        if not before["success"]:  # e.g. the only release of a source every build needs: no state to start from
            return 1
        pages_before = fingerprints(incremental / "reports")
        exports_before = fingerprints(incremental / "exports")
        link(source_dir, sources, held)
        print(f"arrives: {', '.join(held)}")
        arrival, _ = refresh(incremental, sources, "arrival")
        if arrival["materialised"] == 0:
            print("the arrival ran nothing: the held-back files belong to no source", file=sys.stderr)
            return 1
        print(f"         town pages folder: {rewritten(pages_before, fingerprints(incremental / 'reports'))} of "
              f"{len(pages_before)} files rewritten; exports: "
              f"{rewritten(exports_before, fingerprints(incremental / 'exports'))} of {len(exports_before)} files")
        cold_dir = root / "cold"
        cold_dir.mkdir()
        cold, _ = refresh(cold_dir, sources, "cold")
        if not (arrival["success"] and cold["success"]):
            return 1
        return compare_builds(incremental, cold_dir)


def compare_builds(incremental: Path, cold: Path) -> int:
    """Print how the arrival's published file and pages differ from the cold build's; 1 when anything but the
    history tables' kept versions does."""
    from warehouse.registry import registry

    # the tables of kept versions and of publishes: the before-run's stay beside the new (their views show the open
    # ones, which must be equal)
    kept = set(registry().history_tables()) | {"publish_log"}
    published = cold / "warehouse" / "readiness.duckdb"
    failed = False
    print(f"\n{'relation':<28} {'cold rows':>10} {'arrival rows':>13} {'only cold':>10} {'only arrival':>13}")
    arrived = incremental / "warehouse" / "readiness.duckdb"
    for name, rows_cold, rows_new, only_cold, only_new in compare(published, arrived, tables=True):
        failed |= bool(only_cold or only_new) and name not in kept
        note = ("  (kept versions)" if name in kept else "  DIFFERS") if only_cold or only_new else ""
        print(f"{name:<28} {rows_cold:>10} {rows_new:>13} {only_cold:>10} {only_new:>13}{note}")
    pages_cold, pages_new = page_digests(cold / "reports"), page_digests(incremental / "reports")
    differing = sorted(name for name in pages_cold.keys() | pages_new.keys()
                       if pages_cold.get(name) != pages_new.get(name))
    print(f"town pages: {len(pages_new)} files, {len(differing)} differ from the cold build's"
          + (": " + ", ".join(differing[:12]) + (" ..." if len(differing) > 12 else "") if differing else ""))
    return 1 if failed or differing else 0


if __name__ == "__main__":
    sys.exit(main())
