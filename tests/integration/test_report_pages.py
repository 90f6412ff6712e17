"""Incremental report builds: unchanged data rewrite no page; a changed score rewrites only the pages that show it."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import duckdb
import pytest
import xlsxwriter.core

from reports import build, pages
from reports.build import build_reports
from reports.maps import TownGeometries
from reports.data import load


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.html")}


@pytest.fixture(scope="module")
def built(snapshot_warehouse, tmp_path_factory):
    """A copy of the snapshot warehouse (changed by a test) and its reports, built once."""
    tmp = tmp_path_factory.mktemp("incremental")
    published = tmp / "readiness.duckdb"
    shutil.copyfile(snapshot_warehouse, published)
    out = tmp / "reports"
    with duckdb.connect(str(published), read_only=True) as con:
        towns = [a for (a,) in con.execute("SELECT ags FROM municipalities ORDER BY ags LIMIT 30").fetchall()]
    summary = {}
    paths = build_reports(published, out, towns=towns, summary=summary)
    assert summary == {"written": len(paths), "unchanged": 0} and len(paths) == 32
    return published, out, towns


def test_no_change_rewrites_no_page(built):
    published, out, towns = built
    before, summary = mtimes(out), {}
    build_reports(published, out, towns=towns, summary=summary)
    assert summary["written"] == 0 and mtimes(out) == before


def test_no_change_does_not_even_load_the_report_data(built, monkeypatch):
    published, out, towns = built
    build_reports(published, out, towns=towns)  # after any earlier test's change

    def no_load(path):
        raise AssertionError("report data loaded although nothing changed")

    monkeypatch.setattr(build, "load", no_load)
    summary = {}
    build_reports(published, out, towns=towns, summary=summary)
    assert summary == {"written": 0, "unchanged": len(towns) + 2}
    build_reports(published, out, towns=towns[:-1], summary=summary)  # fewer pages: all current
    assert summary["written"] == 0
    with duckdb.connect(str(published), read_only=True) as con:
        other = con.execute("SELECT ags FROM municipalities WHERE NOT list_contains(?, ags) LIMIT 1",
                            [towns]).fetchone()[0]
    with pytest.raises(AssertionError, match="loaded"):  # a page not built yet needs the data
        build_reports(published, out, towns=[*towns, other], summary=summary)


def test_deleted_page_and_force(built):
    published, out, towns = built
    victim = sorted(out.glob("0*.html"))[0]
    victim.unlink()
    summary = {}
    build_reports(published, out, towns=towns, summary=summary)
    assert summary["written"] == 1 and victim.is_file()
    build_reports(published, out, towns=towns, force=True, summary=summary)
    assert summary["unchanged"] == 0


def test_changed_score_rewrites_the_town_its_neighbours_and_the_index(built):
    published, out, towns = built
    with duckdb.connect(str(published), read_only=True) as con:
        town, period = con.execute(
            # the period the maps colour by: the latest published (not provisional) one
            "SELECT ags, period FROM readiness_index WHERE score IS NOT NULL AND ags IN "
            "(SELECT ags FROM municipalities WHERE NOT is_pilot) AND list_contains(?, ags) "
            "AND period = (SELECT max(period) FROM latest_ranking) ORDER BY ags LIMIT 1", [towns]).fetchone()
    data = load(published)
    neighbours = set(TownGeometries(data.geometries).neighbours(town))
    assert neighbours
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE readiness_index_history SET score = score + 1 WHERE ags = ? AND period = ? "
                    "AND valid_to IS NULL", [town, period])  # readiness_index is a view over it
    before, summary = mtimes(out), {}
    build_reports(published, out, towns=towns, summary=summary)
    after = mtimes(out)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {f"{town}.html", "index.html"} | {f"{n}.html" for n in neighbours if f"{n}.html" in before}


def test_template_change_rebuilds_every_page(built, monkeypatch):
    published, out, towns = built
    monkeypatch.setattr(pages, "template_version", lambda: "another layout")
    summary = {}
    build_reports(published, out, towns=towns, summary=summary)
    assert summary["unchanged"] == 0


def test_unreadable_manifest_means_rebuild(built):
    published, out, towns = built
    (out / pages.MANIFEST).write_text("{not json", encoding="utf-8")
    summary = {}
    build_reports(published, out, towns=towns, summary=summary)
    assert summary["unchanged"] == 0


class _FixedClock(datetime.datetime):
    """A clock stopped at one instant: the pages' "erstellt" line and the workbooks' creation date."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 1, 12, 0, tzinfo=tz)


def test_worker_processes_write_the_same_files_as_one_process(built, tmp_path, monkeypatch):
    """Pages rendered in forked workers (chunks of 4, the parallel path forced for 30 towns) are byte for
    byte the files one process writes: pages, CSV, workbooks, maps and the manifest."""
    published, _, towns = built
    monkeypatch.setattr(build, "datetime", _FixedClock)
    monkeypatch.setattr(xlsxwriter.core, "datetime", _FixedClock)
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "CHUNK", 4)
    serial, forked = tmp_path / "serial", tmp_path / "forked"
    build_reports(published, serial, towns=towns, workers=1)
    done = []
    summary = {}
    build_reports(published, forked, towns=towns, workers=2, summary=summary,
                  progress=lambda n, total: done.append((n, total)))
    assert summary == {"written": len(towns) + 2, "unchanged": 0}
    assert done[-1] == (len(towns), len(towns)) and len(done) == len(towns)
    files = sorted(p.relative_to(serial) for p in serial.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(forked) for p in forked.rglob("*") if p.is_file())
    assert len([f for f in files if f.suffix == ".xlsx"]) >= len(towns)
    different = [f for f in files if (serial / f).read_bytes() != (forked / f).read_bytes()]
    assert different == []
