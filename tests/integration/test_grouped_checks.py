"""The checks of one asset run in one step (pipelines/checks.py checks_step): each still reports as its own check,
a failed blocking check still stops the downstream assets, a raising check becomes a failed check naming its
error without hiding the others, one check can run alone, and the refresh job's memory hook runs once per step."""

from __future__ import annotations

from pathlib import Path

from dagster import (AssetCheckKey, AssetCheckResult, AssetCheckSeverity, AssetKey, AssetSelection, DagsterInstance,
                     Definitions, ResourceDefinition, asset, define_asset_job, in_process_executor)

from pipelines.checks import CHECKS, Check, checks_step, evaluate_checks
from pipelines.memory import memory_hooks
from pipelines.resources import ReadinessSettings


def _fails(con, settings):
    return AssetCheckResult(passed=False, metadata={"problems": "3 rows above 100"})


def _passes(con, settings):
    return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN, metadata={"rows": 7})


def _raises(con, settings):
    raise ZeroDivisionError("no towns to divide by")


def _run(tmp_path, checks, selection=AssetSelection.all()):
    """A two-asset job (upstream -> downstream) with ``checks`` on upstream as one step, the refresh's hook."""
    @asset
    def upstream():
        return None

    @asset(deps=[upstream])
    def downstream():
        return None

    job = define_asset_job("job", selection=selection, hooks=memory_hooks(), executor_def=in_process_executor)
    # hard-coded: the resource itself would take the warehouse writer lock for the run
    settings = ReadinessSettings(warehouse_path=str(tmp_path / "readiness.duckdb"))
    defs = Definitions(assets=[upstream, downstream], asset_checks=[checks_step("upstream", checks)], jobs=[job],
                       resources={"settings": ResourceDefinition.hardcoded_resource(settings)})
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("job").execute_in_process(raise_on_error=False, instance=instance)
    return result, instance


def _log_lines(result, instance) -> list[str]:
    """The run log's messages (context.log lines are log entries, not DagsterEvents)."""
    return [entry.user_message for entry in instance.all_logs(result.run_id)]


def _evaluations(result) -> dict[str, object]:
    return {e.event_specific_data.check_name: e.event_specific_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_a_failed_blocking_check_of_a_grouped_step_stops_the_downstream_asset_and_the_others_report(tmp_path):
    checks = [Check("upstream", "in_range", "Values within 0-100.", blocking=True, evaluate=_fails, reads_work=False),
              Check("upstream", "plausible", "Counts are plausible.", blocking=False, evaluate=_passes,
                    reads_work=False)]
    result, instance = _run(tmp_path, checks)
    assert not result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert steps == {"upstream", "upstream_checks"}  # two checks, one step; downstream never started
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {AssetKey("upstream")}
    evaluations = _evaluations(result)
    assert set(evaluations) == {"in_range", "plausible"}
    assert not evaluations["in_range"].passed and evaluations["in_range"].blocking
    assert evaluations["in_range"].metadata["problems"].value == "3 rows above 100"
    assert evaluations["plausible"].passed and not evaluations["plausible"].blocking
    assert evaluations["plausible"].severity == AssetCheckSeverity.WARN
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "upstream_checks" and "upstream: in_range" in failure.event_specific_data.error.message


def test_a_raising_check_is_a_failed_check_naming_its_error_and_the_others_still_run(tmp_path):
    checks = [Check("upstream", "ratio", "A ratio.", blocking=True, evaluate=_raises, reads_work=False),
              Check("upstream", "plausible", "Counts are plausible.", blocking=False, evaluate=_passes,
                    reads_work=False)]
    result, instance = _run(tmp_path, checks)
    evaluations = _evaluations(result)
    assert not evaluations["ratio"].passed and evaluations["ratio"].severity == AssetCheckSeverity.ERROR
    assert evaluations["ratio"].metadata["error"].value == "ZeroDivisionError: no towns to divide by"
    assert evaluations["plausible"].passed
    assert AssetKey("downstream") not in {e.asset_key for e in result.get_asset_materialization_events()}
    # the traceback goes to the run log, for whoever debugs the check
    assert any("check ratio of upstream raised" in line and "ZeroDivisionError" in line for line in _log_lines(result, instance))


def test_a_failed_non_blocking_check_does_not_stop_the_downstream_asset(tmp_path):
    checks = [Check("upstream", "plausible", "Counts are plausible.", blocking=False, evaluate=_fails,
                    reads_work=False)]
    result, instance = _run(tmp_path, checks)
    assert result.success
    assert AssetKey("downstream") in {e.asset_key for e in result.get_asset_materialization_events()}


def test_one_check_of_a_grouped_step_runs_alone(tmp_path):
    """As the UI's "Execute" of one check does: only the selected check of the step is evaluated."""
    called = []

    def counted(name):
        def evaluate(con, settings):
            called.append(name)
            return AssetCheckResult(passed=True)
        return evaluate

    checks = [Check("upstream", name, name, blocking=True, evaluate=counted(name), reads_work=False)
              for name in ("first", "second")]
    result, instance = _run(tmp_path, checks, selection=AssetSelection.checks(AssetCheckKey(AssetKey("upstream"), "second")))
    assert result.success
    assert called == ["second"] and set(_evaluations(result)) == {"second"}


def test_the_memory_hook_runs_once_after_every_step_whatever_its_outcome(tmp_path):
    checks = [Check("upstream", "in_range", "Values within 0-100.", blocking=True, evaluate=_fails, reads_work=False)]
    result, instance = _run(tmp_path, checks)
    completed = [e.step_key for e in result.all_events if e.event_type_value == "HOOK_COMPLETED"]
    assert sorted(completed) == ["upstream", "upstream_checks"]  # the failed check step too
    assert not [e for e in result.all_events if e.event_type_value == "HOOK_SKIPPED"]
    if Path("/proc/self/status").exists():  # the RSS line per step stays in the run log (pipelines/memory.py)
        lines = _log_lines(result, instance)
        for step in ("upstream", "upstream_checks"):
            assert any(line.startswith(f"memory after step {step}: RSS ") for line in lines), step


def test_the_real_checks_of_an_asset_fail_naming_a_missing_working_database(tmp_path):
    """The generated checks of readiness_index, on a warehouse path whose working file was never built: every
    check of the step is reported failed with the working database's error instead of killing the step."""
    settings = ReadinessSettings(warehouse_path=str(tmp_path / "readiness.duckdb"))
    group = [c for c in CHECKS if c.asset == "readiness_index"]
    assert [c.name for c in group] == ["pilot_towns_present", "readiness_index_columns"]
    results = evaluate_checks(group, settings)
    assert [r.check_name for r in results] == ["pilot_towns_present", "readiness_index_columns"]
    assert all(not r.passed and r.severity == AssetCheckSeverity.ERROR for r in results)
    assert all(r.metadata["error"].value.startswith("working database: ") for r in results)
