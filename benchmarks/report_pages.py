"""Time (and optionally profile or dump) town pages rendered in memory from a published warehouse.

    .venv/bin/python benchmarks/report_pages.py PUBLISHED.duckdb [--pages 200] [--dump DIR] [--profile FILE]
    .venv/bin/python benchmarks/report_pages.py PUBLISHED.duckdb --pages 100 --build DIR [--workers 2]
    .venv/bin/python benchmarks/report_pages.py PUBLISHED.duckdb --pages 0 --build DIR   # every town
    .venv/bin/python benchmarks/report_pages.py PUBLISHED.duckdb --pages 30 --parts DIR
    .venv/bin/python benchmarks/report_pages.py DIR_A --compare DIR_B [--every 10]   # two builds' files


The render loop of docs/performance-log.md: load the report data once (``reports.data.load``),
``gc.freeze()``, render 20 pages to warm up, then time ``Renderer.town(ags)`` for an evenly spaced
sample of the report scope (reference group and pilots, in AGS order). ``--dump DIR`` writes the
timed pages to ``DIR/<ags>.html`` after timing (to compare two versions byte for byte with
``diff -rq``); the "generated" timestamp is fixed so only content differences remain.
``--build DIR`` times instead what a report build does per page: ``build_reports(..., force=True)``
for the sample into DIR, each page written with its downloads (CSV per table and the page's .xlsx);
the time per page is measured between the first and the last page's progress call (the data load
is not in it, the total is printed apart; with page workers the network, index and ranking pages and
the maps are drawn while they render, and progress comes in bursts between those jobs, so the whole
build's wall and CPU seconds are the figures to compare). ``--workers`` sets the
rendering processes (default and 0: build_reports' default, one per core in a child interpreter, as the
town_reports step; 1: one process, this one); ``--pages 0`` builds every town of the scope, the work of
the town_reports step; wall and CPU seconds (children included), the peak RSS of the largest process and
the RSS and PSS summed over the process tree are printed.
``--parts DIR`` times the parts of a page with its downloads apart for the sample, in CPU ms per page:
context, download tables, CSV files, workbook, HTML, writing the page (files into DIR).
Read-only on the warehouse; prints the load average before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

WARM_UP = 20


def report_scope(published: Path) -> list[str]:
    """AGS of the towns that get a page in the benchmark: reference group and pilots."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        return [a for (a,) in con.execute(
            "SELECT ags FROM municipalities WHERE in_reference_group OR is_pilot ORDER BY ags").fetchall()]


