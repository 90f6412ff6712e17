"""Which BKG VG release is current for the steps that need one territorial status (coworking assignment, Kreis
names), and whether the polygons belong to their keys (their areas and places against the Gemeindeverzeichnis).
Plain DuckDB SQL over the working tables, and shapely for the places; the rule of the current release itself is
``sources.vintages.NEWEST_FIRST``.

Why not the largest ``vintage``: vintages are release ids, and 'vg250-2025-01-01' sorts before
'vg5000-2021-01-01' as text, so the 2021 territory (with keys merged away since) would stay current.
"""

from __future__ import annotations

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sources.osm_coworking import METRIC_CRS
from sources.vintages import NEWEST_FIRST, release_order
from staging.boundaries import NEWEST_REGISTER, bare_name, from_database

# the newest release whole (one territorial status: polygons that tile Germany without overlaps)
NEWEST_RELEASE = f"""SELECT * FROM municipality_geometries
WHERE vintage = (SELECT vintage FROM municipality_geometries ORDER BY {NEWEST_FIRST} LIMIT 1)"""


def current_outlines(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The Gemeinden of today (the newest register's) in the newest release, each drawn from the outlines of the whole
    Gemeinden merged or recoded into it since (staging.boundaries). The coworking counts are measured on them, as the
    pages list the places within reach of the same outlines (Berga-Wünschendorf had no count and no list, Allendorf
    (Eder) a count of its 2021 territory). A key of the outlines that is no Gemeinde of today (split among others
    since: Anrode) is left out, not counted under a dead key: a place in it belongs to no Gemeinde, and counts for
    those within reach of it."""
    return from_database(con, NEWEST_RELEASE, NEWEST_REGISTER, only_today=True)


def newest_kreise(con: duckdb.DuckDBPyConnection, kreise: pd.DataFrame) -> pd.DataFrame:
    """Per Kreis the row of the newest release (its current name) among the parsed Kreis tables of all releases."""
    con.register("parsed_kreise", kreise)
    try:
        return con.execute(f"""SELECT * FROM parsed_kreise
            QUALIFY row_number() OVER (PARTITION BY ags ORDER BY {NEWEST_FIRST}) = 1 ORDER BY ags""").df()
    finally:
        con.unregister("parsed_kreise")


# --- do the polygons belong to their keys? ----------------------------------------------------------------------

# A polygon's area against the Gemeindeverzeichnis' area of the same key (the first register on or after the outlines'
# territorial date; Gemeinden whose area changed since the register before are left out: reformed, no evidence): VG5000's
# generalised outlines give 0.81-1.21 of it for 98 % of the Gemeinden and leave 11 of 10,992 outside 0.5-2 (lagoon
# and island Gemeinden; Germany-wide, 4 December 2026). Keys moved by one row gave 5,053 of 10,991 outside, and the
# run published Mölln with Möhnsen's polygon: every map, neighbour and coworking reach wrong (bad-input review).
AREA_RATIO_BOUNDS = (0.5, 2.0)
# A Kreis is suspect when this share of its Gemeinden (and at least AREA_LEAST of them) lie outside the bounds: the
# worst real Kreis (Vorpommern-Greifswald's lagoon Gemeinden) has 4 of ~140.
AREA_KREIS_SHARE, AREA_LEAST = 0.2, 3

_AREA_SQL = """
WITH g AS (SELECT vintage, territorial_date, ags, geometry_area_km2 AS area FROM parsed_geometries),
areas AS (SELECT vintage AS register, reference_date, ags, value FROM observations
    WHERE source_id = 'destatis_gemeindeverzeichnis' AND measure = 'area_km2' AND level = 'gemeinde' AND value > 0),
registers AS (  -- one register per date (2023-12-31 and 2024-Q4 both date their areas 31.12.2023)
    SELECT reference_date, max(register) AS register FROM areas GROUP BY reference_date),
bracket AS (  -- per geometry release the first register on or after its territorial date (else the last before)
    SELECT g.vintage,                   -- and the one before it, to leave out Gemeinden changed in between
           coalesce(min(r.reference_date) FILTER (r.reference_date >= g.territorial_date), max(r.reference_date))
               AS register_date,
           max(r.reference_date) FILTER (r.reference_date < g.territorial_date) AS before_date
    FROM (SELECT DISTINCT vintage, territorial_date FROM g) g, registers r GROUP BY g.vintage),
pairs AS (
    SELECT g.vintage, g.ags, g.area, a.value AS register_area, b.register_date
    FROM g JOIN bracket b USING (vintage)
    JOIN registers r ON r.reference_date = b.register_date
    JOIN areas a ON a.register = r.register AND a.ags = g.ags
    LEFT JOIN registers rb ON rb.reference_date = b.before_date
    LEFT JOIN areas ab ON ab.register = rb.register AND ab.ags = g.ags
    -- a Gemeinde whose area changed between the two registers was reformed around the outlines' date: no evidence
    WHERE b.before_date IS NULL OR abs(ab.value - a.value) <= 0.02 * a.value)
SELECT vintage, left(ags, 5) AS kreis, count(*) AS gemeinden,
       count(*) FILTER (area / register_area NOT BETWEEN $low AND $high) AS outside,
       list(format('{} {:.1f} against {:.1f} km²', ags, area, register_area) ORDER BY ags)
           FILTER (area / register_area NOT BETWEEN $low AND $high)[:3] AS examples,
       CAST(any_value(register_date) AS DATE) AS register_date
FROM pairs GROUP BY ALL
HAVING outside >= $least AND outside > $share * gemeinden
ORDER BY vintage, kreis"""


def area_mismatches(con: duckdb.DuckDBPyConnection, geometries: pd.DataFrame) -> list[tuple[str, str]]:
    """(release, problem) per geometry release and Kreis whose polygons' areas do not fit the register's areas of
    their keys (a key column shifted against the outlines); empty when the polygons belong to their keys or no
    register area is staged."""
    con.register("parsed_geometries", geometries[["vintage", "territorial_date", "ags", "geometry_area_km2"]])
    try:
        low, high = AREA_RATIO_BOUNDS
        rows = con.execute(_AREA_SQL, {"low": low, "high": high, "least": AREA_LEAST,
                                       "share": AREA_KREIS_SHARE}).fetchall()
    finally:
        con.unregister("parsed_geometries")
    return [(vintage, f"Kreis {kreis}: {outside} of {gemeinden} polygons have an area outside {low:g}-{high:g} times "
                      f"the Gemeindeverzeichnis' area of their key (register of {register_date}), e.g. "
                      f"{'; '.join(examples)}: the keys do not belong to the outlines (a shifted key column?)")
            for vintage, kreis, gemeinden, outside, examples, register_date in rows]


# --- does each polygon lie where the register puts its key? ----------------------------------------------------------

# The Gemeindeverzeichnis gives each Gemeinde's geographic centre (registers from 2009). A polygon lies on the centre
# of its key or close to it: the VG5000 polygons of 01.01.2021 contain the centre of the register of 31.12.2021 for
# 10,965 of 10,992 Gemeinden, the others lie within 263 m of it, Chiemsee (islands in a lake) 1,595 m (6 December
# 2026). Further than POSITION_SLACK_KM, the polygon is another place's: two Gemeinden's keys exchanged (each
# polygon in its own place, areas alike: every other test passes), or an island or a coastal Gemeinde moved out to
# sea (it overlaps nobody: sources.bkg_vg._no_polygon_overlaps cannot see it).
POSITION_SLACK_KM = 3.0


def position_mismatches(con: duckdb.DuckDBPyConnection, geometries: pd.DataFrame) -> list[tuple[str, str]]:
    """(release, problem) per geometry release with polygons further than POSITION_SLACK_KM from the register's
    centre of their key (the first register with centres on or after the outlines' territorial date, else the last
    before); empty when every polygon lies on its centre or no register with centres is staged."""
    # a centre the register gives several keys is no key's (the 2009 register gives 820 Gemeinden a centre another
    # key shares: all three Neukirchen 12.4522/48.5831, 707 km from one of them; the later registers none)
    centres = con.execute("""SELECT DISTINCT ON (vintage, ags) vintage AS register, territorial_date AS register_date, ags,
            name AS register_name, lon, lat
        FROM municipality_register WHERE isfinite(lon) AND isfinite(lat)
        QUALIFY count(*) OVER (PARTITION BY vintage, lon, lat) = 1""").df()
    problems = []
    for (vintage, date), release in geometries.groupby(["vintage", "territorial_date"], sort=True):
        register = _register_for(centres, date)
        if register is None:
            continue
        pairs = release.merge(centres[centres["register"] == register], on="ags")
        polygons = shapely.from_wkb(pairs["geometry_wkb"].to_numpy())
        inside = shapely.intersects_xy(polygons, pairs["lon"].to_numpy(), pairs["lat"].to_numpy())
        away = pairs[~inside].assign(km=_distance_km(polygons[~inside], pairs.loc[~inside, ["lon", "lat"]]))
        far = away[away["km"] > POSITION_SLACK_KM].sort_values("km", ascending=False)
        if far.empty:
            continue
        examples = "; ".join(f"AGS {row.ags!r} ({_names(row.name, row.register_name)}) {row.km:.1f} km"
                             for row in far.head(3).itertuples())
        problems.append((vintage, f"{len(far)} of {len(pairs)} polygons lie more than {POSITION_SLACK_KM:g} km from "
                                  f"the Gemeindeverzeichnis' centre of their key (register of {register}), e.g. {examples}: "
                                  "a polygon moved, keys exchanged between polygons, or the register's centres wrong?"))
    return problems


def _names(polygon: str, register: str) -> str:
    """The polygon's name, and the register's for its key where that is another ('Mölln; register: Ratzeburg')."""
    same = bare_name(register) == str(polygon).strip()
    return polygon if same else f"{polygon}; register: {register}"


def _register_for(centres: pd.DataFrame, date) -> str | None:
    """The register whose centres a geometry release of ``date`` is compared with: the first on or after it, else
    the last before (of two with one date, the later vintage)."""
    dates = pd.to_datetime(centres.groupby("register")["register_date"].first())
    if dates.empty:
        return None
    later = dates[dates >= pd.Timestamp(date)]
    chosen = later[later == later.min()] if len(later) else dates[dates == dates.max()]
    return max(chosen.index, key=release_order)  # in time order: as text '2024-Q4' sorts after '2024-12-31'


def _distance_km(polygons: np.ndarray, points: pd.DataFrame) -> np.ndarray:
    """Each polygon's distance to its point (WGS84 in, km out), measured in METRIC_CRS (metres in Germany)."""
    def metric(geometries) -> np.ndarray:
        return gpd.GeoSeries(geometries, crs="EPSG:4326").to_crs(METRIC_CRS).to_numpy()
    return shapely.distance(metric(polygons), metric(shapely.points(points["lon"], points["lat"]))) / 1000
