"""The whole Dagster job on the committed snapshot: real values, idempotent reruns, safe failures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from indicators.catalogue import load_catalogue
from pipelines.definitions import defs
from pipelines.names import SHORT_SOURCE_IDS
from pipelines.resources import ReadinessSettings
from sources.registry import load_sources
from tests.conftest import downstream_of, refresh_settings, run_job, run_refresh, skipped_steps


def test_acceptance_values_in_the_warehouse(warehouse):
    population = warehouse.execute("""
        SELECT reference_date::VARCHAR, value FROM observations
        WHERE ags = '01053090' AND measure = 'population_total' AND source_id = 'destatis_gemeindeverzeichnis'
          AND vintage IN ('2021-12-31', '2023-12-31') ORDER BY 1
    """).fetchall()
    assert population == [("2021-12-31", 19329.0), ("2023-12-31", 19566.0)]
    gigabit = dict(warehouse.execute("""
        SELECT ags, round(value, 1) FROM indicator_values
        WHERE indicator_id = 'gigabit_coverage' AND period = 2021 AND reference_date = DATE '2021-06-30'
          AND ags IN ('01053090', '06439012')
    """).fetchall())
    assert gigabit == {"01053090": 91.0, "06439012": 7.0}


def test_municipalities_and_pilots(warehouse):
    pilots = warehouse.execute("""
        SELECT ags, kind, kreis_ags, population, population_date::VARCHAR, in_reference_group
        FROM municipalities WHERE is_pilot ORDER BY ags
    """).fetchall()
    assert [p[0] for p in pilots] == ["01053090", "06439012", "09181114", "12070424", "14628060"]
    assert pilots[0] == ("01053090", "Stadt", "01053", 19566, "2023-12-31", True)
    assert pilots[2][1] == "Markt"
    assert warehouse.execute("SELECT count(*) FROM municipalities").fetchone()[0] == 244
    assert warehouse.execute("SELECT count(*) FROM municipalities WHERE NOT regexp_full_match(ags, '\\d{8}')"
                             ).fetchone()[0] == 0


def test_index_for_pilot_towns_and_periods(warehouse):
    scored = warehouse.execute("""
        SELECT ags, period, score, rank, compared_towns, method_version FROM readiness_index
        WHERE ags IN ('01053090', '06439012', '09181114', '12070424') AND period IN (2018, 2021, 2023)
    """).df()
    assert len(scored) == 12 and scored["score"].between(0, 100).all()
    assert (scored["rank"] >= 1).all() and (scored["rank"] <= scored["compared_towns"]).all()
    assert set(scored["method_version"]) == {load_catalogue().method_version}
    # Dippoldiswalde was renumbered with a merger in 2008 (14290080 + 14290280 -> 14628060) and absorbed
    # Schmiedeberg in 2014: the crosswalk restates its history on today's territory, so it is scored
    steps = warehouse.execute("""
        SELECT from_vintage, from_ags, kind FROM territorial_changes WHERE to_ags = '14628060' ORDER BY 1, 2
    """).fetchall()
    assert steps == [("2002-12-31", "14290080", "merger"), ("2002-12-31", "14290280", "merger"),
                     ("2013-12-31", "14628350", "merger")]
    restated = warehouse.execute("""
        SELECT value, note FROM observations WHERE ags = '14628060' AND measure = 'population_current_territory'
          AND vintage = '2013-12-31'
    """).fetchone()
    parts = warehouse.execute("""
        SELECT sum(value) FROM observations WHERE ags IN ('14628060', '14628350') AND measure = 'population_total'
          AND vintage = '2013-12-31'
    """).fetchone()[0]
    assert restated == (parts, "restated to current territory: includes 14628350")
    dippoldiswalde = warehouse.execute("""
        SELECT score, missing_pillars FROM readiness_index WHERE ags = '14628060' AND period = 2023
    """).fetchone()
    assert dippoldiswalde[0] is not None and dippoldiswalde[1] is None
    value = warehouse.execute("""
        SELECT quality_note, territorial_change, excluded_reason, base_period FROM indicator_values
        WHERE ags = '14628060' AND indicator_id = 'population_change_10y' AND period = 2023
    """).fetchone()
    # typed: the base is restated by a merger and the value is scored; the note is rendered from the codes
    assert value == ("base year 2013; restated to the current territory: the predecessors' figures summed",
                     "merger", None, 2013)


def test_imputed_values_are_flagged(warehouse):
    row = warehouse.execute("""
        SELECT imputed, imputation, reference_date::VARCHAR FROM indicator_values
        WHERE ags = '01053090' AND indicator_id = 'out_commuter_share' AND period = 2023
    """).fetchone()
    assert row == (True, "carried forward from 2019", "2019-06-30")  # INKAR: the BA's count of 30 June


def test_inkar_values_before_the_merger_that_formed_a_town_are_typed_as_restated_by_the_publisher(warehouse):
    """Dippoldiswalde took Schmiedeberg on 01.01.2014 (VG5000 WSK); INKAR gives every year on its own later
    territory, so its values up to mid-2013 are the publisher's restatement: typed, and still scored; the
    out-commuter share (sources.yaml boundary_flows) as counting the Dippoldiswalde-Schmiedeberg commuting."""
    rows = warehouse.execute("""
        SELECT indicator_id, period, territorial_change, excluded_reason FROM indicator_values
        WHERE ags = '14628060' AND indicator_id IN ('out_commuter_share', 'long_distance_commuter_share')
          AND period IN (2013, 2014) AND NOT imputed ORDER BY 1, 2""").fetchall()
    assert rows == [("long_distance_commuter_share", 2013, "publisher_restated", None),
                    ("long_distance_commuter_share", 2014, None, None),
                    ("out_commuter_share", 2013, "publisher_restated_commuting", None),
                    ("out_commuter_share", 2014, None, None)]
    formed = warehouse.execute("SELECT last_change_date::VARCHAR FROM municipality_geometries WHERE ags = '14628060'")
    assert formed.fetchall() == [("2014-01-01",)]
    notes = warehouse.execute("""SELECT DISTINCT note FROM observations WHERE source_id = 'inkar' AND ags = '14628060'
                                 AND territorial_change LIKE 'publisher_restated%'""").fetchall()
    assert notes == [("restated by the publisher: the Gemeinde took its current territory on 2014-01-01",)]


def test_no_restated_population_or_area_on_another_territory_claims_todays(warehouse):
    """A restated area more than 2 % from its Gemeinde's latest register's is never untyped, `recode` or `merger`
    (which claim today's territory): the crosswalk types it `earlier_territory`, and its population with it where
    land without inhabitants does not explain the difference (Pritzwalk 1994: 11,527 inhabitants on 46.20 km², 167.32
    today; staging/crosswalk.py flag_earlier_territory)."""
    moved = warehouse.execute("""
        WITH area AS (SELECT ags, reference_date, vintage, value, territorial_change FROM observations
                      WHERE measure = 'area_current_territory' AND value IS NOT NULL),
             latest AS (SELECT ags, arg_max(value, (reference_date, vintage)) AS latest FROM area GROUP BY ags)
        SELECT coalesce(territorial_change, 'untyped') AS code, count(*) AS n
        FROM area JOIN latest USING (ags) WHERE abs(latest / value - 1) > 0.02 GROUP BY ALL""").fetchall()
    codes = dict(moved)
    assert codes.get("earlier_territory", 0) > 0 and not {"untyped", "recode", "merger"} & set(codes), codes
    pritzwalk = warehouse.execute("""
        SELECT measure, value, territorial_change, note FROM observations WHERE ags = '12070316'
          AND reference_date = '1994-12-31' AND measure LIKE '%current_territory' ORDER BY measure""").fetchall()
    note = ("earlier_territory: not the latest territory: the area on this date (46.2 km²) differs from the latest "
            "register's (167.32 km²) by a change the crosswalk does not restate")
    assert pritzwalk == [("area_current_territory", 46.2, "earlier_territory", note),
                         ("population_current_territory", 11527.0, "earlier_territory", note)]


def test_the_snapshot_knows_no_inkar_status_and_says_which_register_stands_for_it(warehouse):
    """The offline snapshot cuts INKAR's Gemeinde list: publisher_territorial_status names the register before the
    release that stands for INKAR's status, and leaves both bounds empty (the town pages then use the release's first
    day); inferred territorial steps carry no effective date, only their two registers."""
    assert warehouse.execute("SELECT * FROM publisher_territorial_status").fetchall() == [
        ("inkar", "2022-12", "2021-12-31", "latest_register_before_release", None, None, None, None)]
    undated = warehouse.execute("""SELECT count(*), count(effective_date), count(from_date) FROM territorial_changes
                                   WHERE basis <> 'change_list' AND to_ags = '14628060'""").fetchone()
    assert undated == (3, 0, 3)  # Dippoldiswalde's mergers of 2003-2009 and 2014-2021


def test_the_measured_2015_break_of_the_verband_out_commuter_shares_is_a_method_break_in_the_snapshot(warehouse):
    """Herzogtum Lauenburg's Ämter (Schleswig-Holstein, sources.yaml generation_breaks): each member's Verband
    out-commuter share has its method break at 2015 and nowhere else; Mölln, amtsfrei with its own value, has none;
    the long-distance share of the same members none."""
    breaks = warehouse.execute("""
        SELECT indicator_id, period, count(DISTINCT ags), bool_and(source_level = 'gemeindeverband'),
               bool_and(excluded_reason IS NULL) FROM indicator_values
        WHERE method_break AND left(ags, 5) = '01053' GROUP BY 1, 2""").fetchall()
    members = warehouse.execute("""
        SELECT period, count(DISTINCT ags) FROM indicator_values WHERE left(ags, 5) = '01053' AND NOT imputed
          AND indicator_id = 'out_commuter_share' AND source_level = 'gemeindeverband' AND period IN (2014, 2015)
        GROUP BY period ORDER BY period""").fetchall()
    (_, before), (_, after) = members
    assert before == after > 100  # the same Amt members in 2014 and 2015 (126 in the snapshot)
    assert breaks == [("out_commuter_share", 2015, after, True, True)]
    assert warehouse.execute("""SELECT count(*) FROM indicator_values WHERE ags = '01053090'
                                AND method_break""").fetchone() == (0,)


def test_source_releases_carry_provenance(warehouse):
    releases = warehouse.execute("""
        SELECT source_id, count(DISTINCT vintage), min(licence), min(attribution) FROM source_releases GROUP BY 1
    """).df().set_index("source_id")
    assert releases.loc["destatis_gemeindeverzeichnis", "count(DISTINCT vintage)"] == 11
    assert releases.loc["breitbandatlas", "min(licence)"] == "dl-de/by-2-0"
    # live-only sources (GENESIS, Gigabit-Grundbuch, BA Gemeindeband, OSM) have no snapshot files
    assert set(releases.index) == {"destatis_gemeindeverzeichnis", "breitbandatlas", "inkar", "bkg_vg",
                                   "ba_commuting", "mobilfunk_monitoring", "destatis_gebietsaenderungen"}
    assert warehouse.execute("SELECT count(*) FROM source_releases WHERE length(sha256) <> 64").fetchone()[0] == 0


PUBLISH_STEPS = ["out/candidate", "out/warehouse"]  # build and check the candidate, then swap it in


def checksums(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: hashlib.sha256(con.execute(f"SELECT * FROM {t} ORDER BY ALL").df()
                                  .to_csv().encode()).hexdigest()
                for t in ["municipalities", "observations", "indicator_values", "readiness_index"]} | {
            "source_releases": hashlib.sha256(con.execute(
                "SELECT * EXCLUDE (ingested_at) FROM source_releases ORDER BY ALL").df().to_csv().encode()).hexdigest()}


def test_rerun_is_idempotent_and_failed_run_keeps_published_warehouse(snapshot_warehouse, snapshot_rerun,
                                                                     published_copy, snapshot_copy):
    """The first run is the session's; the same refresh again over a copy of its folder (published file,
    working database, raw landing; tests/conftest.py: snapshot_rerun) must leave the content as it was.
    Then a broken file over another copy of the session's publish (the last good one) publishes nothing."""
    rerun, result = snapshot_rerun
    assert result.success  # from the snapshot, as the session's run
    assert checksums(rerun) == checksums(snapshot_warehouse)  # no duplicates, same content

    published, tmp_path = published_copy, published_copy.parent
    before = published.read_bytes()
    broken = snapshot_copy / "breitbandatlas" / "gemeinde_bezirke_privat_2021_mitte.csv"
    broken.write_text(broken.read_text(encoding="utf-8").replace(",", ";").replace("AGS", "Gemeinde"),
                      encoding="utf-8")
    # the part of the job the broken file decides (its raw landing and everything after it, the publish among
    # them): the other sources' staging, which the whole job runs beside it, cannot change whether it fails
    result = run_job(refresh_settings(tmp_path, snapshot_copy), raise_on_error=False,
                     assets=downstream_of("raw/breitbandatlas"))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.cause.message
    assert "[breitbandatlas] breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv: expected a key column" in message
    assert {"warehouse_candidate", "published_warehouse"} <= skipped_steps(result)  # in the run, and skipped
    assert published.read_bytes() == before


