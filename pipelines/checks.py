"""Asset checks on the working database: keys, value ranges, pilot towns. Blocking ones stop publishing.

Each check is a ``Check`` (its asset, name, description, blocking flag and an ``evaluate`` function); the
checks of one asset run in ONE Dagster step (``checks_step``: a ``@multi_asset_check`` with one
``AssetCheckSpec`` per check), sharing one read-only working connection. Why: a step of its own per check cost
Dagster's per-step bookkeeping (events, hooks, the step's start and end) plus opening the working files (the
shared file and every staging file attached, ~0.1 s) 65 times per refresh and per test run of the job. Every
check keeps its own key (asset + name), description, blocking flag, severity and metadata, so the UI, the
blocking (Dagster fails the step after all its results are reported when a blocking check failed with ERROR
severity, and the downstream assets are skipped), run summaries and `dg` see the same checks as before.
"""

import traceback
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass

from dagster import (AssetCheckExecutionContext, AssetCheckKey, AssetCheckResult, AssetCheckSeverity,
                     AssetCheckSpec, AssetKey, MetadataValue, multi_asset_check)

from indicators.catalogue import ROUNDING_TOLERANCE, load_catalogue
from pipelines.assets.publish import year_on_year_all
from pipelines.executors import step_priority
from pipelines.resources import ReadinessSettings
from sources import contracts
from sources.registry import load_sources
from warehouse.workdb import relation_columns
from warehouse.registry import Table, registry, violation_queries
from warehouse.validation import validate_candidate

CATALOGUE = load_catalogue()
PILOTS = list(CATALOGUE.pilot_towns)
SOURCES = load_sources()


@dataclass(frozen=True)
class Check:
    """One asset check: what the UI shows (asset, name, description, blocking) and how it is evaluated.

    ``evaluate(con, settings)`` gets the step's shared read-only working connection (None when
    ``reads_work`` is False: checks of the candidate or the exports read other files) and returns the
    check's AssetCheckResult (its check name is filled in by the step).
    """

    asset: str
    name: str
    description: str
    blocking: bool
    evaluate: Callable[..., AssetCheckResult]
    reads_work: bool = True

    @property
    def check_key(self) -> AssetCheckKey:
        """The check's key under its registry asset name (the definitions rename the asset to its UI key)."""
        return AssetCheckKey(AssetKey(self.asset), self.name)

    def __call__(self, context) -> AssetCheckResult:
        """This check alone with its own connection, from a context with the ``settings`` resource (tests)."""
        return evaluate_checks([self], context.resources.settings)[0]


def evaluate_checks(checks: list["Check"], settings: ReadinessSettings, log=None) -> list[AssetCheckResult]:
    """Every check's result, in order, from one read-only working connection opened only when one reads it.

    A check that raises is reported as a failed check (severity ERROR) naming the error, and the others
    still run: one broken query must not hide the other checks' findings. The connection is closed before
    the results go to Dagster, so a step holds the working files only while it queries them.
    """
    try:
        with settings.work(read_only=True) if any(c.reads_work for c in checks) else nullcontext() as con:
            return [_evaluate(check, con, settings, log) for check in checks]
    except Exception as error:  # the working files could not be opened (or closed): every check says so
        if log is not None:
            log.error(f"checks of {checks[0].asset}: working database: {traceback.format_exc()}")
        return [_raised(check, f"working database: {type(error).__name__}: {error}") for check in checks]


def _evaluate(check: Check, con, settings: ReadinessSettings, log) -> AssetCheckResult:
    """One check's result with its name; a raised error becomes a failed result naming it."""
    try:
        return check.evaluate(con, settings)._replace(check_name=check.name)
    except Exception as error:
        if log is not None:
            log.error(f"check {check.name} of {check.asset} raised: {traceback.format_exc()}")
        return _raised(check, f"{type(error).__name__}: {error}")


