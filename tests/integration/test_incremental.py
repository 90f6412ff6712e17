"""The incremental refresh (pipelines/incremental.py): Dagster's data and code versions decide what runs.

One persistent Dagster instance and one warehouse in a temporary folder, refreshed from a copy of the
snapshot without the Breitbandatlas' 2021 releases: first everything, then with nothing changed (no run, no page
or export rewritten, every asset up to date in Dagster's stale status), then with those releases arrived (what a
cold build of the whole snapshot publishes), then with a first release of another source (only its descendants
run).
The code-version tests only plan, they run nothing.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from dagster import (AssetKey, AssetSelection, DagsterInstance, Definitions, SkipReason, RunRequest,
                     build_run_status_sensor_context, map_asset_specs)

from tests.conftest import refresh_settings, run_incremental

NEW_SOURCE = "osm_coworking"   # absent from the snapshot: a first release of it is a change of one source
NEW_FILE = "osm-coworking/coworking_2026-11-01.json"
# the Breitbandatlas' releases of 2021 (Gemeinden, Kreise, Germany), held back from the first two refreshes
ARRIVING = ("breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv", "breitbandatlas/landkreis_privat_2021_1.csv",
            "breitbandatlas/deutschland_privat_2021_1.csv")


def file_states(*folders: Path) -> dict[str, tuple[int, str]]:
    """Every file under the folders: (mtime in ns, sha256), to prove nothing was rewritten."""
    return {str(p): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def materialized(result) -> set[str]:
    """The assets the run materialised (not the per-period reports of int/pilot_scores by readiness_index)."""
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
            if event.partition is None}


def instance_of(tmp: Path) -> DagsterInstance:
    return DagsterInstance.local_temp(str(tmp / "dagster_home"))


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """Four incremental refreshes of one folder: cold, unchanged, a new release of a source, a first release of
    another. The published file right after the third is kept as ``arrival.duckdb``."""
    from sources.registry import SNAPSHOT_DIR
    from tests.osm_responses import coworking_response

    tmp = tmp_path_factory.mktemp("incremental")
    source = tmp / "source"
    shutil.copytree(SNAPSHOT_DIR, source)
    for name in ARRIVING:
        (source / name).unlink()
    outputs = (tmp / "reports", tmp / "exports", tmp / "warehouse")
    cold_plan, cold = run_incremental(tmp, source)
    assert cold.success
    before = file_states(*outputs[:2]) | file_states(tmp / "readiness.duckdb")
    same_plan, same = run_incremental(tmp, source)
    after = file_states(*outputs[:2]) | file_states(tmp / "readiness.duckdb")
    with instance_of(tmp) as instance:
        from pipelines.definitions import defs
        from pipelines.incremental import stale_status_resolver

        resolver = stale_status_resolver(instance, defs.resolve_asset_graph())
        statuses = {key.to_user_string(): resolver.get_status(key).value
                    for key in defs.resolve_asset_graph().materializable_asset_keys}
        runs = [r.job_name for r in instance.get_runs()]
    for name in ARRIVING:
        shutil.copyfile(SNAPSHOT_DIR / name, source / name)
    arrival_plan, arrival = run_incremental(tmp, source)
    assert arrival.success
    shutil.copyfile(tmp / "readiness.duckdb", tmp / "arrival.duckdb")
    (source / NEW_FILE).parent.mkdir()
    (source / NEW_FILE).write_text(coworking_response(), encoding="utf-8")
    changed_plan, changed = run_incremental(tmp, source)
    assert changed.success
    return {"tmp": tmp, "source": source, "cold": (cold_plan, cold), "same": (same_plan, same),
            "arrival": (arrival_plan, arrival), "changed": (changed_plan, changed), "before": before, "after": after, "statuses": statuses,
            "runs": runs}


def test_first_refresh_on_a_fresh_instance_builds_everything(refreshed):
    from pipelines.definitions import defs

    plan, result = refreshed["cold"]
    everything = {k.to_user_string() for k in defs.resolve_asset_graph().materializable_asset_keys}
    assert materialized(result) == everything
    assert set(plan.reasons.values()) == {"the published or working warehouse file is missing"}


def test_no_change_refresh_materialises_nothing_and_rewrites_no_file(refreshed):
    plan, result = refreshed["same"]
    assert result is None and plan.nothing_changed
    assert plan.describe().startswith("nothing changed since ")
    # the instance holds the cold refresh and two observations, no second refresh run
    assert sorted(refreshed["runs"]) == ["observe_sources", "observe_sources", "refresh_warehouse"]
    assert refreshed["before"] and refreshed["after"] == refreshed["before"]  # pages, exports, warehouse
    assert set(refreshed["statuses"].values()) == {"FRESH"}, refreshed["statuses"]  # the UI's "up to date"


def test_a_new_release_of_one_source_rematerialises_only_its_descendants(refreshed):
    from pipelines.definitions import defs

    plan, result = refreshed["changed"]
    graph = defs.resolve_asset_graph()
    downstream = AssetSelection.assets(AssetKey(["raw", NEW_SOURCE])).downstream().resolve(graph) & \
        graph.materializable_asset_keys
    assert materialized(result) == {key.to_user_string() for key in downstream}
    assert {"raw/osm_coworking", "stg/coworking_spaces", "int/coworking_gap", "out/warehouse",
            "out/town_reports", "out/planner_exports"} <= materialized(result)
    # nothing of the other sources ran again (the indicators and the index are downstream of coworking)
    assert not {"stg/population_area", "stg/crosswalk", "stg/broadband", "stg/mobile", "stg/commuting",
                "stg/geometries", "raw/breitbandatlas", "raw/bkg_vg"} & materialized(result)
    assert plan.reasons == {"raw/osm_coworking": "has a new dependency data version source/osm_coworking"}


def test_a_release_that_arrives_publishes_what_a_cold_build_of_every_file_does(refreshed, snapshot_warehouse):
    """benchmarks/new_release.py at the snapshot's size: the Breitbandatlas' 2021 releases arrive; the refresh runs
    what is downstream of them only, merges its history with the earlier publish and then publishes, view by view,
    what the session's cold build of the whole snapshot does (times of landing and publishing apart)."""
    from benchmarks.compare_views import compare
    from pipelines.definitions import defs

    plan, result = refreshed["arrival"]
    assert plan.reasons == {"raw/breitbandatlas": "has a new dependency data version source/breitbandatlas"}
    graph = defs.resolve_asset_graph()
    downstream = AssetSelection.assets(AssetKey(["raw", "breitbandatlas"])).downstream().resolve(graph) & \
        graph.materializable_asset_keys
    assert materialized(result) == {key.to_user_string() for key in downstream}
    assert not {"stg/population_area", "stg/crosswalk", "stg/commuting", "stg/mobile"} & materialized(result)
    # the session's build read the snapshot itself (mode 'snapshot', origin its folder), this one a copy of it
    compared = compare(snapshot_warehouse, refreshed["tmp"] / "arrival.duckdb", ignore=frozenset({"mode", "origin"}))
    assert len(compared) >= 13 and [row for row in compared if row[3] or row[4]] == []


