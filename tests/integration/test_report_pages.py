"""Incremental report builds: unchanged data rewrite no page; a changed score rewrites only the pages that show it."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest

from indicators.catalogue import load_catalogue
from reports import build, child, pages
from reports.build import build_reports
from reports.child import ReportBuildError
from reports.maps import TownGeometries
from reports.data import load
from reports.labels import de_number


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
    assert summary == {"written": len(paths), "unchanged": 0, "processes": 1} and len(paths) == 32
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
    # fewer pages: the other town's page is removed and the index rewritten without it, which needs the data
    # (before 5 December nothing was done, and the index kept linking a page no build would update)
    with pytest.raises(AssertionError, match="loaded"):
        build_reports(published, out, towns=towns[:-1], summary=summary)
    assert (out / f"{towns[-1]}.html").is_file()  # nothing is removed before the towns asked for are known
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


def build_files(out: Path) -> dict[Path, bytes]:
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_worker_processes_write_the_same_files_as_one_process(built, tmp_path, monkeypatch):
    """The default build with workers runs in a child interpreter (reports/child.py), which forks two page
    workers (chunks of 4, the parallel path forced for 30 towns: the caller's PARALLEL_FROM and CHUNK are
    passed on); its files are byte for byte the ones one process writes here: pages, CSV, workbooks, maps
    and the manifest (SOURCE_DATE_EPOCH stops the clock of both builds)."""
    published, _, towns = built
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796126400")  # 2026-12-01 12:00 UTC
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "CHUNK", 4)
    serial, forked = tmp_path / "serial", tmp_path / "forked"
    one = {}
    build_reports(published, serial, towns=towns, workers=1, summary=one)
    assert one["processes"] == 1 and "pid" not in one  # workers=1: no child, no fork
    done = []
    summary = {}
    build_reports(published, forked, towns=towns, workers=2, summary=summary,
                  progress=lambda n, total: done.append((n, total)))
    assert summary["written"] == len(towns) + 2 and summary["unchanged"] == 0
    assert summary["processes"] == 2  # the child runs one thread, so it forked its workers
    assert summary["pid"] not in (0, os.getpid())
    assert done[-1] == (len(towns), len(towns)) and len(done) == len(towns)  # progress reached this process
    serial_files, forked_files = build_files(serial), build_files(forked)
    assert sorted(serial_files) == sorted(forked_files)
    assert len([f for f in serial_files if f.suffix == ".xlsx"]) >= len(towns)
    assert b"01.12.2026 13:00 Uhr" in serial_files[Path(f"{towns[0]}.html")]  # the stopped clock, Berlin time
    assert [f for f in serial_files if serial_files[f] != forked_files[f]] == []


def test_a_process_with_threads_does_not_fork(built, tmp_path, monkeypatch):
    """Asked to render here (isolate=False) with workers while another thread runs, the build renders in
    this process instead of forking (a fork would copy the thread's locks, not the thread)."""
    published, _, towns = built
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not build._fork_safe()
        summary = {}
        build_reports(published, tmp_path / "here", towns=towns[:3], workers=2, isolate=False, summary=summary)
    finally:
        stop.set()
        thread.join()
    assert summary["processes"] == 1 and "pid" not in summary and summary["written"] == 5


def test_a_failure_in_the_child_names_its_exit_code_and_error(published_without_gap, snapshot_warehouse, tmp_path):
    """The child's exception reaches the caller: input errors as their own type, others as
    ReportBuildError with the child's exit code, its message and the end of its stderr."""
    broken = published_without_gap
    expected = r"child process \d+ failed \(exit code 1\): OutdatedWarehouse: .*lacks coworking_gap"
    with pytest.raises(ReportBuildError, match=expected) as failure:
        build_reports(broken, tmp_path / "out", towns=None, isolate=True)
    assert "Traceback" in str(failure.value)  # the end of the child's stderr
    with pytest.raises(ValueError, match="01053999"):
        build_reports(snapshot_warehouse, tmp_path / "out", towns=["01053999"], isolate=True)


def session_members(sid: int) -> list[int]:
    """Pids of the living (not zombie) processes of session ``sid`` (/proc/<pid>/stat: state, session)."""
    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


def test_a_caller_that_gives_up_stops_the_child_and_its_workers(built, tmp_path, monkeypatch):
    """An error in the caller while the child builds (here: in its progress callback; in the step: a
    termination) kills the child's session, page workers included: no process is left behind."""
    published, _, towns = built
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "CHUNK", 4)
    started, members = [], []
    real_popen = child.subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process.pid)
        return process

    def give_up(done, total):
        members.extend(session_members(started[0]))  # the child and its forked workers, running
        raise KeyboardInterrupt("stop")

    monkeypatch.setattr(child.subprocess, "Popen", recording_popen)
    with pytest.raises(KeyboardInterrupt):
        build_reports(published, tmp_path / "given-up", towns=towns, workers=2, progress=give_up)
    assert len(members) >= 3 and started[0] in members
    deadline = time.monotonic() + 10  # the killed workers are reaped by whoever adopted them
    while session_members(started[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(started[0]) == []


def test_pages_drawn_beside_the_workers_link_the_town_pages_that_exist(built, tmp_path, monkeypatch):
    """The network, index and ranking pages and the maps are drawn in the child while its workers render the
    town pages, from the pages there will be: the ones asked for (a page of an earlier build of another town is
    removed first). Drawn again now, from the files in the folder, they are the same (index, ranking, the map's
    data)."""
    from reports.build import Renderer
    from reports.webmap import AtlasData, data_script, geojson

    published, _, towns = built
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796126400")
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "CHUNK", 4)
    out = tmp_path / "reports"
    build_reports(published, out, towns=towns[-1:], workers=1)  # a page of an earlier build
    summary = {}
    build_reports(published, out, towns=towns[:12], workers=2, summary=summary)
    assert summary["processes"] == 2 and summary["pid"] not in (0, os.getpid()) and summary["removed"] == 1
    data = load(published)
    there = {p.name for p in out.glob("*.html")}
    assert {f"{a}.html" for a in towns[:12]} <= there and f"{towns[-1]}.html" not in there
    renderer = Renderer(data)
    assert (out / "index.html").read_text(encoding="utf-8") == renderer.index(out)
    assert (out / build.RANKING_PAGE).read_text(encoding="utf-8") == renderer.ranking(out)
    assert (out / "atlas" / "karte-daten.js").read_text(encoding="utf-8") == data_script(geojson(AtlasData(data), there))
    assert f'href="{towns[-1]}.html"' not in (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{towns[0]}.html"' in (out / "index.html").read_text(encoding="utf-8")


def test_a_first_build_in_the_child_records_the_state_for_the_next_build(built, tmp_path, monkeypatch):
    """A forced build starts the child before the published file is fingerprinted and sends the state
    afterwards: the manifest holds the same fingerprint, so the next build finds nothing changed."""
    published, _, towns = built
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "CHUNK", 2)
    out = tmp_path / "reports"
    summary = {}
    build_reports(published, out, towns=towns[:6], workers=2, force=True, summary=summary)
    assert summary["processes"] == 2 and summary["written"] == 8
    manifest = pages.read_manifest(out)
    assert manifest["published"] == pages.published_fingerprint(published)
    assert manifest["template"] == pages.template_version()
    again = {}
    build_reports(published, out, towns=towns[:6], workers=2, summary=again)
    assert again == {"written": 0, "unchanged": 8}


def test_a_pilots_value_of_the_published_period_rewrites_the_network_page(built, tmp_path):
    """The network page shows each pilot's indicator values of the published period, which are read for
    the pilots only (``ReportData.period_indicators``), not loaded with the per-town frames: its key must
    still change when one of them changes, and the page must show the new value."""
    published, out, towns = built
    build_reports(published, out, towns=towns)  # current after the tests before
    with duckdb.connect(str(published)) as con:
        pilot, indicator, period = con.execute(
            "SELECT v.ags, v.indicator_id, v.period FROM indicator_values v JOIN municipalities m USING (ags) "
            "JOIN indicator_catalogue c USING (indicator_id) WHERE m.is_pilot AND c.pillar <> 'context' "
            "AND v.value IS NOT NULL AND v.period = (SELECT max(period) FROM latest_ranking) "
            "ORDER BY v.ags, v.indicator_id LIMIT 1").fetchone()
        con.execute("UPDATE indicator_values_history SET value = 123456.75 WHERE ags = ? AND indicator_id = ? "
                    "AND period = ? AND valid_to IS NULL", [pilot, indicator, period])
    data = load(published)
    frame, columns = data.period_indicators([pilot, "09999999"])
    assert set(frame["ags"]) == {pilot}
    assert {r["indicator_id"]: r["value"] for r in columns.rows(pilot)}[indicator] == 123456.75
    before = (out / "netzwerk.html").stat().st_mtime_ns
    summary = {}
    build_reports(published, out, towns=towns, summary=summary)
    assert (out / "netzwerk.html").stat().st_mtime_ns != before
    decimals = load_catalogue().unit_decimals[load_catalogue().indicators[indicator].unit]  # the unit's decimals
    assert de_number(123456.75, decimals) in (out / "netzwerk.html").read_text(encoding="utf-8")


def test_a_town_that_comes_to_share_a_rank_rewrites_the_page_of_the_other(built):
    """A page says "gleichauf mit ..." when other towns share its rank: another town's new rank changes that
    text although none of the town's own rows changed, so the page is rewritten."""
    published, out, towns = built
    build_reports(published, out, towns=towns)  # after any earlier test's change
    with duckdb.connect(str(published), read_only=True) as con:
        (first, rank, period), (second, _, _) = con.execute(
            "SELECT ags, rank, period FROM latest_ranking WHERE list_contains(?, ags) "
            "AND (SELECT count(*) FROM latest_ranking o WHERE o.rank = latest_ranking.rank) = 1 "
            "ORDER BY ags LIMIT 2", [towns]).fetchall()
    neighbours = set(TownGeometries(load(published).geometries).neighbours(second))
    assert first not in neighbours  # not rewritten for being next to the changed town
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE readiness_index_history SET rank = ? WHERE ags = ? AND period = ? AND valid_to IS NULL",
                    [rank, second, period])
    before, summary = mtimes(out), {}
    build_reports(published, out, towns=towns, summary=summary)
    after = mtimes(out)
    assert after[f"{first}.html"] != before[f"{first}.html"]
    assert "gleichauf mit einer weiteren Gemeinde" in (out / f"{first}.html").read_text(encoding="utf-8")


