"""The Dagster code location: `dg dev` / `dg launch` load this module ([tool.dg] in pyproject.toml)."""


import os

from dagster import (AssetSelection, DagsterRunStatus, Definitions, DefaultSensorStatus, Field, RunRequest,
                     RunStatusSensorContext, ScheduleDefinition, SkipReason, define_asset_job, executor,
                     in_process_executor, map_asset_specs, multi_or_in_process_executor, run_status_sensor)

from pipelines.assets.analysis import analysis_assets
from pipelines.assets.exports import export_assets, export_checks
from pipelines.assets.coworking import coworking_assets
from pipelines.assets.indicators import indicator_assets
from pipelines.assets.publish import publish_assets
from pipelines.assets.raw import raw_assets, source_files
from pipelines.assets.reports import report_assets
from pipelines.assets.staging import staging_assets
from pipelines.catalog import describe
from pipelines.checks import asset_checks
from pipelines.executors import executor_config
from pipelines.incremental import OBSERVE_JOB, outputs_missing, plan_refresh
from pipelines.memory import memory_hooks
from pipelines.names import key_replacements, with_short_keys
from pipelines.resources import ReadinessSettings
from pipelines.run_guard import dead_run_reaper
from warehouse.paths import published_path

# (dagster.yaml) Only one run that writes the warehouse executes at a time.
# "warehouse": the run queue's limit of one writing run (dagster.yaml); "dagster/max_runtime": run monitoring
# fails a run still going after 4 hours (a cold Germany-wide refresh takes under 2 minutes, a live fetch with
# GENESIS jobs up to about an hour), so a hung run cannot hold the queue and the writer lock for ever
WAREHOUSE_TAGS = {"warehouse": "readiness", "dagster/max_runtime": str(4 * 3600)}


@executor(name="readiness_executor",
          config_schema=Field(multi_or_in_process_executor.config_schema.as_field().config_type,
                              default_value=executor_config(),
                              description="in_process or multiprocess (default: by the source mode, "
                                          "pipelines/executors.py; READINESS_EXECUTOR overrides)"),
          requirements=multi_or_in_process_executor.get_requirements)
def readiness_executor(init_context):
    """Dagster's multi_or_in_process executor with the project's default (``executor_choice``): a run may
    choose either in its config (launchpad: execution.config.multiprocess.max_concurrent: 2)."""
    return multi_or_in_process_executor.executor_creation_fn(init_context)


# kinds, column schemas and freshness policies for the Catalog (pipelines/catalog.py), then the short keys
# the graph shows whole (pipelines/names.py): the code keeps its registry names, the UI sees layer/name
CATALOGUED = map_asset_specs(describe, [*raw_assets, *staging_assets, *indicator_assets, *analysis_assets,
                                        *coworking_assets, *publish_assets, *export_assets, *report_assets])
SHORT_KEYS = key_replacements(CATALOGUED)
ASSETS = with_short_keys(CATALOGUED, SHORT_KEYS)
ASSET_CHECKS = with_short_keys([*asset_checks, *export_checks], SHORT_KEYS)

refresh_warehouse = define_asset_job(
    name="refresh_warehouse",
    selection=AssetSelection.all(),
    description="Land every source, parse, compute indicators and the index, publish the warehouse, "
                "export the planner views and write the town reports.",
    tags=WAREHOUSE_TAGS,
    executor_def=readiness_executor,
    hooks=memory_hooks(),  # after every step: free memory back to the system, RSS in the run log (pipelines/memory.py)
)

# The monthly refresh is incremental (pipelines/incremental.py): the schedule observes the sources, then
# the sensor below starts a run of only the stale assets, or none when nothing changed.
observe_sources = define_asset_job(
    name=OBSERVE_JOB,
    selection=AssetSelection.assets(*(SHORT_KEYS[key] for key in source_files.keys)),
    description="Observe every source (live mode: fetch it): hash its release files as its data version.",
    tags=WAREHOUSE_TAGS,
    executor_def=in_process_executor,
)

# Only observations carrying this tag are followed by a refresh: the CLI observes in its own runs and
# refreshes itself. To refresh from the UI only what changed, launch observe_sources with this tag.
THEN_REFRESH = {"readiness/then": "refresh"}

monthly_refresh = ScheduleDefinition(
    name="monthly_refresh",
    job=observe_sources,
    tags=THEN_REFRESH,
    cron_schedule="0 5 1 * *",  # 1st of the month, 05:00
    execution_timezone="Europe/Berlin",
    description="Monthly: observe every source; refresh_when_stale then refreshes only what changed.",
)


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, monitored_jobs=[observe_sources],
                   request_job=refresh_warehouse, name="refresh_when_stale", default_status=DefaultSensorStatus.RUNNING,
                   description="After the schedule observed the sources: a run of refresh_warehouse over only the stale or "
                               "missing assets and their descendants, or none when nothing changed.")
def refresh_when_stale(context: RunStatusSensorContext):
    """The schedule's second half: plan with Dagster's staleness (pipelines/incremental.py).

    No settings resource here: initialising it takes the warehouse's writer lock (a tick would wait for a
    run in progress); the published path comes from the same environment (READINESS_WAREHOUSE).
    """
    if not THEN_REFRESH.items() <= context.dagster_run.tags.items():
        return SkipReason(f"run {context.dagster_run.run_id} has no tag readiness/then=refresh (the CLI's "
                          "observations are followed by the CLI's own refresh)")
    plan = plan_refresh(context.instance, context.repository_def.asset_graph, outputs_missing(published_path()))
    context.log.info(plan.describe())
    if plan.nothing_changed:
        return SkipReason(plan.describe())
    return RunRequest(run_key=context.dagster_run.run_id, asset_selection=sorted(plan.selection),
                      tags={"readiness/plan": plan.describe()[:500]})

defs = Definitions(
    assets=ASSETS,
    asset_checks=ASSET_CHECKS,
    jobs=[refresh_warehouse, observe_sources],
    schedules=[monthly_refresh],
    sensors=[dead_run_reaper,  # fails runs whose process died, so the queue never jams
             refresh_when_stale],
    resources={"settings": ReadinessSettings.from_environment()},
    executor=in_process_executor,
)