def test_the_sensor_after_the_scheduled_observation_requests_only_stale_assets(refreshed, monkeypatch):
    """refresh_when_stale (the monthly schedule's second half): skip when nothing changed, else the plan."""
    from pipelines.definitions import THEN_REFRESH, defs, refresh_when_stale
    from pipelines.incremental import observe_sources, plan_refresh

    tmp = refreshed["tmp"]
    settings = refresh_settings(tmp, refreshed["source"])
    monkeypatch.setenv("READINESS_WAREHOUSE", str(settings.published))  # the code location's environment
    # the sensor finds the reports and exports folders there too (outputs_missing: a deleted one is rebuilt)
    monkeypatch.setenv("READINESS_REPORTS_DIR", str(settings.reports))
    monkeypatch.setenv("READINESS_EXPORTS_DIR", str(settings.exports))
    with instance_of(tmp) as instance:
        untagged = observe_sources(instance, defs, resources={"settings": settings})  # as the CLI observes
        ignored = refresh_when_stale(build_run_status_sensor_context(
            sensor_name="refresh_when_stale", dagster_instance=instance, dagster_run=untagged.dagster_run,
            dagster_event=untagged.get_run_success_event(), repository_def=defs.get_repository_def()))
        assert isinstance(ignored, SkipReason) and "readiness/then=refresh" in ignored.skip_message
        observed = observe_sources(instance, defs, resources={"settings": settings}, tags=THEN_REFRESH)
        context = build_run_status_sensor_context(
            sensor_name="refresh_when_stale", dagster_instance=instance, dagster_run=observed.dagster_run,
            dagster_event=observed.get_run_success_event(), repository_def=defs.get_repository_def())
        skipped = refresh_when_stale(context)
        assert isinstance(skipped, SkipReason) and "nothing changed since" in skipped.skip_message
        original = (refreshed["source"] / NEW_FILE).read_text(encoding="utf-8")
        (refreshed["source"] / NEW_FILE).write_text(original.replace("Mölln", "Moelln"), encoding="utf-8")
        observed = observe_sources(instance, defs, resources={"settings": settings}, tags=THEN_REFRESH)
        context = build_run_status_sensor_context(
            sensor_name="refresh_when_stale", dagster_instance=instance, dagster_run=observed.dagster_run,
            dagster_event=observed.get_run_success_event(), repository_def=defs.get_repository_def())
        request = refresh_when_stale(context)
        # the publisher withdraws the edit: the file's old data version is the one landed, nothing is stale
        (refreshed["source"] / NEW_FILE).write_text(original, encoding="utf-8")
        observe_sources(instance, defs, resources={"settings": settings})
        assert plan_refresh(instance, defs.resolve_asset_graph()).nothing_changed
    graph = defs.resolve_asset_graph()
    assert isinstance(request, RunRequest)
    # the materialisable ones: int/pilot_scores below the index is reported by readiness_index, not run
    assert set(request.asset_selection) == \
        AssetSelection.assets(AssetKey(["raw", NEW_SOURCE])).downstream().resolve(graph) & graph.materializable_asset_keys


