"""benchmarks/new_release.py: an incremental refresh after a release arrives must publish what a cold build does.
Its comparison: landing times and the history's earlier versions do not count, any other difference does."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "new_release.py"


def _module():
    spec = importlib.util.spec_from_file_location("new_release", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(root: Path, landed: str, score: str = "61,2", history: int = 1, profile: float = 19566.0) -> Path:
    """A build folder as run_all.py's refresh leaves it: a published file with a current and a history view, a
    town page and its workbook naming when the release was landed."""
    (root / "warehouse").mkdir(parents=True)
    (root / "reports").mkdir()
    with duckdb.connect(str(root / "warehouse" / "readiness.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT '01053090' AS ags, ? AS value", [profile])
        con.execute("CREATE VIEW town_profile AS SELECT * FROM t")
        con.execute("CREATE TABLE h AS SELECT '01053090' AS ags, range AS version FROM range(?)", [history])
        con.execute("CREATE VIEW indicator_history AS SELECT * FROM h")
    (root / "reports" / "01053090.html").write_text(f"<td>Index {score}</td><td>{landed}</td>", encoding="utf-8")
    with zipfile.ZipFile(root / "reports" / "01053090.xlsx", "w") as book:
        book.writestr("xl/sharedStrings.xml", f"<si><t>{landed}</t></si><si><t>{score}</t></si>")
    (root / "reports" / ".pages.json").write_text(f'{{"landed": "{landed}"}}', encoding="utf-8")
    return root


def test_landing_times_and_the_histories_earlier_versions_do_not_count(tmp_path):
    compare_builds = _module().compare_builds
    cold = _build(tmp_path / "cold", "06.12.2026 02:52 Uhr")
    same = _build(tmp_path / "same", "06.12.2026 02:48 Uhr", history=2)  # the before-run's version kept
    assert compare_builds(same, cold) == 0


def test_a_changed_page_workbook_or_view_differs(tmp_path):
    compare_builds = _module().compare_builds
    cold = _build(tmp_path / "cold", "06.12.2026 02:52 Uhr")
    stale_page = _build(tmp_path / "page", "06.12.2026 02:48 Uhr", score="60,9")
    assert compare_builds(stale_page, cold) == 1
    stale_book = _build(tmp_path / "book", "06.12.2026 02:48 Uhr")
    with zipfile.ZipFile(stale_book / "reports" / "01053090.xlsx", "w") as book:
        book.writestr("xl/sharedStrings.xml", "<si><t>06.12.2026 02:48 Uhr</t></si><si><t>60,9</t></si>")
    assert compare_builds(stale_book, cold) == 1
    assert compare_builds(_build(tmp_path / "view", "06.12.2026 02:52 Uhr", profile=19567.0), cold) == 1
    assert compare_builds(_build(tmp_path / "fewer", "06.12.2026 02:52 Uhr", history=0), cold) == 1


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
    assert (tmp_path / "sources" / "inkar" / "_regionen.parquet").read_text(encoding="utf-8") == "inkar/_regionen.parquet"
