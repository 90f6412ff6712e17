"""Indicators and index: thin wrappers around indicators/ that read and write the working database."""


import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from indicators.compute import compute_all, index_periods
from indicators.index import readiness_index as compute_index
from pipelines.resources import ReadinessSettings
from sources.registry import load_sources
from warehouse import replace_rows

CATALOGUE = load_catalogue()
GENERATIONS = {source_id: spec.generation for source_id, spec in load_sources().items() if spec.generation}

MUNICIPALITIES_SQL = """
    WITH latest AS (
        SELECT * FROM municipality_register
        WHERE territorial_date = (SELECT max(territorial_date) FROM municipality_register)
        QUALIFY row_number() OVER (PARTITION BY ags ORDER BY vintage DESC) = 1
    ),
    measure AS (
        SELECT ags, measure, value, reference_date FROM observations
        WHERE source_id IN ('destatis_gemeindeverzeichnis', 'regionalstatistik') AND level = 'gemeinde'
          AND value IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY ags, measure ORDER BY reference_date DESC,
                                   source_id = 'destatis_gemeindeverzeichnis' DESC, vintage DESC) = 1
    )
    SELECT l.ags, l.name, l.kreis_ags, l.kreis_name, l.land_name AS land, l.kind,
           l.ags IN (SELECT unnest($pilots)) AS is_pilot,
           a.value AS area_km2, CAST(p.value AS BIGINT) AS population, p.reference_date AS population_date,
           l.territorial_date, l.lon, l.lat
    FROM latest l
    LEFT JOIN measure p ON p.ags = l.ags AND p.measure = 'population_total'
    LEFT JOIN measure a ON a.ags = l.ags AND a.measure = 'area_km2'
"""


@asset(group_name="indicators", deps=[AssetKey("population_area")], tags={"stage": "indicators"},
       owners=["team:data-engineering"],
       description="One row per Gemeinde on the latest territorial status: name, Kreis, Land, kind, pilot "
                   "flag, reference-group flag, latest population and area.")
def municipalities(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    group = CATALOGUE.reference_group
    with settings.work() as con:
        table = con.execute(MUNICIPALITIES_SQL, {"pilots": list(CATALOGUE.pilot_towns)}).df()
        in_size = table["population"].between(group["min_population"], group["max_population"], inclusive="left")
        table["in_reference_group"] = in_size | (table["is_pilot"] & group["include_pilot_towns"])
        replace_rows(con, "municipalities", table)
    pilots = table[table["is_pilot"]][["ags", "name", "kind", "kreis_name", "population", "population_date"]]
    return MaterializeResult(metadata={
        "rows": len(table), "reference_group_size": int(table["in_reference_group"].sum()),
        "pilot_towns": MetadataValue.md(pilots.astype(str).to_markdown(index=False)),
    })


@asset(group_name="indicators", deps=[AssetKey("population_area"), AssetKey("territorial_crosswalk"),
                                      AssetKey("broadband_coverage"),
                                      AssetKey("commuting"), AssetKey("coworking_spaces"),
                                      AssetKey("municipalities")],
       tags={"stage": "indicators"}, owners=["team:data-engineering"],
       description="Every catalogue indicator per Gemeinde and year, with source, vintage and reference "
                   "date; values carried forward into index periods are flagged imputed.")
def indicator_values(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        values, periods = compute_all(con, CATALOGUE, GENERATIONS)
        in_scope = set(con.execute("SELECT ags FROM municipalities").df()["ags"])
        values = values[values["ags"].isin(in_scope)]
        replace_rows(con, "indicator_values", values)
        catalogue_rows = catalogue_table()
        replace_rows(con, "indicator_catalogue", catalogue_rows)
    summary = values.groupby("indicator_id").agg(rows=("value", "size"), first=("period", "min"),
                                                 last=("period", "max"), imputed=("imputed", "sum"))
    return MaterializeResult(metadata={
        "rows": len(values), "index_periods": MetadataValue.json(periods),
        "by_indicator": MetadataValue.md(summary.reset_index().to_markdown(index=False)),
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
        values = con.execute("SELECT * FROM indicator_values").df()
        group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
        periods = index_periods(values[~values["imputed"]], CATALOGUE)
        index = compute_index(values, CATALOGUE, group, periods)
        index["reference_group"] = CATALOGUE.reference_group["label"]
        for column in ["rank_median", "rank_p05", "rank_p95", "score_median", "score_p05", "score_p95"]:
            index[column] = float("nan")  # filled by the index_uncertainty asset
        replace_rows(con, "readiness_index", index, method_version=CATALOGUE.method_version)
        pilots = con.execute("""
            SELECT m.name, r.period, round(r.score, 1) AS score, r.rank, r.compared_towns
            FROM readiness_index r JOIN municipalities m USING (ags)
            WHERE m.is_pilot ORDER BY m.name, r.period
        """).df()
    return MaterializeResult(metadata={
        "rows": len(index), "scored": int(index["score"].notna().sum()),
        "pilot_scores": MetadataValue.md(pilots.astype(str).to_markdown(index=False)),
    })


indicator_assets = [municipalities, indicator_values, readiness_index]
