"""Static German HTML reports from the published warehouse: one page per town, a network page, an index.

    from reports.build import build_reports, reports_dir
    build_reports(Path("warehouse/readiness.duckdb"), reports_dir())

Pages are self-contained (inline CSS and SVG, no scripts, fonts or images from elsewhere), so they
open from a file share or a USB stick without internet.
"""

from __future__ import annotations

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
from warehouse import DEFAULT_REPORTS_DIR, REPORTS_DIR_ENV, reports_dir  # noqa: F401 (re-exported)

TEMPLATES = Path(__file__).with_name("templates")
MAX_WORKERS = 8     # processes rendering town pages
PARALLEL_FROM = 40  # fewer pages than this render in the calling process
_JOB = None         # (renderer, out_dir) inherited by forked workers


def build_reports(published: Path, out_dir: Path, towns: list[str] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write ``<ags>.html`` for ``towns`` (None: every Gemeinde in ``municipalities``), then
    ``netzwerk.html``, ``index.html`` and the maps (``atlas/``); returns the paths of the pages (maps not
    counted). ``progress(done, total)`` per page."""
    data = load(published)
    selected = _check_towns(data, towns)
    renderer = Renderer(data)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for done, path in enumerate(_render_towns(renderer, out_dir, selected), start=1):
        written.append(path)
        if progress:
            progress(done, len(selected))
    written.append(_write(out_dir / "netzwerk.html", renderer.network()))
    written.append(_write(out_dir / "index.html", renderer.index(out_dir)))
    # Maps last, into atlas/ (not counted as pages): the map links only town pages that exist.
    from reports.webmap import build_maps
    build_maps(data, out_dir)
    return written


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
    """Write the town pages, in forked worker processes for large runs (matplotlib is the bottleneck).

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
