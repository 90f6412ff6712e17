"""The Dagster code location: `dg dev` / `dg launch` load this module ([tool.dg] in pyproject.toml)."""


from dagster import (AssetSelection, Definitions, ScheduleDefinition, define_asset_job, in_process_executor,
                     map_asset_specs)

from pipelines.assets.analysis import analysis_assets
from pipelines.assets.exports import export_assets, export_checks
from pipelines.assets.coworking import coworking_assets
from pipelines.assets.indicators import indicator_assets
from pipelines.assets.publish import publish_assets
from pipelines.assets.raw import raw_assets
from pipelines.assets.reports import report_assets
from pipelines.assets.staging import staging_assets
from pipelines.catalog import describe
from pipelines.checks import asset_checks
from pipelines.resources import ReadinessSettings
from pipelines.run_guard import dead_run_reaper

# Every step writes the same DuckDB working file, which allows one writer process:
# run all steps in one process, and (dagster.yaml) let only one such run execute at a time.
WAREHOUSE_TAGS = {"warehouse": "readiness"}

refresh_warehouse = define_asset_job(
    name="refresh_warehouse",
    selection=AssetSelection.all(),
    description="Land every source, parse, compute indicators and the index, publish the warehouse, "
                "export the planner views and write the town reports.",
    tags=WAREHOUSE_TAGS,
    executor_def=in_process_executor,
)

monthly_refresh = ScheduleDefinition(
    name="monthly_refresh",
    job=refresh_warehouse,
    cron_schedule="0 5 1 * *",  # 1st of the month, 05:00
    execution_timezone="Europe/Berlin",
    description="Monthly refresh of every source and the published warehouse.",
)

defs = Definitions(
    # kinds, column schemas and freshness policies for the Catalog (pipelines/catalog.py)
    assets=map_asset_specs(describe, [*raw_assets, *staging_assets, *indicator_assets, *analysis_assets, *coworking_assets,
                                      *publish_assets, *export_assets, *report_assets]),
    asset_checks=[*asset_checks, *export_checks],
    jobs=[refresh_warehouse],
    schedules=[monthly_refresh],
    sensors=[dead_run_reaper],  # fails runs whose process died, so the queue never jams
    resources={"settings": ReadinessSettings.from_environment()},
    executor=in_process_executor,
)