def _raised(check: Check, message: str) -> AssetCheckResult:
    """The failed result of a check that could not be evaluated (blocking checks then block)."""
    return AssetCheckResult(check_name=check.name, passed=False, severity=AssetCheckSeverity.ERROR,
                            description=f"the check raised an error: {message}"[:1000],
                            metadata={"error": MetadataValue.text(message[:2000])})


def checks_step(asset_name: str, checks: list[Check]):
    """The checks of one asset as one Dagster step (op ``<asset>_checks``), each reported as its own check.

    ``can_subset``: re-running one check from the UI (or a run selecting only some) evaluates only those.
    """
    specs = [AssetCheckSpec(c.name, asset=AssetKey(asset_name), description=c.description, blocking=c.blocking)
             for c in checks]

    @multi_asset_check(name=f"{asset_name}_checks", specs=specs, can_subset=True,
                       op_tags=step_priority(f"{asset_name}_checks"),
                       description=f"The checks of {asset_name}: {', '.join(c.name for c in checks)}.")
    def run_checks(context: AssetCheckExecutionContext, settings: ReadinessSettings):
        # matched by name: the definitions replace the asset key by its UI key (pipelines/names.py)
        selected = {key.name for key in context.selected_asset_check_keys}
        yield from evaluate_checks([c for c in checks if c.name in selected], settings, context.log)

    return run_checks


def grouped_checks(checks: Iterable[Check]) -> list:
    """One ``checks_step`` per checked asset, in the order the assets first appear."""
    by_asset: dict[str, list[Check]] = {}
    for check in checks:
        by_asset.setdefault(check.asset, []).append(check)
    for asset_name, group in by_asset.items():
        names = [c.name for c in group]
        if len(set(names)) != len(names):
            raise ValueError(f"pipelines/checks.py: two checks of {asset_name} share a name: {sorted(names)}")
    return [checks_step(asset_name, group) for asset_name, group in by_asset.items()]


def staged_observation_sources() -> dict[str, list[str]]:
    """Generated staging assets whose sources.yaml `stage:` asks for the observation checks (checks: [observations])."""
    assets: dict[str, list[str]] = {}
    for spec in SOURCES.values():
        if spec.stage and "observations" in spec.stage.get("checks", []):
            assets.setdefault(spec.stage["asset"], []).append(spec.source_id)
    return assets


def staged_contract_tables() -> dict[str, list[tuple[str, str, str]]]:
    """Generated staging assets: every contract table of their sources, with the table it is staged in."""
    assets: dict[str, list[tuple[str, str, str]]] = {}
    for spec in SOURCES.values():
        for table in contracts.CONTRACTS.get(spec.source_id, {}) if spec.stage else []:
            work = "observations" if table == "observations" else spec.stage.get("tables", {})[table]
            assets.setdefault(spec.stage["asset"], []).append((spec.source_id, table, work))
    return assets


# the bespoke staging assets' observation checks, then the generated ones
OBSERVATION_ASSETS = {"population_area": ["destatis_gemeindeverzeichnis", "regionalstatistik"],
                      "commuting": ["inkar", "ba_commuting"], **staged_observation_sources()}
# staging asset -> (source, contract table, working table) whose staged rows the generated contract checks re-validate
CONTRACT_TABLES = {
    "population_area": [("destatis_gemeindeverzeichnis", "observations", "observations"),
                        ("destatis_gemeindeverzeichnis", "register", "municipality_register"),
                        ("regionalstatistik", "observations", "observations")],
    "commuting": [("inkar", "observations", "observations"), ("ba_commuting", "observations", "observations"),
                  ("ba_commuting", "commuter_flows", "commuter_flows")],
    "municipality_geometries": [("bkg_vg", "geometries", "municipality_geometries")],
    **staged_contract_tables(),
}


