"""Analysis of the index: uncertainty bands, coherence, contributions to change, peer towns.

Thin wrappers around indicators/uncertainty.py, coherence.py, contributions.py and peers.py.
Each reads the current method version's index from the working database.
"""


import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators import coherence, contributions, peers, uncertainty
from indicators.bands import band_categories
from indicators.catalogue import load_catalogue
from indicators.compute import index_values
from indicators.municipalities import job_centrality
from pipelines.assets.indicators import pilot_latest, pilot_metadata
from pipelines.markdown import markdown_table
from pipelines.resources import ReadinessSettings
from warehouse.workdb import store

CATALOGUE = load_catalogue()
PILOTS = list(CATALOGUE.pilot_towns)
BAND_COLUMNS = ["rank_median", "rank_p05", "rank_p95", "score_median", "score_p05", "score_p95"]


def _inputs(con, periods: str = "all", group_only: bool = False, values: bool = True):
    """The index-usable indicator values, the current method version's index and the reference group.

    Only what the analyses read (index_values): each step used to load all ~1.1 M rows with 16 columns
    (about a third of its time); ``periods="scored"`` keeps the periods with a score, ``group_only``
    the reference-group towns, ``values=False`` skips them (peer_towns needs none).
    """
    index = con.execute("SELECT * FROM readiness_index WHERE method_version = ?", [CATALOGUE.method_version]).df()
    group = set(con.execute("SELECT ags FROM municipalities WHERE in_reference_group").df()["ags"])
    if not values:
        return None, index, group
    scored = sorted(index.loc[index["score"].notna(), "period"].unique().tolist()) if periods == "scored" else None
    return index_values(con, CATALOGUE, periods=scored, group_only=group_only), index, group


@asset(group_name="index", deps=[AssetKey("readiness_index")], tags={"stage": "index"},
       owners=["team:data-engineering"],
       description="Monte Carlo uncertainty analysis (draws and seed in the catalogue): weights, normalisation, "
                   "imputation and aggregation drawn at random; per town and period the median rank and its "
                   "5-95 % band go to index_bands (joined into the published readiness_index), and index_sensitivity says which choice "
                   "moves ranks most.")
