"""warehouse/views.sql against the facts it shares with the Python code."""

from __future__ import annotations

import re

import duckdb

from sources.registry import RELEASE_YEAR
from warehouse.paths import VIEWS_SQL


def test_source_attribution_finds_a_release_year_with_the_registrys_pattern():
    """The view picks the newest release's attribution by the year its id names; the exports and the contracts
    read that year with sources.registry.RELEASE_YEAR, so the view must use the same pattern, and DuckDB's
    regular expressions must read it as Python's do."""
    patterns = re.findall(r"regexp_extract\(vintage, '([^']*)'\)", VIEWS_SQL.read_text(encoding="utf-8"))
    assert patterns == [RELEASE_YEAR]
    vintages = ["2021-mitte-rev2", "vg5000-2021", "2024-Q4", "1999", "2101", "12019", "ohne Jahr"]
    con = duckdb.connect()
    in_sql = [con.execute("SELECT regexp_extract(?, ?)", [v, RELEASE_YEAR]).fetchone()[0] for v in vintages]
    in_python = [(m.group(0) if (m := re.search(RELEASE_YEAR, v)) else "") for v in vintages]
    assert in_sql == in_python == ["2021", "2021", "2024", "1999", "", "2019", ""]


def test_the_planner_views_carry_every_pillar_of_the_catalogue():
    """latest_ranking and peer_comparison write the pillar columns out (schema.sql generates them per pillar from
    the catalogue): a new pillar must reach these two views and their exports, not be silently left out. The views
    are created on the empty published schema the registry generates."""
    from indicators.catalogue import load_catalogue
    from warehouse.paths import view_statements
    from warehouse.registry import published_ddl

    con = duckdb.connect()
    con.execute(published_ddl())
    con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
    assert set(view_statements()) <= {name for (name,) in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    pillars = list(load_catalogue().pillars)

    def columns(view: str) -> list[str]:
        return [name for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE {view})").fetchall()]

    assert [c for c in columns("latest_ranking") if c in pillars] == pillars  # all, in the catalogue's order
    assert [c for c in columns("peer_comparison") if c.startswith("gap_") and c != "gap_score"] == \
        [f"gap_{pillar}" for pillar in pillars]
