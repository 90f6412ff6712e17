"""Staging: each source's releases parsed into tidy observations in the working database."""


import importlib

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from pipelines.executors import step_priority
from pipelines.markdown import markdown_table
from pipelines.resources import ReadinessSettings
from pipelines.assets.raw import landed_releases
from indicators.catalogue import load_catalogue
from indicators.coworking_gap import gap_parameters
from sources import OBSERVATION_COLUMNS, contracts, inkar, local_inputs, osm_coworking
from sources.ba_commuting import FLOW_COLUMNS
from sources.destatis_changes import CHANGE_COLUMNS
from sources.errors import SourceError
from sources.frames import shared_strings
from sources.registry import label_vintage, load_sources
from staging import coworking, crosswalk, publisher_status
from staging.geometries import NEWEST_RELEASE, area_mismatches, current_outlines, newest_kreise, position_mismatches
from staging.derived import AGREE_POINTS, AGREEMENT_MEASURE, agreement_allowed, commuter_shares, disagreeing_dates
from warehouse.workdb import relation_columns, store, visible_relations
from warehouse.registry import registry
from warehouse.sql import literal

SOURCES = load_sources()
CATALOGUE = load_catalogue()
PILOT_TOWNS = list(CATALOGUE.pilot_towns)


def parse_all(con, source_id: str) -> list[tuple[str, dict[str, pd.DataFrame]]]:
    """Run the source's parser (named in sources.yaml) on every landed release; tag it with its vintage label.

    Every parsed release must satisfy the source's contract (sources.yaml ``contract:``) before
    anything of it is written: a violation raises ``[source] file: row/column: problem``.
    """
    module_name, function_name = SOURCES[source_id].parser.split(":")
    parser = getattr(importlib.import_module(module_name), function_name)
    parsed = [(release, parser(release)) for release in landed_releases(con, source_id)]
    contracts.check_source(source_id, parsed, *_register_context(con, source_id))
    return [(release.label, tables) for release, tables in parsed]