def test_pages_of_towns_outside_the_build_are_removed_with_their_downloads(built, tmp_path):
    """Review of 5 December: pages left by `readiness bericht --alle` (or a wider READINESS_REPORT_SCOPE) stayed in
    the folder, linked from the rewritten index, and were never rendered again. A build of fewer towns removes the
    other towns' pages and downloads, says how many, and the index no longer links them."""
    published, out, towns = built
    build_reports(published, out, towns=towns)  # after any earlier test's change
    folder = tmp_path / "reports"
    shutil.copytree(out, folder)
    kept, gone = towns[:-3], towns[-3:]
    assert all((folder / f"{ags}.html").is_file() for ags in gone)
    assert any(folder.glob(f"{gone[0]}-*.csv"))  # a page's downloads, removed with it below
    summary = {}
    build_reports(published, folder, towns=kept, summary=summary)
    for ags in gone:
        assert not (folder / f"{ags}.html").exists() and not (folder / f"{ags}.xlsx").exists()
        assert not list(folder.glob(f"{ags}-*.csv"))
        assert f'href="{ags}.html"' not in (folder / "index.html").read_text(encoding="utf-8")
    assert all((folder / f"{ags}.html").is_file() for ags in kept)
    assert f'href="{kept[0]}.html"' in (folder / "index.html").read_text(encoding="utf-8")
    assert summary.get("removed") == 3  # the step logs it
    build_reports(published, folder, towns=kept, summary=(again := {}))
    assert again == {"written": 0, "unchanged": len(kept) + 2}  # the next build: nothing left to remove or render
