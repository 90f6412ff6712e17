"""The coworking gap (table coworking_gap): thin asset around indicators/coworking_gap.py."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.compute import territory_transfers
from indicators.coworking_gap import compute_gap, gap_parameters
from pipelines.markdown import markdown_table
from pipelines.resources import ReadinessSettings
from warehouse.workdb import store


@asset(group_name="index", deps=[AssetKey("readiness_index"), AssetKey("coworking_spaces"),
                                 AssetKey("pendleratlas_commuting"), AssetKey("commuting")],
       tags={"stage": "index"}, owners=["team:data-engineering"],
       description="The coworking gap per town of the reference group and index period: residents commuting "
                   ">= 50 km (Pendleratlas flows with distances, else INKAR's share x employed at residence), "
                   "the nearest coworking space and the spaces within reach (OSM and the towns' own lists), and "
                   "an estimate of desk demand from the catalogue's parameters (each with its source). Not part "
                   "of the index.")
def coworking_gap(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    parameters = gap_parameters()
    with settings.work() as con:
        # a figure dated before a split or partial transfer of its town is left out, as the index leaves it out
        gap = compute_gap(con, parameters, territory_transfers(con))
        store(con, "coworking_gap", "coworking_gap", gap)
    latest = gap[gap["period"] == gap["period"].max()] if len(gap) else gap
    return MaterializeResult(metadata={
        "dagster/row_count": len(gap), "periods": MetadataValue.json(sorted(int(p) for p in gap["period"].unique())),
        "towns_with_long_distance_figure": int(latest["long_distance_out_commuters"].notna().sum()),
        "towns_with_coworking_data": int(latest["nearest_space_km"].notna().sum()),
        "towns_with_figures_left_out": int(latest["territorial_change"].notna().sum()),
        "largest_desk_demand": MetadataValue.md(markdown_table(
            latest.nlargest(10, "desk_demand")[["ags", "long_distance_out_commuters", "basis", "desk_demand",
                                                "spaces_within_reach"]]) or "none"),
    })


coworking_assets = [coworking_gap]