def _pilots_missing(con, sql: str, params: list) -> list[str]:
    # only the pilots' distinct keys come back (fetching every Breitbandatlas key row took ~1.2 s)
    present = {row[0] for row in con.execute(f"SELECT DISTINCT ags FROM ({sql}) WHERE list_contains(?, ags)",
                                             [*params, PILOTS]).fetchall()}
    return sorted(set(PILOTS) - present)


def make_observation_checks(asset_name: str, source_ids: list[str]) -> list[Check]:
    def keys_known(con, settings: ReadinessSettings) -> AssetCheckResult:
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

    def pilots_present(con, settings: ReadinessSettings) -> AssetCheckResult:
        # an optional source (required: false) with no release landed (the snapshot carries none) has nothing to
        # check: no data is no bad data. Told apart by the release records, not by the rows: a landed release
        # without the pilots' rows (a cut file, a lost column) still fails
        landed = {row[0] for row in con.execute(
            "SELECT DISTINCT source_id FROM releases WHERE list_contains(?, source_id)", [source_ids]).fetchall()}
        if not landed and not any(SOURCES[s].required for s in source_ids):
            return AssetCheckResult(passed=True, metadata={"releases": 0, "sources_without_release": str(source_ids)},
                                    description=f"No release of {', '.join(source_ids)} in this run (optional "
                                                "source, required: false): no observations to check.")
        missing = _pilots_missing(con, "SELECT ags FROM observations WHERE list_contains(?, source_id) AND level = 'gemeinde'",
                                  [source_ids])
        return AssetCheckResult(passed=not missing, metadata={"missing": str(missing),
                                                              "sources_with_releases": str(sorted(landed))})

    def shares_in_range(con, settings: ReadinessSettings) -> AssetCheckResult:
        percent = "list_contains(?, source_id) AND unit LIKE '%\\%%' ESCAPE '\\'"
        top = 100 + ROUNDING_TOLERANCE
        low, slightly, far = con.execute(f"""
            SELECT count(*) FILTER (value < 0), count(*) FILTER (value > 100 AND value <= {top}),
                   count(*) FILTER (value > {top})
            FROM observations WHERE {percent}
        """, [source_ids]).fetchone()
        # the rows themselves only when there are any: a second scan of millions of rows on every passing run is waste
        examples = con.execute(f"""
            SELECT ags, measure, reference_date, value FROM observations
            WHERE {percent} AND (value < 0 OR value > {top}) ORDER BY ags, measure, reference_date LIMIT 10
        """, [source_ids]).fetchall() if low or far else []
        # the known rounding quirk (100-101) is counted, not failed: a check red on every run is ignored. Values
        # further out are the publisher's errors (INKAR: 110 % of commuters); kept as published, they fail this
        # check as a warning, and the indicator step never scores them (excluded_reason impossible_value)
        return AssetCheckResult(passed=not (low or far), severity=AssetCheckSeverity.WARN,
                                metadata={"below_0": low, "100_to_101": slightly, "above_101": far,
                                          "examples": MetadataValue.json(
                                              [{"ags": a, "measure": m, "reference_date": str(d), "value": v}
                                               for a, m, d, v in examples])})

    return [
        Check(asset_name, "gemeinde_keys_known", blocking=True, evaluate=keys_known,
              description="Every Gemeinde key is 8 digits (error) and known to a Gemeindeverzeichnis "
                          "vintage. A few unknown keys (at most 1 %, e.g. gemeindefreie Gebiete dissolved "
                          "between two register vintages) are a warning: they never reach the index, which "
                          "covers the Gemeinden of the latest register only. Keys of Kreise the register "
                          "does not hold at all (outside the snapshot's Kreise) are out of scope, counted only."),
        Check(asset_name, "pilot_towns_present", blocking=True, evaluate=pilots_present,
              description="All five pilot towns have Gemeinde observations of the asset's sources (taken "
                          "together: a source of the asset may lack them while another has them). Passes, saying "
                          "so, when none of them has a release in the run and all are optional (required: false: "
                          "a plain optional source declared with checks: [observations])."),
        Check(asset_name, "shares_within_0_100", blocking=False, evaluate=shares_in_range,
              description="Percent values lie within 0-100. The Breitbandatlas has a few values slightly "
                          "above 100 (publisher rounding, documented in docs/sources.md): up to 101 passes and "
                          "is counted in the metadata (100_to_101); below 0 or above 101 fails as a warning "
                          "with examples: publisher errors, kept as published; the indicator step marks those "
                          "of an indicator excluded_reason = impossible_value, so the index never uses them."),
    ]


