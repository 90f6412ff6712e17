"""`readiness compare <town> <town> …`: a page with up to 8 towns side by side (reports/build.py)."""

from __future__ import annotations

from pathlib import Path

from cli.store import CliError, open_warehouse, warehouse_path
from cli.towns import resolve


def compare_towns(queries: list[str], out_dir: Path | None, name: str | None = None) -> Path:
    """Resolve each name or AGS, then write the comparison page; returns its path."""
    from reports import build

    if not 2 <= len(queries) <= build.MAX_COMPARE:
        raise CliError(f"Bitte 2 bis {build.MAX_COMPARE} Gemeinden zum Vergleich angeben, nicht {len(queries)}.")
    published = warehouse_path()
    with open_warehouse(published, current=True) as con:
        towns = [resolve(con, query) for query in queries]
    ags = list(dict.fromkeys(t.ags for t in towns))
    if len(ags) < 2:
        raise CliError("Die angegebenen Namen meinen alle dieselbe Gemeinde; bitte mindestens zwei verschiedene angeben.")
    if name is not None and (Path(name).name != name or not name.endswith(".html") or name.startswith(".")):
        # the page's downloads are written beside it: a path would put the page elsewhere, its links broken
        raise CliError(f"--name {name!r}: bitte einen Dateinamen auf .html ohne Ordner angeben "
                       "(den Ordner bestimmt --ziel).")
    page = name or "vergleich-" + "-".join(ags) + ".html"
    return build.build_comparison(published, out_dir or build.reports_dir(), ags, page)
