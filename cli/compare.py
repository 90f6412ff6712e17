"""`readiness compare <town> <town> …`: a page with up to 8 towns side by side (reports/build.py)."""

from __future__ import annotations

from pathlib import Path

from cli.store import CliError, open_warehouse, warehouse_path
from cli.towns import resolve


def compare_towns(queries: list[str], out_dir: Path | None, name: str | None = None) -> Path:
    """Resolve each name or AGS, then write the comparison page; returns its path."""
    from reports import build

    if not 2 <= len(queries) <= build.MAX_COMPARE:
        raise CliError(f"Give 2 to {build.MAX_COMPARE} towns to compare, not {len(queries)}.")
    published = warehouse_path()
    with open_warehouse(published) as con:
        towns = [resolve(con, query) for query in queries]
    ags = list(dict.fromkeys(t.ags for t in towns))
    if len(ags) < 2:
        raise CliError("The towns given are all the same Gemeinde; give at least two different ones.")
    page = name or "vergleich-" + "-".join(ags) + ".html"
    return build.build_comparison(published, out_dir or build.reports_dir(), ags, page)
