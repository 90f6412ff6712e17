"""Paths reach SQL only as parameters or quoted literals/identifiers (issue 12.6): a whole refresh.

A warehouse under a folder with a quote in its name (``Kreis o'Brien``) is refreshed by the whole job (its
working, staging and previous published files attached, the candidate built, the exports copied), published
over the previous one once more and exported (COPY): no SQL error, nothing injected. The refresh is the
session's identical rerun (tests/conftest.py: snapshot_rerun), which runs in such a folder.
"""

from __future__ import annotations

import shutil

import duckdb

from tests.conftest import QUOTED_FOLDER
from warehouse.paths import candidate_path_for, work_path_for
from warehouse.publish import build_candidate, swap_in
from warehouse.exports import export_planner_views


def test_refresh_publish_and_export_under_a_folder_with_quotes(snapshot_rerun, tmp_path):
    published, result = snapshot_rerun
    folder = published.parent
    assert folder.name == QUOTED_FOLDER and "'" in str(folder) and '"' in str(folder)
    assert result.success
    assert (folder / "exports" / "latest" / "latest_ranking.csv").is_file()  # the job's own export, COPY into it
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM publish_log").fetchone()[0] == 2  # the session's, then the rerun's
        towns = con.execute("SELECT count(*) FROM latest_ranking").fetchone()[0]
        method = con.execute("SELECT method_version FROM publish_log").fetchone()[0]
    assert towns > 0
    # a second publish attaches the previous file as well (its path carries the quote): on a copy of the folder,
    # under the same quoted name, since the rerun's folder is shared with other tests (and xdist workers)
    folder = tmp_path / QUOTED_FOLDER
    shutil.copytree(published.parent, folder, ignore=shutil.ignore_patterns("exports", "reports"))
    published = folder / published.name
    candidate = candidate_path_for(published)
    build_candidate(work_path_for(published), published, candidate,
                    {"run_id": "second", "mode": "snapshot", "method_version": method})
    swap_in(candidate, published)
    with duckdb.connect(str(published), read_only=True) as con:
        assert [r[0] for r in con.execute("SELECT run_id FROM publish_log ORDER BY published_at").fetchall()][-1] \
            == "second"
        assert con.execute("SELECT count(*) FROM latest_ranking").fetchone()[0] == towns
    counts = export_planner_views(published, folder / "exports 'x'")
    assert counts["latest_ranking.csv"] == towns
    assert (folder / "exports 'x'" / "latest" / "latest_ranking.parquet").is_file()
