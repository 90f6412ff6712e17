"""Static German HTML reports from the published warehouse: one page per town, a network page, an index.

    from reports.build import build_reports, reports_dir
    build_reports(Path("warehouse/readiness.duckdb"), reports_dir())

Pages are self-contained (inline CSS, SVG and, on the index page, a small inline sort/filter script;
no fonts, scripts or images from elsewhere), so they open from a file share or a USB stick without
internet. Every table can be downloaded as German CSV and .xlsx, written beside its page.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import jinja2
import markupsafe
# markupsafe's own escaping of a str's characters (its C speed-up), which markupsafe.escape wraps in Markup;
# a private name of the pinned MarkupSafe 3.0 (an upgrade without it fails here, at import)
from markupsafe import _escape_inner as escape_text

from indicators import flags
from indicators.catalogue import CONTEXT
from reports import charts
from reports.context import (data_dates, headline_row, indicator_rows, kreis_names, pillar_chart, records,
                             scored_indicators, town_context, town_row)
from reports.coworking_gap import RANKING_PAGE, GapTables, coworking_gap_context, load_spaces, ranking_context, ranking_table
from reports.data import INDEX_COLUMNS, InputDates, ReportData, connect, load, releases_due, source_data_dates
from reports.downloads import build_time, csv_bytes, write_downloads
from reports.labels import (NO_PEERS_DE, PILLARS, VARIED_CHOICES_DE, attribution_label, berlin_time, credit_de,
                            data_dates_text, date_de, de_list, de_number, de_rank, de_score, de_signed, full_stop,
                            german_sort_key, in_kreis, kreis_cell_name, kreis_column, pillar_label, published_score,
                            release_text, score_gap, source_label, vintage_label)
from reports.tables import (comparison_tables, index_table, kreis_value_of, names_unit, releases_table,
                            town_tables)
from reports.maps import TownGeometries
from reports import pages
from reports.pages import PageKeys, read_manifest, write_manifest
from sources.vintages import last_day, release_ranks
from warehouse.paths import DEFAULT_REPORTS_DIR, REPORTS_DIR_ENV, reports_dir  # noqa: F401 (re-exported)

TEMPLATES = Path(__file__).with_name("templates")
MAX_COMPARE = 8     # towns side by side on a comparison page (wider does not fit A4 portrait)
MAX_WORKERS = 4     # page-rendering processes at most: each forked worker grows by the pages it touches
# Default None: one worker per usable core, in a fresh interpreter (reports/child.py) that forks them only
# when it runs no other thread. Forking the caller itself is unsafe: a fork of the test process (threads
# of Dagster and DuckDB running) hung the test suite on 2026-12-02 (a worker died holding the pool's queue
# lock); workers=1 renders in the calling process without any child.
DEFAULT_WORKERS = None
PARALLEL_FROM = 200  # pages; fewer are rendered in one process (forking costs more than it saves)
CHUNK = 32          # pages per task handed to a worker: small enough to balance (~0.4 s of work), large
                    # enough that few Kreise (whose sections are cached per process) are split between workers
TOWN_PAGE = re.compile(r"\d{8}\.html")  # a town's page: its 8-digit AGS
KEY_BATCH = 256     # town keys computed between two progress reports while the workers render (~50 ms)


def build_reports(published: Path, out_dir: Path, towns: list[str] | None = None,
                  progress: Callable[[int, int], None] | None = None, force: bool = False,
                  summary: dict | None = None, workers: int | None = DEFAULT_WORKERS,
                  isolate: bool | None = None) -> list[Path]:
    """Write ``<ags>.html`` for ``towns`` (None: every Gemeinde in ``municipalities``), then
    ``netzwerk.html``, ``index.html``, the coworking-gap ranking (``coworking-luecke.html``) and the maps
    (``atlas/``); returns the paths of the town, network and index pages (ranking and maps not counted).
    ``progress(done, total)`` per town page. With ``towns`` given, the pages (and downloads) of other towns
    are removed once the towns are known (``remove_other_towns``; ``summary["removed"]``: how many, when any).

    Incremental: a page whose content key (hash of the data it shows and of the templates and report
    code, see reports/pages.py) equals the one recorded in ``out_dir/.pages.json`` and whose file exists
    is not rendered or rewritten; ``force`` renders everything. ``summary`` (if given) receives the
    counts ``written`` and ``unchanged`` (and, when pages were rendered, ``processes``: how many rendered
    the town pages; ``pid``: the child's, when the build ran in one).

    ``workers``: processes rendering the town pages (None, the default: one per usable core, at most
    MAX_WORKERS; 1: this process). ``isolate``: run the build in a fresh interpreter (reports/child.py),
    which forks the workers safely; None (default): when there are workers to fork, i.e. ``workers`` is
    not 1 and at least PARALLEL_FROM towns are asked for; False: here, forking only if this process runs
    no other thread. The files are the same either way."""
    out_dir = Path(out_dir)
    manifest = {} if force else read_manifest(out_dir)
    if manifest:
        state: dict | Callable[[], dict] = _state(published)
    else:  # a first or forced build: nothing can be unchanged, so the published file is fingerprinted
        state = functools.partial(_state, published)  # (~0.3-0.7 s) while the child starts and loads
    if towns is not None and manifest and _nothing_changed(manifest, state, towns, out_dir):
        if summary is not None:
            summary.update(written=0, unchanged=len(set(towns)) + 2)
        return [out_dir / f"{ags}.html" for ags in dict.fromkeys(towns)] + [out_dir / "netzwerk.html",
                                                                           out_dir / "index.html"]
    if isolate or (isolate is None and _workers(workers) > 1 and _town_count(published, towns) >= PARALLEL_FROM):
        from reports.child import build_in_child
        return build_in_child(published, out_dir, towns, workers=workers, progress=progress, force=force,
                              summary=summary, parallel_from=PARALLEL_FROM, chunk=CHUNK, state=state)
    return build_here(published, out_dir, towns, progress, summary, workers, manifest, state)


def build_here(published: Path, out_dir: Path, towns: list[str] | None, progress, summary: dict | None,
               workers: int | None, manifest: dict, state: dict | Callable[[], dict]) -> list[Path]:
    """The build in this process, once build_reports found something to do (``state``: ``_state`` of the
    published file, taken there; the child of reports/child.py gets it from its caller, not again)."""
    out_dir = Path(out_dir)
    data = load(published)
    selected = _check_towns(data, towns)
    # only now, with every AGS asked for known: a mistyped one removes nothing
    removed = remove_other_towns(out_dir, selected) if towns is not None else 0
    gc.freeze()  # the loaded frames hold ~1 M objects the collector would otherwise rescan on every page
    try:
        written, processes = _build(data, selected, out_dir, progress, manifest, state, _workers(workers))
    finally:
        gc.unfreeze()  # a long-lived process (Dagster step) may collect them again afterwards
    if summary is not None:
        summary.update(written=len(written), unchanged=len(selected) + 2 - len(written), processes=processes)
        if removed:
            summary["removed"] = removed
    return [out_dir / f"{ags}.html" for ags in selected] + [out_dir / "netzwerk.html", out_dir / "index.html"]


def _town_count(published: Path, towns: list[str] | None) -> int:
    """How many town pages are asked for (every Gemeinde of the published file when ``towns`` is None)."""
    if towns is not None:
        return len(set(towns))
    if not Path(published).is_file():
        return 0  # load() names the missing file, in this process
    with connect(published) as con:
        return con.execute("SELECT count(*) FROM municipalities").fetchone()[0]


def _state(published: Path) -> dict:
    """What the whole build depends on: the published data, the template version and the sources' due dates."""
    exists = Path(published).is_file()  # a missing file: load() below names it
    return {"published": pages.published_fingerprint(published) if exists else None,
            "template": pages.template_version(), "releases_due": _due_state(published) if exists else None}


def _due_state(published: Path) -> str:
    """The Datenstand's due dates and overdue flags (``reports.data.releases_due``). Why apart: they follow the
    publish time, which the published file's fingerprint leaves out (every publish adds a row to publish_log), so a
    later publish of the same data kept the pages' old "nein" (read of the change, 5 December)."""
    with connect(published) as con:
        releases = con.execute("SELECT source_id, vintage FROM source_releases").df()
        published_at = con.execute("SELECT max(published_at) FROM publish_log").fetchone()[0]
        dates = source_data_dates(con)
    return repr(sorted((source, str(due["due"]), due["overdue"])
                       for source, due in releases_due(releases, published_at, dates).items()))


def _nothing_changed(manifest: dict, state: dict, towns: list[str], out_dir: Path) -> bool:
    """Same data, same templates, every page there, no page of another town (``remove_other_towns`` would remove
    it) and no page added or removed since the last build: nothing to render, and the report data need not even
    be loaded."""
    built = set(manifest.get("towns", []))  # pages of earlier builds may be older than the last state
    asked = {f"{ags}.html" for ags in towns}
    if state["published"] is None or any(manifest.get(k) != v for k, v in state.items()) or not set(towns) <= built:
        return False
    present = _town_pages(out_dir)  # listed once: the folder is read for both tests below
    return (all(name in asked for name in present if TOWN_PAGE.fullmatch(name))
            and all((out_dir / name).is_file() for name in [*(f"{ags}.html" for ags in towns), "netzwerk.html",
                                                            "index.html", RANKING_PAGE])
            and manifest.get("town_pages") == present)


def _workers(workers: int | None) -> int:
    """Worker processes for the town pages: as asked (None: one per core this process may use, at most
    MAX_WORKERS)."""
    if workers is not None:
        return max(1, workers)
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def _build(data: ReportData, selected: list[str], out_dir: Path, progress, manifest: dict,
           state: dict | Callable[[], dict], workers: int = 1) -> tuple[list[Path], int]:
    """Render and write the pages whose content key changed; returns the paths written and how many
    processes rendered the town pages.

    With page workers, this process does its own share while they render: the content keys of the town
    pages (needed only for the manifest when no earlier key was recorded) and the network, index and
    ranking pages and the maps. These link the town pages there will be once the pages asked for are
    written (``town_pages``), so they need not wait for them: the files are the same as from one process."""
    renderer = Renderer(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = PageKeys(data, renderer.geoms, manifest.get("neighbours", {}))
    wanted: dict[str, str] = {}
    todo = _todo(out_dir, selected, keys, manifest, wanted)
    # every page asked for exists after the build (the current ones already, the others once written)
    town_pages = sorted(set(_town_pages(out_dir)) | {f"{ags}.html" for ags in selected})
    side: dict = {}
    # the frames are hashed (keys.hash_frames, ~0.5 s on the full data) by the first job, while the workers
    # render: before the fork it delayed every page. Hashing reads the frames and allocates its own arrays;
    # their text columns hold one object per distinct string (sources/frames.py), so the reference counts it
    # touches copy few shared memory pages into this process (tree PSS measured, docs/performance-log.md)
    jobs = [keys.hash_frames,
            *(lambda batch=selected[i:i + KEY_BATCH]: _town_keys(keys, batch, wanted)
              for i in range(0, len(selected), KEY_BATCH)),
            *_side_jobs(renderer, keys, out_dir, manifest, town_pages, side)]
    written = []
    processes = _processes(renderer, workers, todo)
    for done, path in enumerate(_render_towns(renderer, out_dir, todo, processes, jobs), start=1):
        written.append(path)
        if progress:
            progress(done, len(todo))
    written += side["written"]
    write_manifest(out_dir, {"pages": dict(manifest.get("pages", {}), **wanted, **side["wanted"]),
                             "neighbours": keys.neighbour_cache(), "town_pages": town_pages,
                             "towns": selected, **(state() if callable(state) else state)})
    return written, processes


def _todo(out_dir: Path, selected: list[str], keys: PageKeys, manifest: dict, wanted: dict[str, str]) -> list[str]:
    """The towns whose page must be rendered. Only a page recorded by an earlier build and still there can
    be current, so only its key is computed here (into ``wanted``); the others are rendered at once and
    their keys computed while they are (``_town_keys``): a first or forced build waits for no key."""
    recorded = manifest.get("pages", {})
    todo = []
    for ags in selected:
        name = f"{ags}.html"
        if name in recorded and (out_dir / name).is_file():
            wanted[name] = keys.town(ags)
            if wanted[name] == recorded[name]:
                continue
        todo.append(ags)
    return todo


def _town_keys(keys: PageKeys, towns: list[str], wanted: dict[str, str]) -> None:
    """The content keys of the pages of ``towns`` not computed yet (for the manifest)."""
    for ags in towns:
        if f"{ags}.html" not in wanted:
            wanted[f"{ags}.html"] = keys.town(ags)


def _side_jobs(renderer: Renderer, keys: PageKeys, out_dir: Path, manifest: dict, town_pages: list[str],
               side: dict) -> list[Callable[[], None]]:
    """Network, index and ranking page (each when its key changed) and the maps, linking ``town_pages``, as
    four jobs (progress is reported between them); ``side`` receives their keys (``wanted``) and the network
    and index paths written (the ranking and the maps are not counted as pages)."""
    side.update(wanted={}, written=[])
    pages = set(town_pages)
    renders = {"netzwerk.html": (keys.network, lambda: renderer.network(out_dir)),
               "index.html": (lambda: keys.index(town_pages), lambda: renderer.index(out_dir, pages)),
               RANKING_PAGE: (lambda: keys.ranking(town_pages), lambda: renderer.ranking(out_dir, pages))}

    def page(name: str) -> None:
        key, render = renders[name]
        side["wanted"][name] = key()
        if not _current(out_dir, name, side["wanted"], manifest):
            path = _write(out_dir / name, render())
            if name != RANKING_PAGE:
                side["written"].append(path)

    def maps() -> None:
        from reports.webmap import build_maps
        build_maps(renderer.data, out_dir, pages)  # into atlas/, not counted as pages

    return [*(functools.partial(page, name) for name in renders), maps]


def _processes(renderer: Renderer, workers: int, towns: list[str]) -> int:
    """Processes to render the pages of ``towns``: ``workers`` (at most one per chunk of pages) when there
    are enough pages to pay for forking and forking is safe here (``_fork_safe``), else 1."""
    if workers < 2 or len(towns) < PARALLEL_FROM:
        return 1
    # read what the pages share and close DuckDB (its threads must be gone first); fill the caches once
    renderer.preload(sample_town=towns[0])
    return min(workers, -(-len(towns) // CHUNK)) if _fork_safe() else 1


def _fork_safe() -> bool:
    """True when this process may fork workers: fork exists, this is no daemonic process (which may not
    start children) and this process runs exactly one thread (``/proc/self/task``): a thread holding a
    lock at the fork would leave it held for ever in the worker. Without /proc: False (one process)."""
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def remove_other_towns(out_dir: Path, towns: list[str]) -> int:
    """Remove the page of every town not in ``towns`` (``<ags>.html``) with its downloads (``<ags>-*.csv``,
    ``<ags>.xlsx``); returns how many pages were removed.

    Why remove, not keep: a page left by ``readiness bericht --alle`` or a run of a wider READINESS_REPORT_SCOPE
    was linked from the rewritten index and the maps but never rendered again, so it showed old data as current
    (review of 5 December). The folder holds the pages of the build's towns only, so it is the same whatever
    was built into it before; a wider set of pages kept current is READINESS_REPORT_SCOPE=all. Comparison pages
    (``vergleich.html``) and the shared pages are not town pages and stay."""
    keep = {f"{ags}.html" for ags in towns}
    removed = 0
    for name in _town_pages(out_dir) if Path(out_dir).is_dir() else []:
        if not TOWN_PAGE.fullmatch(name) or name in keep:
            continue
        ags = name.removesuffix(".html")
        for path in [out_dir / name, out_dir / f"{ags}.xlsx", *out_dir.glob(f"{ags}-*.csv")]:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def _town_pages(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.glob("*.html") if p.name not in ("index.html", "netzwerk.html", RANKING_PAGE))


def _current(out_dir: Path, name: str, wanted: dict[str, str], manifest: dict) -> bool:
    """True when the page exists and was written from the same content key."""
    return manifest.get("pages", {}).get(name) == wanted[name] and (out_dir / name).is_file()


def build_town_report(published: Path, out_dir: Path, ags: str) -> Path:
    """Write the page of one town, ``<out_dir>/<ags>.html``, and return its path."""
    data = load(published)
    _check_towns(data, [ags])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return _write(Path(out_dir) / f"{ags}.html", Renderer(data).town(ags, Path(out_dir)))


def build_comparison(published: Path, out_dir: Path, towns: list[str], name: str = "vergleich.html") -> Path:
    """Write a page comparing up to MAX_COMPARE towns (8-digit AGS, in the given order) side by side."""
    data = load(published)
    selected = _check_towns(data, towns)
    if not 2 <= len(selected) <= MAX_COMPARE:
        raise ValueError(f"a comparison needs 2 to {MAX_COMPARE} different towns, got {len(selected)}")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    html = Renderer(data).comparison(selected, Path(out_dir), Path(name).stem)
    return _write(Path(out_dir) / name, html)


def _check_towns(data: ReportData, towns: list[str] | None) -> list[str]:
    if towns is None:
        return list(data.towns.index)
    unknown = sorted(set(towns) - set(data.towns.index))
    if unknown:
        raise ValueError(f"{data.path}: no Gemeinde with AGS {', '.join(unknown)} in municipalities "
                         "(use the 8-digit AGS with leading zeros)")
    return list(dict.fromkeys(towns))


def _render_towns(renderer: Renderer, out_dir: Path, towns: list[str], workers: int = 1,
                  jobs: list[Callable[[], None]] = ()) -> Iterator[Path]:
    """Write the town pages (with their downloads); yields each path when written, in ``towns`` order.
    ``jobs``: this process's own work (keys, side pages), run while the workers render, else after the pages.

    With ``workers`` > 1 (``_processes`` decided it is safe and pays), forked worker processes render
    chunks of pages: they inherit the loaded data (copy-on-write, no second load; gc.freeze in
    build_reports keeps the collector from touching, and so copying, the loaded objects' pages) and never
    touch DuckDB (the renderer reads what pages share and closes its connection first). Each page depends
    only on the data and the town, so the files are the same as from one process."""
    if workers < 2:
        yield from (_write(out_dir / f"{ags}.html", renderer.town(ags, out_dir)) for ags in towns)
        for job in jobs:
            job()
        return
    _FORKED.update(renderer=renderer, out_dir=out_dir)
    chunks = [towns[i:i + CHUNK] for i in range(0, len(towns), CHUNK)]
    for stream in (sys.stdout, sys.stderr):  # else a worker flushes the parent's pending output again
        stream.flush()
    gc.freeze()  # objects made since the load too: the workers' collector then leaves their pages shared
    try:
        # an executor, not multiprocessing.Pool: a worker that dies raises BrokenProcessPool here instead of
        # leaving the others waiting forever on the queue lock it held (seen once with Pool in the test suite)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            # with fork, the first submit forks every worker before the executor starts its threads; from
            # then on this process may use threads and DuckDB again (the ranking page queries it)
            futures = [pool.submit(_render_chunk, chunk) for chunk in chunks]
            try:
                reported = 0
                for job in jobs:  # this process's share, on the core time the workers leave
                    job()
                    while reported < len(futures) and futures[reported].done():  # progress between the jobs
                        yield from futures[reported].result()
                        reported += 1
                for future in futures[reported:]:
                    yield from future.result()
            except BaseException:
                for future in futures:  # a failed job or page, or a caller that gives up: no more pages
                    future.cancel()
                raise
    finally:
        _FORKED.clear()


_FORKED: dict = {}  # the renderer and folder a forked worker inherits (set just before the pool forks)


def _render_chunk(towns: list[str]) -> list[Path]:
    """In a forked worker: write the pages of ``towns`` with the inherited renderer."""
    renderer, out_dir = _FORKED["renderer"], _FORKED["out_dir"]
    return [_write(out_dir / f"{ags}.html", renderer.town(ags, out_dir)) for ags in towns]


def _write(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path


@functools.lru_cache(maxsize=1024)
def _berlin_cached(value) -> str:
    """``berlin_time`` once per value: every town page shows the same few ingestion times (Datenstand),
    and converting a time zone with pandas costs ~30 µs each."""
    return berlin_time(value)


def _escape_output(value):
    """What ``{{ value }}`` writes with autoescape: markupsafe's escape, as a plain str for a str or a number.

    Why: markupsafe.escape wraps every result in a Markup object (~0.6 µs each, ~750 per town page, a
    third of its HTML time). The compiled templates only join what they write (a macro's or block's
    output is made Markup again as a whole), so the type of each piece does not matter, only its text:
    the same characters are escaped (``markupsafe.escape(value)`` has the same text)."""
    kind = type(value)
    if kind is str:
        return escape_text(value)
    if kind is int or kind is float:
        return str(value)  # digits, sign, point, "e", "inf", "nan": nothing to escape
    return markupsafe.escape(value)  # Markup (|safe) as it is, other objects via __html__ or str


class PageTemplate(jinja2.Template):
    """A template whose output expressions are escaped by ``_escape_output``: the compiled module looks up
    the name ``escape`` (imported from jinja2.runtime) in its namespace on every ``{{ }}``, so it is
    rebound there, once per template (tests/unit/reports/test_page_environment.py checks it is used)."""

    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        namespace["escape"] = _escape_output
        return super()._from_namespace(environment, namespace, globals)


class PageEnvironment(jinja2.Environment):
    """Jinja's environment with ``row.name`` looked up as a key first when ``row`` is a dict, and the
    output escaped by ``_escape_output`` (``PageTemplate``).

    Why: the page contexts are dicts, and Jinja tries ``getattr(row, "name")`` first, which raises (and
    catches) an AttributeError for every key read: about 900 per town page, a tenth of its HTML time.
    The result is the same unless a dict holds a key named like a dict method that a template calls
    (``units.get(...)``): the keys here are column names and ids, never ``get``, ``items`` and the like."""

    template_class = PageTemplate

    def getattr(self, obj, attribute):
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass  # a method (units.get) or a missing key: Jinja's own lookup and its undefined
        return super().getattr(obj, attribute)


def page_environment() -> PageEnvironment:
    """The pages' Jinja environment with their filters and globals (a macro of sections.html.j2 can be
    rendered with it alone, without report data)."""
    # auto_reload off: the templates do not change during a build, so no stat of each template per page
    env = PageEnvironment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(de=de_number, score=de_score, published=published_score, rank=de_rank, signed=de_signed,
                       pillar=pillar_label, source=source_label, vintage=vintage_label, berlin=_berlin_cached,
                       in_kreis=in_kreis, de_list=de_list, full_stop=full_stop)
    env.globals["score_gap"] = score_gap  # a gap as the two scores beside it show it
    env.globals["kreis_value_of"] = kreis_value_of  # whose a Kreis value is, as the comparison's download says
    env.globals["varied_choices_de"] = VARIED_CHOICES_DE  # what the rank band varies, from the catalogue
    # why a town has no peers and what it needs for them (indicators.peers), as ``readiness profil`` says it
    env.globals["no_peers_de"] = NO_PEERS_DE
    env.globals["credit_de"] = credit_de  # a source's attribution and licence in a fixed note (sources.yaml)
    return env


class Renderer:
    """Templates and the data loaded once; renders each page to a string."""

    def __init__(self, data: ReportData):
        self.data = data
        self.geoms = TownGeometries(data.geometries)
        self.env = page_environment()
        self.common = {"generated": berlin_time(build_time()),
                       "method_version": data.method_version, "latest_period": data.latest_period,
                       "releases": self._releases(), "pillar_ids": PILLARS}
        self.releases_table = releases_table(self.common["releases"])  # the same on every page: built once
        # the Datenstand rows too (~24 rows with a macro call each, ~5 % of a page's HTML time when rendered per page)
        self.common["datenstand_rows"] = self.env.get_template("sections.html.j2").module.datenstand_rows(
            self.common["releases"])

    def town(self, ags: str, out_dir: Path | None = None) -> str:
        """The town page; with ``out_dir`` its tables are written beside it as CSV and .xlsx."""
        context = town_context(self.data, self.geoms, ags)
        context["pillar_chart"] = pillar_chart(context["pillars"], context["summary"]["period"])
        # no connection passed: spaces and tables are read once, so pages (and forked workers) need none
        context["cowork_gap"] = coworking_gap_context(None, self.geoms, ags, self._spaces(), self._gap_tables())
        context["downloads"] = (write_downloads(out_dir, ags, town_tables(context, self.common["releases"],
                                                                          self.releases_table))
                                if out_dir is not None else {})
        return self._render("town.html.j2", context)

    def _connection(self):
        """A read-only connection to the published file, opened once (the coworking-gap section queries it)."""
        if getattr(self, "_con", None) is None:
            self._con = connect(self.data.path)
        return self._con

    def preload(self, sample_town: str | None = None) -> None:
        """Read what every town page shares from the published file and close the connection, so that
        processes forked now render pages without DuckDB; compile the town template once for all.
        ``sample_town``: its page is rendered in memory (no file), which fills the caches every page
        uses (names, medians, Kreis totals, the Datenstand CSV) here, once, instead of in every worker."""
        self._spaces()
        self._gap_tables()
        self.env.get_template("town.html.j2")
        for kind in self.data.by_town:  # the per-town row columns, prepared once here, not once per worker
            self.data.town_rows(kind, "")
        if sample_town is not None:
            self.town(sample_town)
            csv_bytes(self.releases_table)
        if getattr(self, "_con", None) is not None:
            self._con.close()
            self._con = None  # the ranking page, rendered later in this process, opens a new one

    def _spaces(self):
        """The coworking spaces, queried once for all pages (the same frame for every town)."""
        if getattr(self, "_cowork_spaces", None) is None:
            self._cowork_spaces = load_spaces(self._connection())
        return self._cowork_spaces

    def _gap_tables(self) -> GapTables:
        """The coworking-gap section's per-town rows, queried once for all pages."""
        if getattr(self, "_gap", None) is None:
            self._gap = GapTables(self._connection())
        return self._gap

    def network(self, out_dir: Path | None = None) -> str:
        """The pilot network page: the comparison page of the pilot towns."""
        pilots = self.data.towns[self.data.towns["is_pilot"]]
        ordered = sorted(pilots.index, key=lambda a: german_sort_key(pilots.loc[a, "name"]))
        return self.comparison(ordered, out_dir, "netzwerk", network=True)

    def comparison(self, towns: list[str], out_dir: Path | None, stem: str, network: bool = False) -> str:
        """Up to MAX_COMPARE towns side by side: score, rank, pillars, indicators, history, reference values."""
        period_values = self.data.period_indicators(towns)[1]  # one query for the towns shown
        entries = [town_summary(self.data, ags, period_values) for ags in towns]
        series = {t["town"]["name"]: t["history"] for t in entries if t["history"] is not None
                  and t["history"]["score"].notna().any()}
        chart = charts.network_chart(series, stem) if series else None
        labels, units, decimals = {}, {}, {}
        for entry in entries:
            labels.update({i: r["label"] for i, r in entry["indicators"].items()})
            units.update({i: r["unit_de"] for i, r in entry["indicators"].items()})
            decimals.update({i: r["decimals"] for i, r in entry["indicators"].items()})
        indicator_ids = sorted(labels.items(), key=lambda item: item[1])
        latest = self.data.latest_period
        medians = self.data.pillar_medians(latest) if latest is not None else {}
        group_medians = {i: self.data.group_median(i, latest) for i, _ in indicator_ids}
        tables = (comparison_tables(entries, indicator_ids, units, {**medians, **group_medians})
                  + [releases_table(self.common["releases"])])
        downloads = write_downloads(out_dir, stem, tables) if out_dir is not None else {}
        return self._render("network.html.j2", {
            "towns": entries, "chart": chart, "indicator_ids": indicator_ids, "pillar_medians": medians,
            "group_medians": group_medians, "decimals": decimals, "network": network, "downloads": downloads,
            "units": {i: "" if names_unit(labels[i], unit) else unit for i, unit in units.items()}})  # no unit twice

    def index(self, out_dir: Path, town_pages: set[str] | None = None) -> str:
        """All towns with their score of the published period: ranked towns by rank, then the others by
        name in German order (ä as a, ß as ss); pilots are marked, not moved. ``town_pages``: the names of
        the town pages to link (None: those in ``out_dir`` now)."""
        latest = self.data.index[self.data.index["period"] == self.data.latest_period]
        latest = latest.set_index("ags")[["period", "score", "rank", "tied_towns", "missing_pillars"]]
        towns = self.data.towns[["ags", "name", "kreis_ags", "kreis_name", "land", "population", "population_date",
                                 "is_pilot", "in_reference_group"]]
        frame = towns.join(latest)
        # a Kreis name two Kreise share with its designation ('München (Landkreis)'), as in the pages' tables
        frame["kreis_name"] = kreis_column(frame["kreis_ags"], self.data.kreis_cells, frame["kreis_name"])
        frame["order"] = frame["rank"].astype("Float64").fillna(float("inf"))
        # the reference group's towns without a score in the published year in a group of their own, after the
        # ranked ones: among "alle übrigen Gemeinden" they read as towns outside the group (review of 5 December)
        frame["unscored"] = (frame["in_reference_group"].fillna(False).astype(bool) & frame["score"].isna()).map(
            {True: 0, False: 1})
        frame["name_key"] = frame["name"].map(german_sort_key)
        frame = frame.sort_values(["order", "unscored", "name_key"]).drop(columns=["order", "name_key"])
        pages = set(_town_pages(out_dir)) if town_pages is None else town_pages
        rows = records(frame)
        for row in rows:
            row["has_page"] = f"{row['ags']}.html" in pages
            row["unscored_de"] = unscored_de(row, self.data.latest_period) if row.pop("unscored") == 0 else None
        # German collation precomputed for the sort script (the browser's own order may differ)
        by_name = sorted(range(len(rows)), key=lambda i: german_sort_key(rows[i]["name"]))
        for order, i in enumerate(by_name):
            rows[i]["name_order"] = order
        downloads = write_downloads(out_dir, "index", [index_table(rows)])
        # the population's date in the header where every town's is the same (one register), else none there: the
        # column stood beside "Indexwert 2021" without its Stichtag 31.12.2023 (dates review of 5 December)
        dates = {r["population_date"] for r in rows if r["population_date"] is not None}
        # what the scores shown rest on, over the towns scored (the town pages give each town's; dates review of
        # 6 December 2026); index_data_dates also has the inputs of a town left without a score
        scored = latest.index[latest["score"].notna()]
        inputs = InputDates(self.data.by_town["input_dates"].frame, self.data.latest_period, scored)
        data_dates = data_dates_text(*inputs.spans(PILLARS))
        return self._render("index.html.j2", {"rows": rows, "downloads": downloads,
                                              "unscored": [r for r in rows if r["unscored_de"]],
                                              "population_date": dates.pop() if len(dates) == 1 else None,
                                              "data_dates": data_dates})

    def ranking(self, out_dir: Path, town_pages: set[str] | None = None) -> str:
        """Germany-wide ranking of the small towns with the largest coworking gap (view coworking_gap_ranking);
        ``town_pages``: the names of the town pages to link (None: those in ``out_dir`` now)."""
        context = ranking_context(self._connection(), set(_town_pages(out_dir)) if town_pages is None else town_pages,
                                  self.data.kreis_cells)
        context["downloads"] = write_downloads(out_dir, Path(RANKING_PAGE).stem, [ranking_table(context)])
        return self._render("coworking_luecke.html.j2", context)

    def _render(self, template: str, context: dict) -> str:
        return self.env.get_template(template).render(**self.common, **context)

    def _releases(self) -> list[dict]:
        """Data freshness per source: latest vintage (in time order, not as text: 'vg250-2025-01-01' is newer than
        'vg5000-2021-01-01', '2025-12-31' than '2025-Q2'), how many vintages, when it was read in."""
        releases = self.data.releases.sort_values("vintage", key=lambda column: column.map(release_ranks(column)),
                                                  kind="stable")
        summary = releases.groupby("source_id").agg(
            vintage=("vintage", "last"), vintages=("vintage", "nunique"), ingested_at=("ingested_at", "max"),
            publisher=("publisher", "last"), licence=("licence", "last"), licence_url=("licence_url", "last"),
            attribution=("attribution", "last")).reset_index()
        summary["label"] = summary["source_id"].map(source_label)
        for field in ("publisher", "licence"):
            summary[field] = [release_text(s, field, v) for s, v in zip(summary["source_id"], summary[field])]
        summary["attribution_de"] = [attribution_label(s, a, v) for s, a, v in
                                     zip(summary["source_id"], summary["attribution"], summary["vintage"])]
        rows = records(summary)
        for row in rows:  # when a newer release is due, judged at the publish (reports.data.releases_due)
            due = self.data.releases_due.get(row["source_id"], {})
            row.update(due=due.get("due"), overdue=bool(due.get("overdue")), data_date=due.get("data_date"))
            # shown under the release on the page only where the data are older than the release's id says
            row["data_date_differs"] = row["data_date"] is not None and row["data_date"] < last_day(row["vintage"])
            # 'Daten bis 2020' where the newest data are of a year only (INKAR's accessibility), else the day
            row["data_year_only"] = row["source_id"] in self.data.year_only_data
            row["data_date_de"] = (None if row["data_date"] is None else str(row["data_date"].year)
                                   if row["data_year_only"] else date_de(row["data_date"]))
        return sorted(rows, key=lambda r: german_sort_key(r["label"]))


def unscored_de(row: dict, period) -> str:
    """Why a town of the reference group has no score in ``period`` (its index row's missing pillars): 'kein
    bewertbarer Wert für Pendelpotenzial und Erreichbarkeit'; 'kein Indexwert' without a row or a reason."""
    missing = [pillar_label(p) for p in flags.pillar_ids(row.get("missing_pillars"))]
    return f"kein bewertbarer Wert für {de_list(missing)}" if missing else "kein Indexwert"


def town_summary(data: ReportData, ags: str, period_values=None) -> dict:
    """Town, headline index row, score history (with the provisional flag) and latest indicators
    (``period_values``: ``data.period_indicators(towns)[1]`` of the towns compared; None: read for this one)."""
    frame = data.town_frame("index", ags, INDEX_COLUMNS)
    index_rows = data.town_rows("index", ags)
    latest = headline_row(index_rows, data.latest_period)
    dates = data.town_rows("input_dates", ags)
    town = town_row(data, ags)
    # a table cell, as the index page's: 'Aschaffenburg (Landkreis)', 'kein Kreis' for 07000999
    town["kreis_cell"] = kreis_cell_name(kreis_names(data).get(town["kreis_ags"]), town["kreis_name"], town["kreis_ags"])
    # the values of the published period, the ones its score rests on (not each indicator's newest)
    period_values = data.period_indicators([ags])[1] if period_values is None else period_values
    indicators = indicator_rows(period_values.rows(ags), data, town)
    history = None
    if not frame.empty:
        # per period the indicators its score rests on: the chart does not join years of different indicators
        # (the pilots' 2018 scores have no car times; review of 5 December), as on the town page
        sets = scored_indicators(data.town_rows("scored", ags), index_rows)
        history = frame[["period", "score"]].assign(provisional=frame["provisional"].fillna(False).astype(bool),
                                                    basis=[sets.get(p) for p in frame["period"]])
    return {"town": town, "latest": latest, "history": history,
            "data_dates": data_dates(dates, latest["period"]) if latest else "",
            "indicators": {r["indicator_id"]: r for r in indicators if r["pillar"] != CONTEXT}}
