"""Downloads for planners: the planner views as Excel, German CSV, Parquet and a GeoPackage (warehouse/exports.py).

An asset of its own, downstream of the published warehouse, so a failed export shows as a failed
asset with its own checks instead of failing the publish step after the swap.
"""


from pathlib import Path

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.checks import Check, checks_step
from pipelines.resources import ReadinessSettings
from warehouse.exports import GEOPACKAGE, LATEST, PLANNER_VIEWS, export_planner_views, sheet_column, verify_export



@asset(group_name="publish", deps=[AssetKey("published_warehouse")], kinds={"excel", "csv", "parquet"},
       tags={"stage": "publish"}, owners=["team:data-engineering"],
       description="Downloads of the published warehouse: every planner view as .xlsx (German headers, AGS as "
                   "text, a sheet of sources and licences), as German CSV (;, decimal comma, UTF-8 with BOM) "
                   "and as Parquet, and municipalities.gpkg for GIS; in data/exports/latest "
                   "(READINESS_EXPORTS_DIR). A view above one Excel sheet (indicator_history) has only its "
                   "latest year in the .xlsx; unchanged views are linked from the previous export.")
def planner_exports(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    counts = export_planner_views(settings.published, settings.exports)
    latest = (settings.exports / LATEST).resolve()
    context.log.info(f"exported {len(counts)} files to {latest}")
    rows = {view: counts[f"{view}.csv"] for view in PLANNER_VIEWS}
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(latest)),
        "files": MetadataValue.int(len(counts)),
        "rows_per_view": MetadataValue.md("\n".join(["| Sicht | Zeilen |", "|---|---:|"] +
                                                    [f"| {view} | {n:,} |".replace(",", ".") for view, n in rows.items()])),
        "geopackage_towns": MetadataValue.int(counts[GEOPACKAGE]),
    })


def _latest(settings: ReadinessSettings) -> Path:
    return (settings.exports / LATEST).resolve()


def every_view_complete(con, settings: ReadinessSettings) -> AssetCheckResult:
    """Each planner view is in the latest export in every format with the published row count."""
    # the export recorded each file's rows, size and SHA-256 in manifest.json: verified here without
    # parsing the files again (warehouse/exports.py verify_export); the published file recorded its view counts
    latest = _latest(settings)
    problems = verify_export(settings.published, latest)
    return AssetCheckResult(passed=not problems, metadata={"path": str(latest), "problems": "; ".join(problems) or "none"})


def ags_kept_as_text(con, settings: ReadinessSettings) -> AssetCheckResult:
    """Every AGS of latest_ranking's .xlsx and CSV is 8-digit text (one view read: every view is written by the same
    writers, and reading all of them would cost most of the export step again)."""
    import pandas as pd

    latest = _latest(settings)
    xlsx = sheet_column(latest / "latest_ranking.xlsx", "AGS")
    csv = pd.read_csv(latest / "latest_ranking.csv", sep=";", decimal=",", dtype=str)["AGS"].tolist()
    bad = [a for a in xlsx + csv if not (isinstance(a, str) and len(a) == 8 and a.isdigit())]
    return AssetCheckResult(passed=bool(xlsx) and not bad,
                            metadata={"xlsx_ags": len(xlsx), "csv_ags": len(csv), "not_8_digit_text": len(bad),
                                      "examples": str(bad[:5])})


export_assets = [planner_exports]
# both read the export folder, not the working database (reads_work=False); one step for the two
EXPORT_CHECKS = [
    Check("planner_exports", "every_view_complete", blocking=True, evaluate=every_view_complete, reads_work=False,
          description="Each planner view is in the latest export in every format (Parquet, CSV, .xlsx) with "
                      "as many rows as the view has in the published warehouse (the .xlsx of a view above one "
                      "Excel sheet: as many as its latest year)."),
    Check("planner_exports", "ags_kept_as_text", blocking=False, evaluate=ags_kept_as_text, reads_work=False,
          description="In latest_ranking's .xlsx and CSV every AGS has its 8 digits, leading zero included "
                      "(e.g. Mölln 01053090): Excel must not turn it into a number (one view read; every view's "
                      "files come from the same writers)."),
]
export_checks = [checks_step("planner_exports", EXPORT_CHECKS)]
