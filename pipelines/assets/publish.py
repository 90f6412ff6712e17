"""Publish: build a candidate warehouse, let blocking checks validate it, swap it in atomically, export."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from pipelines.resources import ReadinessSettings
from warehouse import build_candidate, swap_in
from warehouse.exports import export_planner_views
from warehouse.validation import validate_candidate

CATALOGUE = load_catalogue()
PILOTS = list(CATALOGUE.pilot_towns)


@asset(group_name="publish", deps=[AssetKey("readiness_index"), AssetKey("municipality_geometries"),
                                   AssetKey("index_uncertainty"), AssetKey("index_coherence"),
                                   AssetKey("score_contributions"), AssetKey("peer_towns"),
                                   AssetKey("coworking_gap")],
       tags={"stage": "publish"}, owners=["team:data-engineering"],
       description="The next warehouse, built in a candidate file next to the published one: current tables "
                   "from the working database, history carried over from the published file (a revised "
                   "figure adds a version, nothing is dropped), planner views. Blocking checks validate it "
                   "before it may replace the published file.")
def warehouse_candidate(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:  # release records become the provenance table planners see
        con.execute("CREATE OR REPLACE TABLE source_releases AS SELECT * EXCLUDE (role, layout, landed_path) FROM releases")
    run = {"run_id": context.run.run_id, "mode": settings.source_mode, "method_version": CATALOGUE.method_version}
    changes = build_candidate(settings.work_db, settings.published, settings.candidate, run)
    sources = changes["sources_changed"]
    context.log.info(f"candidate {settings.candidate}; sources changed: {sorted(sources) or 'none'}")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(settings.candidate)),
        "sources_changed": MetadataValue.json(sources),
        "summary": (f"{len(sources)} sources with new or withdrawn releases" if sources
                    else "no source changed since the last publish"),
        "history": MetadataValue.json(changes["history"]),
        "rows_gained": MetadataValue.json(changes["rows_gained"]),
    })


@asset(group_name="publish", deps=[AssetKey("warehouse_candidate")], tags={"stage": "publish"},
       owners=["team:data-engineering"],
       description="The planner-facing DuckDB file (warehouse/readiness.duckdb by default): the validated "
                   "candidate renamed over it in one atomic step, so readers see the old or the new "
                   "warehouse, never a mix. Then the planner views are exported (Parquet, CSV, GeoPackage).")
def published_warehouse(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    # the blocking checks ran on the candidate; run them again so a stale or unchecked file is never swapped in
    findings = validate_candidate(settings.candidate, settings.published, PILOTS, settings.allow_shrink)
    problems = [f"{name}: {problem}" for name, f in findings.items() for problem in f.problems]
    if problems:
        raise ValueError(f"not published, {settings.candidate} failed validation: " + "; ".join(problems))
    swap_in(settings.candidate, settings.published)
    context.log.info(f"published {settings.published}")
    exported = export_planner_views(settings.published, settings.exports)
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(settings.published)),
        "exports": MetadataValue.path(str(settings.exports)),
        "exported_rows": MetadataValue.json(exported),
    })


publish_assets = [warehouse_candidate, published_warehouse]
