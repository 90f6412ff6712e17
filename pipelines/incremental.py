"""The incremental refresh: observe the sources, then materialise only what Dagster reports stale or missing.

Dagster's own mechanisms decide, no hand-made skip:
  - the observable source assets ``source/<source>`` (pipelines/assets/raw.py) get a data version = hash of
    their release files; a raw asset that landed another version is stale ("has a new dependency data
    version");
  - every asset has a code version (pipelines/versions.py): changed code makes it stale;
  - an asset without its own data version gets one computed from its code version and its inputs' data
    versions, so re-landing the same files changes nothing downstream.

Dagster marks only the direct children of a changed asset stale (their parents' data versions are known
before the run); their descendants follow in the same run, so the selection is the stale and missing
assets plus everything downstream of them. An empty selection means no run at all: nothing is
re-materialised and the UI shows every asset up to date.

Its observation and plan are used by the CLI (cli/demo.py, which runs the plan in its own process) and, through
the ``refresh_when_stale`` sensor, by the monthly schedule (pipelines/definitions.py), which observes the sources
in a run of its own first; ``refresh`` does all three, as the tests and benchmarks/run_all.py run it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetKey, AssetSelection, DagsterInstance
from dagster._core.definitions.data_version import StaleStatus

from pipelines.executors import executor_choice
from pipelines.launch import REFRESH_JOB, launch_selection
from pipelines.run_guard import process_tags
from warehouse.paths import LATEST, MANIFEST

OBSERVE_JOB = "observe_sources"


@dataclass
class Plan:
    """What a refresh has to materialise, and why."""
    selection: set[AssetKey]
    reasons: dict[str, str] = field(default_factory=dict)   # asset -> why it is stale / missing (its roots only)
    last_change: dt.datetime | None = None                  # latest materialisation of any asset

    @property
    def nothing_changed(self) -> bool:
        return not self.selection

    def describe(self) -> str:
        """One line for the CLI and the sensor: what runs and why, or since when nothing changed."""
        if self.nothing_changed:
            since = self.last_change.strftime("%Y-%m-%d %H:%M UTC") if self.last_change else "the last refresh"
            return f"nothing changed since {since}: sources, code and settings are the same; no run started"
        by_reason: dict[str, list[str]] = {}
        for name, why in sorted(self.reasons.items()):
            by_reason.setdefault(why, []).append(name)
        causes = "; ".join(f"{', '.join(names[:4])}{f' and {len(names) - 4} more' if len(names) > 4 else ''}: {why}"
                           for why, names in by_reason.items())
        return f"{len(self.selection)} assets to materialise (stale or missing ones and what is downstream): {causes}"


def observe_sources(instance: DagsterInstance, defs, resources: dict | None = None, **run_args):
    """Run the observation job in this process: every source asset gets its current data version."""
    return defs.resolve_job_def(OBSERVE_JOB).execute_in_process(instance=instance, resources=resources,
                                                                 **run_args)


def plan_refresh(instance: DagsterInstance, asset_graph, missing: "MissingOutputs | None" = None) -> Plan:
    """The stale or missing materialisable assets plus their descendants.

    ``asset_graph``: ``defs.resolve_asset_graph()`` or a sensor's ``repository_def.asset_graph``.
    ``missing``: what ``outputs_missing`` found gone although the instance remembers it: its ``everything`` (the
    warehouse files) rebuilds every asset; the assets it names (a deleted reports or exports folder) are added
    with what is downstream of them.
    """
    keys = set(asset_graph.materializable_asset_keys)
    resolver = stale_status_resolver(instance, asset_graph)
    missing = missing if missing is not None else MissingOutputs()
    reasons = {}
    for key in sorted(keys):
        status = resolver.get_status(key)
        if missing.everything:
            reasons[key.to_user_string()] = missing.everything
        elif status == StaleStatus.MISSING:
            reasons[key.to_user_string()] = "never materialised"
        elif status == StaleStatus.STALE:
            causes = resolver.get_stale_causes(key)
            reasons[key.to_user_string()] = ", ".join(sorted({_cause_text(c) for c in causes})) or "stale"
        elif key.to_user_string() in missing:
            reasons[key.to_user_string()] = missing[key.to_user_string()]
    roots = {AssetKey.from_user_string(name) for name in reasons}
    below = AssetSelection.assets(*roots).downstream(include_self=False).resolve(asset_graph) if roots else set()
    selection = (roots | below) & keys
    # the reasons shown: only of roots that are not themselves downstream of another root
    shown = {name: why for name, why in reasons.items() if AssetKey.from_user_string(name) not in below}
    return Plan(selection=selection, reasons=shown, last_change=last_materialization(instance, keys))


def stale_status_resolver(instance: DagsterInstance, asset_graph):
    """Dagster's resolver of stale status, the one behind the UI's "Stale" / "Up to date" labels.

    Not exported at the top level of dagster (1.13), hence the private import; the same call as in
    dagster/_utils/test/data_versions.py.
    """
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._time import get_current_datetime

    view = AssetGraphView(temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                          instance=instance, asset_graph=asset_graph)
    # one query for the records of every asset instead of one per asset and question
    view.get_inner_queryer_for_back_compat().prefetch_asset_records(asset_graph.get_all_asset_keys())
    return CachingStaleStatusResolver(instance=instance, asset_graph=asset_graph, loading_context=view)


def _cause_text(cause) -> str:
    dependency = f" {cause.dependency_asset_key.to_user_string()}" if cause.dependency else ""
    return f"{cause.reason}{dependency}"


def last_materialization(instance: DagsterInstance, keys) -> dt.datetime | None:
    """When the latest of ``keys`` was last materialised (UTC)."""
    events = instance.get_latest_materialization_events(list(keys)).values()  # one query for all keys
    stamps = [event.timestamp for event in events if event is not None]
    return dt.datetime.fromtimestamp(max(stamps), dt.timezone.utc) if stamps else None


WAREHOUSE_MISSING = "the published or working warehouse file is missing"


class MissingOutputs(dict):
    """Asset (user string, ``out/town_reports``) -> why its output is gone; ``everything`` when the warehouse files
    a partial run builds on are gone, so all is rebuilt. Empty when every output is there."""

    def __init__(self, assets: dict[str, str] | None = None, everything: str | None = None):
        super().__init__(assets or {})
        self.everything = everything


# The file each folder's asset writes last, so its presence marks a complete output: the reports' index page
# (reports/build.py writes it after the town pages) and the manifest of the latest export (written into the
# export's folder before ``latest`` is pointed at it, warehouse/exports.py).
REPORTS_MARK = "index.html"
EXPORTS_MARK = f"{LATEST}/{MANIFEST}"


def outputs_missing(published: Path, reports: Path | None = None, exports: Path | None = None) -> MissingOutputs:
    """What a refresh must rebuild because its output is gone although the instance remembers it.

    The warehouse, working and staging files gone (deleted, or another READINESS_WAREHOUSE): everything. A
    deleted reports folder (no ``index.html``) or exports folder (no ``latest/manifest.json``): exactly the asset
    that writes it (``out/town_reports``, ``out/planner_exports``), since both only read the published file.
    ``reports`` and ``exports`` default to READINESS_REPORTS_DIR and READINESS_EXPORTS_DIR, as the settings do."""
    from warehouse.paths import exports_dir, reports_dir, stage_dir_for, work_path_for

    work = work_path_for(Path(published))
    # the staging assets' own files are working files too (warehouse.stage_path)
    if not (Path(published).exists() and work.exists() and stage_dir_for(work).is_dir()):
        return MissingOutputs(everything=WAREHOUSE_MISSING)
    reports, exports = Path(reports or reports_dir()), Path(exports or exports_dir())
    gone = {"out/town_reports": (reports / REPORTS_MARK, "the reports' index page is missing"),
            "out/planner_exports": (exports / EXPORTS_MARK, "the latest export's manifest is missing")}
    return MissingOutputs({asset: f"{why} ({mark})" for asset, (mark, why) in gone.items() if not mark.is_file()})


def selected_job(defs, plan: Plan):
    """refresh_warehouse reduced to the plan's assets (and their checks).

    Subset here, not with execute_in_process(asset_selection=...): that refuses resources given next to
    the assets' own.
    """
    return defs.resolve_job_def(REFRESH_JOB).get_subset(asset_selection=plan.selection)


def refresh(instance: DagsterInstance, defs, settings, **run_args):
    """Observe, plan, and run only the selection; returns (plan, result or None when nothing changed).

    The run's executor follows the settings' source mode (pipelines/executors.py): the Germany-wide files run
    their steps in processes of their own, launched as Dagster launches a run (``launch_selection``); the
    snapshot runs in this process. ``run_args``: ``raise_on_error`` (default True: a failed step raises)."""
    observed = observe_sources(instance, defs, resources={"settings": settings}, raise_on_error=False)
    if not observed.success:
        return None, observed
    plan = plan_refresh(instance, defs.resolve_asset_graph(),
                        outputs_missing(settings.published, settings.reports, settings.exports))
    if plan.nothing_changed:
        return plan, None
    if executor_choice(settings.source_mode) == "multiprocess":
        _require_project_defs(defs)  # the run's process is this one: the dead-run reaper reads its pid tag
        return plan, launch_selection(instance, plan.selection, settings, tags=process_tags(), **run_args)
    result = selected_job(defs, plan).execute_in_process(instance=instance, resources={"settings": settings}, **run_args)
    return plan, result


def _require_project_defs(defs) -> None:
    """Step processes load the job from pipelines.definitions:defs (``launch.refresh_job``): other definitions
    cannot run in them."""
    import pipelines.definitions

    if defs is not pipelines.definitions.defs:
        raise ValueError("the multiprocess executor runs pipelines.definitions:defs in its step processes; "
                         "pass those definitions, or set READINESS_EXECUTOR=in_process")
