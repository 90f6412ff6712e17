"""Publish: build a candidate warehouse, let blocking checks validate it, swap it in atomically.

The downloads of the published file are their own asset (pipelines/assets/exports.py)."""


import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from pipelines.assets.staging import staging_assets
from pipelines.resources import ReadinessSettings
from sources import contracts
from warehouse.publish import attach_previous, build_candidate, swap_in
from warehouse import lake as lakes
from warehouse.validation import (file_identity, record_frame, recorded_frame, validate_candidate, validation_record,
                                  working_identity)

CATALOGUE = load_catalogue()
PILOTS = list(CATALOGUE.pilot_towns)


# Every staging step is upstream of the candidate (and so of the publish): a source whose parse or
# contract fails stops the run before anything is published, and `source_releases` never lists a
# file whose data were not published (issue 12: a failed Mobilfunk parse once published anyway).
STAGING_KEYS = [key for assets_def in staging_assets for key in assets_def.keys]


@asset(group_name="publish", deps=[AssetKey("readiness_index"), AssetKey("municipality_geometries"),
                                   AssetKey("index_uncertainty"), AssetKey("index_coherence"),
                                   AssetKey("score_contributions"), AssetKey("peer_towns"), AssetKey("coworking_gap"), *STAGING_KEYS],
       tags={"stage": "publish"}, owners=["team:data-engineering"],
       description="The next warehouse, built in a candidate file next to the published one: current tables "
                   "from the working database, history carried over from the published file (a revised "
                   "figure adds a version, nothing is dropped), planner views. Blocking checks validate it "
                   "before it may replace the published file.")
def warehouse_candidate(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    # the release records (working table `releases`) become source_releases_history in the candidate:
    # publishing writes only the candidate file, never the working database
    blocking, allowed = year_on_year_findings(settings, fresh=True)
    if not blocking.empty:  # the generated checks say the same; failing here builds no candidate at all
        raise ValueError("not published: implausible changes between releases: " + "; ".join(
            contracts.describe_yoy(blocking)))
    run = {"run_id": context.run.run_id, "mode": settings.source_mode, "method_version": CATALOGUE.method_version,
           "allowed_changes": allowed_summary(allowed)}
    changes = build_candidate(settings.work_db, settings.published, settings.candidate, run, lake=settings.lake)
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


def year_on_year_findings(settings: ReadinessSettings, fresh: bool = False):
    """(blocking, allowed) implausible changes between consecutive releases of every source."""
    return contracts.apply_allowlist(year_on_year_all(settings, fresh), contracts.load_allowlist())


def year_on_year_all(settings: ReadinessSettings, fresh: bool = False) -> pd.DataFrame:
    """Every source's changes beyond its contract's bounds (before the allow-list), computed once per state
    of the working files: the candidate step computes them (``fresh``) and records them beside the
    candidate; its per-source checks and the swap reuse the record while the working files, the
    bounds and the statements are the same, instead of scanning the observations again (warehouse/validation.py)."""
    record = validation_record(settings.candidate, "year_on_year")
    read = CATALOGUE.read_measures()  # the measures a release must not lose (those the index reads)
    key = {"working_files": working_identity(settings.work_db),
           # a revision is compared with the figures of the warehouse it continues (the file, or the lake's snapshot)
           "last_publish": [file_identity(settings.published), settings.lake.describe() if settings.lake else None],
           "rules": repr((contracts.yoy_rules(), contracts.republish_sources(), read)),
           "statements": contracts.year_on_year_version()}
    if not fresh:
        findings = recorded_frame(record, key)
        if findings is not None:
            return findings
    with settings.work(read_only=True) as con:
        findings = contracts.year_on_year(con, read_measures=read, last_publish=attach_last_publish(con, settings))
    record_frame(record, key, findings)
    return findings


# what the comparison of a revision reads in the last publish (contracts._REVISED_SQL)
LAST_PUBLISH_COLUMNS = {"observations": {"territorial_change", "source_level"}, "source_releases": {"sha256"}}


def attach_last_publish(con, settings: ReadinessSettings) -> str | None:
    """Attach the warehouse this publish continues as ``previous`` (``warehouse.publish.attach_previous``: the lake's
    current snapshot where there is one, else the published file): its figures of a release a corrected file
    replaces. None before the first publish, or for a warehouse without the columns that comparison reads (one
    published by an older version: its next publish compares as before)."""
    try:
        previous = attach_previous(con, settings.published, settings.lake)
    except lakes.LakeError:  # a lake not created yet (the candidate creates it; this connection only reads): the file
        previous = attach_previous(con, settings.published, None)
    if previous is None:
        return None
    found = con.execute("SELECT table_name, list(column_name) FROM duckdb_columns() WHERE database_name = ? "
                        "GROUP BY table_name", [previous]).fetchall()
    columns = {table: set(names) for table, names in found}
    return previous if all(need <= columns.get(table, set()) for table, need in LAST_PUBLISH_COLUMNS.items()) else None


def allowed_summary(allowed) -> list[dict]:
    """What the allow-list let through, per source, release and reason (recorded in publish_log.changes)."""
    if allowed.empty:
        return []
    grouped = allowed.groupby(["source_id", "vintage", "reason"])
    return [{"source_id": s, "release": v, "reason": r, "changes": len(rows),
             "measures": sorted(rows["measure"].unique().tolist())[:20]} for (s, v, r), rows in grouped]


@asset(group_name="publish", deps=[AssetKey("warehouse_candidate")], tags={"stage": "publish"},
       owners=["team:data-engineering"],
       description="The planner-facing DuckDB file (warehouse/readiness.duckdb by default): the validated "
                   "candidate renamed over it in one atomic step, so readers see the old or the new "
                   "warehouse, never a mix. With READINESS_LAKE_CATALOG set, the candidate is first committed to "
                   "that DuckLake as one snapshot (warehouse/lake.py, docs/deploy.md).")
def published_warehouse(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    # the blocking checks ran on the candidate; run them again so a stale or unchecked file is never swapped in
    findings = validate_candidate(settings.candidate, settings.published, PILOTS, settings.allow_shrink)
    problems = [f"{name}: {problem}" for name, f in findings.items() for problem in f.problems]
    problems += contracts.describe_yoy(year_on_year_findings(settings)[0])
    if problems:
        raise ValueError(f"not published, {settings.candidate} failed validation: " + "; ".join(problems))
    metadata = {"path": MetadataValue.path(str(settings.published))}
    lake = settings.lake
    if lake is not None:  # the lake first: if its commit fails, the local file stays as it was too
        published = lakes.publish(settings.candidate, lake, context.run.run_id)
        context.log.info(f"published to {lake.describe()} as snapshot {published['snapshot_id']}")
        metadata.update(lake=lake.describe(), lake_snapshot_id=published["snapshot_id"])
    # the local file stays the run's own copy: exports, reports and the CLI read it (docs/deploy.md)
    swap_in(settings.candidate, settings.published)
    context.log.info(f"published {settings.published}")
    return MaterializeResult(metadata=metadata)


publish_assets = [warehouse_candidate, published_warehouse]