def make_table_pilot_check(asset_name: str, table: str) -> Check:
    def pilots_present(con, settings: ReadinessSettings) -> AssetCheckResult:
        missing = _pilots_missing(con, f"SELECT ags FROM {table}", [])
        return AssetCheckResult(passed=not missing, metadata={"missing": str(missing)})

    return Check(asset_name, "pilot_towns_present", blocking=True, evaluate=pilots_present,
                 description=f"All five pilot towns are in {table}.")


def make_column_check(table: Table) -> Check:
    """A blocking check generated from the table registry (warehouse/tables.yaml) on the table's writer:
    not-null, pattern, range and enum rules of every column and the primary key's uniqueness.

    Ranges of the pillar scores come from the pillars of catalogue.yaml, so every pillar is covered.
    """
    queries = violation_queries(table)
    rules = sorted({rule.split(":")[1] for rule in queries})

    def column_check(con, settings: ReadinessSettings) -> AssetCheckResult:
        present = _columns(con, table.name)
        missing = sorted({c.name for c in table.own_columns} - set(present)) if present else ["(table)"]
        counts = {} if missing else {rule: con.execute(sql).fetchone()[0] for rule, sql in queries.items()}
        broken = {rule: int(n) for rule, n in counts.items() if n}
        return AssetCheckResult(passed=not missing and not broken, severity=AssetCheckSeverity.ERROR,
                                metadata={"rules": len(queries), "violations": MetadataValue.json(broken),
                                          "missing_columns": str(missing)})

    return Check(table.writer, f"{table.name}_columns", blocking=True, evaluate=column_check,
                 description=f"Columns of {table.name} as declared in warehouse/tables.yaml ({', '.join(rules)}; "
                             f"{len(queries)} rules); a violation blocks the run.")


def column_checks() -> list[Check]:
    """One generated check per working table that a single asset writes (shared tables are checked per slice
    by the hand-written observation checks)."""
    return [make_column_check(t) for t in registry().in_database("working")
            if t.writer and t.writer.isidentifier()]


def make_contract_check(asset_name: str, source_id: str, table: str, work_table: str) -> Check:
    """A blocking check generated from the source's contract: the staged rows of each release still satisfy it.

    Parsing already refused a violating release; this re-validates what the working database holds
    (including rows derived in staging, e.g. INKAR values mapped to Gemeinden) and shows it in the UI.
    """
    contract = contracts.CONTRACTS[source_id][table]
    rules = ", ".join(p.pattern for p, _ in contract.measures) or ", ".join(contract.values) or "keys only"

    def contract_check(con, settings: ReadinessSettings) -> AssetCheckResult:
        problems, rows = [], 0
        columns = _columns(con, work_table)
        scope = "source_id = ?" if "source_id" in columns else "TRUE"
        params = [source_id] if "source_id" in columns else []
        vintages = [r[0] for r in con.execute(f"SELECT DISTINCT vintage FROM {work_table} WHERE {scope}",
                                              params).fetchall()] if "vintage" in columns else [None]
        for vintage in vintages:  # one release at a time, as parsing checked it (unique within a release)
            where = f"{scope} AND vintage = ?" if vintage is not None else scope
            # in SQL over the stored rows: a pandas copy of 2.1 M Breitbandatlas rows cost ~4 s (contracts.py)
            count, found = contracts.check_staged(con, contract, work_table, where,
                                                  params + ([vintage] if vintage is not None else []))
            rows += count
            problems += [f"{vintage}: {v.problem}" for v in found]
        return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.ERROR,
                                metadata={"rows": rows, "violations": len(problems),
                                          "problems": "; ".join(problems[:10]) or "none"})

    return Check(asset_name, f"{source_id}_{table}_contract", blocking=True, evaluate=contract_check,
                 description=f"Contract of {source_id} / {table} (sources.yaml): key patterns per level "
                             f"{sorted(contract.levels) or 'n/a'}, unique {list(contract.unique) or 'n/a'}, "
                             f"declared measures and ranges ({rules}).")