def test_failed_blocking_check_stops_the_publish_and_says_why(published_copy, snapshot_copy):
    """A refresh that would drop the older population history is not published; allowing the shrink publishes it.
    The last good publish is the session's (a copy of it)."""
    published, tmp_path = published_copy, published_copy.parent
    before = published.read_bytes()
    for year in (1983, 1987, 1990, 1994):
        (snapshot_copy / "destatis-gemeindeverzeichnis" / f"3112{year}_Auszug_GV.xlsx").unlink()
    # the part of the job the register decides, the candidate's checks among it (as for a broken source)
    result = run_refresh(tmp_path, snapshot_copy, raise_on_error=False, assets=downstream_of("raw/gemeindeverz"))
    check = next(e.event_specific_data for e in result.all_events
                 if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "row_counts_not_collapsing")
    assert not check.passed
    assert "rows, was" in check.metadata["problems"].value
    # the candidate's checks run in one step (pipelines/checks.py checks_step): the others still reported
    reported = {e.event_specific_data.check_name for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.step_key == "warehouse_candidate_checks"}
    assert {"no_duplicate_keys", "towns_complete", "values_in_range", "row_counts_not_collapsing"} <= reported
    assert AssetKey(["out", "warehouse"]) not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert published.read_bytes() == before

    settings = ReadinessSettings(source_mode="directory", source_dir=str(snapshot_copy), allow_shrink=True,
                                 warehouse_path=str(published), raw_dir=str(tmp_path / "raw"),
                                 exports_dir=str(tmp_path / "exports"), reports_dir=str(tmp_path / "reports"),
                                 report_scope="pilots")  # never the repository's data/reports
    # only the candidate and the swap again: the blocked run left the working tables this publish is built from
    # (the steps before the candidate would compute them once more; the shrink is judged on the candidate)
    assert run_job(settings, assets=PUBLISH_STEPS).success
    assert published.read_bytes() != before


