"""A snapshot of the Dagster definitions as the UI shows them: keys, groups, kinds, column schemas, checks,
freshness policies, the schedule, typed settings.

Tolerant to assets other branches add: a known subset of keys and checks is asserted exactly, and
properties (group, kinds, description, owner) for every asset.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd
import pytest
from dagster import AssetCheckSeverity, AssetKey, EnvVar

from pipelines.assets.raw import source_key
from pipelines.catalog import ASSET_TABLES, SCHEMA_SQL, cycle_days, score_chart_markdown
from pipelines.definitions import SHORT_KEYS, defs
from pipelines.executors import CHAIN_SOURCES, REGISTER_CHAIN
from pipelines.names import registry_name
from pipelines.resources import ReadinessSettings
from sources.registry import load_sources

GROUPS = {
    "sources": {source_key(source_id).to_user_string() for source_id in load_sources()},  # source/<source>
    "raw_landing": {f"raw_{source_id}" for source_id in load_sources()},
    "staging": {"population_area", "territorial_crosswalk", "broadband_coverage", "mobile_coverage", "commuting",
                "municipality_geometries", "coworking_spaces"},
    "indicators": {"municipalities", "indicator_values"},
    "index": {"readiness_index", "index_uncertainty", "index_coherence", "score_contributions", "peer_towns"},
    "publish": {"warehouse_candidate", "published_warehouse", "planner_exports"},
    "reports": {"town_reports"},
}
CHECKS = {("broadband_coverage", "shares_within_0_100"), ("broadband_coverage", "gemeinde_keys_known"),
          ("readiness_index", "readiness_index_columns"), ("warehouse_candidate", "no_duplicate_keys"),
          ("warehouse_candidate", "row_counts_not_collapsing"), ("planner_exports", "every_view_complete"),
          ("planner_exports", "ags_kept_as_text")}


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def node(graph, name: str):
    """The asset with registry name ``name`` (its key in the UI is the short one of pipelines/names.py)."""
    return graph.get(SHORT_KEYS[AssetKey.from_user_string(name)])


def named(key) -> str:
    """The registry name of a UI key."""
    return registry_name(key, SHORT_KEYS)


def test_known_assets_in_their_groups(graph):
    keys = {named(key) for key in graph.get_all_asset_keys()}
    for group, names in GROUPS.items():
        assert names <= keys, f"missing from the graph: {names - keys}"
        assert {node(graph, name).group_name for name in names} == {group}


def test_every_asset_is_described_with_kinds_and_an_owner(graph):
    for key in graph.get_all_asset_keys():
        asset = graph.get(key)
        assert asset.group_name and asset.group_name != "default", key
        assert asset.kinds, f"{key.to_user_string()} has no kinds"
        assert asset.description and len(asset.description) > 40, key
        assert asset.owners, key


def test_kinds_by_stage(graph):
    assert node(graph, "raw_inkar").kinds == {"python", "duckdb"}
    assert node(graph, "readiness_index").kinds == {"pandas", "duckdb"}
    assert node(graph, "planner_exports").kinds >= {"excel", "csv", "parquet"}
    assert node(graph, "town_reports").kinds == {"html", "python"}


def schema_columns(table: str) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        return [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()]


@pytest.mark.parametrize("asset_name", sorted(ASSET_TABLES))
def test_column_schema_is_the_warehouse_table(graph, asset_name):
    schema = node(graph, asset_name).metadata["dagster/column_schema"]
    assert [(c.name, c.type) for c in schema.columns] == schema_columns(ASSET_TABLES[asset_name])


def test_every_asset_writing_a_published_table_shows_one_it_writes():
    # ASSET_TABLES picks the table the UI's Columns tab shows; tables.yaml's writers are the truth it must follow
    # (coworking_gap and pendleratlas_commuting had no column schema though they publish tables)
    from warehouse.registry import registry

    tables = registry().tables.values()
    for asset in sorted({writer for table in tables for writer in table.writers} - {"raw_<source>"}):
        written = [t for t in tables if asset in t.writers]
        shown = {t.part_of or t.name for t in written if "published" in t.databases or t.part_of}
        shown |= {f"{t.name}_history" for t in written if t.history}
        if shown and not asset.startswith(("warehouse.", "warehouse_candidate")):
            assert ASSET_TABLES.get(asset) in shown, (asset, sorted(shown))
    assert set(ASSET_TABLES) <= {writer for table in tables for writer in table.writers}


def test_column_descriptions_come_from_the_schema_comments(graph):
    columns = {c.name: c for c in node(graph, "readiness_index").metadata["dagster/column_schema"].columns}
    assert columns["score"].description == "0..100, NULL when a pillar is missing"
    assert columns["rank"].description.startswith("1 = best")
    assert columns["ags"].constraints.nullable is False and columns["score"].constraints.nullable is True
    releases = node(graph, "raw_breitbandatlas").metadata["dagster/column_schema"]
    assert "sha256" in [c.name for c in releases.columns]


def test_checks(graph):
    checks = {(named(key.asset_key), key.name) for key in graph.asset_check_keys}
    assert CHECKS <= checks, CHECKS - checks
    blocking = {(named(k.asset_key), k.name) for k in graph.asset_check_keys
                if graph.get_check_spec(k).blocking}
    assert ("planner_exports", "every_view_complete") in blocking
    assert ("warehouse_candidate", "no_duplicate_keys") in blocking


def test_the_register_chain_and_its_sources_go_first(graph):
    """CHAIN_SOURCES are exactly the raw inputs of the register chain (pipelines/executors.py), and only the chain's
    steps, their checks and those landings carry a priority (the order of the step processes)."""
    inputs = {named(parent) for name in REGISTER_CHAIN for parent in node(graph, name).parent_keys}
    assert inputs - set(REGISTER_CHAIN) == {f"raw_{source_id}" for source_id in CHAIN_SOURCES}
    job = defs.resolve_job_def("refresh_warehouse")
    prioritised = {name for name, op in job.graph.node_dict.items() if op.tags.get("dagster/priority")}
    assert prioritised == {*REGISTER_CHAIN, *(f"{name}_checks" for name in REGISTER_CHAIN),
                           *(f"raw_{source_id}" for source_id in CHAIN_SOURCES)}


def test_exports_are_downstream_of_the_published_warehouse(graph):
    assert SHORT_KEYS[AssetKey("published_warehouse")] in node(graph, "planner_exports").parent_keys


@pytest.mark.parametrize("source_id", sorted(load_sources()))
def test_raw_freshness_follows_the_shortest_cycle(graph, source_id):
    policy = node(graph, f"raw_{source_id}").freshness_policy
    days = cycle_days(load_sources()[source_id].cycles)
    if days is None:  # an irregular source (a town's own deliveries) has no freshness policy
        assert policy is None
        return
    cycle = dt.timedelta(days=days)
    assert policy.warn_window.to_timedelta() == cycle + dt.timedelta(days=31)
    assert policy.fail_window.to_timedelta() == cycle + dt.timedelta(days=62)


def test_the_newest_release_is_judged_by_its_own_date_not_by_when_it_was_landed():
    """The freshness policy only knows when files last arrived: the snapshot's 2021 Breitbandatlas, landed today,
    looked fresh. The raw asset's check warns by the release's date (two half-year cycles and a month: 397 days)."""
    from pipelines.assets.raw import RELEASE_AGE, release_age

    spec = load_sources()["breitbandatlas"]
    today = dt.date(2026, 12, 4)
    old = release_age(spec, ["2020-ende", "2021-ende", "2021-mitte"], today)  # the newest by date, not as text
    assert (old.check_name, old.passed, old.severity) == (RELEASE_AGE, False, AssetCheckSeverity.WARN)
    assert old.metadata["newest_release"].value == "2021-ende" and old.metadata["age_days"].value == 1799
    assert old.metadata["limit_days"].value == 2 * 183 + 31
    assert release_age(spec, ["2026-mitte"], today).passed  # 157 days
    assert not release_age(spec, ["2025-mitte"], today).passed  # 522 days: a release is overdue
    assert release_age(spec, [], today).passed  # an absent optional source: nothing to judge
    # the newest by date: the whole year's list '2025' after '2025-01-bis-02' (as text it sorts before); the limit
    # is two annual cycles, as live mode fetches the annual lists only (the monthly updates' 93 days warned all year)
    changes = release_age(load_sources()["destatis_gebietsaenderungen"], ["2024", "2025-01-bis-02", "2025"],
                          dt.date(2026, 2, 15))
    assert changes.passed and changes.metadata["newest_release"].value == "2025"
    assert changes.metadata["limit_days"].value == 2 * 365 + 31
    judged = {key.asset_key.to_user_string() for key in defs.resolve_asset_graph().asset_check_keys
              if key.name == RELEASE_AGE}
    assert "raw/breitbandatlas" in judged and "raw/local_inputs" not in judged  # irregular: no cycle to judge by


def test_schedule_and_job():
    schedules = {s.name: s for s in defs.schedules}
    monthly = schedules["monthly_refresh"]
    # the schedule observes the sources; its sensor then refreshes only what is stale (pipelines/incremental.py)
    assert (monthly.cron_schedule, monthly.execution_timezone, monthly.job_name) == \
        ("0 5 1 * *", "Europe/Berlin", "observe_sources")
    assert monthly.tags == {"readiness/then": "refresh"}  # the sensor follows only these observations
    sensor = {s.name: s for s in defs.sensors}["refresh_when_stale"]
    assert [job.name for job in sensor.jobs] == ["refresh_warehouse"]
    observed = defs.resolve_job_def("observe_sources").asset_layer.executable_asset_keys
    assert {named(key) for key in observed} == GROUPS["sources"]


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("READINESS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("READINESS_SOURCE_MODE", "directory")
    settings = ReadinessSettings.from_environment()
    assert settings.warehouse_path == EnvVar("READINESS_WAREHOUSE") and isinstance(settings.warehouse_path, EnvVar)
    assert settings.source_mode == "directory"
    monkeypatch.setenv("READINESS_SOURCE_MODE", "dierctory")
    with pytest.raises(ValueError, match=r"READINESS_SOURCE_MODE='dierctory' must be one of \('snapshot'"):
        ReadinessSettings.from_environment()
    monkeypatch.setenv("READINESS_SOURCE_MODE", "snapshot")
    monkeypatch.setenv("READINESS_REPORT_SCOPE", "everything")
    with pytest.raises(ValueError, match="READINESS_REPORT_SCOPE"):
        ReadinessSettings.from_environment()


def test_pilot_metadata_is_rounded():
    from pipelines.assets.indicators import pilot_metadata

    latest = pd.DataFrame([{"town": "Mölln, Stadt", "ags": "01053090", "period": 2023, "score": 68.87269841269841,
                            "rank": 7, "compared_towns": 39}])
    metadata = pilot_metadata(latest, bands=False)
    assert metadata["score_moelln"].value == 68.9
    assert metadata["pilot_latest"].value.records[0].data["score"] == 68.9


def test_score_chart_over_periods():
    scores = pd.DataFrame({"name": ["Mölln, Stadt"] * 2 + ["Eutin, Stadt"], "period": [2022, 2023, 2023],
                           "score": [50.0, 68.87, None]})
    chart = score_chart_markdown(scores).splitlines()
    assert chart[0] == "| Jahr | Eutin, Stadt | Mölln, Stadt |"
    assert re.fullmatch(r"\| 2022 \| – \| `█{6} {6}` 50,0 \|", chart[2])
    assert chart[3].endswith("68,9 |") and "████████▎" in chart[3]


def test_the_ui_marks_provisional_scores_and_never_a_year_without_one():
    """The UI's pilot chart and table showed the provisional 2022 and 2023 scores like the published 2021 one, and the
    table printed "nan" and "<NA>" for a year without a score (review of 6 December 2026)."""
    from pipelines.assets.indicators import pilot_rows_de

    scores = pd.DataFrame({"name": ["Mölln, Stadt"] * 3, "period": [2021, 2022, 2023], "score": [70.2, 70.2, None],
                           "rank": pd.array([7, 7, None], dtype="Int32"), "compared_towns": [50, 50, 0],
                           "provisional": [False, True, False]})
    chart = score_chart_markdown(scores).splitlines()
    assert chart[2].endswith("70,2 |") and chart[3].endswith("70,2 vorl. |") and chart[4] == "| 2023 | – |"
    table = pilot_rows_de(scores)
    assert table["vorläufig"].tolist() == ["nein", "ja", "–"]
    assert table.loc[2, "score"] == "–" and table.loc[2, "rank"] == "–"


def test_broadband_rounding_quirk_passes_with_a_count(tmp_path):
    """Shares of 100-101 % (publisher rounding) pass and are counted; 250 % fails."""
    from dagster import ResourceDefinition, build_asset_check_context

    from pipelines.checks import CHECKS
    from warehouse.paths import work_path_for
    from warehouse.workdb import connect_work

    check = next(c for c in CHECKS if c.check_key.name == "shares_within_0_100"
                 and c.check_key.asset_key == AssetKey("broadband_coverage"))
    settings = ReadinessSettings(warehouse_path=str(tmp_path / "readiness.duckdb"))
    INSERT = "INSERT INTO stg_breitbandatlas__observations (source_id, vintage, ags, level, reference_date, measure, value, unit, note) VALUES "
    row = "('breitbandatlas', '2023-ende', '01053090', 'gemeinde', DATE '2023-12-31', 'gigabit', {}, '% of households', NULL)"
    connect_work(work_path_for(settings.published)).close()  # the shared working file, as the raw assets create it
    with connect_work(work_path_for(settings.published), own="broadband_coverage") as con:  # its own file
        con.execute(INSERT + ", ".join(row.format(v) for v in (99.5, 100.4)))
    # hard-coded: the resource itself would take the warehouse writer lock for a whole run
    result = check(build_asset_check_context(resources={"settings": ResourceDefinition.hardcoded_resource(settings)}))
    assert result.passed and result.metadata["100_to_101"].value == 1
    with connect_work(work_path_for(settings.published), own="broadband_coverage") as con:  # its own file
        con.execute(INSERT + row.format(250))
    result = check(build_asset_check_context(resources={"settings": ResourceDefinition.hardcoded_resource(settings)}))
    assert not result.passed and result.metadata["above_101"].value == 1
    # a publisher's error, kept as published (the indicator step never scores it): a warning naming the row
    assert result.severity == AssetCheckSeverity.WARN
    assert result.metadata["examples"].value == [{"ags": "01053090", "measure": "gigabit",
                                                  "reference_date": "2023-12-31", "value": 250.0}]


def test_pilot_scores_are_materialized_per_period(tmp_path):
    """readiness_index reports one materialization of int/pilot_scores per index period (its partitions), so
    the Plots tab has the years on its x axis; a period seen before is not added twice."""
    from dagster import AssetsDefinition, DagsterInstance, asset, materialize

    from pipelines.assets.indicators import INDEX_PERIODS, PILOT_SCORES, log_period_scores

    pilots = pd.DataFrame({"name": ["Mölln, Stadt", "Mölln, Stadt", "Eutin, Stadt", "Eutin, Stadt"],
                           "period": [2022, 2023, 2022, 2023], "score": [50.04, 68.87269841269841, None, 55.0],
                           "rank": [12, 7, None, 20], "compared_towns": [39] * 4})

    @asset
    def index_step(context):
        log_period_scores(context, pilots)

    with DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            result = materialize([index_step, AssetsDefinition(specs=[PILOT_SCORES])], instance=instance,
                                 selection=[index_step.key])
            assert result.success
        assert instance.get_dynamic_partitions(INDEX_PERIODS.name) == ["2022", "2023"]
        events = [e for e in result.get_asset_materialization_events() if e.asset_key == PILOT_SCORES.key]
    by_period = {e.partition: {k: v.value for k, v in e.materialization.metadata.items()} for e in events}
    assert by_period == {"2022": {"score_moelln": 50.0, "rank_moelln": 12.0},
                         "2023": {"score_moelln": 68.9, "rank_moelln": 7.0, "score_eutin": 55.0, "rank_eutin": 20.0}}


def test_every_warehouse_job_has_a_maximum_runtime():
    # run monitoring fails a hung run (a stalled download) after it; without it the one-run queue stays blocked
    for name in ("refresh_warehouse", "observe_sources"):
        tags = defs.resolve_job_def(name).tags
        assert tags["warehouse"] == "readiness" and 3600 <= int(tags["dagster/max_runtime"]) <= 24 * 3600, name
