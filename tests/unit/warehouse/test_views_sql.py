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
