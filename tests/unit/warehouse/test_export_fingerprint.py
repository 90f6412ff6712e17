"""A view's export fingerprint covers what shapes its files besides the rows: the workbook title (warehouse/tables.yaml
planner_views), the German column headers and the export code itself, so a changed layout is written again instead of
hard-linked from the previous export (review of 5 December: a new title never reached the files, not even with
--alles-neu; a new header re-ran the step but kept the old files)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from warehouse import exports


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE VIEW latest_ranking AS SELECT '01053090' AS ags, 'Mölln' AS name, 3 AS rank, 55.5 AS score")
    yield con
    con.close()


def fingerprint(con) -> str:
    return exports.view_fingerprint(con, "latest_ranking", "common")


def test_the_same_view_and_layout_give_the_same_fingerprint(con):
    assert fingerprint(con) == fingerprint(con)


def test_a_changed_workbook_title_changes_the_fingerprint(con, monkeypatch):
    before = fingerprint(con)
    monkeypatch.setitem(exports.VIEW_TITLES, "latest_ranking", "Aktuelle Rangliste (neu)")
    assert fingerprint(con) != before


def test_a_changed_german_header_changes_the_fingerprint(con, monkeypatch):
    before = fingerprint(con)
    monkeypatch.setitem(exports.GERMAN_HEADERS, "rank", "Platz")
    assert fingerprint(con) != before


def test_a_change_of_the_export_code_changes_the_fingerprint(con, monkeypatch, tmp_path):
    """Any edit of warehouse/exports.py (a CSV number format, a sheet's layout) rewrites the files, without a
    hand-raised EXPORT_VERSION."""
    before = fingerprint(con)
    edited = tmp_path / "exports.py"
    shutil.copyfile(exports.__file__, edited)
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# another layout\n", encoding="utf-8")
    monkeypatch.setattr(exports, "__file__", str(edited))
    exports.layout_version.cache_clear()
    try:
        assert fingerprint(con) != before
    finally:
        monkeypatch.undo()
        exports.layout_version.cache_clear()
    assert fingerprint(con) == before


def test_a_file_of_another_fingerprint_is_written_again_not_linked(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "latest_ranking.xlsx").write_bytes(b"old workbook")
    entry = {"rows": 1, "fingerprint": "before the new title", "directory": str(old)}
    new = tmp_path / "new"
    new.mkdir()
    assert exports._reuse(entry, "after the new title", new / "latest_ranking.xlsx") is None
    assert not (new / "latest_ranking.xlsx").exists()
    assert exports._reuse(entry, "before the new title", new / "latest_ranking.xlsx") == 1