def sample(towns: list[str], pages: int) -> list[str]:
    """Every n-th town so that about ``pages`` towns spread over all Länder are timed (0: all)."""
    if pages <= 0:
        return towns
    step = max(1, len(towns) // pages)
    return towns[::step][:pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--dump", type=Path, help="write the timed pages here (fixed timestamp)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the timed loop here")
    parser.add_argument("--build", type=Path, help="time build_reports(force=True) of the sample into this folder")
    parser.add_argument("--parts", type=Path, help="time the downloads' parts apart, files into this folder")
    parser.add_argument("--workers", type=int,
                        help="with --build: rendering processes (0: one per core; 1: this process)")
    parser.add_argument("--compare", type=Path, metavar="OTHER_DIR",
                        help="compare the report folder PUBLISHED (given in its place) with OTHER_DIR and exit")
    parser.add_argument("--every", type=int, default=10, help="with --compare: read every n-th .xlsx cell by cell")
    args = parser.parse_args(argv)
    if args.compare:
        return compare_folders(args.published, args.compare, args.every)
    if args.build:
        return build(args.published, args.build, args.pages, args.workers)
    if args.parts:
        return download_parts(args.published, args.parts, args.pages)

    from reports.build import Renderer
    from reports.data import load

    print(f"load average at start {os.getloadavg()[0]:.1f}")
    towns = sample(report_scope(args.published), args.pages)
    start = time.perf_counter()
    data = load(args.published)
    print(f"report data load {time.perf_counter() - start:.1f} s")
    gc.freeze()
    renderer = Renderer(data)
    renderer.common["generated"] = "01.01.2000, 00:00 Uhr"  # pages of two runs differ only in content
    for ags in towns[:WARM_UP]:
        renderer.town(ags)
    profiler = cProfile.Profile() if args.profile else None
    pages = {}
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    for ags in towns:
        pages[ags] = renderer.town(ags)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    seconds = time.perf_counter() - start
    print(f"{len(towns)} pages: {1000 * seconds / len(towns):.1f} ms per page"
          f"{' (under cProfile)' if profiler else ''}; load average at end {os.getloadavg()[0]:.1f}")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for ags, html in pages.items():
            (args.dump / f"{ags}.html").write_text(html, encoding="utf-8")
    return 0


def build(published: Path, out_dir: Path, pages: int, workers: int | None = None) -> int:
    """Time the pages of a forced report build (with their downloads) for the sample into ``out_dir``:
    wall and CPU seconds (this process and its children: the build's child interpreter and its workers),
    peak RSS of the largest process, and peak RSS and PSS summed over the process tree."""
    from pipelines.memory import RssSampler
    from reports.build import build_reports

    towns = sample(report_scope(published), pages)
    stamps = []
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    options = {} if workers is None else {"workers": workers or None}
    before = cpu_seconds()
    start = time.perf_counter()
    summary: dict = {}
    with RssSampler() as sampler:
        build_reports(published, out_dir, towns=towns, force=True, summary=summary, **options,
                      progress=lambda done, total: stamps.append(time.perf_counter()))
    total = time.perf_counter() - start
    cpu, kernel = (now - then for now, then in zip(cpu_seconds(), before))
    per_page = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    print(f"{len(towns)} pages with downloads: {1000 * per_page:.1f} ms per page (wall clock, all workers); "
          f"whole build {total:.1f} s wall ({stamps[0] - start:.1f} s before the first page, "
          f"{start + total - stamps[-1]:.1f} s after the last), {cpu:.1f} s CPU (kernel {kernel:.1f} s; "
          f"{1000 * cpu / len(towns):.1f} ms per page, everything included); "
          f"{summary.get('processes', 1)} page process(es)"
          f"{' in child ' + str(summary['pid']) if 'pid' in summary else ' in this process'}; "
          f"peak RSS largest process {max(sampler.peaks.values(), default=0):.0f} MiB, process tree: "
          f"RSS sum {sampler.peak_total():.0f} MiB, PSS sum {sampler.peak_pss_total():.0f} MiB; "
          f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user and system) of this process and of its waited-for children (and theirs), and of them the
    system's, the kernel's. Why apart: the kernel's part of a page build is mostly creating its ~33,000 files, and
    on this machine's disk that cost varies from minute to minute: the same one-process build of every page took
    21.3 s with 1.5 kernel s in RAM and 40.1 s with 17.9 kernel s on the disk minutes later (7 December 2026,
    docs/performance.md)."""
    import resource

    usages = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usages), sum(u.ru_stime for u in usages)


def download_parts(published: Path, out_dir: Path, pages: int) -> int:
    """CPU milliseconds per page for each part of ``Renderer.town(ags, out_dir)`` over the sample, in its
    order: the page context (sections, charts, maps, coworking gap), the download tables, the CSV files,
    the workbook, the HTML and writing it. CPU time (``time.process_time``), not wall time: the parts are
    milliseconds, and other processes on the machine would otherwise be counted in them. The sample has
    fewer towns per Kreis than a full build, so the per-Kreis sections are cached less often (context a
    little higher than in a full build)."""
    from reports.build import Renderer, _write
    from reports.context import pillar_chart, town_context
    from reports.coworking_gap import coworking_gap_context
    from reports.data import load
    from reports.downloads import SHEET_NAME_MAX, german_csv, write_workbook
    from reports.tables import town_tables

    towns = sample(report_scope(published), pages)
    data = load(published)
    gc.freeze()
    renderer = Renderer(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    for ags in towns[:WARM_UP]:
        renderer.town(ags, out_dir)
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    parts = dict.fromkeys(["context", "tables", "csv", "xlsx", "html", "write"], 0.0)
    for ags in towns:
        clock = time.process_time()

        def lap(part: str) -> None:
            nonlocal clock
            now = time.process_time()
            parts[part] += now - clock
            clock = now

        context = town_context(data, renderer.geoms, ags)  # as Renderer.town, part by part
        context["pillar_chart"] = pillar_chart(context["pillars"], context["summary"]["period"])
        context["cowork_gap"] = coworking_gap_context(None, renderer.geoms, ags, renderer._spaces(),
                                                      renderer._gap_tables())
        lap("context")
        tables = town_tables(context, renderer.common["releases"], renderer.releases_table)
        lap("tables")
        links = {}
        for table in tables:
            csv_path = german_csv(table, out_dir / f"{ags}-{table.key}.csv")
            links[table.key] = {"csv": csv_path.name, "xlsx": f"{ags}.xlsx", "sheet": table.title[:SHEET_NAME_MAX]}
        lap("csv")
        write_workbook(tables, out_dir / f"{ags}.xlsx")
        lap("xlsx")
        context["downloads"] = links
        html = renderer._render("town.html.j2", context)
        lap("html")
        _write(out_dir / f"{ags}.html", html)
        lap("write")
    total = sum(parts.values())
    print(", ".join(f"{name} {1000 * seconds / len(towns):.2f} ms" for name, seconds in parts.items()),
          f"= {1000 * total / len(towns):.2f} CPU ms per page ({len(towns)} pages); "
          f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


def compare_folders(first: Path, second: Path, every: int = 10) -> int:
    """Two report folders (e.g. ``--build`` of two versions with the same ``SOURCE_DATE_EPOCH``): the same
    files, every file but the workbooks byte for byte, and every ``every``-th .xlsx cell by cell with
    openpyxl (value, type, number format; the bytes of a workbook may differ, e.g. its shared-string
    order). Prints the differences; exit status 1 when there are any."""
    import filecmp

    import openpyxl

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def cells(path: Path) -> dict:
        book = openpyxl.load_workbook(path)
        return {name: [[(c.value, c.data_type, c.number_format) for c in row] for row in book[name].iter_rows()]
                for name in book.sheetnames}

    names_a, names_b = files(first), files(second)
    common = sorted(names_a & names_b)
    differ = [n for n in common if not n.endswith(".xlsx") and not filecmp.cmp(first / n, second / n, shallow=False)]
    workbooks = [n for n in common if n.endswith(".xlsx")][::max(1, every)]
    differ_xlsx = [n for n in workbooks if cells(first / n) != cells(second / n)]
    print(f"{len(common)} files in both; only in the first: {sorted(names_a - names_b)[:10]}, only in the second: "
          f"{sorted(names_b - names_a)[:10]}; {len(differ)} of {len(common) - sum(n.endswith('.xlsx') for n in common)} "
          f"other files differ {differ[:10]}; {len(differ_xlsx)} of {len(workbooks)} workbooks read differ {differ_xlsx[:10]}")
    return 1 if differ or differ_xlsx or names_a != names_b else 0


if __name__ == "__main__":
    sys.exit(main())