def test_raw_landing_is_content_addressed_and_kept(snapshot_warehouse):
    """The session's run lands the snapshot's files (snapshot and directory mode land alike: only the
    folder read differs, ReadinessSettings.source_root)."""
    raw = snapshot_warehouse.parent / "raw"
    landed = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*.csv"))
    assert any(p.startswith("breitbandatlas/2021-mitte/") and p.endswith("gemeinde_bezirke_privat_2021_mitte.csv")
               for p in landed)
    shapefile_parts = list((raw / "bkg_vg").rglob("VG5000_GEM.*"))
    assert len({p.parent for p in shapefile_parts}) == 1 and len(shapefile_parts) == 5


def test_definitions_snapshot():
    """Asset keys, groups, jobs and schedules: a change here is a deliberate change of the pipeline."""
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "raw/gemeindeverz": "raw_landing", "raw/breitbandatlas": "raw_landing",
        "raw/inkar": "raw_landing", "raw/bkg_vg": "raw_landing", "raw/gigabit_grundbuch": "raw_landing",
        "raw/regionalstatistik": "raw_landing", "raw/ba_commuting": "raw_landing",
        "raw/mobilfunk": "raw_landing", "raw/osm_coworking": "raw_landing",
        "raw/gebietsaenderung": "raw_landing",
        "raw/pendleratlas": "raw_landing", "raw/local_inputs": "raw_landing",
        "stg/pendleratlas": "staging", "int/coworking_gap": "index",
        "stg/population_area": "staging", "stg/crosswalk": "staging", "stg/broadband": "staging",
        "stg/commuting": "staging",
        "stg/geometries": "staging", "stg/mobile": "staging", "stg/coworking_spaces": "staging",
        "int/municipalities": "indicators", "int/indicator_values": "indicators",
        "int/readiness_index": "index", "int/uncertainty": "index", "int/coherence": "index",
        "int/pilot_scores": "index",  # external, partitioned by period: the Plots tab over years
        "int/contributions": "index", "int/peer_towns": "index", "out/candidate": "publish",
        "out/warehouse": "publish", "out/planner_exports": "publish", "out/town_reports": "reports",
        # the observable source assets the incremental refresh observes (pipelines/incremental.py), the
        # long source ids shortened for the graph (pipelines/names.py)
        **{f"source/{SHORT_SOURCE_IDS.get(source_id, source_id)}": "sources" for source_id in load_sources()},
    }
    schedule = defs.get_schedule_def("monthly_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 1 * *", "Europe/Berlin")
    assert schedule.job_name == "observe_sources"  # then the sensor refresh_when_stale runs what is stale
    assert defs.resolve_job_def("refresh_warehouse").tags.get("warehouse") == "readiness"