def _register_context(con, source_id: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """What a source's keys are checked against (``contracts.check_source``'s register, changes and coverage): the
    staged register, or for the Gemeindeverzeichnis itself the official change lists and the periods they cover
    (its own vintages are the registers)."""
    if source_id == contracts.REGISTER_SOURCE:
        lists = [tables for _, tables in parse_all(con, "destatis_gebietsaenderungen")]
        if not lists:
            return None, None, None
        return None, concat([t["changes"] for t in lists]), concat([t["coverage"] for t in lists])
    if "municipality_register" not in visible_relations(con):
        return None, None, None
    return con.execute("SELECT ags, vintage, territorial_date, kind FROM municipality_register").df(), None, None


def stack(parsed, key: str, source_id: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Concatenate one output table over all vintages, tagged with source and vintage.

    An optional source without releases gives an empty frame with ``columns``.
    """
    frames = [tables[key].assign(source_id=source_id, vintage=vintage) for vintage, tables in parsed]
    if not frames:
        return pd.DataFrame(columns=[*(columns or OBSERVATION_COLUMNS), "source_id", "vintage"])
    return concat(frames)


def observations_table(source_id: str) -> str:
    """Each source's observations are their own staging table; the working view `observations` unions them
    (warehouse/tables.yaml), so no staging asset deletes or inserts rows of another asset's table."""
    return f"stg_{source_id}__observations"


def stage_observations(con, source_ids: list[str], writer: str) -> pd.DataFrame:
    """Parse and store the observations of each source into its own table (delete-then-insert)."""
    frames = []
    for source_id in source_ids:
        observations = stack(parse_all(con, source_id), "observations", source_id)
        store(con, writer, observations_table(source_id), observations, source_id=source_id)
        frames.append(observations)
    return concat(frames)


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, skipping empty frames (absent optional sources) unless all are empty."""
    return pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)


def observation_metadata(frame: pd.DataFrame) -> dict:
    if frame.empty:
        return {"dagster/row_count": 0, "summary": "no releases of these sources in this run"}
    preview = frame.head(10).astype(str)
    return {
        "dagster/row_count": len(frame),
        "vintages": MetadataValue.json(sorted(frame["vintage"].unique().tolist())),
        "measures": len(frame["measure"].unique()),
        "reference_dates": MetadataValue.json(sorted(str(d) for d in frame["reference_date"].unique())[-12:]),
        "preview": MetadataValue.md(markdown_table(preview)),
    }


@asset(group_name="staging", deps=[AssetKey("raw_destatis_gemeindeverzeichnis"), AssetKey("raw_regionalstatistik"),
                                   AssetKey("raw_destatis_gebietsaenderungen")],
       tags={"stage": "staging"}, op_tags=step_priority("population_area"), owners=["team:data-engineering"],
       description="Population (total, male, female) and area per Gemeinde from every Gemeindeverzeichnis "
                   "vintage and the Regionaldatenbank table 12411-01-01-5 (live mode), plus the register of "
                   "names, Kreise, Länder, kinds and Gemeindeverbände.")
def population_area(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    source_id = "destatis_gemeindeverzeichnis"
    with settings.work(own="population_area") as con:
        parsed = parse_all(con, source_id)
        register = stack(parsed, "register", source_id)
        store(con, "population_area", "municipality_register", register, source_id=source_id)
        gv = stack(parsed, "observations", source_id)
        store(con, "population_area", observations_table(source_id), gv, source_id=source_id)
        observations = concat([gv, stage_observations(con, ["regionalstatistik"], "population_area")])
    return MaterializeResult(metadata={**observation_metadata(observations), "register_rows": len(register)})


def onto_current_territory(con, observations: pd.DataFrame, key_vintage: str | None = None,
                           status_keys: set[str] | None = None) -> pd.DataFrame:
    """A source's Gemeinde observations moved onto the current territory (staging/crosswalk.py);
    the other levels unchanged. Needs the tables the territorial_crosswalk asset wrote. ``status_keys``: the
    Gemeinde keys of the publisher's own territorial status (INKAR's list), whose weights leave out the
    Gemeinden merged into them after that status (``staging.publisher_status.status_weights``)."""
    if observations.empty:
        return observations
    # shared_strings: the keys read from DuckDB are one new str per cell (~330,000 register rows, as many
    # walk and weight rows), held through the crosswalk's peak; shared, the same values cost a pointer each
    register = shared_strings(con.execute("SELECT ags, vintage, territorial_date FROM municipality_register").df())
    walk = shared_strings(con.execute("SELECT vintage, ags, current_ags FROM territorial_keys").df())
    steps = con.execute("SELECT * FROM territorial_changes").df()
    weights = shared_strings(con.execute("""SELECT ags, vintage, value AS population FROM observations
        WHERE source_id = 'destatis_gemeindeverzeichnis' AND measure = 'population_total' AND level = 'gemeinde'""").df())
    if status_keys:
        weights = publisher_status.status_weights(weights, steps, status_keys)
    return crosswalk.onto_current(observations, register, walk, steps, weights, key_vintage, contracts.boundary_flows)


def restatement_inputs(con) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """What dates a publisher's restatement: ``last_changes`` and the territorial steps with their dates (empty in
    an older working database without them)."""
    dated = {"from_date", "to_date"} <= set(relation_columns(con, "territorial_changes"))
    return last_changes(con), con.execute("SELECT * FROM territorial_changes").df() if dated else pd.DataFrame()


def last_changes(con) -> pd.DataFrame | None:
    """The BKG's WSK per Gemeinde of the newest geometry release (ags, last_change_date); None without geometries or
    in an older working database."""
    if "last_change_date" not in relation_columns(con, "municipality_geometries"):
        return None
    return con.execute(f"SELECT ags, last_change_date FROM ({NEWEST_RELEASE})").df()


def territory_metadata(observations: pd.DataFrame) -> dict:
    """How many Gemeinde rows the crosswalk moved, combined or flagged, by code."""
    codes = observations.get("territorial_change", pd.Series(dtype=object)).dropna()
    return {"territorial_changes": MetadataValue.json({k: int(v) for k, v in codes.value_counts().items()})}


@asset(group_name="staging", deps=[AssetKey("raw_inkar"), AssetKey("raw_ba_commuting"), AssetKey("population_area"),
                                   AssetKey("territorial_crosswalk"), AssetKey("municipality_geometries")],
       tags={"stage": "staging"}, owners=["team:data-engineering"],
       description="Commuting per Gemeinde: INKAR shares 1997-2019 (in/out-commuter shares, balance, shares "
                   "commuting >= 50/150/300 km; accessibility x336/x337/x345/x346; Gemeindeverband values mapped to member Gemeinden in INKAR's own "
                   "territorial status, `source_level` 'gemeindeverband', then brought onto the current territory; a "
                   "Gemeinde value dated before the merger that gave the Gemeinde its territory (BKG WSK) typed "
                   "`publisher_restated` (commuter shares `publisher_restated_commuting`), a Verband value dated "
                   "before the Verband's reorganisation "
                   "`verband_restated`) "
                   "and the Bundesagentur für Arbeit counts (employees at residence and workplace, in- and "
                   "out-commuters; suppressed figures kept as missing with the reason) with the out/in-commuter "
                   "shares derived from them. Kreis-to-Kreis flows go to `commuter_flows`.")
def commuting(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work(own="commuting") as con:
        inkar_observations, inkar_status = _stage_inkar(con)
        ba_parsed = parse_all(con, "ba_commuting")
        ba_observations = stack(ba_parsed, "observations", "ba_commuting")
        ba_observations = concat([ba_observations, commuter_shares(ba_observations)])
        disagreement_allowed = _inkar_and_ba_agree(con, inkar_observations, ba_observations, context.log.warning)
        ba_observations = onto_current_territory(con, ba_observations)
        store(con, "commuting", observations_table("ba_commuting"), ba_observations, source_id="ba_commuting")
        flows = stack([(v, t) for v, t in ba_parsed if "commuter_flows" in t], "commuter_flows", "ba_commuting",
                      columns=FLOW_COLUMNS)
        store(con, "commuting", "commuter_flows", flows[[*FLOW_COLUMNS, "source_id", "vintage"]], source_id="ba_commuting")
    observations = concat([inkar_observations, ba_observations])
    # only the two columns read: the Gemeinde rows of every column were a copy of ~1 M rows (~0.25 CPU s)
    gemeinde_rows = observations.loc[(observations["level"] == "gemeinde").to_numpy(), ["ags", "source_level"]]
    return MaterializeResult(metadata={
        **observation_metadata(observations),
        "gemeinden_with_values": int(gemeinde_rows["ags"].nunique()),
        "gemeinden_with_verband_values": int(gemeinde_rows.loc[gemeinde_rows["source_level"] == "gemeindeverband",
                                                               "ags"].nunique()),
        **territory_metadata(observations),
        "suppressed_values": int(observations["value"].isna().sum()),
        "commuter_flows": len(flows),
        # when INKAR's own territorial status lies, per release (publisher_territorial_status)
        "inkar_territorial_status": MetadataValue.json(inkar_status_metadata(inkar_status)),
        # an allow-list entry let INKAR's Kreis shares disagree with the BA's (_inkar_and_ba_agree): its reason
        **({"inkar_ba_disagreement_allowed": disagreement_allowed} if disagreement_allowed else {}),
    })


def _inkar_and_ba_agree(con, inkar_observations: pd.DataFrame, ba_observations: pd.DataFrame, warn) -> str | None:
    """Refuse the step when INKAR's and the BA's Kreis out-commuter shares of a date mostly disagree
    (``staging.derived.disagreeing_dates``), naming both files and every such date: one of them carries its figures
    under another year. An allow-list entry for the INKAR release and the measure (``agreement_allowed``) lets it
    pass: returns its reason for the step's metadata, else None."""
    off = disagreeing_dates(inkar_observations, ba_observations)
    if not off:
        return None
    inkar_releases = landed_releases(con, "inkar")
    reason = agreement_allowed(contracts.load_allowlist(), [r.label for r in inkar_releases])
    dates = "; ".join(f"{date:%d.%m.%Y}: {agree} of {compared}" for date, agree, compared in off)
    if reason:
        warn(f"INKAR's and the BA's Kreis out-commuter shares agree on few Kreise ({dates}); allowed: {reason}")
        return reason
    ba_files = ", ".join(f.relative_path for r in landed_releases(con, "ba_commuting") for f in r.files)
    raise SourceError("inkar", ", ".join(r.file("data").relative_path for r in inkar_releases),
                      f"its Kreis out-commuter shares agree with the BA's ({ba_files}) on few Kreise (within "
                      f"{AGREE_POINTS:g} points; the Germany-wide files of 2022-12 and 2016 agree for 397 of 401): "
                      f"{dates}: the years of one of the two shifted? If a publisher confirms the figures, allow the "
                      f"INKAR release with measure {AGREEMENT_MEASURE} in allowlist.yaml")