def bumped(defs, name: str) -> Definitions:
    """The definitions with one asset's code version changed, as an edit of its code would."""
    def bump(spec):
        return spec.replace_attributes(code_version="edited") if spec.key == AssetKey.from_user_string(name) else spec
    return Definitions(assets=map_asset_specs(bump, list(defs.assets)), asset_checks=list(defs.asset_checks or []),
                       resources=defs.resources)


def test_a_code_version_bump_marks_the_asset_stale_and_plans_it_with_its_descendants(refreshed):
    from pipelines.definitions import defs
    from pipelines.incremental import plan_refresh

    edited = bumped(defs, "int/uncertainty")
    with instance_of(refreshed["tmp"]) as instance:
        plan = plan_refresh(instance, edited.resolve_asset_graph())
        unchanged = plan_refresh(instance, defs.resolve_asset_graph())
    assert unchanged.nothing_changed
    graph = edited.resolve_asset_graph()
    assert plan.selection == AssetSelection.assets(AssetKey(["int", "uncertainty"])).downstream().resolve(graph)
    assert "int/readiness_index" not in {k.to_user_string() for k in plan.selection}
    assert plan.reasons == {"int/uncertainty": "has a new code version"}


def test_code_versions_follow_the_files_of_the_stage(tmp_path, monkeypatch):
    """Editing a report module changes the reports' code version, not the staging one."""
    from pipelines import versions
    from tests.unit.pipelines.test_export_code_version import project_of

    project_of(tmp_path, monkeypatch, ("reports/build.py", "sources/breitbandatlas.py", "pipelines/resources.py"),
               "# v1\n")
    before = versions.code_version("town_reports", "reports"), versions.code_version("broadband_coverage", "staging")
    (tmp_path / "reports/build.py").write_text("# v2\n")
    versions.files_hash.cache_clear()
    after = versions.code_version("town_reports", "reports"), versions.code_version("broadband_coverage", "staging")
    versions.files_hash.cache_clear()
    assert after[0] != before[0] and after[1] == before[1]
    assert versions.code_version("something_new", None) is None


def test_a_misnamed_town_file_makes_only_its_source_stale(refreshed):
    """A file in local-inputs/ named otherwise is an error of the towns' source (sources.registry strict_folder), raised
    by its raw step; the observation of every source's files goes on (it raised for all sources, and the monthly
    refresh, started only after a successful observation, would have refreshed nothing: review of 4 December)."""
    from pipelines.definitions import defs
    from pipelines.incremental import observe_sources, plan_refresh

    settings = refresh_settings(refreshed["tmp"], refreshed["source"])
    wrong = refreshed["source"] / "local-inputs" / "20.11.2023" / "coworking_01053090.csv"
    wrong.parent.mkdir(parents=True)
    wrong.write_text("Name;AGS\n", encoding="utf-8")
    try:
        with instance_of(refreshed["tmp"]) as instance:
            observed = observe_sources(instance, defs, resources={"settings": settings})
            assert observed.success
            plan = plan_refresh(instance, defs.resolve_asset_graph())
            assert plan.reasons.get("raw/local_inputs", "").startswith("has a new dependency data version")
            assert not any(key.startswith("raw/") and key != "raw/local_inputs" for key in plan.reasons)
    finally:
        shutil.rmtree(wrong.parent.parent)
        with instance_of(refreshed["tmp"]) as instance:  # the folder as it was: nothing stale again
            observe_sources(instance, defs, resources={"settings": settings})
            assert plan_refresh(instance, defs.resolve_asset_graph()).nothing_changed


def test_a_deleted_reports_or_exports_folder_rebuilds_exactly_its_asset(refreshed):
    """Review of 5 December: outputs_missing looked at the warehouse files only, so a deleted reports or exports
    folder said "nothing changed" and stayed gone. Now the folder's last written file (the reports' index page, the
    latest export's manifest) missing re-runs exactly the asset that writes it."""
    tmp = refreshed["tmp"]
    shutil.rmtree(tmp / "reports")
    shutil.rmtree(tmp / "exports")
    plan, result = run_incremental(tmp, refreshed["source"])
    assert result is not None, plan.describe()  # not "nothing changed"
    assert result.success and materialized(result) == {"out/town_reports", "out/planner_exports"}
    assert set(plan.reasons) == {"out/town_reports", "out/planner_exports"}
    assert "index page is missing" in plan.reasons["out/town_reports"]
    assert "manifest is missing" in plan.reasons["out/planner_exports"]
    assert (tmp / "reports" / "index.html").is_file() and (tmp / "exports" / "latest" / "manifest.json").is_file()
