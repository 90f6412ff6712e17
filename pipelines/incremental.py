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

Used by the CLI (cli/demo.py) and, through the ``refresh_when_stale`` sensor, by the monthly schedule
(pipelines/definitions.py), which observes the sources in a run of its own first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetKey, AssetSelection, DagsterInstance
from dagster._core.definitions.data_version import StaleStatus

OBSERVE_JOB = "observe_sources"
REFRESH_JOB = "refresh_warehouse"


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


def plan_refresh(instance: DagsterInstance, asset_graph, rebuild_all: bool = False) -> Plan:
    """The stale or missing materialisable assets plus their descendants (all of them if ``rebuild_all``).

    ``asset_graph``: ``defs.resolve_asset_graph()`` or a sensor's ``repository_def.asset_graph``.
    ``rebuild_all``: the warehouse files are gone although the instance remembers them, so
    everything is rebuilt.
    """
    keys = set(asset_graph.materializable_asset_keys)
    resolver = stale_status_resolver(instance, asset_graph)
    reasons = {}
    for key in sorted(keys):
        status = resolver.get_status(key)
        if rebuild_all:
            reasons[key.to_user_string()] = "the published or working warehouse file is missing"
        elif status == StaleStatus.MISSING:
            reasons[key.to_user_string()] = "never materialised"
        elif status == StaleStatus.STALE:
            causes = resolver.get_stale_causes(key)
            reasons[key.to_user_string()] = ", ".join(sorted({_cause_text(c) for c in causes})) or "stale"
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


def outputs_missing(published: Path) -> bool:
    """The warehouse files a partial run builds on are gone (deleted, or another READINESS_WAREHOUSE)."""
    from warehouse.paths import stage_dir_for, work_path_for

    work = work_path_for(Path(published))
    # the staging assets' own files are working files too (warehouse.stage_path)
    return not (Path(published).exists() and work.exists() and stage_dir_for(work).is_dir())


def selected_job(defs, plan: Plan):
    """refresh_warehouse reduced to the plan's assets (and their checks).

    Subset here, not with execute_in_process(asset_selection=...): that refuses resources given next to
    the assets' own.
    """
    return defs.resolve_job_def(REFRESH_JOB).get_subset(asset_selection=plan.selection)


def refresh(instance: DagsterInstance, defs, settings, **run_args):
    """Observe, plan, and run only the selection; returns (plan, result or None when nothing changed)."""
    observed = observe_sources(instance, defs, resources={"settings": settings}, raise_on_error=False)
    if not observed.success:
        return None, observed
    plan = plan_refresh(instance, defs.resolve_asset_graph(), outputs_missing(settings.published))
    if plan.nothing_changed:
        return plan, None
    result = selected_job(defs, plan).execute_in_process(instance=instance, resources={"settings": settings}, **run_args)
    return plan, result
