"""Staging: each source's releases parsed into tidy observations in the working database."""


import importlib

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.resources import ReadinessSettings
from pipelines.assets.raw import landed_releases
from sources import inkar
from sources.registry import load_sources
from warehouse import replace_rows

SOURCES = load_sources()


def parse_all(con, source_id: str) -> list[tuple[str, dict[str, pd.DataFrame]]]:
    """Run the source's parser (named in sources.yaml) on every landed release."""
    module_name, function_name = SOURCES[source_id].parser.split(":")
    parser = getattr(importlib.import_module(module_name), function_name)
    return [(release.vintage, parser(release)) for release in landed_releases(con, source_id)]


def stack(parsed, key: str, source_id: str) -> pd.DataFrame:
    """Concatenate one output table over all vintages, tagged with source and vintage."""
    frames = [tables[key].assign(source_id=source_id, vintage=vintage) for vintage, tables in parsed]
    return pd.concat(frames, ignore_index=True)


def observation_metadata(frame: pd.DataFrame) -> dict:
    preview = frame.head(10).astype(str)
    return {
        "rows": len(frame),
        "vintages": MetadataValue.json(sorted(frame["vintage"].unique().tolist())),
        "measures": len(frame["measure"].unique()),
        "reference_dates": MetadataValue.json(sorted(str(d) for d in frame["reference_date"].unique())[-12:]),
        "preview": MetadataValue.md(preview.to_markdown(index=False)),
    }


@asset(group_name="staging", deps=[AssetKey("raw_destatis_gemeindeverzeichnis")], tags={"stage": "staging"},
       owners=["team:data-engineering"],
       description="Population (total, male, female) and area per Gemeinde from every Gemeindeverzeichnis "
                   "vintage, plus the register of names, Kreise, Länder, kinds and Gemeindeverbände.")
def population_area(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    source_id = "destatis_gemeindeverzeichnis"
    with settings.work() as con:
        parsed = parse_all(con, source_id)
        observations = stack(parsed, "observations", source_id)
        register = stack(parsed, "register", source_id)
        replace_rows(con, "observations", observations, source_id=source_id)
        replace_rows(con, "municipality_register", register, source_id=source_id)
    return MaterializeResult(metadata={**observation_metadata(observations), "register_rows": len(register)})


@asset(group_name="staging", deps=[AssetKey("raw_breitbandatlas")], tags={"stage": "staging"},
       owners=["team:data-engineering"],
       description="Share of private households with >= N Mbit/s per technology (all, wired, mobile, DSL, "
                   "CATV, FTTH/B) from every Breitbandatlas vintage; all-zero rows dropped as missing.")
def broadband_coverage(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    source_id = "breitbandatlas"
    with settings.work() as con:
        observations = stack(parse_all(con, source_id), "observations", source_id)
        replace_rows(con, "observations", observations, source_id=source_id)
    return MaterializeResult(metadata=observation_metadata(observations))


@asset(group_name="staging", deps=[AssetKey("raw_inkar"), AssetKey("population_area")], tags={"stage": "staging"},
       owners=["team:data-engineering"],
       description="Commuting indicators from INKAR (in/out-commuter shares, balance, shares commuting "
                   ">= 50/150/300 km), 1997-2019, for Gemeindeverbände, Kreise, Länder and Germany; "
                   "Gemeindeverband values mapped to member Gemeinden with a note.")
def commuting(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    source_id = "inkar"
    with settings.work() as con:
        parsed = parse_all(con, source_id)
        frames = []
        for vintage, tables in parsed:
            register = _register_before(con, vintage)
            mapped = inkar.map_to_gemeinden(tables["observations"], tables["region_names"], register)
            frames += [tables["observations"].assign(vintage=vintage), mapped.assign(vintage=vintage)]
        observations = pd.concat(frames, ignore_index=True).assign(source_id=source_id)
        replace_rows(con, "observations", observations, source_id=source_id)
    mapped_rows = observations[observations["level"] == "gemeinde"]
    return MaterializeResult(metadata={
        **observation_metadata(observations),
        "gemeinden_with_values": int(mapped_rows["ags"].nunique()),
        "gemeinden_with_verband_values": int(mapped_rows.loc[mapped_rows["note"] != "", "ags"].nunique()),
    })


def _register_before(con, vintage: str) -> pd.DataFrame:
    """The Gemeindeverzeichnis register closest before a release (INKAR uses the territory of its data year)."""
    return con.execute("""
        SELECT * FROM municipality_register
        WHERE vintage = (SELECT max(vintage) FROM municipality_register WHERE territorial_date < CAST(? AS DATE))
    """, [vintage + "-01"]).df()


@asset(group_name="staging", deps=[AssetKey("raw_bkg_vg")], tags={"stage": "staging"},
       owners=["team:data-engineering"],
       description="Gemeinde geometries (BKG VG5000 in the snapshot, VG250 in production) as WKB in "
                   "EPSG:4326 with the area computed in EPSG:25832.")
def municipality_geometries(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work() as con:
        parsed = parse_all(con, "bkg_vg")
        geometries = pd.concat([tables["geometries"] for _, tables in parsed], ignore_index=True)
        replace_rows(con, "municipality_geometries", geometries)
    return MaterializeResult(metadata={"rows": len(geometries),
                                       "vintages": MetadataValue.json(sorted(geometries["vintage"].unique().tolist()))})


staging_assets = [population_area, broadband_coverage, commuting, municipality_geometries]