def test_source_modes():
    from pipelines.resources import ReadinessSettings
    assert ReadinessSettings(source_mode="live", live_dir="/tmp/mirror").source_root() == Path("/tmp/mirror")
    with pytest.raises(ValueError, match="'snapshot', 'directory' or 'live'"):  # a typed (Literal) field
        ReadinessSettings(source_mode="nonsense").source_root()
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        ReadinessSettings(source_mode="directory", source_dir="/nonexistent").source_root()


def test_local_instance_queues_one_warehouse_run_at_a_time(tmp_path):
    """dagster.yaml: SQLite storage in DAGSTER_HOME and a queue that lets one warehouse run execute."""
    import shutil

    import yaml
    from dagster import DagsterInstance

    from warehouse.paths import PROJECT_ROOT
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    assert config["run_coordinator"]["config"]["max_concurrent_runs"] == 1
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert "sqlite" in type(instance.run_storage).__name__.lower()


def test_every_pilot_town_and_period_has_band_contributions_and_peers(warehouse):
    """Issue 4 acceptance on the snapshot: score, pillars, rank band, imputation flags, change, peers."""
    scored = warehouse.execute("""
        SELECT ags, period, score, rank, rank_median, rank_p05, rank_p95, imputed_share
        FROM readiness_index WHERE ags IN (SELECT ags FROM municipalities WHERE is_pilot) AND score IS NOT NULL
    """).df()
    assert set(scored["ags"]) == set(load_catalogue().pilot_towns)
    assert scored[["rank_median", "rank_p05", "rank_p95", "imputed_share"]].notna().all().all()
    assert ((scored["rank_p05"] <= scored["rank_median"]) & (scored["rank_median"] <= scored["rank_p95"])).all()
    changes = warehouse.execute("""
        SELECT ags, period_from, period_to, sum(contribution) AS total, any_value(score_to - score_from) AS change
        FROM score_contributions WHERE ags IN (SELECT ags FROM municipalities WHERE is_pilot)
        GROUP BY ALL
    """).df()
    assert set(changes["ags"]) == set(load_catalogue().pilot_towns)
    assert (changes["total"] - changes["change"]).abs().max() < 1e-9
    peers = warehouse.execute("""
        SELECT ags, count(*) AS n, bool_or(peer_ags = ags) AS self FROM peer_towns
        WHERE ags IN (SELECT ags FROM municipalities WHERE is_pilot) GROUP BY ags
    """).df()
    assert len(peers) == 5 and (peers["n"] == 5).all() and not peers["self"].any()
    kinds = {k for (k,) in warehouse.execute("SELECT DISTINCT kind FROM index_coherence").fetchall()}
    assert {"indicator_pillar", "pillar_score"} <= kinds
    choices = {c for (c,) in warehouse.execute("SELECT DISTINCT choice FROM index_sensitivity").fetchall()}
    assert {"normalisation", "imputation", "aggregation"} <= choices


