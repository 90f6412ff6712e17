"""Publish: build a new warehouse file from the working database, validate it, swap it in atomically."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from pipelines.resources import ReadinessSettings
from warehouse import publish

PILOTS = list(load_catalogue().pilot_towns)


def validate(con) -> None:
    """Stop publishing when a planner table is empty or a pilot town is missing from it."""
    problems = [f"{table} is empty" for table in ["source_releases", "indicator_catalogue"]
                if con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0]
    for table in ["municipalities", "observations", "indicator_values", "readiness_index"]:
        present = {row[0] for row in con.execute(f"SELECT DISTINCT ags FROM {table}").fetchall()}
        missing = sorted(set(PILOTS) - present)
        if missing:
            problems.append(f"{table}: pilot towns {missing} missing")
    if problems:
        raise ValueError("not published, the new warehouse failed validation: " + "; ".join(problems))


@asset(group_name="publish", deps=[AssetKey("readiness_index"), AssetKey("municipality_geometries"),
                                   AssetKey("index_uncertainty"), AssetKey("index_coherence"),
                                   AssetKey("score_contributions"), AssetKey("peer_towns")],
       tags={"stage": "publish"}, owners=["team:data-engineering"],
       description="The planner-facing DuckDB file (warehouse/readiness.duckdb by default). Built into a "
                   "temporary file, validated, then renamed over the published file: a failed run leaves "
                   "the last good warehouse untouched.")
def published_warehouse(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:  # release records become the provenance table planners see
        con.execute("CREATE OR REPLACE TABLE source_releases AS SELECT * EXCLUDE (role, layout, landed_path) FROM releases")
    counts = publish(settings.work_db, settings.published, validate)
    context.log.info(f"published {settings.published}")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(settings.published)),
        "row_counts": MetadataValue.json(counts),
    })