def _columns(con, table: str) -> list[str]:
    """The table's columns, wherever the working files keep it (a staging asset's own file: a temp view)."""
    return relation_columns(con, table)


def make_year_on_year_check(source_id: str) -> Check:
    """Blocking check on the candidate: the source's changes between consecutive releases are plausible.

    Bounds come from the contract; the crosswalk or an allow-list entry (allowlist.yaml) explains a change.
    """
    def yoy_check(con, settings: ReadinessSettings) -> AssetCheckResult:
        # the candidate step computed every source's findings from the same working files: its record is reused
        findings = year_on_year_all(settings)
        findings = findings[findings["source_id"] == source_id].reset_index(drop=True)
        blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist())
        return AssetCheckResult(passed=blocking.empty, severity=AssetCheckSeverity.ERROR,
                                metadata={"implausible": len(blocking), "allowed": len(allowed),
                                          "problems": "; ".join(contracts.describe_yoy(blocking)) or "none"})

    # reads_work=False: the findings come from the candidate step's record (it opens the working files
    # itself only when the record is stale)
    return Check("warehouse_candidate", f"{source_id}_year_on_year", blocking=True, evaluate=yoy_check,
                 reads_work=False,
                 description=f"Changes of {source_id} between consecutive releases within the contract's bounds, no "
                             "earlier release re-published under a new date and no measure the index reads gone, "
                             "unless the territorial crosswalk explains them or allowlist.yaml allows the release.")


def make_candidate_check(name: str, description: str) -> Check:
    """A blocking check on the candidate warehouse: failing stops the swap, the UI shows the problems."""

    def candidate_check(con, settings: ReadinessSettings) -> AssetCheckResult:
        finding = validate_candidate(settings.candidate, settings.published, PILOTS, settings.allow_shrink)[name]
        return AssetCheckResult(passed=finding.passed, severity=AssetCheckSeverity.ERROR,
                                metadata={"problems": "; ".join(finding.problems) or "none",
                                          **{k: MetadataValue.text(str(v)) for k, v in finding.figures.items()}})

    return Check("warehouse_candidate", name, blocking=True, evaluate=candidate_check, reads_work=False,
                 description=description)


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

# every check, one Check each (tests pick one by its check_key); asset_checks: the Dagster steps, one per asset
CHECKS: list[Check] = [
    *[check for name, source in OBSERVATION_ASSETS.items() for check in make_observation_checks(name, source)],
    *[make_contract_check(name, *spec) for name, specs in CONTRACT_TABLES.items() for spec in specs],
    # one blocking check per source the judgement can report on, so the UI names the source
    *[make_year_on_year_check(source_id) for source_id in contracts.judged_sources(CATALOGUE.read_measures())],
    make_table_pilot_check("municipalities", "municipalities"),
    make_table_pilot_check("indicator_values", "indicator_values"),
    make_table_pilot_check("readiness_index", "readiness_index WHERE score IS NOT NULL"),
    *column_checks(),
    *[make_candidate_check(name, description) for name, description in CANDIDATE_CHECKS.items()],
]
asset_checks = grouped_checks(CHECKS)
