"""The planner exports' code version follows warehouse/tables.yaml, where the workbooks' titles are declared
(planner_views): a changed title makes the export step stale (review of 5 December: it never ran again)."""

from __future__ import annotations

from pipelines import versions


def project_of(tmp_path, monkeypatch, names: tuple[str, ...], text: str) -> None:
    """A project tree in ``tmp_path`` with the files ``names`` (each holding ``text``) that the code versions read
    instead of the repository's (``versions.PROJECT_ROOT``), their cached hashes dropped."""
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(versions, "PROJECT_ROOT", tmp_path)
    versions.files_hash.cache_clear()


def test_a_changed_workbook_title_makes_the_exports_stale(tmp_path, monkeypatch):
    project_of(tmp_path, monkeypatch, ("warehouse/exports.py", "warehouse/tables.yaml", "pipelines/assets/exports.py"),
               "planner_views:\n  latest_ranking: Aktuelle Rangliste\n")
    try:
        before = versions.code_version("planner_exports", "publish")
        (tmp_path / "warehouse/tables.yaml").write_text("planner_views:\n  latest_ranking: Rangliste\n")
        versions.files_hash.cache_clear()
        assert versions.code_version("planner_exports", "publish") != before
    finally:
        versions.files_hash.cache_clear()
