"""benchmarks/new_release.py: an incremental refresh after a release arrives must publish what a cold build does.
Its comparison: landing times and the history tables' closed versions do not count, any other difference does."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb

from tests.unit.bench_scripts import load


def _module():
    return load("new_release")


def _build(root: Path, landed: str, score: str = "61,2", closed: int = 0, current: int = 1,
           profile: float = 19566.0) -> Path:
    """A build folder as run_all.py's refresh leaves it: a published file with a table and its view, a history
    table with ``closed`` earlier and ``current`` open versions and its view of the open ones, a town page and its
    workbook naming when the release was landed, and the page build's record (hashes of the landing time too)."""
    (root / "warehouse").mkdir(parents=True)
    (root / "reports").mkdir()
    with duckdb.connect(str(root / "warehouse" / "readiness.duckdb")) as con:
        con.execute("CREATE TABLE municipalities AS SELECT '01053090' AS ags, ? AS population", [profile])
        con.execute("CREATE VIEW town_profile AS SELECT * FROM municipalities")
        con.execute("CREATE TABLE indicator_values_history AS SELECT '01053090' AS ags, range AS version, "
                    "CASE WHEN range < ? THEN 'closed' END AS valid_to FROM range(?)", [closed, closed + current])
        con.execute("CREATE VIEW indicator_history AS SELECT ags FROM indicator_values_history WHERE valid_to IS NULL")
    (root / "reports" / "01053090.html").write_text(f"<td>Index {score}</td><td>{landed}</td>", encoding="utf-8")
    with zipfile.ZipFile(root / "reports" / "01053090.xlsx", "w") as book:
        book.writestr("xl/sharedStrings.xml", f"<si><t>{landed}</t></si><si><t>{score}</t></si>")
    (root / "reports" / ".pages.json").write_text(f'{{"01053090.html": "{hash(landed)}"}}', encoding="utf-8")
    return root


def test_landing_times_and_the_history_tables_closed_versions_do_not_count(tmp_path):
    compare_builds = _module().compare_builds
    cold = _build(tmp_path / "cold", "06.12.2026 02:52 Uhr")
    same = _build(tmp_path / "same", "06.12.2026 02:48 Uhr", closed=1)  # the before-run's version, closed
    assert compare_builds(same, cold) == 0


def test_a_changed_page_workbook_table_or_current_version_differs(tmp_path):
    compare_builds = _module().compare_builds
    cold = _build(tmp_path / "cold", "06.12.2026 02:52 Uhr")
    stale_page = _build(tmp_path / "page", "06.12.2026 02:48 Uhr", score="60,9")
    assert compare_builds(stale_page, cold) == 1
    stale_book = _build(tmp_path / "book", "06.12.2026 02:48 Uhr")
    with zipfile.ZipFile(stale_book / "reports" / "01053090.xlsx", "w") as book:
        book.writestr("xl/sharedStrings.xml", "<si><t>06.12.2026 02:48 Uhr</t></si><si><t>60,9</t></si>")
    assert compare_builds(stale_book, cold) == 1
    assert compare_builds(_build(tmp_path / "table", "06.12.2026 02:52 Uhr", profile=19567.0), cold) == 1
    # an earlier version left open: the history table may differ, its view of the open versions not
    assert compare_builds(_build(tmp_path / "open", "06.12.2026 02:52 Uhr", current=2), cold) == 1
    assert compare_builds(_build(tmp_path / "none", "06.12.2026 02:52 Uhr", current=0), cold) == 1


def test_the_release_is_held_back_and_linked_into_the_same_folder(tmp_path):
    module = _module()
    source = tmp_path / "data"
    for name in ("breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv",
                 "breitbandatlas/gemeinde_bezirke_privat_2020_ende.csv", "inkar/_regionen.parquet"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name, encoding="utf-8")
    present, held = module.split_files(source, module.DEFAULT_HOLD_BACK)
    assert held == ["breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv"]
    assert present == ["breitbandatlas/gemeinde_bezirke_privat_2020_ende.csv", "inkar/_regionen.parquet"]
    module.link(source, tmp_path / "sources", present)
    assert sorted(p.relative_to(tmp_path / "sources").as_posix()
                  for p in (tmp_path / "sources").rglob("*") if p.is_file()) == present
    linked = tmp_path / "sources" / "inkar" / "_regionen.parquet"
    assert linked.is_symlink() and linked.read_text(encoding="utf-8") == "inkar/_regionen.parquet"


def test_a_failed_run_is_explained_by_its_exceptions_message(tmp_path):
    log = tmp_path / "before.log"
    log.write_text("2026-12-06 02:18:51 +0000 - dagster - ERROR - STEP_FAILURE\n"
                   "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op\n"
                   "ValueError: not published: implausible changes between releases: [breitbandatlas] ...\n"
                   "sources.errors.SourceError: [inkar] /tmp/sources: no files matching ...\n"
                   "ValueError: not published: implausible changes between releases: [breitbandatlas] ...\n",
                   encoding="utf-8")
    assert _module().failure_lines(log) == [
        "ValueError: not published: implausible changes between releases: [breitbandatlas] ...",
        "sources.errors.SourceError: [inkar] /tmp/sources: no files matching ..."]
    log.write_text("nothing that says why\n", encoding="utf-8")
    assert _module().failure_lines(log) == [f"see {log}"]
