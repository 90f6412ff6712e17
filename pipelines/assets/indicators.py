"""Indicators and index: thin wrappers around indicators/ that read and write the working database."""


import math
import re

import duckdb
import numpy as np
import pandas as pd
from dagster import (AssetExecutionContext, AssetKey, AssetMaterialization, AssetsDefinition, AssetSpec,
                     DynamicPartitionsDefinition, MaterializeResult, MetadataValue, TableColumn, TableRecord,
                     TableSchema, asset)

from indicators.catalogue import load_catalogue
from indicators.compute import carry_forward_parts, compute_observed, index_periods, index_values, territory_transfers
from indicators import town_type
from indicators.index import latest_published_period
from indicators.index import readiness_index as compute_index
from indicators.municipalities import municipality_rows
from pipelines.assets.raw import landed_releases
from pipelines.markdown import markdown_safe, markdown_table
from pipelines.names import short_key
from pipelines.resources import ReadinessSettings
from sources import inkar
from pipelines.catalog import score_chart_markdown
from sources.registry import load_sources
from warehouse.paths import duckdb_config
from warehouse.workdb import store

CATALOGUE = load_catalogue()
SOURCES = load_sources()  # read once at import: both constants come from it
GENERATIONS = {source_id: spec.generation for source_id, spec in SOURCES.items() if spec.generation}
GENERATION_BREAKS = tuple(b for spec in SOURCES.values() for b in spec.generation_breaks)



@asset(group_name="indicators", deps=[AssetKey("population_area"), AssetKey("territorial_crosswalk"),
                                      AssetKey("raw_inkar")], tags={"stage": "indicators"},
       owners=["team:data-engineering"],
       description="One row per Gemeinde on the latest territorial status: name, Kreis, Land, kind, pilot "
                   "flag, central-place function (INKAR), BBSR Stadt- und Gemeindetyp, reference-group flag, "
                   "latest population and area.")
