"""One row per Gemeinde on the latest territorial status: register name, Kreis, Land, kind, pilot flag, latest
population and area (the ``municipalities`` asset adds the town type). Plain DuckDB SQL over the working tables.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from indicators.compute import release_positions
from indicators.peers import CENTRALITY

# Releases of one territorial status or one Stichtag: the later in time order ($vintages, oldest first; as text
# '2025-Q2' would win over '2025-12-31'), as the indicators take them (indicators/compute.py YEARLY).
MUNICIPALITIES_SQL = """
    WITH latest AS (
        SELECT * FROM municipality_register
        WHERE territorial_date = (SELECT max(territorial_date) FROM municipality_register)
        QUALIFY row_number() OVER (PARTITION BY ags ORDER BY list_position($vintages, vintage) DESC) = 1
    ),
    measure AS (
        SELECT ags, measure, value, reference_date FROM observations
        WHERE list_contains($sources, source_id) AND level = 'gemeinde'
          AND value IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY ags, measure ORDER BY reference_date DESC,
                                   list_position($sources, source_id),
                                   list_position($vintages, vintage) DESC) = 1
    )
    SELECT l.ags, l.name, l.kreis_ags, l.kreis_name, l.land_name AS land, l.kind,
           l.ags IN (SELECT unnest($pilots)) AS is_pilot,
           a.value AS area_km2, CAST(p.value AS BIGINT) AS population, p.reference_date AS population_date,
           l.territorial_date, l.lon, l.lat
    FROM latest l
    LEFT JOIN measure p ON p.ags = l.ags AND p.measure = 'population_total'
    LEFT JOIN measure a ON a.ags = l.ags AND a.measure = 'area_km2'
    ORDER BY l.ags  -- stored (and published) in key order: the join's own order varies with DuckDB's threads
"""


def municipality_rows(con: duckdb.DuckDBPyConnection, pilots: list[str], sources: list[str]) -> pd.DataFrame:
    """``MUNICIPALITIES_SQL`` on the working database (``municipality_register`` and ``observations``); population
    and area of ``sources`` (the catalogue's ``inhabitants``), of one date the first source's."""
    return con.execute(MUNICIPALITIES_SQL, {"pilots": pilots, "sources": sources,
                                            "vintages": release_positions(con, sources)}).df()


# Job centrality: commuter balance per 100 employees (INKAR x353, the latest reference date), a classic measure of a
# place's role as an employment centre, for the peers; not an index indicator. Of two INKAR releases of one date
# the later in time order. A member Gemeinde of a Verband with several members carries its Verband's value
# (source_level, as INKAR publishes it: methodology section 8).
CENTRALITY_SQL = f"""
    SELECT ags, value AS {CENTRALITY}, reference_date AS {CENTRALITY}_date FROM observations
    WHERE source_id = 'inkar' AND measure = 'commuter_balance_per_100' AND level = 'gemeinde' AND value IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY reference_date DESC, list_position($vintages, vintage) DESC) = 1
"""


def job_centrality(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``CENTRALITY_SQL`` on the working database: one row per Gemeinde with INKAR's commuter balance and its date."""
    return con.execute(CENTRALITY_SQL, {"vintages": release_positions(con, ["inkar"])}).df()
