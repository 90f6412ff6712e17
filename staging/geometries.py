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
