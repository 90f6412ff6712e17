"""Asset checks on the working database: keys, value ranges, pilot towns. Blocking ones stop publishing."""


from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from indicators.catalogue import load_catalogue
from pipelines.resources import ReadinessSettings
from warehouse.validation import validate_candidate

PILOTS = list(load_catalogue().pilot_towns)
OBSERVATION_ASSETS = {"population_area": ["destatis_gemeindeverzeichnis", "regionalstatistik"],
                      "broadband_coverage": ["breitbandatlas", "gigabit_grundbuch"],
                      "commuting": ["inkar", "ba_commuting"]}


def _pilots_missing(con, sql: str, params: list) -> list[str]:
    present = {row[0] for row in con.execute(sql, params).fetchall()}
    return sorted(set(PILOTS) - present)


def make_observation_checks(asset_name: str, source_ids: list[str]):
    @asset_check(asset=AssetKey(asset_name), name="gemeinde_keys_known", blocking=True,
                 description="Every Gemeinde key is 8 digits (error) and known to a Gemeindeverzeichnis "
                             "vintage. A few unknown keys (at most 1 %, e.g. gemeindefreie Gebiete dissolved "
                             "between two register vintages) are a warning: they never reach the index, which "
                             "covers the Gemeinden of the latest register only. Keys of Kreise the register "
                             "does not hold at all (outside the snapshot's Kreise) are out of scope, counted only.")
    def keys_known(settings: ReadinessSettings) -> AssetCheckResult:
        with settings.work(read_only=True) as con:
            keys = con.execute("""
                SELECT ags, regexp_full_match(ags, '\\d{8}') AS well_formed,
                       ags IN (SELECT ags FROM municipality_register) AS known,
                       left(ags, 5) IN (SELECT left(ags, 5) FROM municipality_register) AS kreis_in_scope
                FROM (SELECT DISTINCT ags FROM observations WHERE list_contains(?, source_id) AND level = 'gemeinde')
            """, [source_ids]).df()
        malformed = keys.loc[~keys["well_formed"], "ags"].tolist()
        unknown = keys.loc[keys["well_formed"] & ~keys["known"] & keys["kreis_in_scope"], "ags"].tolist()
        out_of_scope = int((keys["well_formed"] & ~keys["kreis_in_scope"]).sum())
        severe = bool(malformed) or len(unknown) > 0.01 * max(len(keys), 1)
        return AssetCheckResult(
            passed=not (malformed or unknown),
            severity=AssetCheckSeverity.ERROR if severe else AssetCheckSeverity.WARN,
            metadata={"keys": len(keys), "malformed": len(malformed), "unknown": len(unknown),
                      "out_of_scope": out_of_scope,
                      "examples": str((malformed + unknown)[:10])},
        )

    @asset_check(asset=AssetKey(asset_name), name="pilot_towns_present", blocking=True,
                 description="All five pilot towns have observations.")
    def pilots_present(settings: ReadinessSettings) -> AssetCheckResult:
        with settings.work(read_only=True) as con:
            missing = _pilots_missing(con, "SELECT ags FROM observations WHERE list_contains(?, source_id) AND level = 'gemeinde'",
                                      [source_ids])
        return AssetCheckResult(passed=not missing, metadata={"missing": str(missing)})

    @asset_check(asset=AssetKey(asset_name), name="shares_within_0_100",
                 description="Percent values lie within 0-100. The Breitbandatlas has a few values slightly "
                             "above 100 (publisher rounding): up to 101 is a warning, beyond is an error.")
    def shares_in_range(settings: ReadinessSettings) -> AssetCheckResult:
        with settings.work(read_only=True) as con:
            low, slightly, far = con.execute("""
                SELECT count(*) FILTER (value < 0), count(*) FILTER (value > 100 AND value <= 101),
                       count(*) FILTER (value > 101)
                FROM observations WHERE list_contains(?, source_id) AND unit LIKE '%\\%%' ESCAPE '\\'
            """, [source_ids]).fetchone()
        severity = AssetCheckSeverity.ERROR if (low or far) else AssetCheckSeverity.WARN
        return AssetCheckResult(passed=not (low or slightly or far), severity=severity,
                                metadata={"below_0": low, "100_to_101": slightly, "above_101": far})

    return [keys_known, pilots_present, shares_in_range]


def make_table_pilot_check(asset_name: str, table: str):
    @asset_check(asset=AssetKey(asset_name), name="pilot_towns_present", blocking=True,
                 description=f"All five pilot towns are in {table}.")
    def pilots_present(settings: ReadinessSettings) -> AssetCheckResult:
        with settings.work(read_only=True) as con:
            missing = _pilots_missing(con, f"SELECT ags FROM {table}", [])
        return AssetCheckResult(passed=not missing, metadata={"missing": str(missing)})

    return pilots_present


@asset_check(asset=AssetKey("readiness_index"), name="scores_within_0_100", blocking=True,
             description="Index and pillar scores lie within 0-100.")
def scores_in_range(settings: ReadinessSettings) -> AssetCheckResult:
    with settings.work(read_only=True) as con:
        bad = con.execute("""
            SELECT count(*) FROM readiness_index
            WHERE NOT (coalesce(score, 0) BETWEEN 0 AND 100 AND coalesce(digital_infrastructure, 0) BETWEEN 0 AND 100
                   AND coalesce(commuting_potential, 0) BETWEEN 0 AND 100
                   AND coalesce(demographic_dynamics, 0) BETWEEN 0 AND 100
                   AND coalesce(accessibility, 0) BETWEEN 0 AND 100)
        """).fetchone()[0]
    return AssetCheckResult(passed=bad == 0, metadata={"out_of_range": bad})


def make_candidate_check(name: str, description: str):
    """A blocking check on the candidate warehouse: failing stops the swap, the UI shows the problems."""

    @asset_check(asset=AssetKey("warehouse_candidate"), name=name, blocking=True, description=description)
    def candidate_check(settings: ReadinessSettings) -> AssetCheckResult:
        finding = validate_candidate(settings.candidate, settings.published, PILOTS, settings.allow_shrink)[name]
        return AssetCheckResult(passed=finding.passed, severity=AssetCheckSeverity.ERROR,
                                metadata={"problems": "; ".join(finding.problems) or "none",
                                          **{k: MetadataValue.text(str(v)) for k, v in finding.figures.items()}})

    return candidate_check


CANDIDATE_CHECKS = {
    "no_duplicate_keys": "Current rows of every planner table are unique per key (e.g. one indicator value per "
                         "town, indicator and period).",
    "towns_complete": "Every town of the reference group has an index row in every period, and every pilot "
                      "town a score in the latest period.",
    "values_in_range": "Scores and pillar scores within 0-100, ranks within 1..compared towns, uncertainty "
                       "bands ordered (percent indicator values outside 0-101 are counted, not blocking).",
    "row_counts_not_collapsing": "No table or view lost more than 10 % of its rows against the published "
                                 "warehouse (READINESS_ALLOW_SHRINK=1 for a deliberate change of scope).",
}

asset_checks = [
    *[check for name, source in OBSERVATION_ASSETS.items() for check in make_observation_checks(name, source)],
    make_table_pilot_check("municipalities", "municipalities"),
    make_table_pilot_check("indicator_values", "indicator_values"),
    make_table_pilot_check("readiness_index", "readiness_index WHERE score IS NOT NULL"),
    scores_in_range,
    *[make_candidate_check(name, description) for name, description in CANDIDATE_CHECKS.items()],
]