def index_uncertainty(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    config = uncertainty.catalogue_settings(CATALOGUE)
    with settings.work() as con:
        values, index, group = _inputs(con, group_only=True)  # nearest imputation: every observed period
        periods = sorted(index.loc[index["score"].notna(), "period"].unique().tolist())
        bands, sensitivity = uncertainty.monte_carlo(values, CATALOGUE, group, periods, **config)
        # its own table: readiness_index stays the readiness_index asset's; the bands are joined in at publish
        store(con, "index_uncertainty", "index_bands",
              bands[["ags", "period", *BAND_COLUMNS]].assign(method_version=CATALOGUE.method_version),
              method_version=CATALOGUE.method_version)
        store(con, "index_uncertainty", "index_sensitivity", sensitivity.assign(method_version=CATALOGUE.method_version),
                     method_version=CATALOGUE.method_version)
        latest = pilot_latest(con)
    pilot_bands = bands[bands["ags"].isin(PILOTS)].round(1)
    return MaterializeResult(metadata={
        "draws": config["draws"], "seed": config["seed"], "towns_with_bands": int(bands["ags"].nunique()),
        "pilot_rank_bands": MetadataValue.md(rank_band_markdown(latest)),
        **pilot_metadata(latest, bands=True),
        "sensitivity": MetadataValue.md(markdown_table(sensitivity.round(3))),
        "pilot_bands_by_period": MetadataValue.md(markdown_table(pilot_bands)),
    })


def rank_band_markdown(latest: pd.DataFrame) -> str:
    """The pilot towns' score and rank with the Monte Carlo 5-95 % bands and the band in words, as a markdown table."""
    def band(low, high, digits):
        return "–" if pd.isna(low) or pd.isna(high) else f"{low:.{digits}f}–{high:.{digits}f}"

    table = pd.DataFrame({
        "town": latest["town"], "period": latest["period"], "score": latest["score"].round(1),
        "score 5–95 %": [band(a, b, 1) for a, b in zip(latest["score_p05"], latest["score_p95"])],
        "rank": latest["rank"].astype("Int64"), "of": latest["compared_towns"],
        "rank 5–95 %": [band(a, b, 0) for a, b in zip(latest["rank_p05"], latest["rank_p95"])],
        "in words": band_categories(latest)["band_de"].to_numpy(),
    })
    return markdown_table(table)  # town names are text, not markup


@asset(group_name="index", deps=[AssetKey("readiness_index")], tags={"stage": "index"},
       owners=["team:data-engineering"],
       description="Coherence audit: Spearman correlations over the reference group between indicators, their "
                   "pillars and the index per period; an indicator that works against its pillar is listed first.")
def index_coherence(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        values, index, group = _inputs(con, periods="scored", group_only=True)
        periods = sorted(index.loc[index["score"].notna(), "period"].unique().tolist())
        frames = [coherence.coherence(values, index, CATALOGUE, group, period) for period in periods]
        table = pd.concat(frames, ignore_index=True).assign(method_version=CATALOGUE.method_version)
        store(con, "index_coherence", "index_coherence", table, method_version=CATALOGUE.method_version)
    against = coherence.counteracting(table)
    return MaterializeResult(metadata={
        "dagster/row_count": len(table), "counteracting_indicators": len(against),
        "coherence": MetadataValue.md(coherence.coherence_markdown(table[table["period"] == max(periods)])),
    })


@asset(group_name="index", deps=[AssetKey("readiness_index")], tags={"stage": "index"},
       owners=["team:data-engineering"],
       description="Change of each town's score between consecutive scored periods and from the first to the "
                   "latest, decomposed into indicator contributions (score points) plus a 'composition' row "
                   "for indicators entering or leaving; they sum exactly to the change.")
def score_contributions(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        values, index, _ = _inputs(con, periods="scored")
    # The working connection is closed while the rows are built: DuckDB gives back what reading the values held.
    table = contributions.change_contributions(values, index, CATALOGUE, pairs="both")
    del values
    table = table.assign(method_version=CATALOGUE.method_version)
    with settings.work() as con:
        store(con, "score_contributions", "score_contributions", table, method_version=CATALOGUE.method_version)
    pilots = table[table["ags"].isin(PILOTS)]
    latest = pilots[pilots["period_to"] == pilots["period_to"].max()]
    return MaterializeResult(metadata={
        "dagster/row_count": len(table),
        "pilot_latest_changes": MetadataValue.md(markdown_table(latest[["ags", "period_from", "period_to", "indicator_id",
                                                                        "contribution"]].round(2))),
    })


@asset(group_name="index", deps=[AssetKey("readiness_index")], tags={"stage": "index"},
       owners=["team:data-engineering"],
       description="For each reference-group town its five structurally most similar towns (size, density, Kreis "
                   "density as region type, east/west, job centrality = commuter balance; not the index), with "
                   "their scores and the gap per pillar: who to learn from.")
def peer_towns(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        _, index, _ = _inputs(con, values=False)
        municipalities = con.execute("SELECT * FROM municipalities").df()
        centrality = job_centrality(con)  # INKAR's commuter balance, one release per Gemeinde
        table = peers.peer_towns(municipalities, centrality, index, CATALOGUE, k=5)
        store(con, "peer_towns", "peer_towns", table)
    names = municipalities.set_index("ags")["name"]
    pilots = table[table["ags"].isin(PILOTS)].assign(town=lambda f: f["ags"].map(names),
                                                     peer=lambda f: f["peer_ags"].map(names))
    return MaterializeResult(metadata={
        "dagster/row_count": len(table),
        "pilot_peers": MetadataValue.md(markdown_table(pilots[["town", "rank", "peer", "similarity", "gap_score"]]
                                                       .round(3))),
    })


analysis_assets = [index_uncertainty, index_coherence, score_contributions, peer_towns]
