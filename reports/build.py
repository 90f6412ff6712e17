"""Static German HTML reports from the published warehouse: one page per town, a network page, an index.

    from reports.build import build_reports, reports_dir
    build_reports(Path("warehouse/readiness.duckdb"), reports_dir())

Pages are self-contained (inline CSS and SVG, no scripts, fonts or images from elsewhere), so they
open from a file share or a USB stick without internet.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import jinja2

from reports import charts
from reports.context import pillar_chart, records, town_context
from reports.data import ReportData, load
from reports.labels import PILLARS, de_number, de_rank, de_signed, pillar_label, source_label
from reports.maps import TownGeometries
from reports import pages
from reports.pages import PageKeys, read_manifest, write_manifest
from warehouse import DEFAULT_REPORTS_DIR, REPORTS_DIR_ENV, reports_dir  # noqa: F401 (re-exported)

TEMPLATES = Path(__file__).with_name("templates")
MAX_WORKERS = 8     # processes rendering town pages
PARALLEL_FROM = 40  # fewer pages than this render in the calling process
_JOB = None         # (renderer, out_dir) inherited by forked workers


def build_reports(published: Path, out_dir: Path, towns: list[str] | None = None,
                  progress: Callable[[int, int], None] | None = None, force: bool = False,
                  summary: dict | None = None) -> list[Path]:
    """Write ``<ags>.html`` for ``towns`` (None: every Gemeinde in ``municipalities``), then
    ``netzwerk.html`` and ``index.html``; returns the paths of all these pages. ``progress(done, total)``
    per town page.

    Incremental: a page whose content key (hash of the data it shows and of the templates and report
    code, see reports/pages.py) equals the one recorded in ``out_dir/.pages.json`` and whose file exists
    is not rendered or rewritten; ``force`` renders everything. ``summary`` (if given) receives the
    counts ``written`` and ``unchanged``."""
    out_dir = Path(out_dir)
    manifest = {} if force else read_manifest(out_dir)
    state = _state(published)
    if towns is not None and _nothing_changed(manifest, state, towns, out_dir):
        if summary is not None:
            summary.update(written=0, unchanged=len(set(towns)) + 2)
        return [out_dir / f"{ags}.html" for ags in dict.fromkeys(towns)] + [out_dir / "netzwerk.html",
                                                                           out_dir / "index.html"]
    data = load(published)
    selected = _check_towns(data, towns)
    gc.freeze()  # the loaded frames hold ~1 M objects the collector would otherwise rescan on every page
    try:
        written = _build(data, selected, out_dir, progress, manifest, state)
    finally:
        gc.unfreeze()  # a long-lived process (Dagster step) may collect them again afterwards
    if summary is not None:
        summary.update(written=len(written), unchanged=len(selected) + 2 - len(written))
    return [out_dir / f"{ags}.html" for ags in selected] + [out_dir / "netzwerk.html", out_dir / "index.html"]


def _state(published: Path) -> dict:
    """What the whole build depends on: the published data and the template version."""
    exists = Path(published).is_file()  # a missing file: load() below names it
    return {"published": pages.published_fingerprint(published) if exists else None,
            "template": pages.template_version()}


def _nothing_changed(manifest: dict, state: dict, towns: list[str], out_dir: Path) -> bool:
    """Same data, same templates, every page there and no page added or removed since the last build:
    nothing to render, and the report data need not even be loaded."""
    built = set(manifest.get("towns", []))  # pages of earlier builds may be older than the last state
    return (state["published"] is not None and all(manifest.get(k) == v for k, v in state.items())
            and set(towns) <= built
            and all((out_dir / name).is_file() for name in [*(f"{ags}.html" for ags in towns), "netzwerk.html",
                                                            "index.html"])
            and manifest.get("town_pages") == _town_pages(out_dir))


def _build(data: ReportData, selected: list[str], out_dir: Path, progress, manifest: dict,
           state: dict) -> list[Path]:
    """Render and write the pages whose content key changed; returns the paths written."""
    renderer = Renderer(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = PageKeys(data, renderer.geoms, manifest.get("neighbours", {}))
    wanted = {f"{ags}.html": keys.town(ags) for ags in selected}
    todo = [ags for ags in selected if not _current(out_dir, f"{ags}.html", wanted, manifest)]
    written = []
    for done, path in enumerate(_render_towns(renderer, out_dir, todo), start=1):
        written.append(path)
        if progress:
            progress(done, len(todo))
    recorded = dict(manifest.get("pages", {}), **wanted)
    # network and index last: the index links the pages that exist
    wanted = {"netzwerk.html": keys.network(), "index.html": keys.index(_town_pages(out_dir))}
    for name, render in (("netzwerk.html", renderer.network), ("index.html", lambda: renderer.index(out_dir))):
        if not _current(out_dir, name, wanted, manifest):
            written.append(_write(out_dir / name, render()))
    write_manifest(out_dir, {"pages": dict(recorded, **wanted), "neighbours": keys.neighbour_cache(),
                             "town_pages": _town_pages(out_dir), "towns": selected, **state})
    return written


def _town_pages(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.glob("*.html") if p.name not in ("index.html", "netzwerk.html"))


def _current(out_dir: Path, name: str, wanted: dict[str, str], manifest: dict) -> bool:
    """True when the page exists and was written from the same content key."""
    return manifest.get("pages", {}).get(name) == wanted[name] and (out_dir / name).is_file()


def build_town_report(published: Path, out_dir: Path, ags: str) -> Path:
    """Write the page of one town, ``<out_dir>/<ags>.html``, and return its path."""
    data = load(published)
    _check_towns(data, [ags])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return _write(Path(out_dir) / f"{ags}.html", Renderer(data).town(ags))


def _check_towns(data: ReportData, towns: list[str] | None) -> list[str]:
    if towns is None:
        return list(data.towns.index)
    unknown = sorted(set(towns) - set(data.towns.index))
    if unknown:
        raise ValueError(f"{data.path}: no Gemeinde with AGS {', '.join(unknown)} in municipalities "
                         "(use the 8-digit AGS with leading zeros)")
    return list(dict.fromkeys(towns))


def _render_towns(renderer: Renderer, out_dir: Path, towns: list[str]) -> Iterator[Path]:
    """Write the town pages, in forked worker processes for large runs.

    Fork shares the data loaded once by the parent; pages come back in order."""
    global _JOB
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # Fork only from a single-threaded process: a child forked while another thread holds a lock
    # (Dagster's in-process job runs event and log threads) waits on that lock forever.
    single_threaded = threading.active_count() == 1
    if (workers < 2 or len(towns) < PARALLEL_FROM or not single_threaded
            or "fork" not in multiprocessing.get_all_start_methods()):
        yield from (_write(out_dir / f"{ags}.html", renderer.town(ags)) for ags in towns)
        return
    _JOB = (renderer, out_dir)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_render_one, towns, chunksize=4)
    finally:
        _JOB = None


def _render_one(ags: str) -> Path:
    renderer, out_dir = _JOB
    return _write(out_dir / f"{ags}.html", renderer.town(ags))


def _write(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path


class Renderer:
    """Templates and the data loaded once; renders each page to a string."""

    def __init__(self, data: ReportData):
        self.data = data
        self.geoms = TownGeometries(data.geometries)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(de=de_number, rank=de_rank, signed=de_signed, pillar=pillar_label,
                                source=source_label)
        self.common = {"generated": datetime.now(timezone.utc).strftime("%d.%m.%Y %H:%M UTC"),
                       "method_version": data.method_version, "latest_period": data.latest_period,
                       "releases": self._releases(), "pillar_ids": PILLARS}

    def town(self, ags: str) -> str:
        context = town_context(self.data, self.geoms, ags)
        context["pillar_chart"] = pillar_chart(context["pillars"])
        return self._render("town.html.j2", context)

    def network(self) -> str:
        pilots = self.data.towns[self.data.towns["is_pilot"]].sort_values("name")
        towns = [town_summary(self.data, ags) for ags in pilots.index]
        series = {t["town"]["name"]: t["history"] for t in towns if t["history"] is not None}
        chart = charts.network_chart(series, "network") if series else None
        return self._render("network.html.j2", {"towns": towns, "chart": chart})

    def index(self, out_dir: Path) -> str:
        """All towns with their latest score and rank: pilots first, then by rank, then by name."""
        latest = self.data.index.groupby("ags").tail(1).set_index("ags")[["period", "score", "rank"]]
        towns = self.data.towns[["ags", "name", "kreis_ags", "kreis_name", "land", "population", "is_pilot"]]
        frame = towns.join(latest)
        frame["order"] = frame["rank"].astype("Float64").fillna(float("inf"))
        frame = frame.sort_values(["is_pilot", "order", "name"], ascending=[False, True, True])
        pages = {p.name for p in out_dir.glob("*.html")}
        rows = records(frame.drop(columns="order"))
        for row in rows:
            row["has_page"] = f"{row['ags']}.html" in pages
        return self._render("index.html.j2", {"rows": rows})

    def _render(self, template: str, context: dict) -> str:
        return self.env.get_template(template).render(**self.common, **context)

    def _releases(self) -> list[dict]:
        """Data freshness per source: latest vintage, how many vintages, when it was read in."""
        releases = self.data.releases.sort_values("vintage")
        summary = releases.groupby("source_id").agg(
            vintage=("vintage", "last"), vintages=("vintage", "nunique"), ingested_at=("ingested_at", "max"),
            publisher=("publisher", "last"), licence=("licence", "last"), licence_url=("licence_url", "last"),
            attribution=("attribution", "last")).reset_index()
        summary["label"] = summary["source_id"].map(source_label)
        return records(summary.sort_values("label"))


def town_summary(data: ReportData, ags: str) -> dict:
    """Town, latest index row and score history, for the network page."""
    frame = data.by_town["index"].get(ags)
    latest = records(frame.tail(1))[0] if frame is not None and not frame.empty else None
    return {"town": data.towns.loc[ags].to_dict(), "latest": latest,
            "history": frame[["period", "score"]] if frame is not None else None}