def test_accessibility_pillar_scored_for_every_pilot_town(warehouse):
    """INKAR x336/x337 (2020) and x345/x346 (2018) carried to 2023 (flagged), pillar scored for all five pilots."""
    pillar = dict(warehouse.execute("""
        SELECT ags, accessibility FROM readiness_index
        WHERE period = 2023 AND ags IN (SELECT ags FROM municipalities WHERE is_pilot)
    """).fetchall())
    assert len(pillar) == 5 and all(0 <= v <= 100 for v in pillar.values())
    # Wittenberge: ICE station in town (0 min) -> 100, Oberzentrum 70.69 min -> 0, stop 361 m -> 85.56, 95 %
    assert pillar["12070424"] == pytest.approx((100 + 0 + (1 - 361 / 2500) * 100 + 95) / 4)
    rows = warehouse.execute("""
        SELECT indicator_id, imputation FROM indicator_values
        WHERE ags = '12070424' AND period = 2023 AND indicator_id IN ('ic_ice_station_car_minutes',
              'oberzentrum_car_minutes', 'transit_stop_distance', 'transit_stop_within_1km_share')
        ORDER BY 1
    """).fetchall()
    assert rows == [("ic_ice_station_car_minutes", "carried forward from 2020"),
                    ("oberzentrum_car_minutes", "carried forward from 2020"),
                    ("transit_stop_distance", "carried forward from 2018"),
                    ("transit_stop_within_1km_share", "carried forward from 2018")]
    # a member of a Verband with several members carries the Verband's value, marked as such
    level = warehouse.execute("""
        SELECT source_level FROM indicator_values
        WHERE ags = '01053002' AND indicator_id = 'transit_stop_distance' AND period = 2018
    """).fetchone()[0]
    assert level == "gemeindeverband"  # typed (indicators/flags.py renders the note from it)


def test_coworking_gap_for_every_town_in_scope_and_period(warehouse):
    """Snapshot: no Pendleratlas, BA counts or coworking data, so the gap has INKAR's share only."""
    missing = warehouse.execute("""
        SELECT count(*) FROM (SELECT ags, period FROM readiness_index WHERE in_reference_group) r
        ANTI JOIN coworking_gap g USING (ags, period)
    """).fetchone()[0]
    total = warehouse.execute("SELECT count(*) FROM readiness_index WHERE in_reference_group").fetchone()[0]
    assert missing == 0 and warehouse.execute("SELECT count(*) FROM coworking_gap").fetchone()[0] == total
    moelln = warehouse.execute("""SELECT long_distance_share, long_distance_share_year, long_distance_out_commuters,
        nearest_space_km FROM coworking_gap WHERE ags = '01053090' AND period = 2023""").fetchone()
    assert moelln == (pytest.approx(17.75), 2019, None, None)  # no employed-at-residence base offline: no count