def municipalities(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    group = CATALOGUE.reference_group
    with settings.work() as con:
        table = municipality_rows(con, list(CATALOGUE.pilot_towns), CATALOGUE.population_sources)
        table = table.merge(central_places_on_territory(con, table["ags"]), on="ags", how="left")
        table["town_type"] = town_type.town_type(table["population"], table["central_place"])
        table["in_reference_group"] = town_type.in_reference_group(table, group)
        store(con, "municipalities", "municipalities", table)
    pilots = table[table["is_pilot"]][["ags", "name", "kind", "kreis_name", "population", "population_date"]]
    return MaterializeResult(metadata={
        "dagster/row_count": len(table),
        "reference_group_size": int(table["in_reference_group"].sum()),
        "reference_group": town_type.reference_group_label(group, "en"),
        "town_types": MetadataValue.json({str(k): int(v) for k, v in table["town_type"].value_counts().items()}),
        "central_place_unknown": int(table["central_place"].isna().sum()),
        "pilot_towns": MetadataValue.md(markdown_table(pilots.astype(str))),
    })


def central_places_on_territory(con, current: pd.Series) -> pd.DataFrame:
    """Central-place function per current Gemeinde from the latest landed INKAR release, carried through
    the territorial crosswalk (indicators.town_type); empty when no INKAR release is landed."""
    releases = landed_releases(con, "inkar")
    if not releases:
        return pd.DataFrame({"ags": current, "central_place": None, "central_place_basis": None})
    central = inkar.parse_central_places(releases[-1])
    changes = con.execute("SELECT from_ags, to_ags, kind FROM territorial_changes").df()
    return town_type.central_place_on_territory(central, changes, current)


# the columns of the indicator step's metadata (row counts, periods, reasons not scored)
SUMMARY_COLUMNS = ["indicator_id", "value", "period", "imputed", "excluded_reason", "territorial_change"]


@asset(group_name="indicators", deps=[AssetKey("population_area"), AssetKey("territorial_crosswalk"),
                                      AssetKey("broadband_coverage"),
                                      AssetKey("commuting"), AssetKey("coworking_spaces"),
                                      AssetKey("pendleratlas_commuting"),
                                      AssetKey("municipalities")],
       tags={"stage": "indicators"}, owners=["team:data-engineering"],
       description="Every catalogue indicator per Gemeinde and year, with source, vintage and reference "
                   "date; values carried forward into index periods are flagged imputed.")
def indicator_values(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        # the territorial changes that are not restated: a value dated before one of its town's describes the town
        # before it (compute.earlier_territory), one carried across it is not scored (compute.across_transfers)
        transfers = territory_transfers(con)
        observed, periods = compute_observed(con, CATALOGUE, GENERATIONS, GENERATION_BREAKS, transfers)
        in_scope = set(con.execute("SELECT ags FROM municipalities").df()["ags"])
    # Towns out of scope are dropped before carrying forward, not after: a town's carried values come from its
    # own observed rows only, so the rows are the same, in the same order, and ~30,000 fewer are carried and
    # copied. The index periods were taken from all observed values above, as before.
    observed = observed[observed["ags"].isin(in_scope)]
    # The working connection is closed while the ~1.1 M rows are built: DuckDB gives back what reading the
    # observations held (~150-250 MiB on the Germany files), and carry_forward only joins frames it registers.
    with duckdb.connect(config=duckdb_config()) as scratch:
        parts = carry_forward_parts(scratch, observed, periods, CATALOGUE, transfers)
    del observed
    with settings.work() as con:
        # the observed, then the carried rows, stored one after the other: no stacked copy of the ~1.1 M rows
        store(con, "indicator_values", "indicator_values", list(parts))
        catalogue_rows = catalogue_table()
        store(con, "indicator_values", "indicator_catalogue", catalogue_rows)
    # the metadata's columns of both parts, in the stored order
    values = pd.concat([part[SUMMARY_COLUMNS] for part in parts], ignore_index=True)
    del parts
    summary = values.groupby("indicator_id").agg(rows=("value", "size"), first=("period", "min"),
                                                 last=("period", "max"), imputed=("imputed", "sum"))
    # observed values the index leaves out, by reason (every reason: territorial ones, context indicators, and the
    # publisher's own errors impossible_value, inconsistent_value, contradictory_values, implausible_fall, series_spike)
    not_scored = values.loc[~values["imputed"].astype(bool), "excluded_reason"].value_counts().sort_index()
    # carried values left out under a split's or partial transfer's code: carried across a change of the town's
    # territory (methodology section 2.1), or from a value observed during one
    carried = values["imputed"].astype(bool) & values["territorial_change"].isin(["split", "partial_transfer"])
    across = values.loc[carried & values["excluded_reason"].notna(), "indicator_id"].value_counts().sort_index()
    return MaterializeResult(metadata={
        "dagster/row_count": len(values), "index_periods": MetadataValue.json(periods),
        "by_indicator": MetadataValue.md(markdown_table(summary.reset_index())),
        "not_scored_by_reason": MetadataValue.json({str(k): int(v) for k, v in not_scored.items()}),
        "carried_across_territorial_change": MetadataValue.json({str(k): int(v) for k, v in across.items()}),
    })


def catalogue_table() -> pd.DataFrame:
    """The catalogue as a table, so planners can read definitions next to the values."""
    return pd.DataFrame([
        {"indicator_id": i.indicator_id, "label": i.label, "pillar": i.pillar, "unit": i.unit,
         "direction": i.direction, "source_id": i.source, "method": i.method,
         "goalpost_low": i.goalposts[0], "goalpost_high": i.goalposts[1], "weight": float(i.weight),
         "carry_forward_years": i.carry_forward_years, "definition": i.definition,
         "method_version": CATALOGUE.method_version}
        for i in CATALOGUE.indicators.values()
    ])


@asset(group_name="index", deps=[AssetKey("indicator_values")], tags={"stage": "index"},
       owners=["team:data-engineering"],
       description="Readiness index per Gemeinde and year: pillar scores and overall score (0-100, fixed "
                   "goalposts, equal weights), rank among the reference group of small towns, method_version.")
def readiness_index(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
        # the periods come from every observed value (context and excluded ones too): one row per pair suffices
        observed = con.execute("SELECT DISTINCT indicator_id, period FROM indicator_values WHERE NOT imputed").df()
        periods = index_periods(observed, CATALOGUE)
        values = index_values(con, CATALOGUE, periods=periods)  # the index reads no other period
        index = compute_index(values, CATALOGUE, group, periods)
        index["reference_group_rule"] = CATALOGUE.reference_group.get("rule", "bbsr_kleinstadt")
        index["reference_group"] = town_type.reference_group_label(CATALOGUE.reference_group)
        store(con, "readiness_index", "readiness_index", index, method_version=CATALOGUE.method_version)
        pilots = con.execute("""
            SELECT m.name, r.period, round(r.score, 1) AS score, r.rank, r.compared_towns, r.provisional
            FROM readiness_index r JOIN municipalities m USING (ags)
            WHERE m.is_pilot AND r.method_version = ? ORDER BY m.name, r.period
        """, [CATALOGUE.method_version]).df()
        latest = pilot_latest(con)
    log_period_scores(context, pilots)
    return MaterializeResult(metadata={
        "dagster/row_count": len(index), "scored": int(index["score"].notna().sum()),
        **pilot_metadata(latest, bands=False),
        # town names become table cells and, in the chart, column headers: escaped (pipelines/markdown.py)
        "pilot_scores_by_period": MetadataValue.md(markdown_table(pilot_rows_de(pilots))),
        "pilot_score_chart": MetadataValue.md(score_chart_markdown(markdown_safe(pilots))),
    })


def pilot_rows_de(pilots: pd.DataFrame) -> pd.DataFrame:
    """The pilot towns' index rows as the UI's table shows them: a missing figure as "–" (the table read "nan" and
    "<NA>"), "vorläufig" as ja/nein, only beside a score (review of 6 December 2026)."""
    table = pilots.astype(object).where(pilots.notna(), "–")
    scored = pilots["score"].notna()
    table["provisional"] = np.where(~scored, "–", np.where(pilots["provisional"].fillna(False).astype(bool), "ja", "nein"))
    return table.rename(columns={"provisional": "vorläufig"})


# The pilot towns in the period published as the latest (indicators.index.latest_published_period): the
# figures the UI shows per materialization, the year the pages lead with.
PILOT_LATEST_SQL = """
    SELECT m.name AS town, r.ags, r.period, r.score, r.rank, r.compared_towns,
           b.rank_p05, b.rank_p95, b.score_p05, b.score_p95
    FROM readiness_index r JOIN municipalities m USING (ags)
    LEFT JOIN index_bands b USING (ags, period, method_version)  -- written by index_uncertainty
    WHERE m.is_pilot AND r.method_version = $version
      AND r.period = $period
    ORDER BY r.score DESC NULLS LAST, m.name
"""
PILOT_COLUMNS = {"town": "string", "ags": "string", "period": "int", "score": "float", "rank": "int",
                 "compared_towns": "int", "rank_p05": "float", "rank_p95": "float",
                 "score_p05": "float", "score_p95": "float"}
TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def pilot_latest(con) -> pd.DataFrame:
    """The pilot towns' rows of the period published as the latest (current method version)."""
    index = con.execute("SELECT period, score, period_provisional FROM readiness_index WHERE method_version = ?",
                        [CATALOGUE.method_version]).df()
    return con.execute(PILOT_LATEST_SQL, {"version": CATALOGUE.method_version,
                                          "period": latest_published_period(index)}).df()


def pilot_slug(name: str) -> str:
    """Metadata key part of a town: 'Mölln, Stadt' -> 'moelln', 'Dießen am Ammersee, M' -> 'diessen_am_ammersee'."""
    base = name.split(",")[0].casefold().translate(TRANSLITERATION)
    return re.sub(r"[^a-z0-9]+", "_", base).strip("_")


def _plain(value):
    """A table cell: None for missing values, Python numbers otherwise (Dagster rejects numpy types)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def rounded(value, digits: int = 1):
    """Floats rounded for display (68.9, not 68.87269841269841); other values unchanged."""
    return round(value, digits) if isinstance(value, float) else value


def pilot_metadata(latest: pd.DataFrame, bands: bool) -> dict:
    """UI metadata of the pilot towns: a table, and one number per town and figure (score_moelln, ...).

    Numbers per key let Dagster plot each pilot town's score (and rank band) over materializations.
    Without ``bands`` (before index_uncertainty ran) the band columns are left out.
    """
    columns = {c: t for c, t in PILOT_COLUMNS.items() if bands or not c.startswith(("rank_p", "score_p"))}
    records = [TableRecord({c: rounded(_plain(row[c])) for c in columns}) for _, row in latest.iterrows()]
    schema = TableSchema(columns=[TableColumn(c, t) for c, t in columns.items()])
    metadata = {"pilot_latest": MetadataValue.table(records, schema=schema)}
    if not latest.empty:
        metadata["latest_period"] = int(latest["period"].iloc[0])
    figures = ["rank_p05", "rank_p95"] if bands else ["score", "rank"]
    for _, row in latest.iterrows():
        for figure in figures:
            value = _plain(row[figure])
            if value is not None:
                metadata[f"{figure}_{pilot_slug(row['town'])}"] = MetadataValue.float(rounded(float(value)))
    return metadata


# The pilot towns' scores by index period, for Dagster's *Plots* tab: it plots a partitioned asset over its
# partitions (years on the x axis), an unpartitioned one over runs. Not computed by a step of its own (an
# asset of another partitioning could not share the refresh job, and the incremental plan would have to
# track each period): readiness_index reports one materialization per period of this external asset, and
# the index periods become its partitions as they appear (a dynamic partitions definition, in order).
INDEX_PERIODS = DynamicPartitionsDefinition(name="index_period")
PILOT_SCORES = AssetSpec(
    short_key("pilot_scores", "index"), group_name="index", partitions_def=INDEX_PERIODS,
    deps=[AssetKey("readiness_index")], owners=["team:data-engineering"], tags={"stage": "index"},
    description="The pilot towns' score and rank in each index period (one partition per year), reported by "
                "readiness_index at every run: tab Plots shows each town's score over the years.")


def log_period_scores(context: AssetExecutionContext, pilots: pd.DataFrame) -> None:
    """One materialization of PILOT_SCORES per index period: score_<town> and rank_<town> of each pilot town."""
    periods = [str(p) for p in sorted(pilots["period"].unique())]
    new = [p for p in periods if not context.instance.has_dynamic_partition(INDEX_PERIODS.name, p)]
    if new:
        context.instance.add_dynamic_partitions(INDEX_PERIODS.name, new)
    for period in periods:
        rows = pilots[pilots["period"].astype(str) == period]
        metadata = {f"{figure}_{pilot_slug(row['name'])}": MetadataValue.float(rounded(float(row[figure])))
                    for _, row in rows.iterrows() for figure in ("score", "rank") if _plain(row[figure]) is not None}
        context.log_event(AssetMaterialization(asset_key=PILOT_SCORES.key, partition=period, metadata=metadata))


indicator_assets = [municipalities, indicator_values, readiness_index, AssetsDefinition(specs=[PILOT_SCORES])]
