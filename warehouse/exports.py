"""Exports of the published warehouse for planners without DuckDB: Parquet, CSV and a GeoPackage.

After each publish, ``export_planner_views`` writes every planner view (``warehouse.PLANNER_VIEWS``)
as Parquet and CSV, and ``municipalities.gpkg`` with the towns in scope and their latest index,
into a new directory ``<out_dir>/<UTC timestamp>/``. The directory is filled under a hidden
temporary name and renamed when complete, then the ``latest`` symlink is repointed atomically,
so a reader following ``latest`` never sees a half-written export. The last three exports are kept.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from warehouse import DEFAULT_EXPORTS_DIR, PLANNER_VIEWS, exports_dir  # noqa: F401 (re-exported)

KEEP_EXPORTS = 3
LATEST = "latest"
GEOPACKAGE = "municipalities.gpkg"

# Towns in scope (the ranked reference group: small towns and the pilots) with the latest period that
# has a score under the current method version, and the latest geometry (by the date in the vintage;
# on the same date the detailed VG250 before VG5000).
TOWNS_SQL = """
WITH latest_index AS (
    SELECT * FROM town_index_history WHERE score IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY period DESC) = 1
), latest_geometry AS (
    SELECT ags, vintage AS geometry_vintage, geometry_wkb FROM municipality_geometries
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY regexp_extract(vintage, '\\d{4}-\\d{2}-\\d{2}') DESC,
                                                      vintage LIKE 'vg250%' DESC) = 1
)
SELECT m.ags, m.name, m.kreis_ags, m.kreis_name, m.land, m.is_pilot, m.population,
       i.period, i.score, i.rank, i.compared_towns, i.rank_median, i.rank_p05, i.rank_p95,
       i.digital_infrastructure, i.commuting_potential, i.demographic_dynamics, i.local_work_infrastructure,
       i.accessibility,
       i.imputed_share, i.missing_pillars, i.method_version, g.geometry_vintage, g.geometry_wkb
FROM municipalities m
LEFT JOIN latest_index i USING (ags)
LEFT JOIN latest_geometry g USING (ags)
WHERE m.in_reference_group
ORDER BY m.ags
"""


def export_planner_views(published: Path, out_dir: Path | None = None) -> dict[str, int]:
    """Export every planner view (Parquet, CSV) and the towns' GeoPackage; return the rows per export file.

    Raises ValueError naming the view and the file when a planner view is missing from ``published``.
    """
    published = Path(published)
    out_dir = Path(out_dir) if out_dir is not None else exports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = out_dir / f".{stamp}.partial"
    staging.mkdir()
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            check_views(con, published)
            counts = write_views(con, staging)
            counts[GEOPACKAGE] = write_geopackage(con, staging / GEOPACKAGE)
        final = out_dir / stamp
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(out_dir, final)
    prune(out_dir, KEEP_EXPORTS)
    return counts


def check_views(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Fail before writing anything when a planner view is not in the published file."""
    present = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    missing = [view for view in PLANNER_VIEWS if view not in present]
    if missing:
        raise ValueError(f"cannot export {published}: planner view(s) {', '.join(missing)} missing from the file")


def write_views(con: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, int]:
    """COPY each planner view to Parquet and CSV; the count is what COPY reports it wrote."""
    counts = {}
    for view in PLANNER_VIEWS:
        for suffix, options in (("parquet", "FORMAT parquet"), ("csv", "FORMAT csv, HEADER")):
            target = directory / f"{view}.{suffix}"
            counts[target.name] = con.execute(f"COPY (SELECT * FROM {view}) TO '{target}' ({options})").fetchone()[0]
    return counts


def write_geopackage(con: duckdb.DuckDBPyConnection, target: Path) -> int:
    """Write the towns in scope with their latest index and geometry (EPSG:4326) as a GeoPackage layer."""
    import geopandas
    import shapely

    frame = con.execute(TOWNS_SQL).fetch_df()
    wkb = frame.pop("geometry_wkb")
    # a town without a geometry (e.g. formed after the boundary vintage) is kept, with an empty geometry
    geometry = [None if value is None or value is pd.NA else shapely.from_wkb(bytes(value)) for value in wkb]
    towns = geopandas.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    towns.to_file(target, layer="municipalities", driver="GPKG", engine="pyogrio")
    return len(towns)


def point_latest(out_dir: Path, target: Path) -> None:
    """Repoint ``latest`` at ``target`` atomically: a new symlink under a temporary name renamed over it."""
    temporary = out_dir / f".{LATEST}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)  # relative, so the export directory can be moved as a whole
    os.replace(temporary, out_dir / LATEST)


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` export directories (never the one ``latest`` points to)."""
    current = (out_dir / LATEST).resolve()
    exports = sorted(p for p in out_dir.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    removed = [p for p in exports[:-keep] if p.resolve() != current] if keep else []
    for path in removed:
        shutil.rmtree(path)
    return removed