def _store_inkar_status(con, vintages: list[str], listed: list[set], closest: list[str], registers: pd.DataFrame,
                        last_change: pd.DataFrame | None, steps: pd.DataFrame) -> pd.DataFrame:
    """When INKAR's own territorial status lies, per release (``publisher_territorial_status``, typed: the town pages
    judge INKAR's Kreis values on that day; staging.publisher_status.status_dates); returns the rows stored."""
    status = pd.DataFrame([{"source_id": "inkar", "vintage": vintage,
                            **publisher_status.status_dates(keys, registers, register, last_change, steps)}
                           for vintage, keys, register in zip(vintages, listed, closest)],
                          columns=["source_id", "vintage", *publisher_status.STATUS_COLUMNS])
    status = status.astype({"keys_only_publisher": "Int32", "keys_only_register": "Int32"})
    store(con, "commuting", "publisher_territorial_status", status, source_id="inkar")
    return status


def inkar_status_metadata(status: pd.DataFrame) -> dict:
    """INKAR's territorial status per release (``_store_inkar_status``' rows) for the step's metadata (the UI shows
    it beside the run): {"2022-12": {"on_or_after": "2019-12-31", "before": "2020-01-01", "register": "2021-12-31"}}."""
    return {vintage: {"on_or_after": None if after is None else str(after),
                      "before": None if before is None else str(before), "register": register}
            for vintage, after, before, register in zip(status["vintage"], status["status_after"],
                                                        status["status_before"], status["register_vintage"])}


