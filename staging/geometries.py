"""Which BKG VG release is current for the steps that need one territorial status (coworking assignment, Kreis
names). Plain DuckDB SQL over the working tables; the rule itself is ``sources.vintages.NEWEST_FIRST``.

Why not the largest ``vintage``: vintages are release ids, and 'vg250-2025-01-01' sorts before
'vg5000-2021-01-01' as text, so the 2021 territory (with keys merged away since) would stay current.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from sources.vintages import NEWEST_FIRST

# the newest release whole (one territorial status: polygons that tile Germany without overlaps)
NEWEST_RELEASE = f"""SELECT * FROM municipality_geometries
WHERE vintage = (SELECT vintage FROM municipality_geometries ORDER BY {NEWEST_FIRST} LIMIT 1)"""


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