def _stage_inkar(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """INKAR Verband values onto member Gemeinden (INKAR's own status), then onto the current territory; returns them
    and the status's rows (``_store_inkar_status``)."""
    parsed = parse_all(con, "inkar")
    # only the columns the mapping and the Verband dates read: all 14 of the 132,000 rows cost ~0.2 CPU s and 96 MiB
    registers = con.execute(f"SELECT {', '.join(inkar.REGISTER_COLUMNS)}, territorial_date "
                            "FROM municipality_register").df()
    last_change, steps = restatement_inputs(con)
    listed = [set(tables["gemeinden"]["ags"]) for _, tables in parsed]  # INKAR's own status, per release
    closest = [inkar.closest_register(registers, tables["gemeinden"], vintage) for vintage, tables in parsed]
    status = _store_inkar_status(con, [v for v, _ in parsed], listed, closest, registers, last_change, steps)
    verbaende = [inkar.map_through_registers(tables["observations"], tables["region_names"], registers,
                                             tables["gemeinden"], release=vintage, closest=register)
                 for (vintage, tables), register in zip(parsed, closest)]
    # per key of INKAR's status: the register a Verband was matched in is known only before the crosswalk
    verband_dates = [None if last_change is None else crosswalk.verband_restated_before(
        mapped, registers, crosswalk.verband_reorganised(registers, last_change, steps, keys))
        for mapped, keys in zip(verbaende, listed)]
    del registers  # its per-cell strings: gone before the crosswalk and the insert (the step's peaks)
    frames = []
    while parsed:  # popped: each release's parsed tables go once its two frames are built
        (vintage, tables), mapped, dates, keys = parsed.pop(0), verbaende.pop(0), verband_dates.pop(0), listed.pop(0)
        restated = onto_current_territory(con, mapped.assign(vintage=vintage, source_id="inkar"), status_keys=keys)
        if last_change is not None:  # INKAR's values on its release's territory, typed (docs/methodology.md)
            restated = crosswalk.with_publisher_restatements(restated, last_change, steps, keys, dates,
                                                             contracts.boundary_flows)
        frames += [tables["observations"].assign(vintage=vintage, source_id="inkar"), restated]
        del tables, mapped, restated
    observations = pd.concat(frames, ignore_index=True)
    del frames  # the parts: else they and their concatenation are both held during the insert (the step's peak)
    store(con, "commuting", observations_table("inkar"), observations, source_id="inkar")
    return observations, status


@asset(group_name="staging", deps=[AssetKey("raw_bkg_vg"), AssetKey("population_area")], tags={"stage": "staging"},
       op_tags=step_priority("municipality_geometries"), owners=["team:data-engineering"],
       description="Gemeinde geometries (BKG VG5000 in the snapshot, VG250 in production) as WKB in "
                   "EPSG:4326 with the area computed in EPSG:25832, and the names of all Kreise (latest vintage).")
def municipality_geometries(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work(own="municipality_geometries") as con:
        parsed = parse_all(con, "bkg_vg")
        geometries = pd.concat([tables["geometries"] for _, tables in parsed], ignore_index=True)
        mismatches = area_mismatches(con, geometries)
        if mismatches:  # nothing stored: the polygons do not belong to their keys
            release = next(r for r in landed_releases(con, "bkg_vg") if r.vintage == mismatches[0][0])  # no -revN
            more = f"; and {len(mismatches) - 3} more Kreise" if len(mismatches) > 3 else ""
            raise SourceError("bkg_vg", release.file("gemeinden", ".dbf").relative_path,
                              "; ".join(problem for _, problem in mismatches[:3]) + more)
        misplaced = position_mismatches(con, geometries)
        if misplaced:  # nothing stored: a polygon lies elsewhere than the register puts its key
            release = next(r for r in landed_releases(con, "bkg_vg") if r.vintage == misplaced[0][0])
            more = f"; and {len(misplaced) - 1} more releases" if len(misplaced) > 1 else ""
            raise SourceError("bkg_vg", release.file("gemeinden", ".shp").relative_path, misplaced[0][1] + more)
        store(con, "municipality_geometries", "municipality_geometries", geometries)
        kreise = concat([tables["kreise"] for _, tables in parsed])
        store(con, "municipality_geometries", "kreise", newest_kreise(con, kreise))
    return MaterializeResult(metadata={"dagster/row_count": len(geometries),
                                       "vintages": MetadataValue.json(sorted(geometries["vintage"].unique().tolist()))})


COWORKING_SOURCES = ("osm_coworking", "local_inputs")  # OpenStreetMap, then the towns' own lists merged into it


@asset(group_name="staging", deps=[*(AssetKey(f"raw_{s}") for s in COWORKING_SOURCES), AssetKey("population_area"),
                                   AssetKey("municipality_geometries"), AssetKey("territorial_crosswalk")],
       tags={"stage": "staging"}, owners=["team:data-engineering"],
       description="Coworking spaces from OpenStreetMap (amenity=coworking_space, office=coworking; live mode "
                   "only: no stored copy exists) merged with the towns' own lists (local_inputs: permanent and "
                   "temporary spaces, trial days, libraries/third places) without double counting (within 100 m "
                   "and of the same name or street and number; two places that close under other names and "
                   "addresses stay two: metadata merge_decisions), each space keeping its sources; a listed space "
                   "without coordinates is placed at its Gemeinde, flagged and counted for that Gemeinde only. "
                   "Per-Gemeinde counts inside and within reach (the catalogue's coworking_gap.reach_km) and the "
                   "distance to the nearest space, on the outlines of today's Gemeinden (staging/boundaries.py): for every "
                   "Gemeinde where OSM was loaded, "
                   "otherwise only for the towns that supplied a list. The towns' survey results go to "
                   "`local_survey_results` (shown on their pages, never in the index).")
def coworking_spaces(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work(own="coworking_spaces") as con:
        parsed = parse_all(con, "osm_coworking")
        local_parsed = parse_all(con, "local_inputs")
        if not parsed and not local_parsed:
            store(con, "coworking_spaces", "coworking_spaces", pd.DataFrame(columns=[*local_inputs.MERGED_COLUMNS, "vintage"]))
            store(con, "coworking_spaces", "local_survey_results", stack([], "survey_results", "local_inputs",
                                                            columns=local_inputs.SURVEY_COLUMNS))
            for source_id in COWORKING_SOURCES:
                store(con, "coworking_spaces", observations_table(source_id), stack([], "observations", source_id),
                      source_id=source_id)
            return MaterializeResult(metadata={"dagster/row_count": 0, "summary": "absent: no OpenStreetMap release and no "
                                                                     "local list in this run"})
        # today's Gemeinden, drawn whole where merged since the outlines' date (Berga-Wünschendorf: no outline of its own)
        gemeinden = osm_coworking.gemeinden_from_wkb(current_outlines(con))
        surveys = local_inputs.latest_surveys(stack(local_parsed, "survey_results", "local_inputs",
                                                    columns=local_inputs.SURVEY_COLUMNS))
        local_inputs.check_known_ags(surveys, set(gemeinden["ags"]))
        deliveries = {v: local_inputs.place_spaces(t["local_spaces"], gemeinden) for v, t in local_parsed}
        spaces, observations = [], []
        reach_km = gap_parameters()["reach_km"]  # the catalogue's radius, which the coworking indicator counts within
        for vintage, source_id, osm, local, towns in coworking.batches(parsed, deliveries):  # oldest vintage first
            located = coworking.assign_to_gemeinden(osm, gemeinden) if len(osm) else osm.assign(ags=None)
            decisions: list = []
            merged = local_inputs.merge_spaces(located, local, decisions).assign(vintage=vintage)
            # the metadata shows the latest batch's decisions only: each OSM vintage merges the same town rows
            # again and would repeat them
            latest_vintage, latest_decisions = vintage, decisions
            covered = set(local["supplying_ags"]) if len(local) else set()
            # an OSM query measures every Gemeinde, a later delivery only the towns that delivered (coworking.batches)
            measured = gemeinden if towns is None else gemeinden[gemeinden["ags"].isin(towns)]
            day = label_vintage(vintage)  # a corrected delivery's label '2023-11-20-rev2' is no date
            values = coworking.coworking_indicators(local_inputs.active_on(merged, day), measured, day, reach_km)
            values["note"] = local_inputs.coverage_notes(values, covered, local, with_osm=len(osm) > 0)
            spaces.append(merged)
            observations.append(values.assign(vintage=vintage, source_id=source_id))
        spaces, observations = pd.concat(spaces, ignore_index=True), pd.concat(observations, ignore_index=True)
        store(con, "coworking_spaces", "coworking_spaces", spaces)
        store(con, "coworking_spaces", "local_survey_results", surveys)
        for source_id in COWORKING_SOURCES:
            store(con, "coworking_spaces", observations_table(source_id), observations[observations["source_id"] == source_id],
                         source_id=source_id)
    latest = spaces[spaces["vintage"] == spaces["vintage"].max()]
    apart = [d for d in latest_decisions if d["decision"] == "kept_apart"]
    for d in apart:  # a place spelt differently in the two lists would count twice: the analyst should look
        context.log.warning(f"coworking: {d['local_file']} {d['name']!r} kept apart from {d['other_osm_type']} "
                            f"{d['other_osm_id']} {d['other_name']!r}, {d['distance_m']} m away: another name and "
                            "address; if they are one place, give the town's row the OSM name or address")
    merges = pd.DataFrame(latest_decisions, columns=["decision", "rule", "local_file", "name", "other_osm_type",
                                                     "other_osm_id", "other_name", "distance_m"]).assign(vintage=latest_vintage)
    return MaterializeResult(metadata={
        "merge_decisions": MetadataValue.md(markdown_table(merges)) if len(merges) else "none",
        "kept_apart_although_near": len(apart),
        "dagster/row_count": len(spaces), "vintages": MetadataValue.json(sorted(spaces["vintage"].unique().tolist())),
        "spaces_latest": len(latest), "in_germany_latest": int(latest["ags"].notna().sum()),
        "gemeinden_with_space_latest": int(latest["ags"].nunique()),
        "locally_reported_latest": int(latest["locally_reported"].fillna(False).astype(bool).sum()),
        "placed_at_gemeinde_latest": int(latest["located_at_gemeinde"].fillna(False).astype(bool).sum()),
        "survey_rows": len(surveys),
    })


RESTATED = {"population_total": "population_current_territory", "area_km2": "area_current_territory"}


@asset(group_name="staging", deps=[AssetKey("population_area"), AssetKey("raw_destatis_gebietsaenderungen"),
                                   AssetKey("municipality_geometries")],
       tags={"stage": "staging"}, op_tags=step_priority("territorial_crosswalk"), owners=["team:data-engineering"],
       description="Territorial crosswalk: key changes between Gemeindeverzeichnis vintages, from the Destatis "
                   "lists of territorial changes where they reach (official, they override the inference for "
                   "the Gemeinden they name) and otherwise inferred from the registers (recodes: same name and "
                   "area; mergers: a Gemeinde grows by the best-fitting 1-3 vanished ones, or the vanished "
                   "Gemeinden whose centres lie inside its BKG VG polygon). Population and area "
                   "restated onto the current territory (`population_current_territory`, "
                   "`area_current_territory`) so that a town's population change does not measure a merger. "
                   "Partial transfers and unexplained area changes stay flagged. Per Gemeinde of today the Kreise "
                   "it lay in that today's register no longer has (`former_kreise`) and each part of it that lay in "
                   "another Kreis of today (`kreis_moves`), for the town pages' Kreis sections.")
def territorial_crosswalk(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    with settings.work(own="territorial_crosswalk") as con:
        register = con.execute("SELECT ags, name, vintage, territorial_date, lon, lat, vb_ars FROM municipality_register").df()
        # the population's sources (catalogue ``inhabitants``): the register and, in live mode, the Regionaldatenbank
        population = con.execute(f"""SELECT * EXCLUDE (source_id), source_id FROM observations
            WHERE level = 'gemeinde' AND measure IN ('population_total', 'area_km2')
              AND source_id IN ({", ".join(map(literal, CATALOGUE.population_sources))})""").df()
        areas = population[(population["measure"] == "area_km2")
                           & (population["source_id"] == "destatis_gemeindeverzeichnis")]
        changes = stack(parse_all(con, "destatis_gebietsaenderungen"), "changes", "destatis_gebietsaenderungen",
                        columns=CHANGE_COLUMNS)
        # boundaries: the predecessors whose centres lie inside a successor's polygon (crosswalk.polygon_mergers)
        geometries = con.execute("SELECT ags, vintage, geometry_wkb FROM municipality_geometries").df()
        steps = crosswalk.build_steps(register, areas[["ags", "vintage", "value"]].rename(columns={"value": "area_km2"}),
                                      changes, gv_population(population), geometries)
        population["register_vintage"] = crosswalk.register_vintage_at(population, register)
        walk = crosswalk.crosswalk(register, steps)
        restated = crosswalk.flag_transfers(crosswalk.restate(population, walk, RESTATED), steps, register, walk)
        # what is still not on today's territory says so (the indicators' area test, with the same offsets)
        restated_towns = restated.loc[restated["territorial_change"].isin(crosswalk.RESTATING_KINDS), "ags"].nunique()
        offsets = crosswalk.restated_offsets(restated, steps, *RESTATED.values())
        restated = crosswalk.flag_earlier_territory(restated, offsets, *RESTATED.values())
        store(con, "territorial_crosswalk", "territorial_changes", steps)
        store(con, "territorial_crosswalk", "territorial_keys", walk)
        kreise = con.execute("SELECT ags, vintage, territorial_date, kreis_ags, kreis_name FROM municipality_register").df()
        store(con, "territorial_crosswalk", "former_kreise", crosswalk.former_kreise(kreise, walk))
        gv = population[(population["measure"] == "population_total")
                        & (population["source_id"] == "destatis_gemeindeverzeichnis")]
        moves = crosswalk.kreis_moves(kreise.merge(register[["ags", "vintage", "name"]], on=["ags", "vintage"]), walk,
                                      steps, last_changes(con),  # the steps are at hand: not read again
                                      gv[["ags", "vintage", "value"]].rename(columns={"value": "population"}))
        store(con, "territorial_crosswalk", "kreis_moves", moves)
        for measure in RESTATED.values():
            rows = restated[restated["measure"] == measure][
                [*OBSERVATION_COLUMNS, "source_id", "vintage", "territorial_change"]]
            store(con, "territorial_crosswalk", "int_current_territory__observations", rows, measure=measure)
    official = crosswalk.is_official(steps)
    return MaterializeResult(metadata={
        "official_steps": int(official.sum()), "inferred_steps": int((~official).sum()),
        "change_lists": MetadataValue.json(sorted(changes["vintage"].unique().tolist())),
        "recodes": int((steps["kind"] == "recode").sum()), "mergers": int((steps["kind"] == "merger").sum()),
        "flagged_transfers": int((~steps["kind"].isin(crosswalk.RESTATING_KINDS)).sum()),
        "rejected_steps": int(steps["plausibility"].isin(crosswalk.REJECTED).sum()),
        "earlier_territory_values": int((restated["territorial_change"] == crosswalk.EARLIER_TERRITORY_CODE).sum()),
        "towns_with_restated_history": int(restated_towns),
        "pilot_changes": MetadataValue.md(markdown_table(steps[steps["to_ags"].isin(PILOT_TOWNS)]) or "none"),
    })


def gv_population(observations: pd.DataFrame) -> pd.DataFrame:
    """ags, vintage, population, area_km2 of every Gemeindeverzeichnis vintage (for the plausibility checks)."""
    gv = observations[observations["source_id"] == "destatis_gemeindeverzeichnis"]
    wide = gv.pivot_table(index=["ags", "vintage"], columns="measure", values="value", aggfunc="first")
    return wide.rename(columns={"population_total": "population"}).reset_index()


TERRITORY_NOTE = ("Gemeinde values are put on the current territory through the territorial crosswalk (recodes "
                  "moved, mergers weighted by population, typed `territorial_change`).")


def make_stage_asset(name: str, specs: list) -> AssetsDefinition:
    """A staging asset generated from the ``stage:`` declarations of sources.yaml (docs/sources.md).

    For each source: parse every landed release (contract-checked), put the Gemeinde values onto the
    current territory when ``territory: true``, store the observations in the source's own table
    (``stg_<source>__observations``) and each further parsed table named under ``tables:``. Sources
    naming the same asset are staged together; adding a plain source is one sources.yaml entry and
    one parser. Bespoke staging (register, crosswalk, INKAR, BA, geometries, coworking) stays above.
    """
    source_ids = [spec.source_id for spec in specs]
    on_territory = any(spec.stage.get("territory") for spec in specs)
    deps = [f"raw_{s}" for s in source_ids] + [d for spec in specs for d in spec.stage.get("deps", [])]
    description = " ".join(spec.stage["description"].strip() for spec in specs)
    description += (" " + TERRITORY_NOTE) if on_territory else ""

    def compute(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
        frames, counts = [], {}
        with settings.work(own=name) as con:
            for spec in specs:
                parsed = parse_all(con, spec.source_id)
                observations = stack(parsed, "observations", spec.source_id)
                # the parsed observations are stacked: let them go before the crosswalk copies them again
                parsed = [(v, {k: t for k, t in tables.items() if k != "observations"}) for v, tables in parsed]
                if spec.stage.get("territory"):
                    observations = onto_current_territory(con, observations)
                store(con, name, observations_table(spec.source_id), observations, source_id=spec.source_id)
                frames.append(observations)
                for key, table in spec.stage.get("tables", {}).items():
                    columns = [c.name for c in registry()[table].own_columns if c.name not in ("source_id", "vintage")]
                    rows = stack([(v, t) for v, t in parsed if key in t], key, spec.source_id, columns=columns)
                    store(con, name, table, rows, source_id=spec.source_id)
                    counts[table] = counts.get(table, 0) + len(rows)
        observations = concat(frames)
        metadata = {**observation_metadata(observations), **counts,
                    "missing_values": int(observations["value"].isna().sum()) if len(observations) else 0}
        return MaterializeResult(metadata={**metadata, **(territory_metadata(observations) if on_territory else {})})

    return asset(name=name, group_name="staging", deps=[AssetKey(d) for d in dict.fromkeys(deps)],
                 tags={"stage": "staging"}, owners=["team:data-engineering"],
                 description=description)(compute)


def declared_stages() -> dict[str, list]:
    """asset name -> the sources.yaml entries whose ``stage:`` names it, in sources.yaml order."""
    stages: dict[str, list] = {}
    for spec in SOURCES.values():
        if spec.stage:
            stages.setdefault(spec.stage["asset"], []).append(spec)
    return stages


generated_stage_assets = [make_stage_asset(name, specs) for name, specs in declared_stages().items()]
staging_assets = [population_area, territorial_crosswalk, commuting, municipality_geometries, coworking_spaces,
                  *generated_stage_assets]
